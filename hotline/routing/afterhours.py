"""After hours: nobody can take this kind of call now -- say when someone will, take a message.

A call is *after hours* when, for its skill and every line its overflow steps would
add, nobody on shift is logged in (state other than offline), and -- if its category
ever overflows to on-call -- nobody on call is either. Then the IVR tells the caller
when the hotline next has someone for this problem (`schedule.next_cover` over
those lines, on-call included) and offers voicemail.

The voicemail becomes a *callback request*: the call record itself, state
`callback_requested`, put in the waiting line(s) of its skill at its effective
arrival (its place; `now` if it never waited). The matcher treats it like a waiting
call, so when cover returns (shift start -> `shift_boundary` job -> match) the first
free eligible agent is reserved for it; hotline/legs/ places the outgoing legs. The same
applies to a caller who accepts the callback offered by the last overflow step.

Webhook wiring (IVR side):
  1. before enqueueing: `info = afterhours.check(svc, call.skill, call.category)`;
     if `not info.open`: <Say> `prompts.after_hours_message(lang, info.next_cover_at, tz, now)` (ivr/prompts.py),
     then <Record action=/webhooks/voice/voicemail transcribe=true
     transcribeCallback=/webhooks/voice/transcription maxLength=120 playBeep=true>;
  2. the Record `action` (RecordingUrl, RecordingDuration):
     `afterhours.request_callback(svc, CallSid, RecordingUrl, RecordingDuration)`, then
     <Say> thanks + <Hangup>;
  3. transcribeCallback (TranscriptionText, TranscriptionStatus):
     `afterhours.add_transcription(svc, CallSid, TranscriptionText)`; reply empty <Response/>.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from .. import job_names as names
from ..errors import HotlineError
from ..roster import schedule
from . import overflow
from .agents import decode_skills

if TYPE_CHECKING:
    from ..services import Services


@dataclass(frozen=True)
class AfterHours:
    open: bool
    skill: str
    lines: tuple[str, ...]
    next_cover_at: float | None = None  # epoch s; None when open, or no cover within a year


def _staffed(svc: Services, members: set[str], lines: tuple[str, ...]) -> bool:
    if not members:
        return False
    ids = sorted(members)
    p = svc.redis.pipeline(transaction=False)
    for i in ids:
        p.hmget(svc.keys.agent(i), "state", "skills", "retired")
    for state, skills, retired in p.execute():
        if state and state != "offline" and not retired and set(decode_skills(skills)) & set(lines):
            return True
    return False


def _roster(svc: Services):
    try:
        return svc.roster.load()
    except (
        HotlineError
    ):  # a stored roster that no longer reads: no forecast, the caller is still served
        return None


def next_cover_at(svc: Services, lines: tuple[str, ...], now: float) -> float | None:
    roster = _roster(svc)
    if roster is None:
        return None
    after = datetime.fromtimestamp(now, tz=UTC)
    found = [
        t for t in (schedule.next_cover(roster, s, after, include_on_call=True) for s in lines) if t
    ]
    return min(found).timestamp() if found else None


def check(
    svc: Services, skill: str, category: str | None = None, now: float | None = None
) -> AfterHours:
    now = svc.clock.now() if now is None else now
    steps = overflow.load_policy(svc).steps(category or skill)
    lines = overflow.all_lines(skill, steps)
    if _staffed(svc, svc.roster.on_shift_now(), lines):
        return AfterHours(True, skill, lines)
    if overflow.reaches_on_call(steps) and _staffed(svc, svc.roster.on_call_now(), lines):
        return AfterHours(True, skill, lines)
    if _rostered_now(svc, lines, now):
        # Someone is on shift by the roster but not logged in yet (late, on a break
        # set as offline): "we open at <now>" would be absurd. The call waits for
        # them, and its overflow steps (on call, then a callback) still protect it.
        return AfterHours(True, skill, lines)
    return AfterHours(False, skill, lines, next_cover_at(svc, lines, now))


def _rostered_now(svc: Services, lines: tuple[str, ...], now: float) -> bool:
    roster = _roster(svc)
    if roster is None:
        return False
    at = datetime.fromtimestamp(now, tz=UTC)
    return any(not c.on_call for s in lines for c in schedule.on_shift(roster, at, skill=s))


def request_callback(
    svc: Services,
    sid: str,
    recording_url: str = "",
    duration: float | str = "",
    now: float | None = None,
) -> Literal["requested", "updated", "too_late", "not_found"]:
    """requested | updated (already a request: recording kept) | too_late | not_found."""
    k = svc.keys
    now = svc.clock.now() if now is None else now
    status, _ = svc.scripts.callback_request(
        keys=[k.call(sid), k.events, k.skills],
        args=[sid, repr(now), recording_url or "", str(duration or ""), "general"],
    )
    if status == "requested":
        svc.rq_queue.enqueue(names.CALL_WAITING, sid)
    return status


def add_transcription(svc: Services, sid: str, text: str, now: float | None = None) -> bool:
    """The voicemail's transcription, kept once (Twilio may deliver it twice); False for
    an unknown call or one that already has it."""
    now = svc.clock.now() if now is None else now
    text = text or ""
    return bool(
        svc.scripts.call_once(
            keys=[svc.keys.call(sid), svc.keys.events],
            args=[
                sid,
                repr(now),
                "transcription",
                text,
                "callback_transcribed",
                "chars",
                len(text),
            ],
        )
    )
