"""The telephony port: the few REST operations the hotline needs from a carrier.

One interface, one implementation (`TwilioTelephony`, over `twilio.rest.Client`),
two ways to build it: against Twilio itself, or against the carrier simulator by
handing the same Client an HTTP client that sends api.twilio.com requests to the
simulator's base URL. So what the tests and the demo exercise is the real
client library's request building, not a stand-in.

Only RQ jobs call these methods, never a webhook (a REST call can take seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ..config import Settings
from ..states import ENDED_STATUSES

TWILIO_API = "https://api.twilio.com"
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]


@dataclass(frozen=True)
class CallInfo:
    """What the carrier says of one call now (Calls fetch)."""

    sid: str
    status: str  # queued | ringing | in-progress | completed | busy | failed | no-answer | canceled
    duration: str = ""

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES  # the Call resource's statuses of a call over


class TransientTelephonyError(Exception):
    """Worth retrying (rate limit, carrier 5xx, network); RQ's Retry backs off."""


class PermanentTelephonyError(Exception):
    """Retrying will not help (bad number, unknown call, 4xx)."""


@runtime_checkable
class Telephony(Protocol):
    def place_call(
        self, *, to: str, from_: str, url: str, status_callback: str, timeout: int = 20
    ) -> str:
        """Start an outbound call; Twilio requests `url` on answer. Returns the new CallSid."""

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Make a live call fetch new TwiML from `url`."""

    def hangup_call(self, call_sid: str) -> None:
        """End a call in progress (Calls update Status=completed)."""

    def cancel_call(self, call_sid: str) -> None:
        """Stop a call that is still queued or ringing (Calls update Status=canceled);
        Twilio leaves a ringing call alone on Status=completed."""

    def dequeue_member(self, queue_sid: str, call_sid: str, url: str) -> None:
        """Take exactly this call out of its Twilio queue and run `url` (not the head of the queue)."""

    def fetch_call(self, call_sid: str) -> CallInfo | None:
        """The call's status now, or None if the carrier has no such call (404)."""


class _RebasedHttpClient(TwilioHttpClient):
    """Sends what the Client addresses to api.twilio.com to another base URL."""

    def __init__(self, base_url: str, **kw):
        super().__init__(**kw)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kw):
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kw)


def _wrap(exc: Exception) -> Exception:
    if isinstance(exc, TwilioRestException):
        if exc.status == 429 or exc.status >= 500:
            return TransientTelephonyError(str(exc))
        return PermanentTelephonyError(str(exc))
    return TransientTelephonyError(f"{type(exc).__name__}: {exc}")


class TwilioTelephony:
    def __init__(self, client: Client):
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings, simulator_url: str | None = None) -> TwilioTelephony:
        http = (
            _RebasedHttpClient(simulator_url, timeout=10)
            if simulator_url
            else TwilioHttpClient(timeout=10)
        )
        return cls(
            Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)
        )

    def _call(self, fn, *a, **kw):
        try:
            return fn(*a, **kw)
        except (TwilioRestException, OSError) as e:
            raise _wrap(e) from e
        except Exception as e:  # requests' ConnectionError/Timeout are not OSError subclasses
            if type(e).__module__.startswith("requests"):
                raise _wrap(e) from e
            raise

    def place_call(self, *, to, from_, url, status_callback, timeout=20) -> str:
        call = self._call(
            self.client.calls.create,
            to=to,
            from_=from_,
            url=url,
            method="POST",
            status_callback=status_callback,
            status_callback_method="POST",
            status_callback_event=STATUS_EVENTS,
            timeout=timeout,
        )
        return call.sid

    def redirect_call(self, call_sid, url) -> None:
        self._call(self.client.calls(call_sid).update, url=url, method="POST")

    def hangup_call(self, call_sid) -> None:
        self._call(self.client.calls(call_sid).update, status="completed")

    def cancel_call(self, call_sid) -> None:
        self._call(self.client.calls(call_sid).update, status="canceled")

    def dequeue_member(self, queue_sid, call_sid, url) -> None:
        self._call(self.client.queues(queue_sid).members(call_sid).update, url=url, method="POST")

    def fetch_call(self, call_sid) -> CallInfo | None:
        def fetch():
            try:
                return self.client.calls(call_sid).fetch()
            except TwilioRestException as e:
                if e.status == 404:
                    return None  # the carrier does not know it: over
                raise

        call = self._call(fetch)
        if call is None:
            return None
        return CallInfo(call.sid or call_sid, str(call.status or ""), str(call.duration or ""))
