"""Agent legs: ring (a job), whisper, press 1, conference, missed offers, call end, wrap-up.

Webhooks go through the Flask test client with Twilio signatures; jobs run on a burst
RQ worker against the real Redis; the carrier's REST API is a RecordingTelephony (this
file tests the job logic; the real HTTP path is the carrier simulator's tests).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import PUBLIC_URL, call_params
from legs_support import (
    events,
    query,
    said,
    scheduled,
    work,
    xml,
)
from routing_support import call_hash, load_agents, make_available, sid, spec, waiting_call
from rq.registry import ScheduledJobRegistry

from hotline import invariants, timers
from hotline.legs import conversation, offers, wrapup
from hotline.telephony.port import PermanentTelephonyError, TransientTelephonyError

QUEUE_SID = "QU" + "7" * 32
CALLER = sid(1)


def sweep_legs(svc):
    """The legs' part of the sweep (hotline/sweep.py), alone."""
    from hotline.legs import conversation

    return conversation.repair(svc)


def setup_team(svc, *agents):
    agents = agents or (spec("ana", {"connection": 3}, phone="+33611111111"),)
    ids = tuple(a.id for a in agents)
    load_agents(svc, agents, on_shift=ids)
    make_available(svc, *ids)


def reserve(svc, tel, sid_=CALLER, *, wait_s=0.0, clock=None):
    """A caller waiting in the connection line (with its Twilio QueueSid), offered and rung."""
    waiting_call(svc, sid_, "connection")
    svc.redis.hset(svc.keys.call(sid_), "queue_sid", QUEUE_SID)
    if clock is not None and wait_s:
        clock.advance(wait_s)
    res = svc.matcher.match_call(sid_)
    assert res is not None
    work(svc)
    placed = [p for p in tel.of("place_call") if query(p["url"])["call"] == sid_]
    assert placed, "the offer job did not ring the agent"
    return res.agent_id, placed[-1]


class Leg:
    """The agent's leg as the carrier would drive it."""

    def __init__(self, tw, placed, leg_sid=None):
        self.tw = tw
        self.placed = placed
        self.sid = leg_sid or placed["sid"]

    def status(self, status, **extra):
        return self.tw.post(
            self.placed["status_callback"],
            call_params(self.sid, CallStatus=status, Direction="outbound-api", **extra),
        )

    def answer(self):
        return self.tw.post(self.placed["url"], call_params(self.sid, Direction="outbound-api"))

    def press(self, digits=None, url=None):
        url = url or self.placed["url"].replace("/answer?", "/accept?")
        p = call_params(self.sid, Direction="outbound-api")
        if digits is not None:
            p["Digits"] = digits
        return self.tw.post(url, p)


def accepted_call(lsvc, tel, tw, clock):
    setup_team(lsvc)
    agent, placed = reserve(lsvc, tel, clock=clock, wait_s=30)
    leg = Leg(tw, placed)
    leg.answer()
    leg.press("1")
    work(lsvc)  # the bridge job
    return agent, leg


# Offer ------------------------------------------------------------------------------
def test_a_reservation_rings_the_agent_from_a_job_with_callbacks_and_a_ring_timeout(lsvc, tel):
    setup_team(lsvc)
    agent, placed = reserve(lsvc, tel)
    assert agent == "ana"
    assert placed["to"] == "+33611111111" and placed["from_"] == lsvc.settings.hotline_number
    assert placed["url"].startswith(PUBLIC_URL + "/webhooks/agent/answer?")
    assert query(placed["url"]) == {"call": CALLER, "agent": "ana"}
    assert query(placed["status_callback"]) == {"call": CALLER, "agent": "ana"}
    assert 5 <= placed["timeout"] <= 20
    (ev,) = events(lsvc, "agent_offered")
    assert ev.call_sid == CALLER and ev.agent_id == "ana" and ev.fields["kind"] == "offer"
    assert call_hash(lsvc, CALLER)["agent_leg"] == ev.fields["leg_sid"]


