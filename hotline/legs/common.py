"""What every leg module shares: timings, the RQ retry policy, the leg record's steps.

Owns `leg:{leg sid}` (hash: call_sid, agent_id, kind, to, state, placed_at,
answered_at, accepted_at, ended_at, outcome...), keyed by the CallSid of the leg we
placed, so that every status callback for one leg is applied at most once.

Leg states: placed -> answered -> accepted -> ended
            placed | answered -> missed | gone (caller hung up) | void (offer withdrawn)
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING

from .. import job_names as names

if TYPE_CHECKING:
    from ..services import Services


log = logging.getLogger(__name__)

LEG_TTL_S = 2 * 86400  # legs are bookkeeping for idempotency; calls keep the durations
MISSED_STATUSES = frozenset({"busy", "no-answer", "failed", "canceled"})


def cancel_leg(svc: Services, leg_sid: str) -> str:
    """Stop a leg nobody waits for any more (the `callback_cancel` job, an offer withdrawn
    while it started ringing): cancelled | no_carrier | failed."""
    from ..telephony.port import PermanentTelephonyError, TransientTelephonyError

    tel = svc.telephony
    if tel is None:
        return "no_carrier"
    try:
        tel.cancel_call(leg_sid)
    except (PermanentTelephonyError, TransientTelephonyError) as e:
        log.info("could not cancel leg %s: %s", leg_sid, e)
        return "failed"
    return "cancelled"


def carrier_request(request, *, last_attempt: bool) -> tuple[object, str | None]:
    """Run one REST request from a job: (its result, None), or (None, error) when the
    carrier refused for good -- a permanent error, or a transient one on the last attempt.
    Other transient errors propagate, so that RQ retries the job."""
    from ..telephony.port import PermanentTelephonyError, TransientTelephonyError

    try:
        return request(), None
    except PermanentTelephonyError as e:
        return None, str(e)
    except TransientTelephonyError as e:
        if not last_attempt:
            raise
        return None, f"retries exhausted: {e}"


def job_context() -> tuple[str, bool]:
    """(token, last_attempt) of the RQ job running now; outside RQ: a fresh token, last attempt."""
    from rq import get_current_job

    job = get_current_job()
    if job is None:
        return uuid.uuid4().hex, True
    return job.id, not job.retries_left


def leg_step(
    svc: Services,
    leg_sid: str,
    to: str,
    *,
    states,
    fields: dict | None = None,
    events: list[dict] | None = None,
    call_sid: str = "",
    agent_id: str = "",
    now: float | None = None,
) -> tuple[bool, str]:
    """Move leg `leg_sid` to `to` if it is in one of `states`; (applied, previous state)."""
    k = svc.keys
    now = svc.clock.now() if now is None else now
    applied, prev = svc.scripts.leg_step(
        keys=[k.leg(leg_sid), k.events, k.call(call_sid or "none")],
        args=[
            leg_sid,
            repr(now),
            json.dumps(list(states)),
            to,
            json.dumps({a: str(b) for a, b in (fields or {}).items()}),
            json.dumps(
                [{a: str(b) for a, b in ev.items() if b is not None} for ev in events or []]
            ),
            call_sid,
            agent_id,
            LEG_TTL_S,
        ],
    )
    return bool(int(applied)), prev


def leg(svc: Services, leg_sid: str) -> dict:
    return svc.redis.hgetall(svc.keys.leg(leg_sid)) if leg_sid else {}


def agent_lang(svc: Services, agent_id: str) -> str:
    """The language the agent hears their whispers and notices in: the first of theirs we speak."""
    from ..languages import first_spoken

    langs = svc.redis.hget(svc.keys.agent(agent_id), "languages") or ""
    return first_spoken(x for x in langs.split(",") if x)


def enqueue(svc: Services, func: str, *args, with_retry: bool = False):
    kw = {"retry": names.carrier_retry()} if with_retry else {}
    return svc.rq_queue.enqueue(func, *args, **kw)


def enqueue_at(svc: Services, at: float, func: str, *args) -> None:
    """Run `func` at clock time `at` (hotline/timers.py knows how, for each kind of clock)."""
    from ..timers import schedule

    schedule(svc, at, func, *args)


def routing_again(
    svc: Services, *, call_sid: str | None = None, agent_id: str | None = None
) -> None:
    """Let the routing engine look again: at a call back at its place, at an agent free again."""
    if call_sid:
        svc.rq_queue.enqueue(names.REMATCH, call_sid)
    if agent_id:
        svc.rq_queue.enqueue(names.AGENT_AVAILABLE, agent_id)
