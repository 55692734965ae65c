"""The agent's call card: who is calling, what the IVR learnt, and what happened last time.

`call_card(svc, sid)` is a JSON-ready dict (the console shows it while the call is offered,
bridged and in wrap-up); `current_call_for_agent(svc, agent)` says which call that is.
Cheap by construction: the call record (one HGETALL), its IVR events (history.iter_events
from the call's `created_at`, stopped at the first event that ends the IVR, at most
IVR_EVENTS_MAX of the log read), and the number's last calls (`caller_calls:{number}`, one
ZREVRANGE and one pipeline).

    call_sid, state, agent
    caller            {number (as received), display (national format for the centre's own
                      country -- that of HOTLINE_NUMBER --, international otherwise, "" when
                      withheld), withheld, repeat, previous_call_at}
    lang              fr | en
    category          connection | software | error_message | general (null: still in the IVR)
    decided_by        key | speech | speech_confirmed | fallback (three menus missed) | null
    digit, words      the key pressed, or what the caller said, when that decided it
    error_code        the digits keyed in for an error message, or null
    ivr_path[]        the IVR's steps in order: {step (the event type), at, detail}
    wait_s            seconds in the line so far, or until answered / the end; null if never queued
    selfhelp_tip      {category, text} the tip already played, in the caller's language, or null
    disposition, notes  what the agent recorded (legs/disposition.py), or null
    recent_calls[]    up to 5 earlier calls of that number, most recent first:
                      {call_sid, at, category, state, disposition, notes}
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import phonenumbers

from .history import iter_events
from .queue.calls import ANONYMOUS, valid_sid

if TYPE_CHECKING:
    from .services import Services

RECENT_MAX = 5
IVR_EVENTS_MAX = 2000  # log entries read at most for one card (the IVR takes a few minutes)
IVR_WINDOW_S = 3600.0  # nor further than this after the call began
# Steps of the IVR, as the card lists them (the events' own names).
IVR_STEPS = (
    "call_created",
    "language_chosen",
    "menu_choice",
    "menu_retry",
    "confirmation_asked",
    "classification_confirmed",
    "classified",
    "error_code_captured",
    "selfhelp_offered",
    "after_hours_offered",
    "enqueued",
    "callback_requested",
    "selfhelp_resolved",
)
# Once one of these is seen, the IVR is over for this call: reading stops.
IVR_DONE = frozenset(
    {"enqueued", "callback_requested", "selfhelp_resolved", "call_ended", "call_failed"}
)
DECIDED_BY = {
    "dtmf": "key",
    "speech": "speech",
    "speech_confirmed": "speech_confirmed",
    "fallback": "fallback",
}
DETAIL = ("lang", "digit", "speech", "reason", "attempt", "category", "confidence", "error_code")
CARD_STATES = ("reserved", "busy", "wrapup")


def current_call_for_agent(svc: Services, agent_id: str) -> str | None:
    """The call the agent is offered (reserved), talking on (busy) or wrapping up after:
    the one the card and the wrap-up form are about. None otherwise (or no such agent)."""
    state, sid = svc.redis.hmget(svc.keys.agent(agent_id), "state", "call_sid")
    return sid if state in CARD_STATES and sid else None


def display_number(number: str, home_number: str) -> str:
    """A caller's number for people: national format in the centre's own country (that of
    `home_number`), international otherwise; as received when it is not a phone number."""
    if not number or number.strip().lower() in ANONYMOUS:
        return ""
    try:
        parsed = phonenumbers.parse(number, None)
        home = phonenumbers.region_code_for_number(phonenumbers.parse(home_number, None))
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_possible_number(parsed):
        return number
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(parsed) == home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, fmt)


def _iso(t: float | None, tz) -> str | None:
    return datetime.fromtimestamp(t, tz).isoformat(timespec="seconds") if t else None


def _ivr_events(svc: Services, call) -> list[dict]:
    """This call's events from its creation until the IVR is over, bounded."""
    start = call.created_at or svc.clock.now()
    out: list[dict] = []
    for n, ev in enumerate(iter_events(svc, start, start + IVR_WINDOW_S)):
        if n >= IVR_EVENTS_MAX:
            break
        if ev.get("call_sid") != call.sid:
            continue
        out.append(ev)
        if ev.get("type") in IVR_DONE:
            break
    return out


def _tip(category: str, lang: str) -> str | None:
    from .ivr.classify import CATEGORIES, default_selfhelp

    if category not in CATEGORIES:
        return None
    tips = default_selfhelp().tips[category]
    return tips.get(lang) or next(iter(tips.values()), None)


def call_card(svc: Services, call_sid: str) -> dict | None:
    """The card of one call (see the module docstring), or None if there is no such call."""
    if not valid_sid(call_sid):
        return None
    call = svc.calls.get(call_sid)
    if call is None or not call.created_at:
        return None  # no call, or a tombstone (an end seen before the call itself)
    tz, now, x = svc.settings.tz, svc.clock.now(), call.extra
    evs = _ivr_events(svc, call)

    path, decided, digit, words, tip_category, last_speech = [], None, None, None, None, None
    for ev in evs:
        kind = ev.get("type")
        if kind not in IVR_STEPS:
            continue
        path.append(
            {
                "step": kind,
                "at": _iso(ev["ts"], tz),
                "detail": {k: ev[k] for k in DETAIL if ev.get(k) not in (None, "")},
            }
        )
        if kind in ("menu_choice", "classified") and ev.get("speech"):
            last_speech = ev["speech"]
        if kind == "classified":
            decided = DECIDED_BY.get(ev.get("method", ""), ev.get("method") or None)
            digit = ev.get("digit") or None
            words = ev.get("speech") or (last_speech if decided == "speech_confirmed" else None)
        elif kind == "selfhelp_offered":
            tip_category = ev.get("category")

    enq = call.enqueued_at
    wait_end = _float(x.get("answered_at")) or call.ended_at or now
    recent = svc.calls.recent_for_number(call.from_number, limit=RECENT_MAX, exclude=call.sid)
    lang = call.lang or "fr"
    return {
        "call_sid": call.sid,
        "state": call.state,
        "agent": x.get("agent") or None,
        "caller": {
            "number": call.from_number,
            "display": display_number(call.from_number, svc.settings.hotline_number),
            "withheld": (call.from_number or "").strip().lower() in ANONYMOUS,
            "repeat": call.repeat,
            "previous_call_at": _iso(call.previous_call_at, tz),
        },
        "lang": lang,
        "category": call.category,
        "decided_by": decided or _decided_from_record(x.get("classified_by")),
        "digit": digit,
        "words": words,
        "error_code": call.error_code,
        "ivr_path": path,
        "wait_s": round(max(0.0, wait_end - enq), 1) if enq else None,
        "selfhelp_tip": (
            {"category": tip_category, "text": _tip(tip_category, lang)} if tip_category else None
        ),
        "disposition": call.disposition,
        "notes": call.notes,
        "recent_calls": [
            {
                "call_sid": c.sid,
                "at": _iso(c.created_at, tz),
                "category": c.category,
                "state": c.state,
                "disposition": c.disposition,
                "notes": c.notes,
            }
            for c in recent
        ],
    }


def _decided_from_record(method: str | None) -> str | None:
    return DECIDED_BY.get(method or "", method or None)


def _float(v) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None