def test_an_agent_with_a_client_identity_is_rung_in_the_browser(lsvc, tel):
    setup_team(lsvc)
    lsvc.redis.hset(lsvc.keys.agent("ana"), "client", "ana.martin")
    _, placed = reserve(lsvc, tel)
    assert placed["to"] == "client:ana.martin"


def test_a_second_offer_job_for_the_same_reservation_rings_nobody(lsvc, tel):
    setup_team(lsvc)
    reserve(lsvc, tel)
    assert offers.place(lsvc, CALLER, "ana", token="another-job") == "placed_already"
    assert len(tel.of("place_call")) == 1


def test_an_offer_job_for_a_reservation_that_ended_does_nothing(lsvc, tel):
    from hotline.routing import reservations

    setup_team(lsvc)
    waiting_call(lsvc, CALLER, "connection")
    lsvc.matcher.match_call(CALLER, schedule_expiry=False)
    reservations.release(lsvc, CALLER, "test", "ana")
    assert offers.place(lsvc, CALLER, "ana", token="t") == "stale"
    assert tel.of("place_call") == []


def test_without_a_carrier_the_offer_is_left_to_its_timer(svc):
    setup_team(svc)
    waiting_call(svc, CALLER, "connection")
    svc.matcher.match_call(CALLER, schedule_expiry=False)
    assert offers.place(svc, CALLER, "ana", token="t") == "no_carrier"
    assert call_hash(svc, CALLER)["state"] == "reserved"


def test_an_offer_withdrawn_while_the_phone_starts_ringing_is_cancelled(lsvc, tel, clock):
    from hotline.routing import reservations

    setup_team(lsvc)
    waiting_call(lsvc, CALLER, "connection")
    lsvc.matcher.match_call(CALLER, schedule_expiry=False)
    tel.on_place = lambda kw: reservations.expire(lsvc, CALLER, now=clock.now() + 3600)
    assert offers.place(lsvc, CALLER, "ana", token="t") == "gone"
    (cancel,) = tel.of("cancel_call")
    assert cancel["call_sid"].startswith("CA")
    assert events(lsvc, "agent_offered") == []


# Whisper and accept -------------------------------------------------------------------
def test_the_agent_hears_a_short_whisper_in_french_then_press_1(lsvc, tel, tw, clock):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel, clock=clock, wait_s=185)
    lsvc.redis.hset(
        lsvc.keys.call(CALLER), "repeat", "1"
    )  # a repeat caller (intake sets it on arrival)
    root = xml(Leg(tw, placed).answer())
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert query(gather.get("action")) == {"call": CALLER, "agent": "ana"}
    text = said(root)
    assert "Problème de connexion, en français, attente 3 minutes, appelant récurrent." in text
    assert "Tapez 1 pour prendre l'appel." in text
    assert root.find("Redirect").text == gather.get("action")  # silence = no key pressed
    (ev,) = events(lsvc, "agent_answered")
    assert ev.call_sid == CALLER and ev.agent_id == "ana"


def test_an_english_speaking_agent_hears_the_whisper_in_english(lsvc, tel, tw, clock):
    load_agents(lsvc, [spec("sam", {"connection": 3}, langs=("en", "fr"))], on_shift=("sam",))
    make_available(lsvc, "sam")
    _, placed = reserve(lsvc, tel, clock=clock, wait_s=70)
    text = said(xml(Leg(tw, placed).answer()))
    assert (
        "Connection problem, French, waiting 1 minute." in text
        and "Press 1 to take the call." in text
    )


def test_answering_extends_the_reservation_so_the_whisper_is_not_cut_short(lsvc, tel, tw, clock):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    before = float(lsvc.redis.hget(lsvc.keys.reservation(CALLER), "expires_at"))
    clock.advance(15)
    Leg(tw, placed).answer()
    after = float(lsvc.redis.hget(lsvc.keys.reservation(CALLER), "expires_at"))
    assert after == pytest.approx(clock.now() + offers.ANSWER_GRACE_S) and after > before
    assert lsvc.redis.zscore(lsvc.keys.reservations, CALLER) == pytest.approx(after)
    assert (
        scheduled(lsvc).count("hotline.jobs.reservation_due") == 2
    )  # the matcher's, and one at the new expiry


