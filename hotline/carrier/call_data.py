"""What a simulated call is given and what it gives back: CallSpec, CallResult, Fetch.

Plain data shared by the TwiML executor (twiml_exec.py and its verb modules), the
Carrier (simulator.py) and the REST server (server.py): no behaviour beyond
formatting, so that every other module of the executor can import it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from ..clock import utc
from ..errors import HotlineError
from .signing import Exchange
from .transcript import Transcript

API_VERSION = "2010-04-01"
FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


class TwimlError(HotlineError):
    """The app answered something Twilio would refuse (error 12100 and friends)."""


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def country_of(number: str) -> str | None:
    import phonenumbers  # on first use, as before the split: its import takes ~15 ms

    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or None
    except phonenumbers.NumberParseException:  # client:alice, sip:…: Twilio sends no country either
        return None


@dataclass(frozen=True)
class Fetch:
    """One request Twilio makes for a call: the URL, its method and the call's extra parameters."""

    url: str
    method: str = "POST"
    params: dict = field(default_factory=dict)


@dataclass
class CallSpec:
    url: str
    from_: str
    to: str
    status_callback: str | None = None
    method: str = "POST"
    status_callback_method: str = "POST"
    direction: str = "inbound"
    sid: str = field(default_factory=lambda: new_sid("CA"))
    # Outbound calls only:
    status_callback_events: tuple[str, ...] = ("completed",)
    timeout: float = 60.0
    ring: object = None  # phones.Ring: how the callee answers
    parent_sid: str | None = None
    bridge: tuple[str, str | None] | None = None  # Dial child leg: (room, whisper url)


@dataclass
class CallResult:
    sid: str
    from_: str
    to: str
    transcript: Transcript
    started_at: float
    ended_at: float | None = None
    # completed | in-progress (simulation stopped) | failed | no-answer | busy | canceled
    status: str = "in-progress"
    queue_result: str | None = None
    answered_at: float | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    error: Exception | None = None

    @property
    def duration(self) -> int | None:
        return None if self.ended_at is None else round(self.ended_at - self.started_at)

    def raise_for_error(self) -> CallResult:
        if self.error is not None:
            raise self.error
        return self

    def urls(self) -> list[str]:
        return [x.url for x in self.exchanges]

    def to_json(self) -> dict:
        return {
            "call_sid": self.sid,
            "from": self.from_,
            "to": self.to,
            "status": self.status,
            "started_at": utc(self.started_at).isoformat(),
            "duration": self.duration,
            "queue_result": self.queue_result,
            "error": str(self.error) if self.error else None,
            "answered_at": utc(self.answered_at).isoformat() if self.answered_at else None,
            "transcript": self.transcript.to_json(),
            "requests": [x.to_json() for x in self.exchanges],
        }
