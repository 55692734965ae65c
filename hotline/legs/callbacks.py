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

The attempt that did not reach the customer, the retry and the cancel are
legs/customer.py's (which owns `callback:retries`).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Literal

from ..queue.calls import ANONYMOUS
from . import conversation, customer
from .common import MISSED_STATUSES, cancel_leg, carrier_request
from .customer import due, retry, unreached
from .links import AgentLinks

if TYPE_CHECKING:
    from ..services import Services

CustomerResult = Literal["retry", "failed", "ended", "ignored"]
DialResult = Literal["dialing", "skipped", "no_carrier", "unreached"]


log = logging.getLogger(__name__)

__all__ = [
    "customer_status",
    "dial",
    "due",
    "retry",
    "unreached",
]


def dial(svc: Services, sid: str, *, last_attempt: bool = True) -> DialResult:
    """The `callback_dial` job, after the agent accepted: dialing | skipped | no_carrier | unreached."""
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
                timeout=svc.settings.callback_ring_timeout_s,
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
            cancel_leg(svc, leg_sid)
        return "skipped"
    if error is not None:
        customer.missed(svc, sid, leg_sid, "failed")
        conversation.notify_agent(svc, sid, agent_id, "customer_no_answer")
        return "unreached"
    return "dialing"


def customer_status(svc: Services, sid: str, leg_sid: str, status: str) -> CustomerResult:
    """The customer leg's status callback: retry | failed | ended | ignored."""
    status = (status or "").strip()
    if status in MISSED_STATUSES:
        return customer.missed(svc, sid, leg_sid, status)
    if status == "completed":
        state, agent_id, bridged_at, customer_leg = svc.redis.hmget(
            svc.keys.call(sid), "state", "agent", "bridged_at", "customer_leg"
        )
        if state == "bridged" and bridged_at and customer_leg == leg_sid and agent_id:
            conversation.end(svc, sid, agent_id, ended_via="customer_leg")
            return "ended"
    return "ignored"