def test_pressing_1_puts_the_agent_first_into_the_conference_named_after_the_caller(
    lsvc, tel, tw, clock
):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel, clock=clock, wait_s=30)
    leg = Leg(tw, placed)
    leg.answer()
    root = xml(leg.press("1"))
    conf = root.find("Dial/Conference")
    assert conf.text == CALLER
    assert (
        conf.get("startConferenceOnEnter") == "true" and conf.get("endConferenceOnExit") == "true"
    )
    assert conf.get("beep") == "false" and conf.get("waitUrl") == ""
    assert query(root.find("Dial").get("action")) == {"call": CALLER, "agent": "ana"}
    assert lsvc.agents.get("ana").state == "busy"
    assert call_hash(lsvc, CALLER)["state"] == "bridged"
    (ev,) = events(lsvc, "offer_accepted")
    assert ev.call_sid == CALLER and ev.agent_id == "ana"


def test_the_bridge_job_dequeues_exactly_this_caller_into_the_conference(lsvc, tel, tw, clock):
    accepted_call(lsvc, tel, tw, clock)
    (deq,) = tel.of("dequeue_member")
    assert deq["queue_sid"] == QUEUE_SID and deq["call_sid"] == CALLER
    assert query(deq["url"]) == {"call": CALLER}
    root = xml(tw.post(deq["url"], call_params(CALLER)))
    conf = root.find("Dial/Conference")
    assert conf.text == CALLER and conf.get("endConferenceOnExit") == "true"
    assert "Un technicien prend votre appel." in said(root)
    xml(tw.post(deq["url"], call_params(CALLER)))  # a repeated request joins again, logged once
    (ev,) = events(lsvc, "caller_bridged")
    assert ev.call_sid == CALLER and ev.agent_id == "ana" and ev.fields["who"] == "caller"


def test_a_caller_whose_queue_sid_we_never_learnt_is_moved_by_calls_update(lsvc, tel, tw, clock):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    lsvc.redis.hdel(lsvc.keys.call(CALLER), "queue_sid")
    leg = Leg(tw, placed)
    leg.answer()
    leg.press("1")
    work(lsvc)
    (red,) = tel.of("redirect_call")
    assert red["call_sid"] == CALLER and query(red["url"]) == {"call": CALLER}


def test_repeating_the_accept_request_does_not_accept_twice(lsvc, tel, tw, clock):
    _agent, leg = accepted_call(lsvc, tel, tw, clock)
    root = xml(leg.press("1"))
    assert root.find("Dial/Conference").text == CALLER
    assert len(events(lsvc, "offer_accepted")) == 1 and len(tel.of("dequeue_member")) == 1


# Missed offers ------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
def test_an_unanswered_offer_puts_the_call_back_at_its_place_and_the_agent_away(
    lsvc, tel, tw, status
):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    place_score = None
    leg = Leg(tw, placed)
    xml(leg.status(status))
    h = call_hash(lsvc, CALLER)
    assert h["state"] == "waiting"
    place_score = lsvc.redis.zscore(lsvc.keys.waiting("connection"), CALLER)
    assert place_score is not None
    ana = lsvc.agents.get("ana")
    assert (ana.state, ana.reason) == ("away", "missed")
    (ev,) = events(lsvc, "offer_missed")
    assert ev.call_sid == CALLER and ev.agent_id == "ana" and ev.fields["reason"] == status
    # the same leg's later callbacks change nothing
    n = len(lsvc.events)
    xml(leg.status(status))
    xml(leg.status("completed"))
    assert len(lsvc.events) == n
    assert lsvc.redis.zscore(lsvc.keys.waiting("connection"), CALLER) == place_score


def test_a_missed_offer_goes_to_the_next_agent(lsvc, tel, tw):
    setup_team(
        lsvc,
        spec("ana", {"connection": 3}, phone="+33611111111"),
        spec("bob", {"connection": 3}, phone="+33622222222"),
    )
    first, placed = reserve(lsvc, tel)
    Leg(tw, placed).status("no-answer")
    work(lsvc)  # rematch -> offer
    second = tel.of("place_call")[-1]
    assert len(tel.of("place_call")) == 2
    other = "bob" if first == "ana" else "ana"
    assert query(second["url"]) == {"call": CALLER, "agent": other}


