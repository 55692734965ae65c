"""The plan: required (Erlang A on the forecast) against rostered heads, multi-skilled agents
split, on call apart, the worst hours, DST weeks, agreement with `roster coverage`, and
`hotline plan`."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from hotline.cli import main
from hotline.roster import load_text
from hotline.roster.schedule import coverage
from hotline.wfm.erlang import required_agents
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


def calls_at(d: date, hh_mm: str, n: int, skill="connection", *, spread_s=1800, abandon_every=10):
    t0 = datetime.combine(d, time.fromisoformat(hh_mm), PARIS).timestamp()
    return [
        {
            "call_sid": f"CA{d:%m%d}{hh_mm}{skill}{i}",
            "skill": skill,
            "offered_at": t0 + i * spread_s / n,
            "answered": i % abandon_every != 0,
            "abandoned": i % abandon_every == 0,
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
        out += calls_at(monday, "10:00", 40)  # Mondays 10:00-10:30: 40 connection calls
        out += calls_at(monday, "10:30", 4, "software")
        out += calls_at(monday + timedelta(days=1), "09:00", 2)  # a quiet Tuesday morning
    return out


@pytest.fixture(scope="module")
def week_plan(history, roster):
    fc = forecast(history, "2026-W25", tz=PARIS, roster=roster)
    return fc, plan(fc, roster, "2026-W25", target_sl=0.8, target_s=20)


def cell(result, local_date, hh_mm, skill="connection"):
    (row,) = [
        r for r in result["intervals"] if r["local_date"] == local_date and r["time"] == hh_mm
    ]
    return row["skills"][skill]


def test_required_agents_come_from_erlang_a_on_the_forecast(week_plan):
    fc, p = week_plan
    c = cell(p, "2026-06-15", "10:00")
    f = cell(fc, "2026-06-15", "10:00")
    assert c["calls"] == pytest.approx(40) and f["patience_s"] is not None
    want = required_agents(
        40, 1800, f["aht_s"], 0.8, 20, patience_s=f["patience_s"], max_occupancy=0.85, shrinkage=0.3
    )
    assert (c["model"], c["agents"], c["positions"]) == ("erlang_a", want.agents, want.positions)
    assert c["positions"] > c["agents"]  # shrinkage
    quiet = cell(p, "2026-06-15", "03:00")
    assert (quiet["calls"], quiet["agents"], quiet["positions"]) == (0, 0, 0)


def test_multi_skilled_agents_count_half_in_each_skill(week_plan):
    _, p = week_plan
    # Monday 10:00: solo (connection) + duo (half each); late starts 10:15: half an interval
    assert cell(p, "2026-06-15", "10:00")["scheduled"] == pytest.approx(1.5)
    assert cell(p, "2026-06-15", "10:00", "software")["scheduled"] == pytest.approx(0.5 + 0.5)
    assert cell(p, "2026-06-15", "10:30", "software")["scheduled"] == pytest.approx(1.5)
    assert cell(p, "2026-06-15", "08:30")["scheduled"] == pytest.approx(1)
    assert cell(p, "2026-06-15", "16:30")["scheduled"] == pytest.approx(0.5)


def test_on_call_agents_are_shown_apart_and_not_counted(week_plan):
    _, p = week_plan
    night = cell(p, "2026-06-15", "20:00")
    assert night["on_call"] == ["night"] and night["scheduled"] == 0
    assert cell(p, "2026-06-15", "10:00")["on_call"] == []


def test_gap_and_the_worst_hours(week_plan):
    _, p = week_plan
    c = cell(p, "2026-06-15", "10:00")
    assert c["gap"] == pytest.approx(c["scheduled"] - c["positions"])
    worst = p["worst_under"][0]
    assert (worst["skill"], worst["hour"]) == ("connection", "2026-06-15T10:00:00+02:00")
    # the hour's mean gap: 10:00 (40 calls) and 10:30 (none forecast: needs 0, 1.5 rostered)
    c2 = cell(p, "2026-06-15", "10:30")
    assert worst["gap"] == pytest.approx((c["gap"] + c2["gap"]) / 2, abs=1e-3)
    assert all(h["gap"] < 0 for h in p["worst_under"])
    assert p["worst_over"] and all(h["gap"] > 0 for h in p["worst_over"])
    assert p["worst_over"][0]["gap"] == pytest.approx(1.5)  # nobody calls, 1.5 rostered
    assert len(p["worst_under"]) <= 5
    json.dumps(p)  # JSON-ready, for the console's heatmap


def test_single_skilled_heads_agree_with_roster_coverage(roster):
    fc = forecast([], "2026-W25", tz=PARIS, roster=roster, interval_min=60)
    p = plan(fc, roster, "2026-W25")
    cov = coverage(roster, "2026-W25")
    single = load_text(
        ROSTER.replace("{connection: 2, software: 4}", "{connection: 2}"), "single.yaml"
    )
    p1 = plan(fc, single, "2026-W25")
    cov1 = coverage(single, "2026-W25")
    assert len(p1["intervals"]) == len(cov1.hours) == 168
    for row, hour in zip(p1["intervals"], cov1.hours, strict=True):
        assert row["start"] == hour.start.isoformat()
        # coverage counts anyone on during any part of the hour; whole hours agree
        if row["time"] != "10:00":
            assert row["skills"]["connection"]["scheduled"] == hour.on_shift["connection"]
    assert len(p["intervals"]) == len(cov.hours)
    # no history: nothing required, the message carried over
    assert p["enough_history"] is False and "history" in p["message"]
    assert cell(p, "2026-06-15", "10:00")["positions"] is None


@pytest.mark.parametrize("week, hours, sunday", [("2026-W13", 167, 23), ("2026-W43", 169, 25)])
def test_dst_weeks_have_23_and_25_hour_sundays(roster, week, hours, sunday):
    fc = forecast([], week, tz=PARIS, roster=roster)
    p = plan(fc, roster, week)
    assert len(p["intervals"]) == 2 * hours
    sundays = [r for r in p["intervals"] if r["weekday"] == "sun"]
    assert len(sundays) == 2 * sunday
    # the on-call night spans the change: shown for each real interval
    assert all(r["skills"]["connection"]["on_call"] == ["night"] for r in sundays[:10])


def test_a_holiday_in_the_week_is_rostered_and_forecast_as_sunday(history, roster):
    # Whit Monday 25 May 2026 runs as a Sunday: no weekday shifts, the Sunday forecast
    fc = forecast(history + calls_at(date(2026, 5, 17), "10:00", 6), "2026-W22", tz=PARIS,
                  roster=roster)  # fmt: skip
    p = plan(fc, roster, "2026-W22")
    c = cell(p, "2026-05-25", "10:00")
    assert c["scheduled"] == 0
    assert c["calls"] == pytest.approx(6)  # the one Sunday of history (17 May)
    row = next(r for r in p["intervals"] if r["local_date"] == "2026-05-25")
    assert row["counted_as"] == "sun"


def test_a_forecast_of_another_week_is_refused(week_plan, roster):
    fc, _ = week_plan
    with pytest.raises(ValueError, match="2026-W25"):
        plan(fc, roster, "2026-W26")


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def cli(svc, monkeypatch, redis_url, settings):
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_SHRINKAGE", "0.5")

    def run(*args):
        return CliRunner().invoke(main, list(args))

    return run


def test_cli_plan(cli, svc):
    res = cli("plan", "--week", "2026-W25", "--json")
    assert res.exit_code == 1 and "no roster" in res.output
    svc.roster.import_text(ROSTER, "test.yaml")
    t0 = datetime(2026, 6, 8, 10, 0, tzinfo=PARIS).timestamp()
    for i in range(20):
        t = t0 + 60 * i
        svc.events.append("enqueued", call_sid=f"CA{i}", ts=t, skill="connection")
        svc.events.append("abandoned", call_sid=f"CA{i}", ts=t + 30, skill="connection")
    res = cli("plan", "--week", "2026-W25", "--target-s", "20", "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert (d["shrinkage"], d["target_s"], d["enough_history"]) == (0.5, 20, False)
    c = cell(d, "2026-06-15", "10:00")
    assert c["calls"] == pytest.approx(20) and c["scheduled"] == pytest.approx(1.5)
    assert c["note"] == "calls forecast but no handle time known"  # nobody was answered
    text = cli("plan", "--week", "2026-W25").output
    assert "worst under-staffed hours" in text and "only 1 week of history" in text
    bad = cli("plan", "--week", "2026-W25", "--target-sl", "2")
    assert bad.exit_code == 1 and bad.output.startswith("hotline: error: --target-sl")
