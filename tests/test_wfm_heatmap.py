"""The coverage heatmap's grid (hotline/wfm/heatmap.py): every number is the plan's, who is
on adds up to the plan's heads, `heads` is `roster coverage`'s count, the colour classes,
the under-staffed runs, the scheduled-cover-only mode and DST days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.roster import load_text
from hotline.roster.schedule import coverage
from hotline.wfm import heatmap
from hotline.wfm.forecast import forecast
from hotline.wfm.plan import plan

PARIS = ZoneInfo("Europe/Paris")

ROSTER = """\
timezone: Europe/Paris
holidays: {country: FR, holiday_as: sun}
skills: [connection, software]
agents:
  - {id: solo, name: Solo, phone: '+33612345601', skills: {connection: 3}, languages: [fr]}
  - {id: duo, name: Duo, phone: '+33612345602', skills: {connection: 2, software: 4}, languages: [fr]}
  - {id: late, name: Late, phone: '+33612345603', skills: {software: 3}, languages: [fr]}
  - {id: night, name: Night, phone: '+33612345604', skills: {connection: 2}, languages: [fr]}
shifts:
  - {id: solo, agent: solo, days: mon-fri, start: '08:00', end: '16:00'}
  - {id: duo, agent: duo, days: mon-fri, start: '09:00', end: '17:00'}
  - {id: late, agent: late, days: mon-fri, start: '10:15', end: '18:00'}
  - {id: night, agent: night, days: daily, start: '18:00', end: '08:00', on_call: true}