@pytest.mark.parametrize(
    "digits, reason", [("2", "declined"), ("*", "declined"), (None, "no_input")]
)
def test_any_other_key_or_silence_declines(lsvc, tel, tw, digits, reason):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    leg = Leg(tw, placed)
    leg.answer()
    root = xml(leg.press(digits))
    assert "l'appel passe à un collègue" in said(root) and root.find("Hangup") is not None
    (ev,) = events(lsvc, "offer_missed")
    assert ev.fields["reason"] == reason and ev.fields["answered"] == "1"
    assert lsvc.agents.get("ana").state == "away"
    assert call_hash(lsvc, CALLER)["state"] == "waiting"
    xml(leg.status("completed"))
    assert len(events(lsvc, "offer_missed")) == 1


def test_hanging_up_during_the_whisper_is_a_missed_offer(lsvc, tel, tw):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    leg = Leg(tw, placed)
    leg.answer()
    leg.status("completed", CallDuration="4")
    (ev,) = events(lsvc, "offer_missed")
    assert ev.fields["reason"] == "hung_up"
    assert call_hash(lsvc, CALLER)["state"] == "waiting"


def test_a_late_no_answer_after_the_reservation_expired_counts_the_miss_once(lsvc, tel, tw, clock):
    from hotline.routing import reservations

    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    clock.advance(30)
    assert reservations.expire(lsvc, CALLER) == "expired"  # the matcher's timer came first
    Leg(tw, placed).status("no-answer")
    (ev,) = events(lsvc, "offer_missed")
    assert ev.fields["released"] == "0"
    ana = lsvc.agents.get("ana")
    assert (ana.state, ana.reason) == ("away", "missed")


# The caller hangs up during the offer ----------------------------------------------------
def test_caller_hangs_up_while_the_agent_rings_then_the_agent_answers(lsvc, tel, tw):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    lsvc.waiting.abandon(CALLER, via="status", status="completed")
    root = xml(Leg(tw, placed).answer())
    assert "L'appelant a raccroché" in said(root) and root.find("Hangup") is not None
    assert root.find("Gather") is None
    assert lsvc.agents.get("ana").state == "available"
    (ev,) = events(lsvc, "offer_caller_gone")
    assert ev.call_sid == CALLER and ev.fields["stage"] == "answer"
    assert events(lsvc, "offer_missed") == []


def test_caller_hangs_up_while_the_agent_rings_and_nobody_answers(lsvc, tel, tw):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    lsvc.waiting.abandon(CALLER, via="status", status="completed")
    Leg(tw, placed).status("no-answer")
    assert lsvc.agents.get("ana").state == "available"  # nothing missed
    assert len(events(lsvc, "offer_caller_gone")) == 1 and events(lsvc, "offer_missed") == []
    invariants.assert_holds(lsvc.events.read())


def test_caller_hangs_up_during_the_whisper_before_the_agent_presses_1(lsvc, tel, tw):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    leg = Leg(tw, placed)
    leg.answer()
    lsvc.waiting.abandon(CALLER, via="action")
    root = xml(leg.press("1"))
    assert "L'appelant a raccroché" in said(root) and root.find("Dial") is None
    assert lsvc.agents.get("ana").state == "available"
    assert call_hash(lsvc, CALLER)["state"] == "abandoned"


# Carrier errors -----------------------------------------------------------------------------
def test_a_transient_error_is_retried_by_rq_with_the_reservation_kept(lsvc, tel):
    setup_team(lsvc)
    tel.fail["place_call"] = [TransientTelephonyError("503")]
    waiting_call(lsvc, CALLER, "connection")
    lsvc.matcher.match_call(CALLER)
    work(lsvc)
    retries = [
        lsvc.rq_queue.fetch_job(j) for j in ScheduledJobRegistry(queue=lsvc.rq_queue).get_job_ids()
    ]
    (job,) = [j for j in retries if j.func_name == "hotline.jobs.offer"]
    assert job.retries_left == 2
    assert call_hash(lsvc, CALLER)["state"] == "reserved"
    assert (
        offers.place(lsvc, CALLER, "ana", token=job.id, last_attempt=False) == "placed"
    )  # RQ's retry


