"""Offering a reserved call to its agent: ring, whisper, accept -- or missed.

The matcher reserves an agent for a call (one Lua step) and enqueues `offer` (an RQ
job, never a webhook, since a REST request can take seconds). The job places the
agent's leg (Calls create: `url` = answer, `statusCallback` = status, ring timeout).
On answer the agent hears the whisper and presses 1; `accept` is one Lua step
(routing/reservations.accept: the caller must still be reserved for this agent) and
the agent enters the conference named after the caller's CallSid, while a `bridge`
job moves the caller in (legs/conversation.py).

Everything that can end an offer is idempotent per agent leg (leg_step): the first of
no-answer / busy / failed / canceled / a key other than 1 / silence / hanging up
before accepting ends the reservation with routing/reservations.miss (one Lua step:
the call back at its place, the agent `away`, reason missed); a later status callback
for that leg changes nothing. A leg that cannot be placed at all (permanent carrier
error, or retries exhausted) ends the same way (reason offer_failed).
If the caller hung up meanwhile the agent hears "the caller hung up" and is free again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from .. import job_names as names
from ..routing import reservations
from ..states import FINAL_STATES
from . import twiml
from .common import (
    LEG_TTL_S,
    MISSED_STATUSES,
    agent_lang,
    cancel_leg,
    carrier_request,
    enqueue,
    enqueue_at,
    leg,
    leg_step,
    routing_again,
)
from .links import AgentLinks

if TYPE_CHECKING:
    from ..services import Services

PlaceResult = Literal[
    "placed", "placed_already", "duplicate", "stale", "gone", "failed", "no_carrier"
]
MissResult = Literal["missed", "caller_gone", "ignored"]


log = logging.getLogger(__name__)

MIN_RING_S = 5
ANSWER_GRACE_S = 30  # whisper + <Gather> time granted once the agent has picked up
FINAL = FINAL_STATES


def _contact(svc: Services, agent_id: str) -> str:
    phone, client = svc.redis.hmget(svc.keys.agent(agent_id), "phone", "client")
    # A Twilio Client identity means the agent answers in the browser softphone.
    if client:
        return client if client.startswith("client:") else f"client:{client}"
    return phone or ""


def place(
    svc: Services, sid: str, agent_id: str, *, token: str, last_attempt: bool = True
) -> PlaceResult:
    """The `offer` job: placed | placed_already | duplicate | stale | gone | failed | no_carrier.

    A transient carrier error is raised for RQ to retry, unless this is the last attempt."""
    k = svc.keys
    now = svc.clock.now()
    status, kind, _offered_at, expires_at = svc.scripts.offer_begin(
        keys=[k.call(sid), k.reservation(sid)], args=[sid, agent_id, token, repr(now)]
    )
    if status == "placed":
        return "placed_already"
    if status != "go":
        return status
    tel = svc.telephony
    if tel is None:
        log.warning(
            "no carrier configured (demo/test mode without HOTLINE_SIMULATOR_URL): %s for %s "
            "is left to its reservation timer",
            sid,
            agent_id,
        )
        return "no_carrier"
    to = _contact(svc, agent_id)
    if not to:
        fail(
            svc, sid, agent_id, "the agent has neither a phone number nor a Twilio Client identity"
        )
        return "failed"
    ring_max = svc.settings.agent_ring_timeout_s
    ring = int(max(MIN_RING_S, min(ring_max, float(expires_at or now + ring_max) - now)))
    links = AgentLinks(svc.settings.public_url)
    leg_sid, error = carrier_request(
        lambda: tel.place_call(
            to=to,
            from_=svc.settings.hotline_number,
            url=links.answer(sid, agent_id),
            status_callback=links.status(sid, agent_id),
            timeout=ring,
        ),
        last_attempt=last_attempt,
    )
    if error is not None:
        fail(svc, sid, agent_id, error)
        return "failed"
    placed = svc.scripts.offer_placed(
        keys=[k.call(sid), k.reservation(sid), k.leg(leg_sid), k.events],
        args=[sid, agent_id, leg_sid, repr(svc.clock.now()), kind, to, ring, LEG_TTL_S],
    )
    if placed == "gone":
        cancel_leg(svc, leg_sid)  # the offer was withdrawn while the phone started ringing
        return "gone"
    return "placed"


def fail(svc: Services, sid: str, agent_id: str, error: str) -> str:
    """The agent cannot be rung: end the offer (call back at its place); the agent is away
    (reason missed) until they come back, so an unreachable phone is not rung in a loop."""
    ended = reservations.end(svc, sid, "miss", reason="offer_failed", agent_id=agent_id)
    svc.events.append(
        "offer_failed", call_sid=sid, agent_id=agent_id, error=error[:300], released=ended.status
    )
    if ended.status == "missed":
        held = ended.call_held
        routing_again(svc, call_sid=sid if held else None, agent_id=None if held else agent_id)
    return ended.status


# Webhooks --------------------------------------------------------------------------
def answered(svc: Services, sid: str, agent_id: str, leg_sid: str) -> str:
    """The agent picked up: whisper + press 1, or tell them the call is gone."""
    k = svc.keys
    lang = agent_lang(svc, agent_id)
    status, expires, call_state = svc.scripts.offer_answer(
        keys=[k.leg(leg_sid), k.reservation(sid), k.reservations, k.call(sid), k.events],
        args=[sid, agent_id, leg_sid, repr(svc.clock.now()), ANSWER_GRACE_S, LEG_TTL_S],
    )
    links = AgentLinks(svc.settings.public_url)
    if status == "offer":
        if expires:
            enqueue_at(svc, float(expires), names.RESERVATION_DUE, sid)
        call = svc.calls.get(sid)
        kind = call.extra.get("leg_kind", "offer") if call else "offer"
        return twiml.offer(
            links, sid, agent_id, lang, whisper_for(svc, call, lang), callback=kind == "callback"
        )
    if status == "accepted":
        kind = svc.redis.hget(k.call(sid), "leg_kind")
        return twiml.agent_conference(links, sid, agent_id, lang, callback=kind == "callback")
    if status == "gone":
        return _gone(svc, sid, agent_id, leg_sid, call_state, lang, stage="answer")
    return twiml.notice("taken", lang)


def whisper_for(svc: Services, call, lang: str) -> str:
    if call is None:
        return ""
    now = svc.clock.now()
    if call.extra.get("leg_kind") == "callback":
        since = float(call.extra.get("callback_at") or call.enqueued_at or now)
        return twiml.callback_text(
            lang,
            category=call.category,
            caller_lang=call.lang,
            age_s=now - since,
            transcription=call.extra.get("transcription"),
            attempt=int(call.extra.get("callback_attempts") or 0) + 1,
            error_code=call.error_code,
        )
    wait = now - call.enqueued_at if call.enqueued_at else None
    return twiml.whisper_text(
        lang,
        category=call.category,
        caller_lang=call.lang,
        wait_s=wait,
        repeat=call.repeat,
        error_code=call.error_code,
    )


def _gone(svc: Services, sid, agent_id, leg_sid, call_state, lang, *, stage: str) -> str:
    """The offer is no longer this agent's: the caller hung up, or the call went elsewhere."""
    if call_state in FINAL or not call_state:
        applied, _ = leg_step(
            svc,
            leg_sid,
            "gone",
            states=("placed", "answered"),
            call_sid=sid,
            agent_id=agent_id,
            fields={"outcome": "caller_gone"},
            events=[{"type": "offer_caller_gone", "stage": stage}],
        )
        if applied:
            # The reservation may still hold the agent (nobody told routing the caller left).
            reservations.release(svc, sid, reason="call_gone", agent_id=agent_id)
            routing_again(svc, agent_id=agent_id)
        return twiml.notice("caller_gone", lang)
    leg_step(
        svc,
        leg_sid,
        "void",
        states=("placed", "answered"),
        call_sid=sid,
        agent_id=agent_id,
        fields={"outcome": "withdrawn"},
    )
    return twiml.notice("taken", lang)


