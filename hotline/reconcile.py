"""Reconciliation with the carrier: what the store believes live, checked against Twilio.

Twilio never retries a status callback it could not deliver. During a Redis outage (or
a worker crash at the wrong line) a call can end at the carrier while the store still
has it waiting, reserved or bridged -- and an agent busy with it for ever. The sweep
(`candidates`, Redis only) picks every live call that went quiet for longer than its
state allows, or every live call at all after an outage (store/outage.py: a process
saw Redis fail, or Redis restarted); for each, a `reconcile` job (`call`) asks the
carrier (Calls fetch through the telephony port) and delivers the signal that was lost
to the very handler that would have received it: the caller's status callback
(abandon.lua, the conversation's end), the agent leg's (legs/offers.leg_status), the
customer leg's (legs/callbacks.customer_status). Those handlers are idempotent, so
a reconciliation racing the real (late) callback changes nothing twice.

Each reconciliation that changed something appends `call_reconciled` (what the carrier
said, what was done). `reconcile_at` on the call remembers the last look, so a long
conversation is looked at once per bound, not at every sweep.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import job_names as names

if TYPE_CHECKING:
    from .services import Services


log = logging.getLogger(__name__)

HORIZON_S = 6 * 3600  # Twilio ends a call after 4 h (timeLimit): older calls are not live
# How long each state may go without a sign from the carrier before we ask.
QUIET_S = {"ivr": 120.0, "selfhelp": 120.0, "waiting": 180.0, "reserved": 180.0, "bridged": 600.0}
LIVE = frozenset(QUIET_S)
_TIMES = (
    "created_at",
    "seen_at",
    "enqueued_at",
    "reserved_at",
    "answered_at",
    "bridged_at",
    "reconcile_at",
)


def _last_signal(h: dict) -> float:
    best = 0.0
    for name in _TIMES:
        try:
            best = max(best, float(h.get(name) or 0))
        except ValueError:
            continue
    return best


def candidates(svc: Services, now: float, *, everything: bool = False) -> list[str]:
    """Live calls to look up: quiet for longer than QUIET_S for their state, or every
    live call when `everything` (after an outage). Each is marked `reconcile_at`."""
    r, k = svc.redis, svc.keys
    sids = r.zrangebyscore(k.calls, now - HORIZON_S, "+inf")
    if not sids:
        return []
    p = r.pipeline(transaction=False)
    for sid in sids:
        p.hmget(k.call(sid), "state", *_TIMES)
    out = []
    for sid, values in zip(sids, p.execute()):
        state = values[0]
        if state not in LIVE:
            continue
        h = dict(zip(_TIMES, values[1:]))
        if everything or now - _last_signal(h) > QUIET_S[state]:
            out.append(sid)
    if out:
        p = r.pipeline(transaction=False)
        for sid in out:
            p.hset(k.call(sid), "reconcile_at", repr(now))
        p.execute()
    return out


def sweep(svc: Services, now: float) -> dict:
    """The sweep's part: after an outage every live call, else the quiet ones, get a job."""
    from .store import outage

    mark = outage.peek(svc)
    run_id = outage.run_id(svc)
    restarted = outage.restarted(svc, run_id)
    everything = mark is not None or restarted
    sids = candidates(svc, now, everything=everything)
    for sid in sids:
        svc.rq_queue.enqueue(names.RECONCILE, sid, retry=names.carrier_retry())
    # Only now is the outage acted on: a sweep killed above leaves mark and run_id for the next.
    if mark is not None:
        outage.clear(svc, mark)
    outage.seen(svc, run_id)
    if everything:
        log.warning(
            "reconciling %d live calls with the carrier after %s",
            len(sids),
            "a Redis restart" if restarted else "a Redis outage",
        )
    return {"reconcile_jobs": len(sids), "after_outage": int(everything)}


def call(svc: Services, sid: str, *, last_attempt: bool = True) -> str:
    """The `reconcile` job: ask the carrier about `sid` (and its agent or customer leg) and
    deliver what the store missed. Returns what it did (for the job's result and tests)."""
    from .legs import callbacks, conversation, offers
    from .legs.common import carrier_request

    r, k = svc.redis, svc.keys
    state, agent, agent_leg, customer_leg, kind, bridged_at, callback_at = r.hmget(
        k.call(sid),
        "state",
        "agent",
        "agent_leg",
        "customer_leg",
        "leg_kind",
        "bridged_at",
        "callback_at",
    )
    # A callback request's own caller leg ended long ago and says nothing: from the match
    # on (`leg_kind` is written only when the offer begins) only its agent and customer
    # legs do.
    is_callback = kind == "callback" or bool(callback_at)
    if state not in LIVE:
        return "not_live"
    tel = svc.telephony
    if tel is None:
        return "no_carrier"

    def fetch(leg):
        info, error = carrier_request(lambda: tel.fetch_call(leg), last_attempt=last_attempt)
        if error is not None:
            raise _GiveUp(error)
        return info

    try:
        caller = None if is_callback else fetch(sid)
        caller_over = not is_callback and (caller is None or caller.ended)
        caller_status = "completed" if caller is None else caller.status
        done = None
        if state in ("ivr", "selfhelp", "waiting", "reserved"):
            if caller_over:
                res = svc.waiting.abandon(sid, via="reconcile", status=caller_status)
                done = "abandoned" if res.abandoned else ("left_ivr" if res.ended else None)
            elif state == "reserved" and agent and agent_leg:
                leg = fetch(agent_leg)
                if leg is None or leg.ended:
                    done = "offer_" + offers.leg_status(
                        svc, sid, agent, agent_leg, "no-answer" if leg is None else leg.status
                    )
        elif state == "bridged" and agent:
            leg = fetch(agent_leg) if agent_leg else None
            agent_over = bool(agent_leg) and (leg is None or leg.ended)
            if caller_over:
                # What the caller's status callback would have done: the end of their leg, then
                # the end of the conversation.
                svc.waiting.abandon(sid, via="reconcile", status=caller_status)
                done = conversation.end(svc, sid, agent, ended_via="reconcile_caller")
            elif agent_over:
                done = conversation.end(svc, sid, agent, ended_via="reconcile_agent")
            elif is_callback and customer_leg and not customer_leg.startswith("failed-"):
                cust = fetch(customer_leg)
                if cust is None or cust.ended:
                    done = "customer_" + callbacks.customer_status(
                        svc, sid, customer_leg, "no-answer" if cust is None else cust.status
                    )
            elif not is_callback and not bridged_at and caller is not None:
                # Both legs alive, the caller never brought in: the bridge job was lost.
                svc.rq_queue.enqueue(names.BRIDGE, sid)
                done = "bridge_again"
    except _GiveUp as e:
        log.warning("could not reconcile %s with the carrier: %s", sid, e)
        return "carrier_error"
    if done and done not in ("not_bridged", "offer_ignored", "customer_ignored"):
        svc.events.append(
            "call_reconciled",
            call_sid=sid,
            agent_id=agent or None,
            state_before=state,
            carrier_status=None if is_callback else caller_status,
            action=done,
        )
        return done
    return "unchanged"


class _GiveUp(Exception):
    """The carrier refused for good (or retries are exhausted): the next sweep tries again."""


__all__ = ["LIVE", "QUIET_S", "call", "candidates", "sweep"]
