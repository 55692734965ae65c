"""Figures and invariants from the event log alone, on logs written out by hand.

Each log is what `hotline events --json` prints: ISO timestamps with an offset,
string fields. The end-to-end tests check the same functions on real runs.
"""

from __future__ import annotations

import json
from datetime import UTC

import pytest

from hotline import invariants, reports

T = 1_796_112_000.0  # 2026-12-01T08:00:00Z


def ev(t: float, type_: str, call: str | None = None, agent: str | None = None, **fields) -> dict:
    from datetime import datetime

    d = {
        "id": f"{int(t * 1000)}-0",
        "ts": datetime.fromtimestamp(T + t, UTC).isoformat(),
        "type": type_,
    }
    if call:
        d["call_sid"] = call
    if agent:
        d["agent_id"] = agent
    d.update({k: str(v) for k, v in fields.items()})
    return d


def answered(call: str, agent: str, t0: float, wait: float, talk: float = 100) -> list[dict]:
    b = t0 + wait
    return [
        ev(t0 - 30, "call_created", call),
        ev(t0, "enqueued", call, skill="connection"),
        ev(b - 10, "reserved", call, agent),
        ev(b - 10, "agent_state", call, agent, to="reserved"),
        ev(b, "agent_state", call, agent, to="busy"),
        ev(b, "reservation_accepted", call, agent),
        ev(b, "offer_accepted", call, agent),
        ev(b, "caller_bridged", call, agent, who="caller"),
        ev(b + talk, "call_completed", call, agent, talk_s=talk),
        ev(b + talk, "agent_state", None, agent, to="wrapup"),
        ev(b + talk, "wrapup_started", call, agent, wrapup_s=60),
        ev(b + talk + 60, "agent_state", None, agent, to="available"),
    ]


def test_summary_of_a_small_morning():
    log = (
        answered("CA1", "ana", 0, 20)
        + answered("CA2", "ben", 5, 95)
        + [
            ev(10, "call_created", "CA3"),
            ev(40, "enqueued", "CA3"),
            ev(160, "abandoned", "CA3", wait_s=120),
            ev(50, "call_created", "CA4"),
            ev(90, "selfhelp_resolved", "CA4"),
            ev(60, "call_created", "CA5"),
            ev(70, "call_ended", "CA5", state="left_ivr"),
            ev(61, "call_created", "CA6"),
            ev(90, "enqueued", "CA6"),
            ev(91, "reserved", "CA6", "cleo"),
            ev(111, "reservation_missed", "CA6", "cleo", reason="no-answer"),
            ev(112, "reserved", "CA6", "ana"),
            ev(113, "reservation_released", "CA6", "ana", reason="call_gone"),
            ev(114, "abandoned", "CA6"),
        ]
    )
    log.sort(key=lambda e: e["ts"])
    s = reports.summary(log)
    assert s["calls"] == 6 and s["offered"] == 4
    assert (s["answered"], s["abandoned"], s["self_service_resolved"]) == (2, 2, 1)
    assert (
        s["missed_offers"] == 1
    )  # cleo's no-answer; ana's withdrawn offer (caller gone) is nobody's miss
    assert s["service_level"] == 0.25  # 1 of the 4 who waited was answered within 60 s
    assert s["average_speed_of_answer_s"] == pytest.approx((20 + 95) / 2)
    assert s["max_wait_s"] == 120
    assert s["unfinished"] == 0 and s["left_in_ivr"] == 1


def test_summary_reads_json_lines_like_the_cli_prints_them():
    log = answered("CA1", "ana", 0, 20)
    assert reports.summary(json.dumps(e) for e in log) == reports.summary(log)


def test_a_call_still_waiting_is_unfinished_and_its_wait_runs_to_the_end_of_the_log():
    log = [ev(0, "call_created", "CA1"), ev(10, "enqueued", "CA1"), ev(400, "routing_swept")]
    s = reports.summary(log)
    assert s["unfinished"] == 1 and s["max_wait_s"] == 390
    assert reports.unfinished_calls(log) == ["CA1"]
    bad = invariants.check(log)
    assert [v.rule for v in bad] == ["final_once"]
    assert invariants.check(log, finished=False) == []


def test_invariants_hold_on_a_clean_log():
    log = answered("CA1", "ana", 0, 20) + answered("CA2", "ana", 300, 20)
    invariants.assert_holds(log)


def test_two_final_states_for_one_call_are_caught():
    log = [*answered("CA1", "ana", 0, 20), ev(500, "abandoned", "CA1")]
    assert [v.rule for v in invariants.check(log)] == ["final_once"]


def test_an_agent_in_two_calls_at_once_is_caught():
    a = answered("CA1", "ana", 0, 20, talk=300)
    b = answered("CA2", "ana", 100, 20, talk=100)
    log = sorted(a + b, key=lambda e: e["ts"])
    rules = {v.rule for v in invariants.check(log)}
    assert "one_call_per_agent" in rules


def test_a_call_bridged_to_two_agents_is_caught():
    log = [*answered("CA1", "ana", 0, 20), ev(25, "reservation_accepted", "CA1", "ben")]
    log.sort(key=lambda e: e["ts"])
    assert "one_agent_per_call" in {v.rule for v in invariants.check(log)}


def test_an_event_about_a_call_without_its_call_id_is_caught():
    log = [*answered("CA1", "ana", 0, 20), ev(30, "caller_bridged", None, "ana")]
    assert "call_id" in {v.rule for v in invariants.check(log)}


def test_an_agent_offered_the_next_call_without_a_wrap_up_is_caught():
    """The bug of two end signals at once: the call ended, and the agent went straight
    from busy to available and was reserved again, skipping the wrap-up."""
    first = [e for e in answered("CA1", "ana", 0, 20) if e["type"] != "wrapup_started"]
    first = [dict(e, to="available") if e.get("to") == "wrapup" else e for e in first]
    log = sorted(first + answered("CA2", "ana", 150, 20), key=lambda e: e["ts"])
    assert [v.rule for v in invariants.check(log)] == ["wrapup_before_next"]


def test_an_agent_moved_out_of_busy_by_a_person_owes_no_wrap_up():
    first = answered("CA1", "ana", 0, 20)
    hand = ev(60, "agent_state", None, "ana", to="available", by="supervisor")
    first = [e for e in first if e["type"] not in ("wrapup_started",) and e.get("to") != "wrapup"]
    log = sorted([*first, hand, *answered("CA2", "ana", 200, 20)], key=lambda e: e["ts"])
    assert invariants.check(log) == []


def test_undocumented_event_types_are_caught():
    log = [*answered("CA1", "ana", 0, 20), ev(30, "something_new", "CA1")]
    assert [v.rule for v in invariants.check(log)] == ["documented"]
    with pytest.raises(AssertionError, match="something_new"):
        invariants.assert_holds(log)
