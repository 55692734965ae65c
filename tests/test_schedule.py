"""Who is on shift when: overnight, weekends, leave, holidays, other zones, both DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.errors import RosterInvalid
from hotline.roster import load_text
from hotline.roster.schedule import (
    boundaries,
    coverage,
    local_kind,
    localize,
    next_cover,
    occurrences,
    on_shift,
    week_bounds,
)

PARIS = ZoneInfo("Europe/Paris")

ROSTER = """\
timezone: Europe/Paris
holidays: {country: FR, holiday_as: sun}
skills: [connection, software]
agents:
  - {id: day, name: Day, phone: '+33612345601', skills: {connection: 3}, languages: [fr]}
  - {id: evening, name: Evening, phone: '+33612345602', skills: {connection: 2, software: 2}, languages: [fr]}
  - {id: night, name: Night, phone: '+33612345603', skills: {connection: 2, software: 4}, languages: [fr]}
  - {id: weekend, name: Weekend, phone: '+33612345604', skills: {connection: 4, software: 4}, languages: [fr, en]}
  - {id: astreinte, name: Astreinte, phone: '+33612345605', skills: {connection: 3, software: 3}, languages: [fr]}
  - {id: montreal, name: Montréal, phone: '+15148684021', skills: {software: 5}, languages: [fr, en],
     timezone: America/Toronto}
shifts:
  - {id: day, agent: day, days: mon-fri, start: '08:00', end: '16:00'}
  - {id: evening, agent: evening, days: mon-fri, start: '16:00', end: '23:00'}
  - {id: night, agent: night, days: mon-fri, start: '22:00', end: '06:00'}
  - {id: weekend, agent: weekend, days: [sat, sun], start: '09:00', end: '18:00'}
  - {id: astreinte, agent: astreinte, days: daily, start: '23:00', end: '08:00', on_call: true}
  - {id: montreal, agent: montreal, days: mon-fri, start: '16:00', end: '20:00', valid_from: 2026-02-02}
exceptions:
  leave:
    - {agent: day, from: 2026-08-03, to: 2026-08-07}
  extra:
    - {id: xmas, agent: evening, date: 2026-12-26, start: '10:00', end: '14:00'}
  swap:
    - {date: 2026-06-10, agent: day, with: weekend}
