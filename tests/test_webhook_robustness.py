"""No validly signed request, however odd, gets a 500 or anything but TwiML.

A seeded sweep of surprising inputs over every webhook: empty bodies, unknown and
malformed CallSids, out-of-range digits, long or odd speech, garbage query strings.
Each answer must be 200 with a parseable <Response> document, and none may come from
app.py's last-resort handler (an exception the code did not plan for).
"""

import logging
import random
import xml.etree.ElementTree as ET

import pytest
from conftest import call_params

WEBHOOKS = [
    "/webhooks/voice/incoming",
    "/webhooks/voice/menu",
    "/webhooks/voice/confirm",
    "/webhooks/voice/error-code",
    "/webhooks/voice/selfhelp",
    "/webhooks/voice/wait",
    "/webhooks/voice/dequeued",
    "/webhooks/voice/status",
    "/webhooks/voice/callback",
    "/webhooks/voice/voicemail",
    "/webhooks/voice/transcription",
    "/webhooks/agent/answer",
    "/webhooks/agent/accept",
    "/webhooks/agent/status",
    "/webhooks/agent/ended",
    "/webhooks/agent/notice",
    "/webhooks/agent/join",
    "/webhooks/agent/customer",
    "/webhooks/agent/customer-status",
]

ODD_VALUES = [
    "",
    " ",
    "0",
    "9",
    "#",
    "*",
    "12",
    "99999999999999999999",
    "-1",
    "1.5",
    "é",
    "\u202e",
    "<Say>hi</Say>",
    "'; DROP TABLE calls; --",
    "x" * 5000,
    "null",
    "None",
]
ODD_QUERIES = [
    "",
    "lang=xx",
    "lang=",
    "attempt=abc",
    "attempt=-5",
    "attempt=99999",
    "category=nope",
    "call=CA" + "f" * 32,
    "agent=ghost",
    "what=anything",
    "lang=fr&lang=en",
    "token=%00%ff",
]
FIELDS = [
    "Digits",
    "SpeechResult",
    "Confidence",
    "QueueResult",
    "QueueSid",
    "QueuePosition",
    "QueueTime",
    "CallStatus",
    "CallDuration",
    "RecordingUrl",
    "RecordingDuration",
    "TranscriptionText",
    "DialCallStatus",
    "From",
    "To",
]


def _requests(seed: int, n: int):
    rnd = random.Random(seed)
    for _ in range(n):
        path = rnd.choice(WEBHOOKS)
        sid = rnd.choice(
            ["CA" + "1" * 32, "CA" + "%032x" % rnd.getrandbits(128), "", "CAshort", "bogus"]
        )
        params = call_params(sid) if sid else {}
        for _ in range(rnd.randint(0, 4)):
            params[rnd.choice(FIELDS)] = rnd.choice(ODD_VALUES)
        if rnd.random() < 0.2:
            params = {}
        query = rnd.choice(ODD_QUERIES)
        yield path + ("?" + query if query else ""), params


def _is_twiml(body: bytes) -> bool:
    root = ET.fromstring(body)
    return root.tag == "Response"


@pytest.mark.parametrize("seed", range(4))
def test_odd_but_signed_requests_always_get_twiml(twilio, seed, caplog):
    caplog.set_level(logging.ERROR, logger="hotline.app")
    for url, params in _requests(seed, 60):
        res = twilio.post(url, params)
        assert res.status_code == 200, (url, params, res.status_code)
        assert _is_twiml(res.data), (url, params, res.data[:200])
        unplanned = [r for r in caplog.records if r.name == "hotline.app"]
        assert not unplanned, (url, params, unplanned[0].getMessage())


def test_a_caller_in_the_middle_of_the_ivr_survives_a_burst_of_odd_requests(twilio):
    """Odd requests about a live call never break what that caller hears next."""
    sid = "CA" + "1" * 32
    assert twilio.post("/webhooks/voice/incoming", call_params(sid)).status_code == 200
    for url, params in _requests(99, 80):
        twilio.post(url, params)
    res = twilio.post("/webhooks/voice/incoming", call_params(sid))
    assert res.status_code == 200 and _is_twiml(res.data)
