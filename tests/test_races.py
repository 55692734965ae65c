"""A competing request between a read and a write: each decision is one Lua step now.

Each test puts the competing change exactly where the old code had its gap -- between
an HMGET and the script it decided for, or between a script and the write after it --
or fires the two requests from threads at the same instant, and checks the outcome is
one of the two orders, never a mix.
"""

from __future__ import annotations

import threading

from conftest import call_params
from legs_support import events, work
from routing_support import call_hash, sid
from test_agent_legs import CALLER, Leg, reserve, setup_team

from hotline import invariants
from hotline.routing import afterhours, reservations


def _at_once(*fns):
    go = threading.Barrier(len(fns))
    out = [None] * len(fns)

    def run(i, fn):
        go.wait()
        out[i] = fn()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _before_reservation_end(monkeypatch, competing, mode=None):
    """Run `competing()` just before the next reservation_end step (of `mode`)."""
    real = reservations.end
    done = []

    def wrapped(svc, sid_, mode_, *a, **kw):
        if not done and (mode is None or mode_ == mode):
            done.append(1)
            competing()
        return real(svc, sid_, mode_, *a, **kw)

    monkeypatch.setattr(reservations, "end", wrapped)


def test_a_no_answer_racing_the_callers_hang_up_tells_the_agent_the_caller_left(
    lsvc, tel, tw, monkeypatch
):
    """The caller hangs up between the leg's no-answer and the end of the reservation: the
    step sees the call gone, so the agent is free (not away) and nobody re-offers it."""
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    _before_reservation_end(
        monkeypatch, lambda: lsvc.waiting.abandon(CALLER, via="status", status="completed")
    )
    Leg(tw, placed).status("no-answer")
    assert [e.type for e in events(lsvc, "offer_caller_gone", "offer_missed")] == [
        "offer_caller_gone"
    ]
    assert lsvc.agents.get("ana").state == "available"
    assert call_hash(lsvc, CALLER)["state"] == "abandoned"
    invariants.assert_holds(lsvc.events.read())


def test_a_no_answer_just_before_the_accept_step_wins_and_the_accept_takes_nothing(
    lsvc, tel, tw, monkeypatch
):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    leg = Leg(tw, placed)
    leg.answer()
    _before_reservation_end(monkeypatch, lambda: leg.status("no-answer"), mode="accept")
    leg.press("1")
    assert call_hash(lsvc, CALLER)["state"] == "waiting"
    assert lsvc.agents.get("ana").state == "away"
    assert events(lsvc, "offer_accepted") == [] and len(events(lsvc, "offer_missed")) == 1


def test_accept_records_the_agent_leg_in_the_same_step(lsvc, tel, tw, monkeypatch):
    """The end signals read the call's agent leg: it is there the instant the call is
    bridged, so a status callback right after the accept step ends the right leg."""
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    leg = Leg(tw, placed)
    leg.answer()
    assert reservations.accept(lsvc, CALLER, "ana", leg_sid=leg.sid) == "accepted"
    h = call_hash(lsvc, CALLER)
    assert (h["state"], h["agent_leg"]) == ("bridged", leg.sid)
    assert lsvc.redis.hget(lsvc.keys.leg(leg.sid), "state") == "accepted"
    (ev,) = events(lsvc, "offer_accepted")
    assert ev.fields["leg_sid"] == leg.sid
    leg.status("no-answer")  # too late: the leg was accepted
    assert call_hash(lsvc, CALLER)["state"] == "bridged" and events(lsvc, "offer_missed") == []


def test_accept_and_no_answer_at_the_same_instant_end_one_way(lsvc, tel, tw):
    setup_team(lsvc)
    for n in range(40):
        call = sid(500 + n)
        _, placed = reserve(lsvc, tel, call)
        leg = Leg(tw, placed)
        leg.answer()
        _at_once(lambda: leg.press("1"), lambda: leg.status("no-answer"))
        state = call_hash(lsvc, call)["state"]
        accepted = [e for e in events(lsvc, "offer_accepted") if e.call_sid == call]
        missed = [e for e in events(lsvc, "offer_missed") if e.call_sid == call]
        if state == "bridged":
            assert len(accepted) == 1 and not missed and lsvc.agents.get("ana").state == "busy"
            lsvc.redis.hset(lsvc.keys.call(call), "state", "completed")  # end it for the next round
            lsvc.agents.set_state("ana", "available", notify=False)
        else:
            assert state == "waiting" and not accepted and len(missed) == 1
            lsvc.waiting.abandon(call, via="status", status="completed")
            lsvc.agents.set_state("ana", "available", notify=False)
        work(lsvc)


def test_a_transcription_delivered_twice_at_once_is_kept_once(lsvc):
    lsvc.calls.arrive(CALLER, "+33612345678", "+33100000000", "fr")
    out = _at_once(
        *[lambda i=i: afterhours.add_transcription(lsvc, CALLER, f"message {i}") for i in range(8)]
    )
    assert sum(out) == 1
    assert len(events(lsvc, "callback_transcribed")) == 1
    assert call_hash(lsvc, CALLER)["transcription"].startswith("message ")
    assert afterhours.add_transcription(lsvc, sid(777), "for nobody") is False
    assert not lsvc.redis.exists(lsvc.keys.call(sid(777)))


def test_two_callback_requests_at_once_make_one_request(lsvc):
    from routing_support import waiting_call

    waiting_call(lsvc, CALLER, "software")
    out = _at_once(*[lambda: afterhours.request_callback(lsvc, CALLER) for _ in range(6)])
    assert sorted(out) == ["requested"] + ["updated"] * 5
    (ev,) = events(lsvc, "callback_requested")
    assert ev.fields["lines"] == "software"


def test_two_managers_clearing_the_announcement_at_once_log_it_once(lsvc):
    lsvc.announcements.set("Incident réseau en cours", by="ana")
    out = _at_once(*[lambda: lsvc.announcements.clear(by="manager") for _ in range(6)])
    assert sorted(x for o in out for x in o) == sorted(lsvc.announcements.languages())
    assert len(events(lsvc, "announcement_cleared")) == len(lsvc.announcements.languages())


def test_an_answer_replayed_does_not_push_the_offer_expiry_out(lsvc, tel, tw, clock):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    leg = Leg(tw, placed)
    leg.answer()
    first = lsvc.redis.zscore(lsvc.keys.reservations, CALLER)
    clock.advance(10)
    for _ in range(5):
        leg.answer()
    assert lsvc.redis.zscore(lsvc.keys.reservations, CALLER) == first
    assert len(events(lsvc, "agent_answered")) == 1


def test_agent_webhooks_about_a_call_that_does_not_exist_write_nothing(lsvc, tw):
    before = set(lsvc.redis.keys("*"))
    n = len(lsvc.events)
    ghost = "CA" + "9" * 32
    for path in ("answer", "accept", "status", "ended"):
        tw.post(
            f"/webhooks/agent/{path}?call={ghost}&agent=nobody",
            call_params("CA" + "e" * 32, CallStatus="completed", Digits="1"),
        )
    assert len(lsvc.events) == n
    assert set(lsvc.redis.keys("*")) == before
    assert lsvc.rq_queue.count == 0