def test_retries_exhausted_release_the_reservation(lsvc, tel):
    setup_team(lsvc)
    waiting_call(lsvc, CALLER, "connection")
    lsvc.matcher.match_call(CALLER, schedule_expiry=False)
    tel.fail["place_call"] = [TransientTelephonyError("503"), TransientTelephonyError("503")]
    with pytest.raises(TransientTelephonyError):
        offers.place(lsvc, CALLER, "ana", token="j", last_attempt=False)
    assert offers.place(lsvc, CALLER, "ana", token="j", last_attempt=True) == "failed"
    assert call_hash(lsvc, CALLER)["state"] == "waiting"
    assert lsvc.agents.get("ana").state == "away"
    (ev,) = events(lsvc, "offer_failed")
    assert ev.call_sid == CALLER and "retries exhausted" in ev.fields["error"]


def test_a_permanent_error_releases_at_once(lsvc, tel):
    setup_team(lsvc)
    waiting_call(lsvc, CALLER, "connection")
    lsvc.matcher.match_call(CALLER, schedule_expiry=False)
    tel.fail["place_call"] = [PermanentTelephonyError("21211 invalid To")]
    assert offers.place(lsvc, CALLER, "ana", token="j", last_attempt=False) == "failed"
    assert call_hash(lsvc, CALLER)["state"] == "waiting"


def test_a_caller_gone_from_the_queue_at_bridge_time_frees_and_tells_the_agent(
    lsvc, tel, tw, clock
):
    setup_team(lsvc)
    tel.fail["dequeue_member"] = [PermanentTelephonyError("20404 not in queue")]
    tel.fail["redirect_call"] = [PermanentTelephonyError("21220 Call is not in-progress")]  # gone
    _, placed = reserve(lsvc, tel)
    leg = Leg(tw, placed)
    leg.answer()
    leg.press("1")
    work(lsvc)
    h = call_hash(lsvc, CALLER)
    assert h["state"] == "abandoned" and h["abandoned_via"] == "bridge"
    assert lsvc.agents.get("ana").state == "available"
    (red,) = tel.of("redirect_call")
    assert red["call_sid"] == h["agent_leg"] and query(red["url"]) == {
        "what": "caller_gone",
        "lang": "fr",
    }
    root = xml(tw.post(red["url"], call_params(h["agent_leg"])))
    assert "L'appelant a raccroché" in said(root)
    (ev,) = events(lsvc, "abandoned")
    assert ev.fields["via"] == "bridge"
    invariants.assert_holds(lsvc.events.read())


def test_a_caller_no_longer_in_the_queue_but_on_the_line_is_moved_by_calls_update(
    lsvc, tel, tw, clock
):
    """Queue Members update says "not in this queue" (a repeated bridge, a caller between
    two <Enqueue>s): the caller is still there, so Calls update brings them in."""
    setup_team(lsvc)
    tel.fail["dequeue_member"] = [PermanentTelephonyError("20404 not in queue")]
    _, placed = reserve(lsvc, tel)
    leg = Leg(tw, placed)
    leg.answer()
    leg.press("1")
    work(lsvc)
    (red,) = tel.of("redirect_call")
    assert red["call_sid"] == CALLER and "/webhooks/agent/join" in red["url"]
    assert call_hash(lsvc, CALLER)["state"] == "bridged" and events(lsvc, "abandoned") == []


