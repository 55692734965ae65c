"""The week grid (`hotline.roster.week`): plain data, no Flask, no Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.roster import load_text, parse_days
from hotline.roster.week import days_text, iso_week, parse_week, week_grid, week_of

EXAMPLE = load_text((Path(__file__).resolve().parents[1] / "examples" / "roster.yaml").read_text())
PARIS = ZoneInfo("Europe/Paris")


def slots(grid, agent, day):
    return next(c for c in grid.row(agent).cells if c.date == date.fromisoformat(day)).slots


def test_a_grid_has_every_agent_down_and_the_seven_days_across():
    g = week_grid(EXAMPLE, "2026-W49")
    assert [r.agent.id for r in g.rows] == [a.id for a in EXAMPLE.agents]
    assert [d.date for d in g.days] == [date(2026, 11, 30) + timedelta(days=i) for i in range(7)]
    assert all(len(r.cells) == 7 for r in g.rows)
    assert (g.previous, g.next, g.hours) == ("2026-W48", "2026-W50", 168)
    (s,) = slots(g, "camille.martin", "2026-11-30")
    assert (s.shift_id, s.start.isoformat(), s.end.isoformat()) == (
        "camille-day",
        "2026-11-30T07:00:00+01:00",
        "2026-11-30T15:00:00+01:00",
    )
    assert g.row("camille.martin").hours == 40 and g.row("julie.simon").on_call_hours == 40


def test_an_overnight_shift_is_its_evening_s_and_on_call_is_marked():
    g = week_grid(EXAMPLE, "2026-W49")
    (s,) = slots(g, "julie.simon", "2026-12-04")  # Friday 23:00 -> Saturday 07:00
    assert s.on_call and s.end.date() == date(2026, 12, 5) and s.hours == 8
    assert slots(g, "julie.simon", "2026-12-05") == ()


def test_the_agent_s_own_zone_beside_the_centre_s():
    g = week_grid(EXAMPLE, "2026-W49")
    assert g.row("gabriel.tremblay").zone == "America/Toronto"
    assert g.row("camille.martin").zone is None
    (s,) = slots(g, "gabriel.tremblay", "2026-11-30")
    assert f"{s.start:%H:%M}-{s.end:%H:%M}" == "22:00-04:00"
    assert (s.own_zone, f"{s.own_start:%H:%M}-{s.own_end:%H:%M}") == (
        "America/Toronto",
        "16:00-22:00",
    )
    assert s.start_day == 0  # Monday's shift, starting on Monday in Paris too
    assert slots(g, "camille.martin", "2026-11-30")[0].own_zone is None


def test_an_occurrence_sits_on_the_date_of_its_own_zone():
    # Tokyo's Monday 06:00 is Sunday 22:00 in Paris: Monday's column, a day ahead in Tokyo
    text = """
timezone: Europe/Paris
skills: [general]
agents:
  - {id: kenji, name: Kenji, phone: '+33612345601', skills: {general: 3}, languages: [en],
     timezone: Asia/Tokyo}
shifts:
  - {id: kenji-mon, agent: kenji, days: [mon], start: '06:00', end: '10:00'}
