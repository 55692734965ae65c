"""`hotline report`: interval figures per skill, hand-computed on a scripted morning.

The morning is written to the real event log the way the domain writes it, read back
through hotline.history and the CLI; the definitions (service levels, short abandons,
first-contact resolution, local intervals on DST days) are pinned on the pure function.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from hotline.cli import main
from hotline.history import calls_from_events
from hotline.wfm import report as wfm

PARIS = ZoneInfo("Europe/Paris")
B = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp()  # 10:00 in Paris, a Tuesday
DAY = 86400.0
N1, N2, N3 = "+33611111111", "+33622222222", "+33633333333"


class Script:
    """Events at clock times (seconds after B), appended in time order by `write()`."""

    def __init__(self):
        self.events = []

    def __call__(self, t, type_, call=None, agent=None, **fields):
        self.events.append((t, type_, call, agent, fields))

    def answered(
        self, sid, agent, t0, wait, talk, wrap, number, disposition=None, skill="software"
    ):
        self(t0 - 30, "call_created", sid, from_number=number, lang="fr-FR")
        self(t0 - 10, "classified", sid, category=skill, skill=skill)
        self(t0, "enqueued", sid, skill=skill, priority=0)
        b = t0 + wait
        self(b - 8, "reserved", sid, agent, skill=skill)
        self(b - 1, "reservation_accepted", sid, agent)
        self(b, "caller_bridged", sid, agent, who="caller")
        self(b + talk, "call_completed", sid, agent, skill=skill, talk_s=talk)
        self(b + talk, "wrapup_started", sid, agent, wrapup_s=wrap)
        if disposition:
            self(b + talk + 5, "call_disposition", sid, agent, disposition=disposition, notes="")
        if wrap:
            self(b + talk + wrap, "wrapup_ended", sid, agent, via="timer")
        else:
            self(b + talk, "wrapup_ended", sid, agent, via="zero")

    def queued(self, sid, t0, number=N3, skill="software"):
        self(t0 - 30, "call_created", sid, from_number=number)
        self(t0 - 10, "classified", sid, category=skill, skill=skill)
        self(t0, "enqueued", sid, skill=skill)

    def write(self, svc, clock):
        for t, type_, call, agent, fields in sorted(self.events, key=lambda e: e[0]):
            clock.set(B + t)
            svc.events.append(type_, call_sid=call, agent_id=agent, **fields)

    def as_log(self):
        out = []
        for i, (t, type_, call, agent, fields) in enumerate(
            sorted(self.events, key=lambda e: e[0])
        ):
            d = {
                "id": f"{i + 1}-0",
                "ts": B + t,
                "type": type_,
                **{k: str(v) for k, v in fields.items()},
            }
            if call:
                d["call_sid"] = call
            if agent:
                d["agent_id"] = agent
            out.append(d)
        return out


def morning() -> Script:
    s = Script()
    # CA1: answered in 20 s, resolved remotely, but N1 calls back 3 days later: no FCR
    s.answered("CA1", "ana", 0, 20, 300, 60, N1, "resolved_remotely")
    s(3 * DAY, "call_created", "CA9", from_number=N1)
    s(3 * DAY + 20, "call_ended", "CA9", state="left_ivr", status="completed")
    # CA2: answered in 90 s (outside 60 s), resolved remotely; N2 calls again after 8 days
    s.answered("CA2", "ben", 100, 90, 200, 40, N2, "resolved_remotely")
    s(8 * DAY + 600, "call_created", "CA11", from_number=N2)
    # CA3: ben misses it, carl answers in 50 s, escalated
    s.answered("CA3", "carl", 200, 50, 100, 30, N3, "escalated_l2")
    s(205, "reserved", "CA3", "ben")
    s(225, "reservation_missed", "CA3", "ben", reason="no-answer")
    # CA4: hangs up after 3 s (short abandon); CA5 after 45 s; CA6 after 120 s
    s.queued("CA4", 300)
    s(303, "abandoned", "CA4", skill="software")
    s.queued("CA5", 400)
    s(445, "abandoned", "CA5", skill="software")
    s.queued("CA6", 500)
    s(620, "abandoned", "CA6", skill="software")
    # CA7: resolved by the self-help tip
    s(560, "call_created", "CA7", from_number=N3)
    s(570, "classified", "CA7", category="software", skill="software")
    s(580, "selfhelp_offered", "CA7")
    s(600, "selfhelp_resolved", "CA7")
    # CA8: waits 60 s then asks for a callback; called back at 10:25, 120 s
    s.queued("CA8", 700)
    s(760, "callback_requested", "CA8", skill="software")
    s(1490, "reserved", "CA8", "ben")
    s(1495, "reservation_accepted", "CA8", "ben")
    s(1500, "caller_bridged", "CA8", "ben", who="customer")
    s(1620, "callback_completed", "CA8", "ben", talk_s=120)
    s(1620, "wrapup_started", "CA8", "ben", wrapup_s=0)
    # CA10: connection, 11:00-12:00 local, answered in 10 s
    s.answered("CA10", "dan", 3700, 10, 60, 0, "+33644444444", skill="connection")
    # ana's day: logs in at 09:00 local, CA-less busy time of her own call CA12 (general)
    s(-3600, "agent_state", None, "ana", **{"from": "offline", "to": "available"})
    s(12, "agent_state", "CA1", "ana", **{"from": "available", "to": "reserved"})
    s(20, "agent_state", "CA1", "ana", **{"from": "reserved", "to": "busy"})
    s(320, "agent_state", "CA1", "ana", **{"from": "busy", "to": "wrapup"})
    s(380, "agent_state", "CA1", "ana", **{"from": "wrapup", "to": "available"})
    s(7200, "agent_state", None, "ana", **{"from": "available", "to": "offline"})
    # bob has been available since the evening before and never changed
    s(-12 * 3600, "agent_state", None, "bob", **{"from": "offline", "to": "available"})
    return s


SOFTWARE_10H = {
    "offered": 7,
    "answered": 3,
    "answered_within_threshold": 2,
    "abandoned": 2,
    "short_abandoned": 1,
    "abandoned_within_threshold": 1,
    "service_level": round(2 / 6, 4),
    "service_level_sl2": 0.5,
    "asa_s": round((20 + 90 + 50) / 3, 1),
    "aht_s": ((300 + 60) + (200 + 40) + (100 + 30) + (120 + 0)) / 4,
    "longest_wait_s": 120.0,
    "selfhelp_resolved": 1,
    "callbacks_requested": 1,
    "callbacks_completed": 1,
    "missed_offers": 1,
    "handled": 4,
    "resolved_remotely": 2,
    "first_contact_resolved": 1,
    "fcr_rate": 0.25,
    "remote_resolution_share": 0.5,
    "dispositions": {"escalated_l2": 1, "resolved_remotely": 2},
}


@pytest.fixture
def cli(svc, monkeypatch, redis_url, settings):
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_TIMEZONE", "Europe/Paris")

    def run(*args):
        return CliRunner().invoke(main, list(args))

    return run


def test_a_scripted_morning_gives_the_hand_computed_figures(cli, svc, clock):
    morning().write(svc, clock)
    res = cli("report", "--day", "2026-12-01", "--json")
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["period"]["start_utc"] == "2026-11-30T23:00:00Z"
    assert rep["period"]["intervals"] == 24 and rep["threshold_s"] == 60.0
    sw = rep["skills"]["software"]
    ten = sw["intervals"][10]
    assert (ten["start_utc"], ten["start_local"]) == (
        "2026-12-01T09:00:00Z",
        "2026-12-01T10:00:00+01:00",
    )
    assert {k: ten[k] for k in SOFTWARE_10H} == SOFTWARE_10H
    assert sw["total"] == {k: ten[k] for k in sw["total"]}  # nothing else that day
    assert sw["intervals"][9]["offered"] == 0 and sw["intervals"][9]["service_level"] is None
    conn = rep["skills"]["connection"]
    eleven = conn["intervals"][11]
    assert (eleven["offered"], eleven["answered"], eleven["service_level"]) == (1, 1, 1.0)
    assert eleven["aht_s"] == 60.0 and eleven["asa_s"] == 10.0
    tot = rep["total"]
    assert (tot["offered"], tot["answered"], tot["handled"]) == (8, 4, 5)
    assert tot["service_level"] == round(3 / 7, 4)
    # ana: logged in 09:00-12:00 local, busy 300 s, wrap-up 60 s; bob: all day, idle
    assert rep["agents"]["ana"] == {
        "logged_in_s": 10800.0,
        "busy_s": 300.0,
        "wrapup_s": 60.0,
        "occupancy": round(360 / 10800, 4),
    }
    assert rep["agents"]["bob"]["logged_in_s"] == DAY and rep["agents"]["bob"]["occupancy"] == 0


def test_the_live_report_equals_the_pure_one_on_the_same_log(cli, svc, clock):
    s = morning()
    s.write(svc, clock)
    start, end = wfm.day_period("2026-12-01", PARIS)
    log = s.as_log()
    pure = wfm.report(
        calls_from_events(log),
        [e for e in log if e["type"] == "agent_state"],
        start_ts=start,
        end_ts=end,
        tz=PARIS,
        interval_min=60,
        threshold_s=60.0,
    )
    live = json.loads(cli("report", "--day", "2026-12-01", "--json").output)
    assert live["skills"] == pure["skills"] and live["agents"] == pure["agents"]


def test_csv_has_a_header_and_a_row_per_skill_and_interval(cli, svc, clock):
    morning().write(svc, clock)
    res = cli("report", "--day", "2026-12-01", "--csv", "--interval-min", "30")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert len(rows) == 2 * 48  # connection and software, 48 half hours
    assert list(rows[0])[:6] == [
        "skill",
        "interval_start_utc",
        "interval_start_local",
        "offered",
        "answered",
        "answered_within_threshold",
    ]
    (r,) = [
        r
        for r in rows
        if r["skill"] == "software" and r["interval_start_local"].endswith("T10:00:00+01:00")
    ]
    assert (r["offered"], r["service_level_sl2"], r["disposition_resolved_remotely"]) == (
        "7",
        "0.5",
        "2",
    )
    quiet = rows[0]
    assert quiet["service_level"] == "" and quiet["offered"] == "0"


def test_the_table_and_the_skill_filter(cli, svc, clock):
    morning().write(svc, clock)
    res = cli("report", "--day", "2026-12-01")
    assert res.exit_code == 0, res.output
    assert "skill software" in res.output and "skill connection" in res.output
    assert "occupancy" in res.output
    only = json.loads(
        cli("report", "--day", "2026-12-01", "--skill", "connection", "--json").output
    )
    assert list(only["skills"]) == ["connection"] and only["total"]["offered"] == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--day", "2026-13-01"], "--day: '2026-13-01' is not a date"),
        (["--day", "1/12/2026"], "--day: '1/12/2026' is not a date"),
        (["--week", "2026-W54"], "--week: '2026-W54' is not an ISO week"),
        (["--week", "2026-49"], "--week: '2026-49' is not an ISO week"),
        ([], "give one of --day"),
        (["--day", "2026-12-01", "--week", "2026-W49"], "give one of --day"),
        (["--day", "2026-12-01", "--interval-min", "20"], "--interval-min: '20'"),
        (["--day", "2026-12-01", "--json", "--csv"], "choose one"),
    ],
)
def test_bad_input_is_one_error_line(cli, args, message):
    res = cli("report", *args)
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hotline: error: ") and message in lines[0]


def test_a_week_runs_monday_to_monday_local():
    start, end = wfm.week_period("2026-W49", PARIS)
    assert datetime.fromtimestamp(start, PARIS).isoformat() == "2026-11-30T00:00:00+01:00"
    assert end - start == 7 * DAY


# ---------------------------------------------------------------- definitions


def call(sid, t, *, wait=None, answered=False, abandoned=False, skill="general", **kw) -> dict:
    c = {
        "call_sid": sid,
        "number": kw.pop("number", None),
        "skill": skill,
        "created_at": t - 20,
        "offered_at": t,
        "answered": answered,
        "wait_s": wait,
        "abandoned": abandoned,
        "short_abandon": abandoned and wait is not None and wait < 5,
        "talk_s": 100.0 if answered else None,
        "wrapup_s": 0.0 if answered else None,
        "ended_at": t + (wait or 0) + (100 if answered else 0),
    }
    c.update(kw)
    return c


def run(calls, agent_events=(), *, start=B, end=B + 3600, minutes=60, tz=PARIS, **kw):
    return wfm.report(
        calls,
        agent_events,
        start_ts=start,
        end_ts=end,
        tz=tz,
        interval_min=minutes,
        threshold_s=60.0,
        **kw,
    )


def test_service_levels_count_short_abandons_out_and_sl2_counts_quick_abandons_as_met():
    calls = [
        call("a1", B + 1, wait=60, answered=True),  # at the threshold: within
        call("a2", B + 2, wait=61, answered=True),  # just over
        call("x1", B + 3, wait=4.9, abandoned=True),  # short: out of both
        call("x2", B + 4, wait=5.0, abandoned=True),  # not short; within T: met for SL2
        call("x3", B + 5, wait=200, abandoned=True),  # over T: missed by both
    ]
    t = run(calls)["total"]
    assert (t["offered"], t["answered"], t["abandoned"], t["short_abandoned"]) == (5, 2, 2, 1)
    assert t["service_level"] == 0.25  # 1 / (5 - 1)
    assert t["service_level_sl2"] == 0.5  # (1 + 1) / (5 - 1)


def test_nothing_offered_gives_no_service_level_rather_than_zero():
    t = run([call("x1", B + 3, wait=2, abandoned=True)])["total"]
    assert t["service_level"] is None and t["service_level_sl2"] is None


def test_first_contact_resolution_reads_seven_days_past_the_call():
    resolved = {"disposition": "resolved_remotely"}
    calls = [
        call("r1", B + 10, wait=5, answered=True, number=N1, **resolved),
        call("r2", B + 20, wait=5, answered=True, number=N2, **resolved),
        call("r3", B + 30, wait=5, answered=True, number=None, **resolved),  # withheld
        call("e1", B + 40, wait=5, answered=True, number=N3, disposition="escalated_l2"),
        # after the period: read only to see who called again
        call("again1", B + 7 * DAY - 600, number=N1, offered_at=None),  # within 7 days
        call("again2", B + 8 * DAY, number=N2),  # after 8 days
    ]
    t = run(calls)["total"]
    assert (t["handled"], t["resolved_remotely"], t["first_contact_resolved"]) == (4, 3, 2)
    assert t["fcr_rate"] == 0.5 and t["remote_resolution_share"] == 0.75
    assert wfm.first_contact(calls) == {"r2", "r3"}
    assert t["dispositions"] == {"escalated_l2": 1, "resolved_remotely": 3}


@pytest.mark.parametrize(
    "day, hours, third, fourth",
    [
        # 02:00 never happens: 00:00, 01:00, 03:00...
        ("2026-03-29", 23, "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"),
        # 02:00 happens twice
        ("2026-10-25", 25, "2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"),
        ("2026-12-01", 24, "2026-12-01T02:00:00+01:00", "2026-12-01T03:00:00+01:00"),
    ],
)
def test_dst_days_have_23_or_25_local_hours(day, hours, third, fourth):
    start, end = wfm.day_period(day, PARIS)
    rep = run([], start=start, end=end, skill="general")
    ivs = rep["skills"]["general"]["intervals"]
    assert rep["period"]["intervals"] == hours == len(ivs)
    assert (ivs[2]["start_local"], ivs[3]["start_local"]) == (third, fourth)
    # labelled by UTC start, an hour apart
    utc = [datetime.fromisoformat(i["start_utc"].replace("Z", "+00:00")).timestamp() for i in ivs]
    assert all(b - a == 3600 for a, b in itertools.pairwise(utc))
    quarter = run([], start=start, end=end, minutes=15, skill="general")
    assert quarter["period"]["intervals"] == hours * 4


def test_the_autumn_repeated_hour_keeps_its_calls_apart():
    start, end = wfm.day_period("2026-10-25", PARIS)
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC).timestamp()  # 02:30 CEST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC).timestamp()  # 02:30 CET
    ivs = run(
        [call("a", first, wait=1, answered=True), call("b", second, wait=1, answered=True)],
        start=start,
        end=end,
    )["skills"]["general"]["intervals"]
    assert [(i["start_local"], i["offered"]) for i in ivs[2:4]] == [
        ("2026-10-25T02:00:00+02:00", 1),
        ("2026-10-25T02:00:00+01:00", 1),
    ]


def test_occupancy_takes_the_state_at_the_start_from_the_first_change():
    evs = [
        {"type": "agent_state", "ts": B + 600, "agent_id": "ana", "from": "busy", "to": "wrapup"},
        {"type": "agent_state", "ts": B + 900, "agent_id": "ana", "from": "wrapup", "to": "away"},
        {"type": "agent_state", "ts": B + 1800, "agent_id": "ana", "from": "away", "to": "offline"},
    ]
    a = run([], evs)["agents"]["ana"]
    assert (a["logged_in_s"], a["busy_s"], a["wrapup_s"]) == (1800, 600, 300)
    assert a["occupancy"] == 0.5


def test_a_period_still_running_counts_agents_time_up_to_now_only():
    evs = [
        {"type": "agent_state", "ts": B, "agent_id": "ana", "from": "offline", "to": "available"}
    ]
    evs.append(
        {"type": "agent_state", "ts": B + 60, "agent_id": "ana", "from": "available", "to": "busy"}
    )
    a = run([], evs, now=B + 240)["agents"]["ana"]  # four minutes into the hour
    assert (a["logged_in_s"], a["busy_s"]) == (240, 180)
    assert a["occupancy"] == 0.75
    assert run([], evs)["agents"]["ana"]["logged_in_s"] == 3600  # a period that has ended