# Call end and wrap-up -------------------------------------------------------------------------
def test_call_end_stores_durations_and_starts_the_skills_wrap_up(lsvc, tel, tw, clock):
    _agent, leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))  # caller joins
    clock.advance(240)
    root = xml(
        tw.post(
            leg.placed["url"].replace("/answer?", "/ended?"),
            call_params(leg.sid, DialCallStatus="completed"),
        )
    )
    assert "Appel terminé." in said(root)
    h = call_hash(lsvc, CALLER)
    assert h["state"] == "completed"
    assert float(h["talk_s"]) == pytest.approx(240) and float(h["wait_s"]) == pytest.approx(30)
    assert float(h["ring_s"]) == pytest.approx(0)
    ana = lsvc.agents.get("ana")
    assert ana.state == "wrapup"
    assert float(h["wrapup_s"]) == wrapup.seconds_for(lsvc, "connection") == 60
    assert lsvc.estimates.handle_times("connection") == [300.0]
    (done,) = events(lsvc, "call_completed")
    assert (
        done.call_sid == CALLER
        and done.agent_id == "ana"
        and done.fields["ended_by"] == "conference"
    )
    (w,) = events(lsvc, "wrapup_started")
    assert w.call_sid == CALLER and float(w.fields["until"]) == pytest.approx(clock.now() + 60)
    # the agent leg's own completed callback arrives after: nothing more
    n = len(lsvc.events)
    leg.status("completed", CallDuration="250")
    assert len(lsvc.events) == n


def test_agent_leg_completed_alone_also_ends_the_call(lsvc, tel, tw, clock):
    _agent, leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))
    clock.advance(90)
    leg.status("completed", CallDuration="95")
    assert call_hash(lsvc, CALLER)["state"] == "completed"
    assert lsvc.agents.get("ana").state == "wrapup"
    assert events(lsvc, "call_completed")[0].fields["ended_by"] == "agent_leg"


def test_wrap_up_ends_on_its_timer_and_the_next_waiting_call_is_offered(lsvc, tel, tw, clock):
    _agent, leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))
    clock.advance(60)
    leg.status("completed")
    waiting_call(lsvc, sid(2), "connection")
    assert "hotline.jobs.wrapup_done" in scheduled(lsvc)
    clock.advance(59)
    timers.release_due(lsvc)
    work(lsvc)  # earlier timers (the old reservation's expiry...) find nothing to do
    assert lsvc.agents.get("ana").state == "wrapup"
    clock.advance(1)
    assert timers.release_due(lsvc) == 1
    work(lsvc)  # wrapup_done -> available -> agent_available -> match -> offer
    (ev,) = events(lsvc, "wrapup_ended")
    assert ev.call_sid == CALLER and ev.fields["via"] == "timer"
    assert query(tel.of("place_call")[-1]["url"]) == {"call": sid(2), "agent": "ana"}


def test_an_agent_made_available_by_hand_is_not_touched_by_the_old_timer(lsvc, tel, tw, clock):
    _agent, leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))
    leg.status("completed")
    lsvc.agents.set_state("ana", "available", notify=False)
    lsvc.agents.set_state("ana", "away", reason="break")
    assert wrapup.done(lsvc, "ana", CALLER) == "skipped"
    assert lsvc.agents.get("ana").state == "away"
    assert lsvc.redis.zscore(lsvc.keys.wrapups, "ana") is None


def test_the_sweep_ends_a_wrap_up_whose_timer_was_lost(lsvc, tel, tw, clock):

    _agent, leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))
    leg.status("completed")
    assert sweep_legs(lsvc)["wrapups_ended"] == 0  # not due yet
    clock.advance(61)
    assert sweep_legs(lsvc)["wrapups_ended"] == 1
    assert events(lsvc, "wrapup_ended")[0].fields["via"] == "sweep"


def test_the_sweep_frees_an_agent_left_busy_with_a_finished_call(lsvc, tel, tw, clock):
    _agent, _leg = accepted_call(lsvc, tel, tw, clock)
    lsvc.redis.hset(lsvc.keys.call(CALLER), "state", "completed")  # as if the worker died mid-way
    assert conversation.repair(lsvc)["agents_freed"] == 1
    assert lsvc.agents.get("ana").state == "available"


def test_a_zero_wrap_up_makes_the_agent_available_at_once(lsvc, tel, tw, clock, tmp_path):
    f = tmp_path / "wrapup.yaml"
    f.write_text("default: 0\n")
    lsvc.settings = replace(lsvc.settings, wrapup_file=f)
    _agent, leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))
    leg.status("completed")
    assert lsvc.agents.get("ana").state == "available"


