"""The Enqueue action, for every QueueResult Twilio documents (and one it does not), in every
state a call can be in when it arrives: the answer is what the call's stored state calls
for, and a call bridged to an agent never hears the IVR menu.

Twilio's values (TwiML <Enqueue>, action parameters): bridged, bridging-in-process,
queue-full, error, system-error, hangup, redirected, leave.
"""

from __future__ import annotations

import pytest
from conftest import call_params
from routing_support import load_agents, make_available, spec, waiting_call

RESULTS = [
    "bridged",
    "bridging-in-process",
    "queue-full",
    "error",
    "system-error",
    "hangup",
    "redirected",
    "leave",
    "something-new",
    "",
]
STATES = [
    "unknown",
    "ivr",
    "selfhelp",
    "waiting",
    "reserved",
    "bridged",
    "joined",
    "callback_requested",
    "completed",
    "abandoned",
]
SID = "CA" + "5" * 32
V = "/webhooks/voice"


def _put_call_in(svc, state):
    if state == "unknown":
        return
    svc.calls.arrive(SID, "+33612345678", "+33100000000", "fr")
    if state == "ivr":
        return
    if state == "selfhelp":
        svc.calls.step(
            SID, {"state": "selfhelp", "ivr_stage": "selfhelp", "category": "connection"}
        )
        return
    waiting_call_in_place(svc)
    if state == "waiting":
        return
    if state == "callback_requested":
        from hotline.routing import afterhours

        assert afterhours.request_callback(svc, SID) == "requested"
        return
    if state == "abandoned":
        svc.waiting.abandon(SID, via="status", status="completed")
        return
    load_agents(svc, [spec("ana", {"connection": 3})], on_shift=("ana",))
    make_available(svc, "ana")
    assert svc.matcher.match_call(SID, schedule_expiry=False) is not None
    if state == "reserved":
        return
    from hotline.routing import reservations

    assert reservations.accept(svc, SID, "ana") == "accepted"
    if state == "bridged":
        return
    from hotline.legs import conversation

    conversation.join(svc, SID, SID)
    if state == "joined":
        return
    assert conversation.end(svc, SID, "ana", ended_via="conference") == "completed"


def waiting_call_in_place(svc):
    svc.redis.delete(svc.keys.call(SID))
    waiting_call(svc, SID, "connection")


def verbs(root):
    return [c.tag for c in root]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("result", RESULTS)
def test_every_queue_result_in_every_state_gets_the_answer_the_state_calls_for(
    twilio, svc, result, state
):
    from xml.etree import ElementTree

    _put_call_in(svc, state)
    before = svc.redis.hget(svc.keys.call(SID), "state")
    res = twilio.post(
        f"{V}/dequeued?lang=fr&skill=connection",
        call_params(SID, QueueResult=result, QueueTime="30"),
    )
    assert res.status_code == 200
    root = ElementTree.fromstring(res.data)
    got = verbs(root)
    after = svc.redis.hget(svc.keys.call(SID), "state")

    if state in ("bridged", "joined"):
        assert "Gather" not in got, "a bridged call never hears the menu"
    if result == "hangup":
        assert got == []
        assert after == ("abandoned" if state in ("waiting", "reserved") else before)
        return
    if result in ("redirected",):
        assert got == [] and after == before
        return
    if state in ("waiting", "reserved") and result == "queue-full":
        assert (
            got[-1] in ("Hangup", "Dial") and after == "failed"
        )  # the fallback: say so, hand over
        return
    if state in ("waiting", "reserved") and result in ("error", "system-error"):
        assert "Enqueue" in got and after == before
        assert "retry=1" in root.find("Enqueue").get("action")
        return
    if state in ("bridged", "joined") and result == "bridging-in-process":
        assert got == [] and after == "bridged"  # a bridge under way is left alone
        return
    expected = {
        "unknown": ["Redirect"],  # back to /incoming, which creates the call
        "ivr": ["Gather", "Redirect"],  # the menu, at the call's turn
        "selfhelp": ["Gather", "Redirect"],  # the tip again
        "waiting": ["Say", "Enqueue"],  # back in the queue, at its place in Redis
        "reserved": ["Say", "Enqueue"],
        "bridged": ["Say", "Dial"],  # into the agent's conference
        "joined": ["Hangup"],  # the conversation took place: over
        "callback_requested": ["Say", "Hangup"],
        "completed": ["Say", "Hangup"],
        "abandoned": ["Say", "Hangup"],
    }[state]
    assert got == expected, (result, state, got)
    if state == "bridged":
        assert root.find("Dial/Conference").text == SID
    if state in ("waiting", "reserved"):
        assert (
            svc.redis.zscore(svc.keys.waiting("connection"), SID) is not None or state == "reserved"
        )
