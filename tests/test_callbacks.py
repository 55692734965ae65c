"""Callback legs: the agent first, then the customer; retries with spacing; outcomes logged."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import call_params
from legs_support import events, query, said, work, xml
from routing_support import call_hash, load_agents, make_available, sid, spec, waiting_call

from hotline import invariants, timers
from hotline.legs import callbacks
from hotline.routing import afterhours

CALLER = sid(7)
CUSTOMER_NUMBER = "+33698765432"


def request_callback(svc, clock, *, transcription=None, age_s=0):
    """A caller waited, asked to be called back and hung up; nobody is free yet."""
    load_agents(svc, [spec("ana", {"connection": 3}, phone="+33611111111")], on_shift=("ana",))
    waiting_call(svc, CALLER, "connection")
    svc.redis.hset(svc.keys.call(CALLER), "from_number", CUSTOMER_NUMBER)
    assert afterhours.request_callback(svc, CALLER, "https://rec.test/RE1", "12") == "requested"
    if transcription:
        afterhours.add_transcription(svc, CALLER, transcription)
    work(svc)  # call_waiting: nobody available
    assert call_hash(svc, CALLER)["state"] == "callback_requested"
    clock.advance(age_s)


def agent_leg(tel, tw):
    placed = tel.of("place_call")[-1]
    leg = placed["sid"]

    def post(kind, **params):
        url = (
            placed["status_callback"]
            if kind == "status"
            else placed["url"].replace("/answer?", f"/{kind}?")
        )
        return tw.post(url, call_params(leg, Direction="outbound-api", **params))

    return placed, post


def agent_takes_the_callback(lsvc, tel, tw, clock, **kw):
    request_callback(lsvc, clock, **kw)
    make_available(lsvc, "ana")
    lsvc.rq_queue.enqueue("hotline.jobs.agent_available", "ana")
    work(lsvc)  # match -> offer
    placed, post = agent_leg(tel, tw)
    answer = xml(post("answer"))
    conf = xml(post("accept", Digits="1"))
    work(lsvc)  # callback_dial
    return placed, post, answer, conf


def customer_leg(tel):
    return [p for p in tel.of("place_call") if p["to"] == CUSTOMER_NUMBER][-1]


def test_the_agent_is_rung_first_and_hears_what_the_callback_is_about(lsvc, tel, tw, clock):
    placed, _post, answer, conf = agent_takes_the_callback(
        lsvc, tel, tw, clock, transcription="Ma box ne marche plus", age_s=3 * 3600
    )
    assert placed["to"] == "+33611111111"
    text = said(answer)
    assert "Rappel demandé, Problème de connexion, en français, il y a 3 heures." in text
    assert "Message : Ma box ne marche plus" in text and "Tapez 1 pour appeler le client." in text
    assert conf.find("Dial/Conference").text == CALLER
    assert "Nous appelons le client" in said(conf)
    (offered,) = events(lsvc, "agent_offered")
    assert offered.fields["kind"] == "callback"


def test_then_the_customer_is_called_into_the_agents_conference(lsvc, tel, tw, clock):
    agent_takes_the_callback(lsvc, tel, tw, clock)
    cust = customer_leg(tel)
    assert cust["from_"] == lsvc.settings.hotline_number
    assert query(cust["url"]) == {"call": CALLER} and query(cust["status_callback"]) == {
        "call": CALLER
    }
    (dialing,) = events(lsvc, "callback_dialing")
    assert (
        dialing.call_sid == CALLER
        and dialing.agent_id == "ana"
        and dialing.fields["attempt"] == "1"
    )
    root = xml(tw.post(cust["url"], call_params(cust["sid"], Direction="outbound-api")))
    assert "suite à votre demande de rappel" in said(root)
    assert root.find("Dial/Conference").text == CALLER
    (joined,) = events(lsvc, "caller_bridged")
    assert joined.fields["who"] == "customer"


def test_an_answered_callback_completes_and_the_agent_wraps_up(lsvc, tel, tw, clock):
    _placed, post, _, _ = agent_takes_the_callback(lsvc, tel, tw, clock)
    cust = customer_leg(tel)
    tw.post(cust["url"], call_params(cust["sid"], Direction="outbound-api"))
    clock.advance(180)
    tw.post(
        cust["status_callback"],
        call_params(cust["sid"], CallStatus="completed", CallDuration="180"),
    )
    (done,) = events(lsvc, "callback_completed")
    assert done.call_sid == CALLER and float(done.fields["talk_s"]) == pytest.approx(180)
    assert call_hash(lsvc, CALLER)["state"] == "completed"
    assert lsvc.agents.get("ana").state == "wrapup"
    post("ended")
    post("status", CallStatus="completed")
    assert len(events(lsvc, "callback_completed")) == 1 and events(lsvc, "call_completed") == []
    invariants.assert_holds(lsvc.events.read())


def test_an_unanswered_customer_is_tried_again_later_at_the_same_place(lsvc, tel, tw, clock):
    placed, post, _, _ = agent_takes_the_callback(lsvc, tel, tw, clock)
    cust = customer_leg(tel)
    place = call_hash(lsvc, CALLER)["effective_at"]
    tw.post(cust["status_callback"], call_params(cust["sid"], CallStatus="no-answer"))
    tw.post(
        cust["status_callback"], call_params(cust["sid"], CallStatus="no-answer")
    )  # repeated: once
    (miss,) = events(lsvc, "callback_no_answer")
    assert miss.fields["attempt"] == "1" and miss.fields["status"] == "no-answer"
    assert call_hash(lsvc, CALLER)["state"] == "callback_wait"
    work(lsvc)  # agent_notice: tell the agent, hang up their leg
    (notice,) = tel.of("redirect_call")
    assert (
        notice["call_sid"] == placed["sid"] and query(notice["url"])["what"] == "customer_no_answer"
    )
    assert "Le client ne répond pas" in said(
        xml(tw.post(notice["url"], call_params(placed["sid"])))
    )
    post("status", CallStatus="completed")
    assert lsvc.agents.get("ana").state == "available"
    # spacing not yet over: nothing
    assert callbacks.retry(lsvc, CALLER) == "not_due"
    clock.advance(lsvc.settings.callback_spacing_s)
    assert callbacks.due(lsvc) == [CALLER]  # what the sweep would retry if the timer were lost
    assert timers.release_due(lsvc) >= 1
    work(lsvc)  # callback_retry -> requeued -> rematch -> offered to ana again
    assert call_hash(lsvc, CALLER)["effective_at"] == place
    (again,) = events(lsvc, "callback_retry")
    assert again.fields["attempt"] == "2"
    assert query(tel.of("place_call")[-1]["url"]) == {"call": CALLER, "agent": "ana"}
    assert call_hash(lsvc, CALLER)["state"] == "reserved"


def test_an_agent_whose_leg_ended_unseen_after_an_unanswered_callback_is_freed_by_the_sweep(
    lsvc, tel, tw, clock
):
    from hotline import sweep

    agent_takes_the_callback(lsvc, tel, tw, clock)
    cust = customer_leg(tel)
    tw.post(cust["status_callback"], call_params(cust["sid"], CallStatus="no-answer"))
    work(lsvc)  # agent_notice: the agent's leg is hung up; its status callback is lost
    assert call_hash(lsvc, CALLER)["state"] == "callback_wait"
    assert lsvc.agents.get("ana").state == "busy"
    assert sweep.run(lsvc, reschedule=False)["agents_freed"] == 0  # the leg may still be up
    clock.advance(lsvc.settings.callback_ring_timeout_s + 61)
    assert sweep.run(lsvc, reschedule=False)["agents_freed"] == 1
    assert lsvc.agents.get("ana").state == "available"
    assert sweep.run(lsvc, reschedule=False)["agents_freed"] == 0  # once
    freed = [e for e in events(lsvc, "agent_state") if e.fields.get("to") == "available"]
    assert freed[-1].fields["from"] == "busy" and freed[-1].call_sid == CALLER


def test_after_the_last_attempt_the_callback_fails_with_its_reason(lsvc, tel, tw, clock):
    lsvc.settings = replace(lsvc.settings, callback_attempts=1)
    agent_takes_the_callback(lsvc, tel, tw, clock)
    cust = customer_leg(tel)
    tw.post(cust["status_callback"], call_params(cust["sid"], CallStatus="busy"))
    assert call_hash(lsvc, CALLER)["state"] == "failed"
    (failed,) = events(lsvc, "call_failed")
    assert failed.call_sid == CALLER and failed.fields["reason"] == "callback_no_answer"
    invariants.assert_holds(lsvc.events.read())
    assert callbacks.due(lsvc, clock.now() + 10 * 86400) == []


def test_a_callback_without_a_number_fails_the_attempt_without_dialling(lsvc, tel, tw, clock):
    request_callback(lsvc, clock)
    lsvc.redis.hset(
        lsvc.keys.call(CALLER), mapping={"callback_number": "anonymous", "from_number": "anonymous"}
    )
    make_available(lsvc, "ana")
    lsvc.rq_queue.enqueue("hotline.jobs.agent_available", "ana")
    work(lsvc)
    _placed, post = agent_leg(tel, tw)
    post("answer")
    post("accept", Digits="1")
    work(lsvc)
    assert [p for p in tel.of("place_call") if p["to"] != "+33611111111"] == []
    (miss,) = events(lsvc, "callback_no_answer")
    assert miss.fields["status"] == "failed"


def test_an_agent_hanging_up_before_the_customer_answers_counts_an_attempt(lsvc, tel, tw, clock):
    _placed, post, _, _ = agent_takes_the_callback(lsvc, tel, tw, clock)
    post("status", CallStatus="completed")
    assert call_hash(lsvc, CALLER)["state"] == "callback_wait"
    assert lsvc.agents.get("ana").state == "available"
    work(lsvc)  # the webhook leaves the REST request to a job
    (cancel,) = tel.of("cancel_call")
    assert cancel["call_sid"] == customer_leg(tel)["sid"]