"""


@pytest.fixture(scope="module")
def roster():
    return load_text(ROSTER, "test.yaml")


def calls_at(d: date, hh_mm: str, n: int, skill="connection"):
    t0 = datetime.combine(d, time.fromisoformat(hh_mm), PARIS).timestamp()
    return [
        {
            "call_sid": f"CA{d:%m%d}{hh_mm}{skill}{i}",
            "skill": skill,
            "offered_at": t0 + i * 3600 / n,
            "answered": i % 10 != 0,
            "abandoned": i % 10 == 0,
            "wait_s": 40.0,
            "talk_s": 150.0,
            "wrapup_s": 30.0,
            "state": "completed",
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def history():
    out = []
    for monday in (date(2026, 6, 1), date(2026, 6, 8)):
        out += calls_at(monday, "10:00", 60)  # Mondays 10:00-11:00: 60 connection calls
        out += calls_at(monday, "11:00", 40)
        out += calls_at(monday, "14:00", 8, "software")
        out += calls_at(monday + timedelta(days=1), "09:00", 2)
    return out


def week_plan(history, roster, week="2026-W25", interval=60):
    fc = forecast(history, week, tz=PARIS, roster=roster, interval_min=interval)
    return plan(fc, roster, week, target_sl=0.8, target_s=60)


def cells(hm):
    return [(d, k, c) for d in hm.days for k, cs in d.rows for c in cs]


def test_every_number_is_the_plans(history, roster):
    p = week_plan(history, roster)
    hm = heatmap.build(p, roster)
    assert hm.requirement and hm.columns == len(p["intervals"]) == 168
    by_start = {r["start"]: r for r in p["intervals"]}
    for _, k, c in cells(hm):
        want = by_start[c.key]["skills"][k]
        assert (c.scheduled, c.required, c.gap, list(c.on_call)) == (
            want["scheduled"],
            want["positions"],
            want["gap"],
            want["on_call"],
        )
        assert (c.calls, c.aht_s, c.patience_s, c.agents) == (
            want["calls"],
            want["aht_s"],
            want["patience_s"],
            want["agents"],
        )
        assert c.level == heatmap.level(want, c.heads, True)
    monday10 = hm.cell("connection", "2026-06-15T10:00:00+02:00")
    assert monday10.required > 2 and monday10.gap < 0 and monday10.level.startswith("short")


def test_who_is_on_adds_up_to_the_plans_heads(history, roster):
    for interval in (60, 30):
        hm = heatmap.build(week_plan(history, roster, interval=interval), roster)
        for _, _, c in cells(hm):
            counted = sum(o.counted for o in c.who if not o.on_call)
            assert counted == pytest.approx(c.scheduled, abs=2e-3)
            assert tuple(o.agent_id for o in c.who if o.on_call) == c.on_call
    c = hm.cell("software", "2026-06-15T10:00:00+02:00")  # 30-minute grid: late from 10:15
    late = next(o for o in c.who if o.agent_id == "late")
    assert (late.share, late.counted) == (0.5, 0.5)
    duo = next(o for o in c.who if o.agent_id == "duo")
    assert (duo.share, duo.counted, duo.skills) == (1.0, 0.5, ("connection", "software"))


def test_heads_are_roster_coverages_count(history, roster):
    hm = heatmap.build(week_plan(history, roster), roster)
    cov = coverage(roster, "2026-W25")
    flat = [(d, k, c) for d, k, c in cells(hm)]
    for hour in cov.hours:
        for k in roster.skills:
            (c,) = [c for _, kk, c in flat if kk == k and c.start == hour.start]
            assert c.heads == hour.on_shift[k]
            assert len(c.on_call) == hour.on_call[k]
    # Monday 10:00, connection: two people (solo, duo) but 1.5 counted (duo is half software)
    c = hm.cell("connection", "2026-06-15T10:00:00+02:00")
    assert (c.heads, c.scheduled) == (2, 1.5)


def test_shortfalls_are_runs_of_negative_gaps(history, roster):
    p = week_plan(history, roster)
    hm = heatmap.build(p, roster)
    # Independently: every (skill, interval) with a negative gap is inside exactly one run,
    # runs do not touch, and each run's worst gap is its cells' least.
    short = {
        (k, r["start"]): v["gap"]
        for r in p["intervals"]
        for k, v in r["skills"].items()
        if v["gap"] is not None and v["gap"] < 0
    }
    covered = {}
    for s in hm.shortfalls:
        inside = {
            (k, st): g
            for (k, st), g in short.items()
            if k == s.skill and s.start <= datetime.fromisoformat(st) < s.end
        }
        assert len(inside) == s.hours  # hourly grid: one interval per hour, all short
        assert s.worst_gap == min(inside.values())
        covered |= inside
    assert covered == short and hm.shortfalls
    for a, b in zip(hm.shortfalls, hm.shortfalls[1:], strict=False):
        assert not (a.skill == b.skill and a.end == b.start)
    first = hm.shortfalls[0]
    assert first.start == datetime.fromisoformat("2026-06-15T10:00:00+02:00")


def test_scheduled_cover_alone_without_a_requirement(history, roster):
    hm = heatmap.build(week_plan([], roster), roster, requirement=False)
    assert not hm.requirement and hm.shortfalls == () and hm.levels == heatmap.COVER_LEVELS
    assert all(c.required is None and c.gap is None for _, _, c in cells(hm))
    assert hm.cell("connection", "2026-06-15T10:00:00+02:00").level == "covered"
    assert hm.cell("connection", "2026-06-15T20:00:00+02:00").level == "oncall"
    assert hm.cell("software", "2026-06-15T20:00:00+02:00").level == "nobody"
    # roster coverage's gaps, as `hotline roster coverage` prints them
    assert [(g.skill, g.start, g.end) for g in hm.uncovered] == [
        (g.skill, g.start, g.end) for g in coverage(roster, "2026-W25").gaps
    ]


@pytest.mark.parametrize(
    "cell_json, heads, want",
    [
        ({"positions": 3, "gap": -2.0, "scheduled": 1, "on_call": []}, 1, "short-2"),
        ({"positions": 3, "gap": -1.5, "scheduled": 1.5, "on_call": []}, 2, "short-1"),
        ({"positions": 3, "gap": -1.0, "scheduled": 2, "on_call": []}, 2, "short-1"),
        ({"positions": 3, "gap": -0.5, "scheduled": 2.5, "on_call": []}, 3, "short-0"),
        ({"positions": 3, "gap": 0.0, "scheduled": 3, "on_call": []}, 3, "even"),
        ({"positions": 3, "gap": 0.5, "scheduled": 3.5, "on_call": []}, 4, "even"),
        ({"positions": 3, "gap": 1.0, "scheduled": 4, "on_call": []}, 4, "over"),
        ({"positions": 0, "gap": 0.0, "scheduled": 0, "on_call": []}, 0, "idle"),
        ({"positions": None, "gap": None, "scheduled": 1, "on_call": []}, 1, "unknown"),
    ],
)
def test_colour_classes(cell_json, heads, want):
    assert heatmap.level(cell_json, heads, True) == want
    assert want in heatmap.PLAN_LEVELS


@pytest.mark.parametrize(
    "week, sunday, columns, twice",
    [("2026-W13", "2026-03-29", 23, []), ("2026-W43", "2026-10-25", 25, ["02:00"])],
)
def test_dst_days_have_23_and_25_columns(roster, week, sunday, columns, twice):
    for interval, per_hour in ((60, 1), (30, 2)):
        hm = heatmap.build(week_plan([], roster, week, interval), roster, requirement=False)
        day = next(d for d in hm.days if d.date.isoformat() == sunday)
        assert len(day.columns) == columns * per_hour
        assert all(len(cs) == len(day.columns) for _, cs in day.rows)
        assert sorted({c.time for c in day.columns if c.repeated})[:1] == twice
        assert ("02:00" in [c.time for c in day.columns]) == bool(twice)
        others = [d for d in hm.days if d.date.isoformat() != sunday]
        assert all(len(d.columns) == 24 * per_hour for d in others)
    if twice:
        offsets = [c.utc_offset for c in day.columns if c.time == "02:00"]
        assert offsets == ["+02:00", "+01:00"]
        # the on-call night spans the change: on call in both 02:00 intervals
        # (30-minute grid: 02:00 and 02:30, twice each)
        both = [c for k, cs in day.rows if k == "connection" for c in cs if c.start.hour == 2]
        assert [c.on_call for c in both] == [("night",)] * 4