"""


@pytest.fixture(scope="module")
def roster():
    return load_text(ROSTER, "test.yaml")


def at(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=PARIS)


def who(roster, when: str, skill=None, on_call=None):
    covers = on_shift(roster, at(when), skill)
    return sorted(c.agent_id for c in covers if on_call is None or c.on_call == on_call)


def test_day_shift_boundaries_are_start_inclusive_end_exclusive(roster):
    assert "day" in who(roster, "2026-06-03T08:00")  # a Wednesday
    assert "day" not in who(roster, "2026-06-03T07:59:59")
    assert "day" not in who(roster, "2026-06-03T16:00")


def test_overnight_shift_runs_into_the_next_day(roster):
    assert who(roster, "2026-06-03T03:00", on_call=False) == ["night"]  # Tuesday's night shift
    assert "night" not in who(roster, "2026-06-03T06:00")
    # Friday's night ends Saturday 06:00; nobody started one on Sunday
    assert "night" in who(roster, "2026-06-06T05:59")
    assert "night" not in who(roster, "2026-06-08T03:00")
    c = next(c for c in on_shift(roster, at("2026-06-03T03:00")) if c.agent_id == "night")
    assert (c.start, c.end) == (at("2026-06-02T22:00"), at("2026-06-03T06:00"))


def test_weekend_only_shift(roster):
    assert who(roster, "2026-06-06T12:00", on_call=False) == ["weekend"]  # Saturday
    assert who(roster, "2026-06-07T17:59", on_call=False) == ["weekend"]  # Sunday
    assert "weekend" not in who(roster, "2026-06-05T12:00")  # Friday


def test_on_call_is_listed_after_regular_cover(roster):
    covers = on_shift(roster, at("2026-06-03T23:30"))
    assert [c.agent_id for c in covers] == ["montreal", "night", "astreinte"]
    assert [c.on_call for c in covers] == [False, False, True]


def test_skill_filter(roster):
    assert who(roster, "2026-06-03T12:00", "software") == []
    assert who(roster, "2026-06-03T12:00", "connection") == ["day"]


def test_leave_removes_the_agents_shifts(roster):
    assert "day" not in who(roster, "2026-08-05T12:00")
    assert "day" in who(roster, "2026-08-10T12:00")


def test_public_holiday_runs_the_sunday_shifts(roster):
    # Ascension, Thursday 2026-05-14: the weekend shift runs, the weekday ones do not
    assert who(roster, "2026-05-14T12:00", on_call=False) == ["weekend"]
    assert who(roster, "2026-05-15T12:00", on_call=False) == ["day"]
    # Wednesday's night shift still ends on the holiday morning (it belongs to Wednesday)
    assert "night" in who(roster, "2026-05-14T05:00")
    assert "night" not in who(roster, "2026-05-14T23:30")


def test_agent_in_another_time_zone(roster):
    # 16:00 in Montréal is 22:00 in Paris in winter ...
    assert "montreal" in who(roster, "2026-02-03T22:30")
    assert "montreal" not in who(roster, "2026-02-03T21:30")
    # ... but 21:00 in the weeks when North America has changed to summer time and Europe has not
    assert "montreal" in who(roster, "2026-03-10T21:30")
    # validity: the shift starts on 2026-02-02 (Montréal date)
    assert "montreal" not in who(roster, "2026-01-27T22:30")
    c = next(c for c in on_shift(roster, at("2026-02-03T22:30")) if c.agent_id == "montreal")
    assert c.start.utcoffset() == timedelta(hours=-5) and c.start.hour == 16


def test_extra_shift_and_swap(roster):
    # Saturday 2026-12-26: the weekend shift, plus the extra 10:00-14:00
    assert who(roster, "2026-12-26T12:00") == ["evening", "weekend"]
    assert who(roster, "2026-12-26T14:00") == ["weekend"]
    assert [c.extra for c in on_shift(roster, at("2026-12-26T12:00"))] == [True, False]
    # 2026-06-10: day and weekend swap: weekend works the day shift
    covers = on_shift(roster, at("2026-06-10T12:00"))
    assert [(c.agent_id, c.shift_id, c.owner) for c in covers] == [("weekend", "day", "day")]


def test_local_times_across_dst():
    assert local_kind(datetime(2026, 3, 29, 2, 30), PARIS) == "nonexistent"
    assert local_kind(datetime(2026, 10, 25, 2, 30), PARIS) == "ambiguous"
    assert local_kind(datetime(2026, 10, 25, 3, 30), PARIS) == "ok"
    # skipped: the transition instant; repeated: the first (summer time)
    assert localize(datetime(2026, 3, 29, 2, 30), PARIS) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert localize(datetime(2026, 10, 25, 2, 30), PARIS) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_night_shift_across_both_dst_changes(roster):
    def night(start_day):
        return next(
            c
            for c in occurrences(roster, at(start_day + "T23:00"), at(start_day + "T23:01"))
            if c.shift_id == "astreinte"
        )

    spring, autumn = night("2026-03-28"), night("2026-10-24")  # Saturday nights
    assert spring.end - spring.start == timedelta(hours=8)
    assert autumn.end - autumn.start == timedelta(hours=10)
    assert "astreinte" in who(roster, "2026-03-29T01:30:00+01:00")
    assert "astreinte" in who(roster, "2026-10-25T02:30:00+01:00")  # the second 02:30


def test_shift_starting_in_the_skipped_hour_starts_at_the_transition():
    r = load_text(
        ROSTER.replace(
            "{id: weekend, agent: weekend, days: [sat, sun], start: '09:00', end: '18:00'}",
            "{id: weekend, agent: weekend, days: [sat, sun], start: '02:30', end: '06:00'}",
        )
    )
    c = next(
        c
        for c in occurrences(r, at("2026-03-29T00:00"), at("2026-03-29T12:00"))
        if c.agent_id == "weekend"
    )
    assert c.start == datetime(2026, 3, 29, 3, 0, tzinfo=timezone(timedelta(hours=2)))
    assert c.end - c.start == timedelta(hours=3)


def test_dst_weeks_have_167_and_169_hours(roster):
    for week, hours in (("2026-W13", 167), ("2026-W43", 169), ("2026-W23", 168)):
        w0, w1 = week_bounds(week, PARIS)
        assert (w1 - w0) == timedelta(hours=hours)
        cov = coverage(roster, week)
        assert len(cov.hours) == hours
        assert all(h.end - h.start == timedelta(hours=1) for h in cov.hours)
    autumn = coverage(roster, "2026-W43")
    labels = [h.start.strftime("%a %H:%M%z") for h in autumn.hours]
    assert labels.count("Sun 02:00+0200") == 1 and labels.count("Sun 02:00+0100") == 1
    spring = coverage(roster, "2026-W13")
    assert not any(h.start.strftime("%a %H") == "Sun 02" for h in spring.hours)


def test_coverage_counts_and_gaps(roster):
    cov = coverage(roster, "2026-W23")  # 2026-06-01 .. 06-07, no holiday
    by_start = {h.start.strftime("%a %H"): h for h in cov.hours}
    assert by_start["Wed 12"].on_shift == {"connection": 1, "software": 0}
    # evening + night, and Montréal's 16:00-20:00 (22:00-02:00 in Paris in June) for software
    assert by_start["Wed 22"].on_shift == {"connection": 2, "software": 3}
    assert by_start["Wed 23"].on_call == {"connection": 1, "software": 1}
    sw = [g for g in cov.gaps if g.skill == "software"]
    # weekday software cover is 16:00-06:00; the 06:00-08:00 hole has the on-call agent,
    g = next(g for g in sw if g.start == at("2026-06-03T06:00"))
    assert g.on_call == ("astreinte",) and g.end == at("2026-06-03T08:00")
    g = next(g for g in sw if g.start == at("2026-06-03T08:00"))
    assert g.on_call == () and g.end == at("2026-06-03T16:00")  # nobody at all
    assert coverage(roster, "2026-W23", skill="software").skills == ("software",)
    with pytest.raises(ValueError):
        coverage(roster, "2026-W23", skill="printers")
    with pytest.raises(ValueError):
        coverage(roster, "2026-W54")


def test_next_cover(roster):
    # Friday 2026-06-05 08:30, software: the evening shift at 16:00
    assert next_cover(roster, "software", at("2026-06-05T08:30")) == at("2026-06-05T16:00")
    # on now: the answer is now
    assert next_cover(roster, "connection", at("2026-06-05T08:30")) == at("2026-06-05T08:30")
    # Sunday 19:00: next regular connection cover is Monday 08:00; on call counts from 23:00
    assert next_cover(roster, "connection", at("2026-06-07T19:00")) == at("2026-06-08T08:00")
    assert next_cover(roster, "connection", at("2026-06-07T19:00"), include_on_call=True) == at(
        "2026-06-07T23:00"
    )


def test_boundaries(roster):
    b = boundaries(roster, at("2026-06-03T00:00"), at("2026-06-04T00:00"))
    local = [t.astimezone(PARIS).strftime("%H:%M") for t in b]
    assert local == ["02:00", "06:00", "08:00", "16:00", "22:00", "23:00"]
    assert all(t.tzinfo == UTC for t in b)


def test_naive_instant_is_refused(roster):
    with pytest.raises(ValueError, match="UTC offset"):
        on_shift(roster, datetime(2026, 6, 3, 12))


def test_example_roster_has_someone_reachable_every_minute_of_2026():
    r = load_text(Path("examples/roster.yaml").read_text(encoding="utf-8"))
    for week in (2, 13, 20, 33, 43, 52):
        cov = coverage(r, f"2026-W{week:02d}")
        holes = [g for g in cov.gaps if not g.on_call]
        assert holes == [], (week, holes)


def test_swap_of_one_shift_is_a_one_way_handover():
    r = load_text(
        ROSTER.replace(
            "    - {date: 2026-06-10, agent: day, with: weekend}",
            "    - {date: 2026-06-10, agent: night, with: day, shift: day}",
        )
    )
    # night works day's 08:00-16:00 and keeps its own nights; day is free that day
    covers = occurrences(r, at("2026-06-10T00:00"), at("2026-06-11T00:00"))
    mine = [(c.agent_id, c.shift_id, c.start.hour) for c in covers if c.owner in ("night", "day")]
    assert mine == [("night", "night", 22), ("night", "day", 8), ("night", "night", 22)]


def test_a_swap_giving_someone_two_shifts_at_once_is_refused():
    with pytest.raises(
        RosterInvalid, match="evening would work evening and night at the same time"
    ):
        load_text(
            ROSTER.replace(
                "    - {date: 2026-06-10, agent: day, with: weekend}",
                "    - {date: 2026-06-10, agent: night, with: evening, shift: night}",
            )
        )


def test_leave_applies_to_whoever_works_after_a_swap():
    r = load_text(
        ROSTER.replace(
            "    - {agent: day, from: 2026-08-03, to: 2026-08-07}",
            "    - {agent: weekend, from: 2026-06-10, to: 2026-06-10}",
        )
    )
    # weekend took day's shift on 2026-06-10 by the swap, but is on leave that day
    assert who(r, "2026-06-10T12:00", on_call=False) == []
