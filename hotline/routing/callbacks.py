"""Callback legs: agent first, then the customer; retried with spacing; the outcome logged.

A callback request (voicemail after hours, or the callback a waiting caller accepted)
is the call record in state `callback_requested`, waiting in its lines at its place
(routing/afterhours.py). When the matcher reserves an agent for it, the offer job
rings the agent like any offer (legs/offers.py: kind `callback`, whisper with the
request's age and message); when the agent presses 1 they enter the conference named
after the call, and `dial` (an RQ job) calls the customer, whose answer URL puts them
into that conference. Outcomes:

* the customer answers: `caller_bridged` (who=customer), then on hang-up
  `callback_completed` -- FINAL, and the agent's wrap-up;
* no answer / busy / failed: `callback_no_answer` (attempt n); the agent is told and
  freed; after `callback_spacing_s` the request waits again at its place
  (`callback_retry`) -- or after `callback_attempts` tries, `call_failed`
  (reason callback_no_answer) -- FINAL.

Owns `callback:retries` (zset call sid -> when its next attempt may be routed), read by
the retry job and by the sweep.
"""

from __future__ import annotations

import logging
import uuid

from .. import job_names as names
from ..legs.common import MISSED_STATUSES, carrier_request, enqueue_at, extra, routing_again
from ..legs.links import AgentLinks
from ..queue.calls import ANONYMOUS
from ..telephony.port import PermanentTelephonyError, TransientTelephonyError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
SPACING_S = 600.0  # between two attempts to reach the customer
CUSTOMER_RING_S = 30


def dial(svc, sid: str, *, last_attempt: bool = True) -> str:
    """The `callback_dial` job, after the agent accepted: dialing | skipped | no_carrier | unreached."""
    from ..legs import conversation

    r, k = svc.redis, svc.keys
    state, customer_leg, number, from_number, agent_id = r.hmget(
        k.call(sid), "state", "customer_leg", "callback_number", "from_number", "agent"
    )
    if state != "bridged" or customer_leg:
        return "skipped"
    tel = svc.telephony
    if tel is None:
        log.warning("no carrier configured: callback %s cannot be dialled", sid)
        return "no_carrier"
    number = (number or from_number or "").strip()
    links = AgentLinks(svc.settings.public_url)
    error = None
    leg_sid = None
    if number.lower() in ANONYMOUS:
        error = "no number to call back"
    else:
        leg_sid, error = carrier_request(
            lambda: tel.place_call(
                to=number,
                from_=svc.settings.hotline_number,
                url=links.customer(sid),
                status_callback=links.customer_status(sid),
                timeout=extra(svc, "callback_ring_timeout_s", CUSTOMER_RING_S),
            ),
            last_attempt=last_attempt,
        )
    if leg_sid is None:
        # Counted as an attempt that did not reach the customer, under a leg id of its own.
        leg_sid = "failed-" + uuid.uuid4().hex[:16]
    status, _ = svc.scripts.callback_dialed(
        keys=[k.call(sid), k.events], args=[sid, repr(svc.clock.now()), leg_sid, number]
    )
    if status == "gone":
        if error is None:
            try:
                tel.cancel_call(leg_sid)
            except (PermanentTelephonyError, TransientTelephonyError) as e:
                log.info("could not cancel callback leg %s: %s", leg_sid, e)
        return "skipped"
    if error is not None:
        customer_status(svc, sid, leg_sid, "failed")
        conversation.notify_agent(svc, sid, agent_id, "customer_no_answer")
        return "unreached"
    return "dialing"


def customer_status(svc, sid: str, leg_sid: str, status: str) -> str:
    """The customer leg's status callback: retry | failed | ended | ignored."""
    from ..legs import conversation

    status = (status or "").strip()
    k = svc.keys
    if status in MISSED_STATUSES:
        now = svc.clock.now()
        retry_at = now + extra(svc, "callback_spacing_s", SPACING_S)
        out, _attempt = svc.scripts.callback_attempt(
            keys=[k.call(sid), k.events, k.callback_retries],
            args=[
                sid,
                repr(now),
                leg_sid,
                status,
                extra(svc, "callback_attempts", MAX_ATTEMPTS),
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
    if status == "completed":
        state, agent_id, bridged_at, customer_leg = svc.redis.hmget(
            k.call(sid), "state", "agent", "bridged_at", "customer_leg"
        )
        if state == "bridged" and bridged_at and customer_leg == leg_sid and agent_id:
            conversation.end(svc, sid, agent_id, ended_via="customer_leg")
            return "ended"
    return "ignored"


def unreached(svc, sid: str, agent_id: str) -> None:
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
    customer_status(svc, sid, leg_sid, "canceled")


def cancel(svc, leg_sid: str) -> str:
    """The `callback_cancel` job: stop a customer leg nobody waits for. cancelled | no_carrier | failed."""
    tel = svc.telephony
    if tel is None:
        return "no_carrier"
    try:
        tel.cancel_call(leg_sid)
    except (PermanentTelephonyError, TransientTelephonyError) as e:
        log.info("could not cancel callback leg %s: %s", leg_sid, e)
        return "failed"
    return "cancelled"


def retry(svc, sid: str) -> str:
    """The `callback_retry` job (and the sweep): requeued | not_due | ignored."""
    k = svc.keys
    out = svc.scripts.callback_retry(
        keys=[k.call(sid), k.events, k.callback_retries, k.skills],
        args=[sid, repr(svc.clock.now()), k.prefix],
    )
    if out == "requeued":
        routing_again(svc, call_sid=sid)
    return out


def due(svc, now: float | None = None) -> list[str]:
    now = svc.clock.now() if now is None else now
    return svc.redis.zrangebyscore(svc.keys.callback_retries, "-inf", now)