"""
    g = week_grid(load_text(text), "2026-W49")
    (s,) = slots(g, "kenji", "2026-11-30")
    assert s.start.isoformat() == "2026-11-29T22:00:00+01:00" and s.start_day == -1
    # the next Monday's occurrence starts inside this week in Paris, but belongs to the next
    assert all(c.slots == () for c in g.row("kenji").cells[1:])


def test_holidays_run_the_sunday_shifts_and_say_so():
    g = week_grid(EXAMPLE, "2026-W52")
    xmas = g.days[4]
    assert (xmas.date, xmas.holiday, xmas.runs_as) == (date(2026, 12, 25), "Noël", 6)
    assert [d.holiday for d in g.days if d.holiday] == ["Noël"]
    assert [s.shift_id for s in slots(g, "ines.leroy", "2026-12-25")] == ["ines-weekend"]
    assert slots(g, "camille.martin", "2026-12-25") == ()
    assert week_grid(EXAMPLE, "2026-W52", language="en").days[4].holiday == "Christmas Day"


def test_swaps_move_the_occurrence_and_are_noted_on_both_rows():
    g = week_grid(EXAMPLE, "2026-W52")
    (s,) = slots(g, "lea.petit", "2026-12-24")
    assert (s.shift_id, s.covering_for) == ("camille-day", "camille.martin")
    lea = next(c for c in g.row("lea.petit").cells if c.date == date(2026, 12, 24))
    camille = next(c for c in g.row("camille.martin").cells if c.date == date(2026, 12, 24))
    assert lea.swaps == camille.swaps and len(lea.swaps) == 1
    (one_off,) = slots(g, "nathan.richard", "2026-12-26")
    assert one_off.extra and one_off.shift_id == "nathan-boxing-day"


def test_leave_empties_the_cell_and_says_why():
    g = week_grid(EXAMPLE, "2026-W32")
    cell = g.row("camille.martin").cells[0]
    assert cell.slots == () and cell.leave.reason == "congés d'été"
    assert g.row("camille.martin").hours == 0


@pytest.mark.parametrize(
    ("week", "hours", "day", "day_hours", "night", "night_hours"),
    [
        # the last Sunday of March 2027 is the 28th, in W12; of October 2026 the 25th, in W43
        ("2027-W12", 167, "2027-03-28", 23, "2027-03-27", 11),
        ("2026-W43", 169, "2026-10-25", 25, "2026-10-24", 13),
        ("2026-W13", 167, "2026-03-29", 23, "2026-03-28", 11),
    ],
)
def test_the_dst_weeks_are_right(week, hours, day, day_hours, night, night_hours):
    g = week_grid(EXAMPLE, week)
    assert g.hours == hours
    assert [d.hours for d in g.days if d.hours != 24] == [day_hours]
    assert next(d for d in g.days if d.hours != 24).date == date.fromisoformat(day)
    (s,) = slots(g, "theo.durand", night)  # the weekend astreinte, 19:00 -> 07:00
    assert s.hours == night_hours and s.wall_hours == 12 and s.dst_changed
    assert f"{s.start:%H:%M}-{s.end:%H:%M}" == "19:00-07:00"
    others = [x for r in g.rows for c in r.cells for x in c.slots if x is not s]
    assert not any(x.dst_changed for x in others)


def test_the_weeks_around_the_changes_are_ordinary():
    for week in ("2026-W44", "2027-W11", "2027-W13"):
        g = week_grid(EXAMPLE, week)
        assert g.hours == 168 and all(d.hours == 24 for d in g.days)
        assert not any(s.dst_changed for r in g.rows for c in r.cells for s in c.slots)


def test_a_shift_starting_in_the_skipped_hour_starts_at_the_change():
    text = """
timezone: Europe/Paris
skills: [general]
agents:
  - {id: ana, name: Ana, phone: '+33612345601', skills: {general: 3}, languages: [fr]}
shifts:
  - {id: early, agent: ana, days: [sun], start: '02:30', end: '06:00'}
"""
    (s,) = slots(week_grid(load_text(text), "2026-W13"), "ana", "2026-03-29")
    assert s.start.isoformat() == "2026-03-29T03:00:00+02:00" and s.hours == 3
    assert s.wall_hours == 3.5 and s.dst_changed


def test_weeks_are_read_strictly_and_walk_across_years():
    assert parse_week("2026W49") == ("2026-W49", date(2026, 11, 30))
    for bad in ("2026-W54", "2027-W53", "2026-49", "", "W49"):
        with pytest.raises(ValueError):
            parse_week(bad)
    g = week_grid(EXAMPLE, "2026-W53")
    assert (g.previous, g.next) == ("2026-W52", "2027-W01")
    assert iso_week(date(2027, 1, 1)) == "2026-W53"
    sunday_night = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # Monday 00:30 in Paris
    assert week_of(sunday_night, PARIS) == "2026-W49"
    assert week_of(sunday_night, ZoneInfo("UTC")) == "2026-W48"
    with pytest.raises(ValueError):
        week_grid(EXAMPLE, "next week")


@pytest.mark.parametrize(
    ("days", "text"),
    [
        ((0, 1, 2, 3, 4), "mon-fri"),
        ((5, 6), "sat,sun"),
        ((0, 5, 6), "mon,sat,sun"),
        ((0, 2, 4), "mon,wed,fri"),
        (tuple(range(7)), "mon-sun"),
        ((0, 1, 2, 4, 5, 6), "mon-wed,fri-sun"),
    ],
)
def test_days_are_written_as_the_readers_read_them_back(days, text):
    assert days_text(days) == text and parse_days(text) == days
    fr = days_text(days, ("lun", "mar", "mer", "jeu", "ven", "sam", "dim"))
    assert parse_days(fr) == days