# Webhook safety ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["answer", "accept", "status", "ended", "join", "customer", "customer-status", "notice"]
)
def test_unsigned_agent_webhooks_are_refused_with_nothing_written(lsvc, tw, path):
    n = len(lsvc.events)
    r = tw.post(
        f"/webhooks/agent/{path}?call={CALLER}&agent=ana",
        call_params("CA" + "e" * 32),
        signature="bad",
    )
    assert r.status_code == 403 and len(lsvc.events) == n


@pytest.mark.parametrize(
    "path",
    [
        "answer",
        "accept",
        "status",
        "ended",
        "join",
        "customer",
        "customer-status",
        "notice?what=nonsense&lang=xx",
    ],
)
def test_agent_webhooks_with_unknown_or_missing_ids_answer_valid_twiml(lsvc, tw, path):
    for params in ({}, call_params("CA" + "e" * 32)):
        r = tw.post(f"/webhooks/agent/{path}", params)
        xml(r)
    r = tw.post(
        f"/webhooks/agent/{path}" + ("&" if "?" in path else "?") + f"call={sid(99)}&agent=nobody",
        call_params("CA" + "e" * 32, CallStatus="no-answer"),
    )
    xml(r)


def test_every_leg_event_names_its_call(lsvc, tel, tw, clock):
    _agent, leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))
    leg.status("completed")
    wrapup.done(lsvc, "ana", CALLER)
    mine = {
        "agent_offered",
        "agent_answered",
        "offer_accepted",
        "caller_bridged",
        "call_completed",
        "wrapup_started",
        "wrapup_ended",
    }
    seen = [e for e in lsvc.events.read() if e.type in mine]
    assert {e.type for e in seen} == mine
    assert all(e.call_sid == CALLER and e.agent_id == "ana" for e in seen)


def test_the_callers_own_status_callback_also_ends_a_bridged_call(lsvc, tel, tw, clock):
    _agent, leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))
    clock.advance(45)
    assert conversation.caller_leg_ended(lsvc, CALLER) == "completed"
    assert events(lsvc, "call_completed")[0].fields["ended_by"] == "caller_leg"
    assert lsvc.agents.get("ana").state == "wrapup"
    leg.status("completed")  # the agent's leg reports later: nothing more
    assert conversation.caller_leg_ended(lsvc, CALLER) == "ignored"
    assert len(events(lsvc, "call_completed", "wrapup_started")) == 2


def test_a_caller_who_hangs_up_between_accept_and_joining_is_abandoned_once(lsvc, tel, tw, clock):
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    leg = Leg(tw, placed)
    leg.answer()
    leg.press("1")  # the bridge job has not run yet
    assert conversation.caller_leg_ended(lsvc, CALLER) == "abandoned"
    assert lsvc.agents.get("ana").state == "available"
    work(lsvc)  # bridge: skipped (no longer bridged); agent_notice: "the caller hung up"
    assert tel.of("dequeue_member") == []
    (red,) = tel.of("redirect_call")
    assert query(red["url"])["what"] == "caller_gone"
    (ev,) = events(lsvc, "abandoned")
    assert ev.fields["via"] == "bridge"
    invariants.assert_holds(lsvc.events.read())


def test_the_event_log_of_a_missed_then_answered_call_satisfies_the_invariants(
    lsvc, tel, tw, clock
):
    from hotline import reports

    setup_team(
        lsvc,
        spec("ana", {"connection": 3}, phone="+33611111111"),
        spec("bob", {"connection": 3}, phone="+33622222222"),
    )
    first, placed = reserve(lsvc, tel)
    Leg(tw, placed).status("no-answer")
    work(lsvc)  # rematch -> the other agent is rung
    second = Leg(tw, tel.of("place_call")[-1])
    second.answer()
    second.press("1")
    work(lsvc)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))
    clock.advance(100)
    second.status("completed")
    log = lsvc.events.read()
    invariants.assert_holds(log)
    summary = reports.summary(log)
    assert summary["answered"] == 1 and summary["unfinished"] == 0
    # The miss is in the log once, as the routing engine's `reservation_missed` and our `offer_missed`.
    assert [e.agent_id for e in log if e.type == "reservation_missed"] == [first]
    assert [e.agent_id for e in log if e.type == "offer_missed"] == [first]


