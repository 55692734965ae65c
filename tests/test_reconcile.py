"""Reconciliation with the carrier (hotline/reconcile.py): the signal Twilio never retried.

The carrier here is the recording one: `tel.statuses[sid]` is what Calls fetch answers
(in-progress unless told; "unknown" = 404). Each test loses a status callback the way
an outage does -- by simply not delivering it -- and runs the sweep.
"""

from __future__ import annotations

from conftest import call_params
from legs_support import events, work
from routing_support import call_hash
from test_agent_legs import CALLER, Leg, accepted_call, reserve, setup_team

from hotline import invariants, jobs, reconcile
from hotline.store import outage


def sweep_and_work(lsvc):
    out = jobs.sweep()
    work(lsvc)
    return out


def test_after_an_outage_a_caller_who_hung_up_while_waiting_is_abandoned(lsvc, tel, clock):
    from routing_support import waiting_call

    waiting_call(lsvc, CALLER, "connection")
    tel.statuses[CALLER] = "completed"  # hung up; the status callback was lost
    outage.record(lsvc, since=1.0, until=2.0)
    out = sweep_and_work(lsvc)
    assert out["after_outage"] == 1 and out["reconcile_jobs"] == 1
    h = call_hash(lsvc, CALLER)
    assert h["state"] == "abandoned" and h["abandoned_via"] == "reconcile"
    (ev,) = events(lsvc, "call_reconciled")
    assert ev.fields["action"] == "abandoned" and ev.fields["carrier_status"] == "completed"
    assert lsvc.redis.zcard(lsvc.keys.waiting("connection")) == 0
    assert not lsvc.redis.exists(lsvc.keys.outage)  # taken by that one sweep


def test_a_bridged_call_whose_end_was_lost_ends_and_the_agent_goes_to_wrap_up(lsvc, tel, tw, clock):
    _agent, leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))  # the caller joins
    clock.advance(300)
    tel.statuses[CALLER] = tel.statuses[leg.sid] = "completed"  # both ended; no callback arrived
    outage.record(lsvc, since=1.0)
    sweep_and_work(lsvc)
    assert call_hash(lsvc, CALLER)["state"] == "completed"
    assert lsvc.agents.get("ana").state == "wrapup"
    assert events(lsvc, "call_completed")[0].fields["ended_by"] == "reconcile_caller"
    # The real callbacks arrive late after all: nothing more.
    n = len(lsvc.events)
    leg.status("completed")
    tw.post("/webhooks/voice/status", call_params(CALLER, CallStatus="completed"))
    work(lsvc)
    assert len(lsvc.events) == n, [e.type for e in lsvc.events.read()][n:]
    invariants.assert_holds(lsvc.events.read())


def test_a_quiet_conversation_is_looked_up_once_per_bound_and_left_alone_while_live(
    lsvc, tel, tw, clock
):
    _agent, _leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))
    clock.advance(reconcile.QUIET_S["bridged"] - 10)
    assert sweep_and_work(lsvc)["reconcile_jobs"] == 0
    clock.advance(20)
    assert sweep_and_work(lsvc)["reconcile_jobs"] == 1  # carrier: both legs in progress
    assert call_hash(lsvc, CALLER)["state"] == "bridged" and events(lsvc, "call_reconciled") == []
    clock.advance(60)
    assert sweep_and_work(lsvc)["reconcile_jobs"] == 0  # looked at a minute ago
    clock.advance(reconcile.QUIET_S["bridged"])
    assert sweep_and_work(lsvc)["reconcile_jobs"] == 1


def test_a_redis_restart_makes_the_sweep_look_at_every_live_call(lsvc, tel, clock):
    from routing_support import waiting_call

    waiting_call(lsvc, CALLER, "connection")
    jobs.sweep()  # remembers the server's run_id
    lsvc.redis.set(lsvc.keys.run_id, "the-run-id-before-a-restart")
    assert sweep_and_work(lsvc)["after_outage"] == 1
    assert [r["call_sid"] for r in tel.of("fetch_call")] == [CALLER]
    assert sweep_and_work(lsvc)["after_outage"] == 0


def test_an_agent_leg_that_ended_unseen_during_the_offer_is_a_missed_offer(lsvc, tel, tw, clock):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    tel.statuses[placed["sid"]] = "no-answer"
    outage.record(lsvc, since=1.0)
    sweep_and_work(lsvc)
    assert events(lsvc, "offer_missed")[0].fields["reason"] == "no-answer"
    assert lsvc.agents.get("ana").state == "away"


def test_an_agent_who_hung_up_before_the_caller_joined_gives_the_call_back(lsvc, tel, tw, clock):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    leg = Leg(tw, placed)
    leg.answer()
    leg.press("1")
    tel.statuses[leg.sid] = "completed"  # the bridge job has not run; the agent's end was lost
    outage.record(lsvc, since=1.0)
    jobs.sweep()
    for job in lsvc.rq_queue.get_jobs():  # the reconcile job only: the bridge job never runs
        if job.func_name == "hotline.jobs.reconcile":
            job.perform()
    assert call_hash(lsvc, CALLER)["state"] == "waiting"
    assert events(lsvc, "call_reconciled")[0].fields["action"] == "requeued"


def test_a_call_the_carrier_does_not_know_is_over(lsvc, tel, clock):
    from routing_support import waiting_call

    waiting_call(lsvc, CALLER, "connection")
    tel.statuses[CALLER] = "unknown"
    outage.record(lsvc, since=1.0)
    sweep_and_work(lsvc)
    assert call_hash(lsvc, CALLER)["state"] == "abandoned"


def test_both_legs_alive_but_the_caller_never_brought_in_runs_the_bridge_again(
    lsvc, tel, tw, clock
):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    leg = Leg(tw, placed)
    leg.answer()
    leg.press("1")
    lsvc.rq_queue.empty()  # the bridge job was lost with a crashed worker
    outage.record(lsvc, since=1.0)
    sweep_and_work(lsvc)
    assert tel.of("dequeue_member"), "the caller is moved to the conference after all"
    assert events(lsvc, "call_reconciled")[0].fields["action"] == "bridge_again"


def test_a_callback_whose_customer_leg_ended_unseen_counts_the_attempt(lsvc, tel, tw, clock):
    from test_callbacks import agent_takes_the_callback

    agent_takes_the_callback(lsvc, tel, tw, clock)
    cust = [p for p in tel.of("place_call") if "/webhooks/agent/customer" in p["url"]][-1]
    tel.statuses[cust["sid"]] = "no-answer"
    outage.record(lsvc, since=1.0)
    sweep_and_work(lsvc)
    assert events(lsvc, "callback_no_answer")[0].fields["status"] == "no-answer"


def test_a_callback_request_just_reserved_is_not_taken_for_a_caller_who_hung_up(lsvc, tel, clock):
    """Between the match and the offer job, the call is `reserved` without `leg_kind`: its
    own caller leg (long over) must not make it an abandoned call."""
    from routing_support import make_available
    from test_callbacks import CALLER as REQUESTER
    from test_callbacks import request_callback

    request_callback(lsvc, clock)
    tel.statuses[REQUESTER] = "completed"  # the caller hung up after leaving the request
    make_available(lsvc, "ana")
    assert lsvc.matcher.match_agent("ana") is not None
    assert call_hash(lsvc, REQUESTER)["state"] == "reserved"
    assert reconcile.call(lsvc, REQUESTER) == "unchanged"
    assert call_hash(lsvc, REQUESTER)["state"] == "reserved"
    assert events(lsvc, "abandoned") == []
