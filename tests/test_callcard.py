"""The agent's call card: callers through the real IVR webhooks (signed like Twilio), then
what the card says of them -- number for people, how the category was decided and with
which words, the IVR's steps, the tip already heard, the number's earlier calls -- and
which call is an agent's now."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest
from conftest import call_params
from day_support import answer, answered_call, hang_up, offer, queue, team
from routing_support import sid

from hotline.callcard import call_card, current_call_for_agent, display_number
from hotline.ivr.classify import default_selfhelp
from hotline.legs.disposition import record as record_disposition
from hotline.legs.wrapup import ready

V = "/webhooks/voice"
NUMBER = "+33612345678"


class Caller:
    """A caller following the TwiML as Twilio does (the Gather's action, the Redirect)."""

    def __init__(self, twilio, call_sid, number=NUMBER):
        self.twilio, self.sid, self.number = twilio, call_sid, number

    def post(self, url, **params):
        resp = self.twilio.post(url, call_params(self.sid, self.number, **params))
        assert resp.status_code == 200, resp.data
        return ET.fromstring(resp.data)

    def dial(self):
        return self.post(f"{V}/incoming")

    def answer(self, root, **params):
        return self.post(root.find("Gather").get("action"), **params)

    def silence(self, root):
        return self.post(root.find("Redirect").text)


def steps(card):
    return [s["step"] for s in card["ivr_path"]]


def test_a_caller_who_said_their_problem(twilio, svc, clock):
    c = Caller(twilio, sid(1))
    root = c.answer(c.dial(), SpeechResult="ma connexion wifi coupe sans arrêt", Confidence="0.9")
    clock.advance(20)
    c.silence(root)  # the tip, then silence: queue me
    clock.advance(45)
    card = call_card(svc, sid(1))
    assert card["caller"] == {
        "number": NUMBER,
        "display": "06 12 34 56 78",
        "withheld": False,
        "repeat": False,
        "previous_call_at": None,
    }
    assert (card["lang"], card["category"], card["decided_by"]) == ("fr", "connection", "speech")
    assert card["words"] == "ma connexion wifi coupe sans arrêt" and card["digit"] is None
    assert steps(card) == ["call_created", "classified", "selfhelp_offered", "enqueued"]
    assert card["ivr_path"][1]["detail"]["speech"] == "ma connexion wifi coupe sans arrêt"
    assert card["selfhelp_tip"] == {
        "category": "connection",
        "text": default_selfhelp().tips["connection"]["fr"],
    }
    assert (card["state"], card["wait_s"], card["error_code"]) == ("waiting", 45.0, None)
    assert card["recent_calls"] == [] and card["disposition"] is None


def test_an_english_caller_who_keyed_an_error_code_from_abroad(twilio, svc):
    c = Caller(twilio, sid(2), number="+4915112345678")
    root = c.answer(c.dial(), Digits="9")  # For English press 9
    root = c.answer(root, Digits="3")  # an error message
    root = c.answer(root, Digits="4411#")
    c.silence(root)
    card = call_card(svc, sid(2))
    assert card["caller"]["display"] == "+49 1511 2345678"
    assert (card["lang"], card["category"], card["decided_by"], card["digit"]) == (
        "en",
        "error_message",
        "key",
        "3",
    )
    assert card["error_code"] == "4411" and card["words"] is None
    assert steps(card) == [
        "call_created",
        "menu_choice",
        "language_chosen",
        "classified",
        "error_code_captured",
        "selfhelp_offered",
        "enqueued",
    ]
    assert card["selfhelp_tip"]["text"] == default_selfhelp().tips["error_message"]["en"]


def test_a_low_confidence_phrase_confirmed_by_key_keeps_the_callers_words(twilio, svc):
    c = Caller(twilio, sid(3))
    root = c.answer(c.dial(), SpeechResult="le réseau et excel")
    c.answer(root, Digits="1")  # yes, a connection problem
    card = call_card(svc, sid(3))
    assert (card["category"], card["decided_by"]) == ("connection", "speech_confirmed")
    assert card["words"] == "le réseau et excel"
    assert "confirmation_asked" in steps(card) and "classification_confirmed" in steps(card)


def test_a_repeat_caller_shows_their_last_five_calls_with_what_came_of_them(twilio, svc, clock):
    team(svc)
    for n in range(1, 7):  # six earlier calls, an hour apart
        answered_call(svc, clock, sid(n), wait=5, talk=60)
        record_disposition(
            svc, sid(n), agent_id="ana", disposition="escalated_l2", notes=f"ticket {n}", by="ana"
        )
        ready(svc, "ana", by="ana")
        clock.advance(3600)
    queue(svc, sid(7), "connection", number="+33698765432")  # someone else
    svc.waiting.abandon(sid(7), via="status")
    c = Caller(twilio, sid(8))
    c.dial()
    card = call_card(svc, sid(8))
    assert card["caller"]["repeat"] is True and card["caller"]["previous_call_at"]
    recent = card["recent_calls"]
    assert [r["call_sid"] for r in recent] == [sid(6), sid(5), sid(4), sid(3), sid(2)]
    assert recent[0]["disposition"] == "escalated_l2" and recent[0]["notes"] == "ticket 6"
    assert (recent[0]["category"], recent[0]["state"]) == ("connection", "completed")
    assert recent[0]["at"] > recent[1]["at"]
    # The card of an earlier call lists the others, not itself.
    assert sid(4) not in [r["call_sid"] for r in call_card(svc, sid(4))["recent_calls"]]


def test_a_withheld_number_has_no_history_and_no_display(twilio, svc):
    Caller(twilio, sid(1), number="anonymous").dial()
    Caller(twilio, sid(2), number="anonymous").dial()
    card = call_card(svc, sid(2))
    assert card["caller"]["withheld"] and card["caller"]["display"] == ""
    assert card["recent_calls"] == [] and card["caller"]["repeat"] is False


@pytest.mark.parametrize(
    "number, shown",
    [
        ("+33612345678", "06 12 34 56 78"),
        ("+33145678901", "01 45 67 89 01"),
        ("+442079460958", "+44 20 7946 0958"),
        ("266696687", "266696687"),
        ("not a number", "not a number"),
        ("", ""),
    ],
)
def test_numbers_for_people(number, shown):
    assert display_number(number, "+33100000000") == shown


def test_no_card_for_a_call_that_does_not_exist(svc):
    assert call_card(svc, sid(404)) is None
    assert call_card(svc, "not a sid!") is None


def test_the_agents_current_call_while_offered_talking_and_wrapping_up(svc, clock):
    team(svc)
    assert current_call_for_agent(svc, "ana") is None
    queue(svc, sid(1))
    assert offer(svc, sid(1)) == "ana"
    assert current_call_for_agent(svc, "ana") == sid(1)  # ringing
    answer(svc, sid(1), "ana")
    assert current_call_for_agent(svc, "ana") == sid(1)  # talking
    clock.advance(30)
    hang_up(svc, sid(1), "ana")
    assert current_call_for_agent(svc, "ana") == sid(1)  # the wrap-up form's call
    ready(svc, "ana", by="ana")
    assert current_call_for_agent(svc, "ana") is None
    assert current_call_for_agent(svc, "nobody") is None


def test_a_card_costs_a_few_round_trips_when_the_clock_is_the_servers(
    twilio, svc, clock, rclient, report_figure
):
    """With the system clock the log's ids are the clock's time: the call's events are found
    from its created_at at once, whatever came before in the log."""
    clock.set(time.time())
    team(svc)
    for n in range(1, 40):  # a busy log before our caller
        queue(svc, sid(100 + n), "software", number="+3361000%04d" % n)
    c = Caller(twilio, sid(1))
    c.silence(c.answer(c.dial(), Digits="1"))
    for n in range(40, 80):  # and after
        queue(svc, sid(100 + n), "software", number="+3361000%04d" % n)

    def commands():
        stats = rclient.info("commandstats")
        return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")

    before = commands()
    card = call_card(svc, sid(1))
    assert steps(card)[-1] == "enqueued"
    used = commands() - before
    report_figure(f"call card: {used} Redis commands (system clock, 80 other calls in the log)")
    assert used <= 10
