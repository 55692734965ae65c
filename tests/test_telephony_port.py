"""The telephony port: what we ask of a carrier, and the exact REST requests it makes.

The requests are checked at the HTTP boundary of twilio.rest.Client (its own
pluggable HttpClient), so what is pinned down here is the real client library's
request building: the subset the carrier simulator must implement.
"""

from __future__ import annotations

import inspect
import json

import pytest
from legs_support import RecordingTelephony
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from hotline.telephony.port import (
    PermanentTelephonyError,
    Telephony,
    TransientTelephonyError,
    TwilioTelephony,
)

ACCOUNT = "AC" + "a" * 32
CALL = "CA" + "b" * 32
QUEUE = "QU" + "c" * 32


class RecordingHttp(HttpClient):
    """Answers every request with `status` and a minimal Call/Member JSON body."""

    def __init__(self, status=200):
        super().__init__(logger=None, is_async=False)
        self.status = status
        self.sent: list[tuple[str, str, dict]] = []

    def request(
        self,
        method,
        url,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        self.sent.append((method, url, dict(data or {})))
        if self.status >= 400:
            return Response(
                self.status, json.dumps({"code": 20404, "message": "nope", "status": self.status})
            )
        return Response(
            self.status, json.dumps({"sid": CALL, "call_sid": CALL, "account_sid": ACCOUNT})
        )


def port(status=200):
    http = RecordingHttp(status)
    return TwilioTelephony(Client(ACCOUNT, "token", http_client=http)), http


def _protocol_methods():
    return {n: f for n, f in vars(Telephony).items() if not n.startswith("_") and callable(f)}


@pytest.mark.parametrize("impl", [TwilioTelephony, RecordingTelephony])
def test_every_implementation_fits_the_protocol_method_by_method(impl):
    for name, proto in _protocol_methods().items():
        mine = getattr(impl, name, None)
        assert mine is not None, f"{impl.__name__} lacks {name}"
        want = [(p.name, p.kind) for p in inspect.signature(proto).parameters.values()]
        got = [(p.name, p.kind) for p in inspect.signature(mine).parameters.values()]
        assert got == want, (
            f"{impl.__name__}.{name}{inspect.signature(mine)} != {inspect.signature(proto)}"
        )


def test_recording_and_twilio_implementations_are_telephony_instances():
    assert isinstance(RecordingTelephony(), Telephony)
    assert isinstance(port()[0], Telephony)


def test_place_call_is_calls_create_with_answer_url_status_callbacks_and_ring_timeout():
    tel, http = port(201)
    sid = tel.place_call(
        to="client:ana",
        from_="+33100000000",
        url="https://h.test/webhooks/agent/answer?call=X",
        status_callback="https://h.test/webhooks/agent/status?call=X",
        timeout=17,
    )
    assert sid == CALL
    ((method, url, data),) = http.sent
    assert (
        method == "POST"
        and url == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    )
    assert data["To"] == "client:ana" and data["From"] == "+33100000000"
    assert data["Url"].endswith("/answer?call=X") and data["Method"] == "POST"
    assert (
        data["StatusCallback"].endswith("/status?call=X") and data["StatusCallbackMethod"] == "POST"
    )
    assert data["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert data["Timeout"] == 17


def test_redirect_hangup_and_cancel_are_calls_update():
    tel, http = port()
    tel.redirect_call(CALL, "https://h.test/webhooks/agent/notice?what=caller_gone")
    tel.hangup_call(CALL)
    tel.cancel_call(CALL)
    urls = {u for _, u, _ in http.sent}
    assert urls == {f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json"}
    assert [d for _, _, d in http.sent] == [
        {"Url": "https://h.test/webhooks/agent/notice?what=caller_gone", "Method": "POST"},
        {"Status": "completed"},
        {"Status": "canceled"},
    ]


def test_dequeue_member_names_the_exact_call_not_the_head_of_the_queue():
    tel, http = port()
    tel.dequeue_member(QUEUE, CALL, "https://h.test/webhooks/agent/join?call=" + CALL)
    ((_method, url, data),) = http.sent
    assert (
        url
        == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Queues/{QUEUE}/Members/{CALL}.json"
    )
    assert data == {"Url": "https://h.test/webhooks/agent/join?call=" + CALL, "Method": "POST"}


@pytest.mark.parametrize(
    "status, error",
    [
        (500, TransientTelephonyError),
        (503, TransientTelephonyError),
        (429, TransientTelephonyError),
        (404, PermanentTelephonyError),
        (400, PermanentTelephonyError),
    ],
)
def test_carrier_errors_are_sorted_into_worth_retrying_or_not(status, error):
    tel, _ = port(status)
    with pytest.raises(error):
        tel.redirect_call(CALL, "https://h.test/x")


def test_an_unreachable_carrier_is_transient():
    tel = TwilioTelephony.from_settings(
        _settings(), simulator_url="http://127.0.0.1:9"
    )  # discard port: refused
    with pytest.raises(TransientTelephonyError):
        tel.hangup_call(CALL)


def test_the_simulator_url_rebases_the_real_client(monkeypatch):
    from hotline.telephony import port as port_mod

    tel = TwilioTelephony.from_settings(_settings(), simulator_url="http://127.0.0.1:8765/")
    http = tel.client.http_client
    assert (
        isinstance(http, port_mod._RebasedHttpClient) and http.base_url == "http://127.0.0.1:8765"
    )


def test_services_have_no_carrier_in_test_mode_without_a_simulator(svc):
    assert svc.telephony is None


def _settings():
    from hotline.config import Settings

    return Settings(
        twilio_account_sid=ACCOUNT, twilio_auth_token="t", public_url="https://h.test", mode="test"
    )