def test_the_voice_status_callback_of_a_bridged_caller_ends_the_conversation(lsvc, tel, tw, clock):
    _agent, _leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))
    clock.advance(45)
    tw.post(
        "/webhooks/voice/status", call_params(CALLER, CallStatus="completed", CallDuration="120")
    )
    work(lsvc)  # the caller_ended job
    (done,) = events(lsvc, "call_completed")
    assert done.fields["ended_by"] == "caller_leg"
    assert lsvc.agents.get("ana").state == "wrapup"
    assert events(lsvc, "abandoned") == []


def test_the_sweep_gives_a_wrap_up_without_an_end_the_default_one(lsvc, tel, tw, clock):
    """An agent in wrap-up with nothing timing it (set by hand from busy, or a lost
    write) would stay there for ever: the sweep sets its end, then ends it when due."""

    _agent, _leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))
    lsvc.agents.set_state("ana", "wrapup", by="supervisor", notify=False)  # by hand, mid-call
    assert lsvc.redis.zscore(lsvc.keys.wrapups, "ana") is None
    out = sweep_legs(lsvc)
    assert out["wrapups_timed"] == 1 and out["wrapups_ended"] == 0
    clock.advance(wrapup.seconds_for(lsvc, None) + 1)
    assert sweep_legs(lsvc)["wrapups_ended"] == 1
    assert lsvc.agents.get("ana").state == "available"


def test_the_agent_hanging_up_before_the_caller_joined_puts_the_caller_back_at_their_place(
    lsvc, tel, tw, clock
):
    """The agent's <Dial action> after accept but before the caller was brought in: the
    caller still waits in the carrier's queue, so the call goes back to its place (not
    abandoned), the agent is away like after a missed offer, and a late bridge or join
    does not put the caller into a dead conference."""
    setup_team(lsvc)
    _, placed = reserve(lsvc, tel)
    place = call_hash(lsvc, CALLER)["effective_at"]
    leg = Leg(tw, placed)
    leg.answer()
    leg.press("1")  # the bridge job has not run yet
    tw.post(
        placed["url"].replace("/answer?", "/ended?"),
        call_params(leg.sid, DialCallStatus="completed"),
    )
    leg.status("completed")
    h = call_hash(lsvc, CALLER)
    assert h["state"] == "waiting" and h["agent"] == ""
    assert lsvc.redis.zscore(lsvc.keys.waiting("connection"), CALLER) == pytest.approx(float(place))
    assert lsvc.agents.get("ana").state == "away"
    assert events(lsvc, "abandoned") == [] and len(events(lsvc, "call_requeued")) == 1
    work(lsvc)  # bridge: skipped
    assert tel.of("dequeue_member") == []
    root = xml(tw.post(f"/webhooks/agent/join?call={CALLER}", call_params(CALLER)))
    assert root.find("Redirect") is not None  # back to the IVR, which puts the caller in the queue
    invariants.assert_holds(lsvc.events.read(), finished=False)


def test_an_agent_leg_status_killed_before_the_end_of_the_call_ends_it_when_repeated(
    lsvc, tel, tw, clock, monkeypatch
):
    from hotline.legs import conversation, offers

    _agent, leg = accepted_call(lsvc, tel, tw, clock)
    tw.post(tel.of("dequeue_member")[0]["url"], call_params(CALLER))  # the caller joins
    clock.advance(120)
    real_end = conversation.end

    def killed(*a, **kw):
        raise SystemExit("kill -9")  # the worker dies on this line

    monkeypatch.setattr(conversation, "end", killed)
    with pytest.raises(SystemExit):
        offers.leg_status(lsvc, CALLER, "ana", leg.sid, "completed")
    monkeypatch.setattr(conversation, "end", real_end)
    assert call_hash(lsvc, CALLER)["state"] == "bridged"
    assert offers.leg_status(lsvc, CALLER, "ana", leg.sid, "completed") == "ended"
    assert call_hash(lsvc, CALLER)["state"] == "completed"
    assert offers.leg_status(lsvc, CALLER, "ana", leg.sid, "completed") == "ignored"
