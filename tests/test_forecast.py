"""The forecast from synthetic history: weights, holidays both ways, DST weeks, patience,
too little history, and `hotline forecast` over the shared history reader."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from hotline.cli import main
from hotline.roster import load_text
from hotline.wfm.forecast import DECAY, forecast, history_window

PARIS = ZoneInfo("Europe/Paris")

ROSTER = """\
timezone: Europe/Paris
holidays: {country: FR, holiday_as: sun}
skills: [connection, software]
agents:
  - {id: ana, name: Ana, phone: '+33612345601', skills: {connection: 3}, languages: [fr]}
shifts:
  - {id: day, agent: ana, days: mon-fri, start: '08:00', end: '16:00'}
"""


@pytest.fixture(scope="module")
def roster():
    return load_text(ROSTER, "test.yaml")


def call(at: datetime, skill="connection", *, wait=30.0, abandoned=False, talk=240.0, wrap=60.0):
    return {
        "call_sid": f"CA{at.timestamp():.0f}{skill}{abandoned}",
        "skill": skill,
        "offered_at": at.timestamp(),
        "answered": not abandoned,
        "abandoned": abandoned,
        "wait_s": wait,
        "talk_s": None if abandoned else talk,
        "wrapup_s": None if abandoned else wrap,
        "state": "abandoned" if abandoned else "completed",
    }


def burst(d: date, hh_mm: str, n: int, **kw) -> list[dict]:
    """`n` calls one minute apart from local `hh_mm` on date `d`."""
    t0 = datetime.combine(d, time.fromisoformat(hh_mm), PARIS)
    return [call(t0 + timedelta(minutes=i), **kw) for i in range(n)]


def slot(result, local_date: str, hh_mm: str, skill="connection", nth=0):
    rows = [r for r in result["intervals"] if r["local_date"] == local_date and r["time"] == hh_mm]
    return rows[nth]["skills"][skill] | {"_row": rows[nth]}


def test_recent_weeks_weigh_more():
    # Mondays 09:00-09:30: 20 calls a week ago, 10 two weeks ago, 25 three weeks ago
    history = (
        burst(date(2026, 6, 8), "09:00", 20)
        + burst(date(2026, 6, 1), "09:00", 10)
        + burst(date(2026, 5, 25), "09:00", 25)
    )
    f = forecast(history, "2026-W25", tz=PARIS)  # Monday 15 June
    w = [1, DECAY, DECAY**2]
    expected = (20 * w[0] + 10 * w[1] + 25 * w[2]) / sum(w)
    assert slot(f, "2026-06-15", "09:00")["calls"] == pytest.approx(expected, abs=1e-3)
    assert slot(f, "2026-06-15", "09:30")["calls"] == 0  # a sample with no calls is a zero
    assert slot(f, "2026-06-16", "09:00")["calls"] == 0  # Tuesdays had none
    assert f["history_weeks"] == 3 and f["enough_history"] and f["message"] is None
    assert len(f["intervals"]) == 7 * 48


def test_days_not_yet_lived_are_no_sample_when_forecasting_from_mid_week():
    # Thursdays 09:00: 20 calls in each of three weeks, and this week's Monday had its
    # calls too. Forecast W25 on Wednesday 10 June: Thursday 11 June has not happened,
    # it is no sample, not a zero.
    thursdays = (date(2026, 5, 21), date(2026, 5, 28), date(2026, 6, 4))
    history = [c for d in thursdays for c in burst(d, "09:00", 20)]
    history += burst(date(2026, 6, 8), "10:00", 5)
    wednesday_noon = datetime(2026, 6, 10, 12, 0, tzinfo=PARIS).timestamp()
    f = forecast(history, "2026-W25", tz=PARIS, now=wednesday_noon)
    assert slot(f, "2026-06-18", "09:00")["calls"] == pytest.approx(20)
    # Without `now`, the history runs to the week: last Thursday is a zero at full weight.
    g = forecast(history, "2026-W25", tz=PARIS)
    w = sum(DECAY**k for k in (1, 2, 3))
    assert slot(g, "2026-06-18", "09:00")["calls"] == pytest.approx(20 * w / (1 + w), abs=1e-3)


def test_aht_and_patience_estimates():
    d = date(2026, 6, 8)
    history = burst(d, "10:00", 12, wait=20.0, talk=200.0, wrap=40.0) + burst(
        d, "10:15", 3, wait=50.0, abandoned=True
    )
    history += burst(d - timedelta(weeks=1), "10:00", 1)
    f = forecast(history, "2026-W25", tz=PARIS)
    s = slot(f, "2026-06-15", "10:00")
    # 12 answered last week (240 s), 1 the week before (300 s, weighing 0.7)
    assert s["aht_s"] == pytest.approx(round((12 * 240 + DECAY * 300) / (12 + DECAY), 1))
    # (12 answered waits x 20 s + 3 abandoned waits x 50 s) / 3 abandons, last week only
    # (a week-2 call weighs 0.7: 0.7 x 30 s more waited, no abandon)
    assert s["patience_s"] == pytest.approx(round((12 * 20 + 3 * 50 + DECAY * 30) / 3, 1))


def test_no_abandons_no_patience():
    history = burst(date(2026, 6, 8), "10:00", 5) + burst(date(2026, 6, 1), "10:00", 5)
    f = forecast(history, "2026-W25", tz=PARIS)
    assert slot(f, "2026-06-15", "10:00")["patience_s"] is None
    assert f["summary"]["connection"]["patience_s"] is None


def test_less_than_two_weeks_of_history_says_so_and_shows_it():
    f = forecast(burst(date(2026, 6, 10), "09:00", 4), "2026-W25", tz=PARIS)
    assert f["history_weeks"] == 1 and f["enough_history"] is False
    assert "only 1 week of history" in f["message"]
    assert slot(f, "2026-06-17", "09:00")["calls"] == 4
    # before the first call the hotline did not run: Monday and Tuesday have no sample
    assert slot(f, "2026-06-15", "09:00")["calls"] is None
    empty = forecast([], "2026-W25", tz=PARIS)
    assert empty["history_weeks"] == 0 and not empty["enough_history"]


def test_a_past_holiday_teaches_its_holiday_as_weekday(roster):
    # Fridays 1 and 8 May 2026 are public holidays in France, run as Sundays.
    history = []
    for monday in (date(2026, 4, 20), date(2026, 4, 27), date(2026, 5, 4)):
        for i in range(5):
            d = monday + timedelta(days=i)
            holiday = d in (date(2026, 5, 1), date(2026, 5, 8))
            history += burst(d, "10:00", 2 if holiday else 10)
        history += burst(monday + timedelta(days=6), "10:00", 2)  # Sundays are quiet
    f = forecast(history, "2026-W20", tz=PARIS, roster=roster)  # 11-17 May
    # Friday 15 May: only 24 April's Friday is a Friday sample (not diluted by the holidays)
    assert slot(f, "2026-05-15", "10:00")["calls"] == pytest.approx(10)
    assert slot(f, "2026-05-17", "10:00")["calls"] == pytest.approx(2)  # Sundays + holidays
    # Thursday 14 May (Ascension) is forecast as a Sunday
    asc = slot(f, "2026-05-14", "10:00")
    assert asc["calls"] == pytest.approx(2) and asc["_row"]["counted_as"] == "sun"
    assert slot(f, "2026-05-13", "10:00")["calls"] == pytest.approx(10)
    # without the roster's rule, holidays are plain weekdays: 8 May, 1 May, 24 April
    plain = forecast(history, "2026-W20", tz=PARIS)
    assert slot(plain, "2026-05-15", "10:00")["calls"] == pytest.approx(
        (2 * 1 + 2 * DECAY + 10 * DECAY**2) / (1 + DECAY + DECAY**2), abs=1e-3
    )


def test_spring_forward_week_has_no_two_oclock_intervals():
    history = burst(date(2026, 3, 15), "01:40", 3) + burst(date(2026, 3, 15), "02:10", 6)
    history += burst(date(2026, 3, 16), "09:00", 1)
    f = forecast(history, "2026-W13", tz=PARIS)  # Sunday 29 March 2026: 02:00 -> 03:00
    sunday = [r for r in f["intervals"] if r["local_date"] == "2026-03-29"]
    assert len(sunday) == 46 and len(f["intervals"]) == 7 * 48 - 2
    assert [r["time"] for r in sunday][2:5] == ["01:00", "01:30", "03:00"]
    assert sunday[3]["start"] == "2026-03-29T01:30:00+01:00"
    assert sunday[4]["start"] == "2026-03-29T03:00:00+02:00"
    assert sunday[3]["end"] == sunday[4]["start"]
    # Sundays 22 March (nothing at 01:30, weight 1) and 15 March (3 calls, weight 0.7)
    assert sunday[3]["skills"]["connection"]["calls"] == pytest.approx(
        3 * DECAY / (1 + DECAY), abs=1e-3
    )


def test_fall_back_week_has_the_two_oclock_intervals_twice():
    # 4 calls at 02:00 on two ordinary Sundays: each of the two 02:00s expects 4
    history = burst(date(2026, 10, 18), "02:00", 4) + burst(date(2026, 10, 11), "02:00", 4)
    f = forecast(history, "2026-W43", tz=PARIS)  # Sunday 25 October 2026: 03:00 -> 02:00
    sunday = [r for r in f["intervals"] if r["local_date"] == "2026-10-25"]
    assert len(sunday) == 50 and len(f["intervals"]) == 7 * 48 + 2
    twos = [r for r in sunday if r["time"] == "02:00"]
    assert [r["start"] for r in twos] == ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]
    assert [r["utc_offset"] for r in twos] == ["+02:00", "+01:00"]
    assert [r["skills"]["connection"]["calls"] for r in twos] == [4, 4]


def test_a_past_25_hour_day_is_counted_per_real_interval():
    # Sunday 25 Oct 2026 had 02:00 twice: 6 calls in each real 02:00 interval are 6, not 12
    first = datetime(2026, 10, 25, 2, 0, tzinfo=PARIS).timestamp()  # fold 0: +02:00
    history = [call(datetime.fromtimestamp(first + 60 * i, PARIS)) for i in range(6)]
    history += [call(datetime.fromtimestamp(first + 3600 + 60 * i, PARIS)) for i in range(6)]
    history += burst(date(2026, 10, 19), "09:00", 1)
    f = forecast(history, "2026-W44", tz=PARIS)  # Sunday 1 November: an ordinary day
    assert slot(f, "2026-11-01", "02:00")["calls"] == pytest.approx(6)


def test_skill_filter_and_unknown_skill(roster):
    history = burst(date(2026, 6, 8), "09:00", 3) + burst(date(2026, 6, 1), "09:00", 3)
    history += burst(date(2026, 6, 8), "09:00", 2, skill="software")
    f = forecast(history, "2026-W25", tz=PARIS, roster=roster, skill="software")
    assert f["skills"] == ["software"]
    assert slot(f, "2026-06-15", "09:00", "software")["calls"] == pytest.approx(
        2 / (1 + DECAY), abs=1e-3
    )
    with pytest.raises(ValueError, match="unknown skill"):
        forecast(history, "2026-W25", tz=PARIS, roster=roster, skill="printers")


@pytest.mark.parametrize("bad", [7, 0, 90])
def test_interval_must_divide_an_hour(bad):
    with pytest.raises(ValueError, match="divide an hour"):
        forecast([], "2026-W25", tz=PARIS, interval_min=bad)


def test_history_window_is_the_lookback_before_the_week():
    h0, h1 = history_window("2026-W25", PARIS, 8)
    assert datetime.fromtimestamp(h1, PARIS) == datetime(2026, 6, 15, tzinfo=PARIS)
    assert datetime.fromtimestamp(h0, PARIS) == datetime(2026, 4, 20, tzinfo=PARIS)


# --- the command, over the event log and hotline.history ------------------------------------


@pytest.fixture
def cli(svc, monkeypatch, redis_url, settings):
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))

    def run(*args):
        return CliRunner().invoke(main, list(args))

    return run


def log_answered(svc, sid: str, t0: float, wait: float, talk: float) -> list[tuple]:
    return [
        (t0, "enqueued", sid, {"skill": "connection"}),
        (t0 + wait, "caller_bridged", sid, {"agent_id": "ana", "who": "caller"}),
        (t0 + wait + talk, "call_completed", sid, {"agent_id": "ana", "talk_s": talk}),
        (t0 + wait + talk, "wrapup_started", sid, {"agent_id": "ana", "wrapup_s": 0}),
    ]


def test_cli_forecast_reads_the_event_log(cli, svc):
    events = []
    for monday in (date(2026, 6, 1), date(2026, 6, 8)):
        t0 = datetime.combine(monday, time(9, 0), PARIS).timestamp()
        for i in range(6):
            events += log_answered(svc, f"CA{monday:%d}{i}", t0 + 120 * i, wait=10, talk=200)
    for t, kind, sid, fields in sorted(events, key=lambda e: e[0]):
        svc.events.append(kind, call_sid=sid, ts=t, **fields)
    res = cli("forecast", "--week", "2026-W25", "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["history_weeks"] == 2 and d["enough_history"] is True
    monday = slot(d, "2026-06-15", "09:00")
    assert monday["calls"] == pytest.approx(6) and monday["aht_s"] == pytest.approx(200)
    text = cli("forecast", "--week", "2026-W25").output
    assert "2 weeks of history" in text and "Mon 15 09:00" in text
    bad = cli("forecast", "--week", "2026-13")
    assert bad.exit_code == 1 and bad.output.startswith("hotline: error: week")
    few = json.loads(cli("forecast", "--week", "2026-W24", "--json").output)
    assert few["enough_history"] is False and few["history_weeks"] == 1