def accept(svc: Services, sid: str, agent_id: str, leg_sid: str, digits: str) -> str:
    """The whisper's <Gather action>: 1 takes the call; anything else (or nothing) declines it."""
    lang = agent_lang(svc, agent_id)
    links = AgentLinks(svc.settings.public_url)
    digits = (digits or "").strip()
    state = leg(svc, leg_sid).get("state", "placed")
    kind = svc.redis.hget(svc.keys.call(sid), "leg_kind") or "offer"
    if state == "accepted":
        return twiml.agent_conference(links, sid, agent_id, lang, callback=kind == "callback")
    if state not in ("placed", "answered"):
        return twiml.notice("taken", lang)
    if digits != "1":
        missed(svc, sid, agent_id, leg_sid, "declined" if digits else "no_input")
        return twiml.notice("declined", lang)
    st = reservations.accept(svc, sid, agent_id, leg_sid=leg_sid, leg_ttl_s=LEG_TTL_S)
    if st == "accepted":
        if kind == "callback":
            enqueue(svc, names.CALLBACK_DIAL, sid, with_retry=True)
        else:
            enqueue(svc, names.BRIDGE, sid, with_retry=True)
        return twiml.agent_conference(links, sid, agent_id, lang, callback=kind == "callback")
    if st == "leg_done":
        return twiml.notice("taken", lang)
    call_state = svc.redis.hget(svc.keys.call(sid), "state")
    if st == "call_gone":
        call_state = call_state if call_state in FINAL else ""
    return _gone(svc, sid, agent_id, leg_sid, call_state, lang, stage="accept")


