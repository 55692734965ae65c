"""The customer leg of a callback, below the conversation: an attempt that did not reach the
customer, the retry after spacing (stopping a leg nobody waits for is common.cancel_leg).

legs/callbacks.py (dialling, the customer's status callback) and legs/conversation.py
(an agent who hung up before the customer answered) both build on this module, which
imports neither: the two used to import each other.

Owns `callback:retries` (zset call sid -> when its next attempt may be routed), read by
the retry job and by the sweep.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Literal

from .. import job_names as names
from .common import enqueue_at, routing_again

if TYPE_CHECKING:
    from ..services import Services

AttemptResult = Literal["retry", "failed", "ignored"]


log = logging.getLogger(__name__)


def missed(svc: Services, sid: str, leg_sid: str, status: str) -> AttemptResult:
    """The customer leg did not reach the customer (no-answer, busy, failed, canceled): the
    attempt counted, the agent told, the retry timed. retry | failed | ignored."""
    k = svc.keys
    now = svc.clock.now()
    retry_at = now + svc.settings.callback_spacing_s
    out, _attempt = svc.scripts.callback_attempt(
        keys=[k.call(sid), k.events, k.callback_retries],
        args=[
            sid,
            repr(now),
            leg_sid,
            status,
            svc.settings.callback_attempts,
            repr(retry_at),
        ],
    )
    if out == "ignored":
        return "ignored"
    agent_id = svc.redis.hget(k.call(sid), "agent") or ""
    if not leg_sid.startswith("failed-"):
        svc.rq_queue.enqueue(names.AGENT_NOTICE, sid, agent_id, "customer_no_answer")
    if out == "retry":
        enqueue_at(svc, retry_at, names.CALLBACK_RETRY, sid)
    return out


def unreached(svc: Services, sid: str, agent_id: str) -> None:
    """The agent's leg ended before the customer answered (the agent hung up while it rang).

    Runs inside webhooks (the agent's <Dial action>, its status callback): stopping the
    customer's phone is a REST request, so it is the `callback_cancel` job's."""
    k = svc.keys
    leg_sid = svc.redis.hget(k.call(sid), "customer_leg")
    if leg_sid and not leg_sid.startswith("failed-"):
        svc.rq_queue.enqueue(names.CALLBACK_CANCEL, leg_sid)
    if not leg_sid:
        # Before the customer was even dialled: still one attempt, so that it cannot loop.
        leg_sid = "failed-" + uuid.uuid4().hex[:16]
        svc.scripts.callback_dialed(
            keys=[k.call(sid), k.events], args=[sid, repr(svc.clock.now()), leg_sid, ""]
        )
    missed(svc, sid, leg_sid, "canceled")


def retry(svc: Services, sid: str) -> str:
    """The `callback_retry` job (and the sweep): requeued | not_due | ignored."""
    k = svc.keys
    out = svc.scripts.callback_retry(
        keys=[k.call(sid), k.events, k.callback_retries, k.skills],
        args=[sid, repr(svc.clock.now())],
    )
    if out == "requeued":
        routing_again(svc, call_sid=sid)
    return out


def due(svc: Services, now: float | None = None) -> list[str]:
    now = svc.clock.now() if now is None else now
    return svc.redis.zrangebyscore(svc.keys.callback_retries, "-inf", now)