def missed(svc: Services, sid: str, agent_id: str, leg_sid: str, reason: str) -> MissResult:
    """The offer ended without the agent taking the call. missed | caller_gone | ignored."""
    applied, prev = leg_step(
        svc,
        leg_sid,
        "missed",
        states=("placed", "answered"),
        call_sid=sid,
        agent_id=agent_id,
        fields={"outcome": reason, "ended_at": repr(svc.clock.now())},
    )
    if not applied:
        return "ignored"
    # One Lua step: call back at its place, agent away (missed) -- or, the caller gone,
    # agent available; no other match can take the agent in between. What it saw of the
    # call decides what follows (an earlier read could be stale by now).
    ended = reservations.end(svc, sid, "miss", reason="missed", agent_id=agent_id)
    held, state = ended.call_held, ended.call_state
    if not held and (state in FINAL or not state):
        svc.events.append(
            "offer_caller_gone", call_sid=sid, agent_id=agent_id, leg_sid=leg_sid, stage=reason
        )
        routing_again(svc, agent_id=agent_id)
        return "caller_gone"
    svc.events.append(
        "offer_missed",
        call_sid=sid,
        agent_id=agent_id,
        leg_sid=leg_sid,
        reason=reason,
        answered=prev == "answered",
        released="1" if ended.status == "missed" else "0",
    )
    if ended.status == "missed" and held:
        routing_again(svc, call_sid=sid)
    return "missed"


def leg_status(
    svc: Services, sid: str, agent_id: str, leg_sid: str, status: str, duration: str = ""
) -> str:
    """The agent leg's status callback. What it changed: missed | caller_gone | ended | ignored."""
    from . import conversation

    status = (status or "").strip()
    if status in MISSED_STATUSES:
        return missed(svc, sid, agent_id, leg_sid, status)
    if status != "completed":
        return "ignored"  # initiated / ringing / in-progress: the answer URL does the work
    state = leg(svc, leg_sid).get("state", "placed")
    if state in ("placed", "answered"):
        # Picked up and hung up before pressing 1 (or our answer URL never ran).
        return missed(svc, sid, agent_id, leg_sid, "hung_up")
    if state != "accepted":
        return "ignored"
    # The end of the conversation first: killed between the two, the leg is still `accepted`
    # and the repeat (reconciliation) ends nothing twice (call_end.lua is once only).
    conversation.end(svc, sid, agent_id, ended_via="agent_leg")
    leg_step(
        svc,
        leg_sid,
        "ended",
        states=("accepted",),
        call_sid=sid,
        agent_id=agent_id,
        fields={"ended_at": repr(svc.clock.now()), "duration": duration},
    )
    return "ended"
