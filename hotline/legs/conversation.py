"""From accept to hang-up: the caller moved into the agent's conference, the end of the
call, and the agent's way back to work.

The conference is named after the caller's CallSid. The agent enters first (their
TwiML after pressing 1); the `bridge` job then moves exactly this caller out of its
Twilio queue with Queue Members update (QueueSid from the call record; Calls update
when we never learnt it), whose `Url` returns the caller's conference TwiML
(`join`). Both legs have endConferenceOnExit, so either side hanging up ends it; the
end arrives as the agent's <Dial action> and as the agent leg's `completed` status
callback, whichever first (`end` is idempotent: call_end.lua).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from .. import job_names as names
from ..ivr.menu import Links, redirect
from ..states import FINAL_STATES
from ..telephony.port import PermanentTelephonyError, TransientTelephonyError
from . import customer, twiml, wrapup
from .common import carrier_request, routing_again
from .links import AgentLinks

if TYPE_CHECKING:
    from ..services import Services

CallEnd = Literal[
    "completed",
    "abandoned",
    "requeued",
    "unreached",
    "joined",
    "freed",
    "not_bridged",
    "wrong_agent",
]
BridgeResult = Literal["dequeued", "skipped", "no_carrier", "failed"]


log = logging.getLogger(__name__)
FINAL = FINAL_STATES
# After the customer's phone stopped ringing, how long an agent's leg may take to end (the
# notice, the hang-up, the status callback) before the sweep frees the agent without it.
AGENT_LEG_GRACE_S = 60.0


def bridge(svc: Services, sid: str, *, last_attempt: bool = True) -> BridgeResult:
    """The `bridge` job: dequeued | skipped | no_carrier | failed (raises transient errors for RQ)."""
    r, k = svc.redis, svc.keys
    state, queue_sid, bridged_at, agent_id = r.hmget(
        k.call(sid), "state", "queue_sid", "bridged_at", "agent"
    )
    if state != "bridged" or bridged_at:
        return "skipped"
    tel = svc.telephony
    if tel is None:
        log.warning("no carrier configured: caller %s cannot be moved to the conference", sid)
        return "no_carrier"
    url = AgentLinks(svc.settings.public_url).join(sid)
    error = "no queue"
    if queue_sid:
        _, error = carrier_request(
            lambda: tel.dequeue_member(queue_sid, sid, url), last_attempt=last_attempt
        )
    if error is not None:
        # Not (or no longer) in that queue -- or we never learnt which -- yet perhaps still on
        # the line (a repeated bridge, an Enqueue response lost): Calls update moves a live
        # call wherever it is; it fails only for a call that is over.
        _, error = carrier_request(lambda: tel.redirect_call(sid, url), last_attempt=last_attempt)
    if error is not None:
        bridge_failed(svc, sid, agent_id, error)
        return "failed"
    return "dequeued"


def bridge_failed(svc: Services, sid: str, agent_id: str | None, error: str) -> None:
    """The caller could not be moved (gone from the queue: hung up): the agent is told, and free."""
    log.warning("could not bring caller %s to agent %s: %s", sid, agent_id, error)
    if agent_id and end(svc, sid, agent_id, ended_via="bridge_failed") != "joined":
        notify_agent(svc, sid, agent_id, "caller_gone")


def notify_agent(svc: Services, sid: str, agent_id: str, what: str) -> None:
    """Say `what` to the agent's live leg, then hang it up (Calls update Url)."""
    from .common import agent_lang

    leg_sid = svc.redis.hget(svc.keys.call(sid), "agent_leg")
    tel = svc.telephony
    if not leg_sid or tel is None:
        return
    try:
        tel.redirect_call(
            leg_sid, AgentLinks(svc.settings.public_url).notice(what, agent_lang(svc, agent_id))
        )
    except (PermanentTelephonyError, TransientTelephonyError) as e:
        # The agent's leg already ended: nobody to tell.
        log.info("could not tell agent %s (%s) %s: %s", agent_id, leg_sid, what, e)


def join(svc: Services, sid: str, leg_sid: str, *, who: str = "caller") -> str:
    """TwiML for the caller (or the called-back customer) entering the agent's conference."""
    status, lang, _agent = svc.scripts.caller_join(
        keys=[svc.keys.call(sid), svc.keys.events],
        args=[sid, repr(svc.clock.now()), leg_sid or sid, who],
    )
    lang = lang or "fr"
    if status in ("joined", "again"):
        return twiml.caller_conference(sid, lang, customer=who == "customer")
    if who == "caller":
        # Not ours to bridge (any more): the IVR puts the caller where their record says.
        return redirect(Links(svc.settings.public_url).incoming(lang))
    return twiml.sorry(lang)


def end(svc: Services, sid: str, agent_id: str, *, ended_via: str) -> CallEnd:
    """The conversation is over: one Lua step (call_end.lua) for the durations, the final
    event, the handle time and the agent's wrap-up, whichever signal comes first; then
    the timers and routing that follow from what it did.

    completed | abandoned | requeued | unreached | joined | freed | not_bridged | wrong_agent."""

    now = svc.clock.now()
    status, until = _end_step(svc, sid, agent_id, ended_via, now)
    if status == "completed" and until:
        if float(until) > now:
            wrapup.schedule_end(svc, agent_id, sid, float(until))
        else:
            routing_again(svc, agent_id=agent_id)  # a zero wrap-up: available at once
    elif status in ("abandoned", "freed"):
        routing_again(svc, agent_id=agent_id)
    elif status == "requeued":
        routing_again(svc, call_sid=sid)
    elif status == "unreached":
        customer.unreached(svc, sid, agent_id)
        free_agent(svc, agent_id, sid)
    return status


def _end_step(svc: Services, sid: str, agent_id: str, ended_via: str, now: float):
    """call_end.lua: (status, wrap-up end)."""
    from ..queue.estimates import HISTORY

    k = svc.keys
    agent_leg = svc.redis.hget(k.call(sid), "agent_leg") or "none"
    status, _skill, _talk, _kind, until = svc.scripts.call_end(
        keys=[
            k.call(sid),
            k.leg(agent_leg),
            k.events,
            k.agent(agent_id),
            k.wrapups,
            k.onshift,
            k.oncall,
        ],
        args=[
            sid,
            repr(now),
            agent_id,
            ended_via,
            svc.settings.routing_strategy,
            wrapup.policy_json(svc),
            HISTORY,
        ],
    )
    return status, until


def caller_leg_ended(svc: Services, sid: str) -> str:
    """The caller's own leg ended (the voice status callback): the other way to learn that a
    bridged call is over, should the agent leg's callbacks be late or lost. Redis only
    (safe inside a webhook); telling an agent whose caller never arrived is a job."""
    state, agent_id, bridged_at = svc.redis.hmget(
        svc.keys.call(sid), "state", "agent", "bridged_at"
    )
    if state != "bridged" or not agent_id:
        return "ignored"
    out = end(svc, sid, agent_id, ended_via="caller_leg")
    if out == "abandoned" and not bridged_at:
        svc.rq_queue.enqueue(names.AGENT_NOTICE, sid, agent_id, "caller_gone")
    return out


def free_agent(svc: Services, agent_id: str, sid: str) -> bool:
    """An agent still busy with `sid` after it left `bridged` without a conversation (or
    vanished): available again, in call_end.lua's one step (`freed`: only while the agent
    is busy with that very call), then routing. True if freed."""
    if _end_step(svc, sid, agent_id, "sweep", svc.clock.now())[0] != "freed":
        return False
    routing_again(svc, agent_id=agent_id)
    return True


def repair(svc: Services, now: float | None = None) -> dict:
    """The sweep's part for legs: overdue wrap-ups ended, wrap-ups without an end given one,
    busy agents whose call is over freed."""
    now = svc.clock.now() if now is None else now
    out = {"wrapups_ended": 0, "wrapups_timed": 0, "agents_freed": 0}
    r, k = svc.redis, svc.keys
    ids = sorted(r.smembers(k.agents))
    p = r.pipeline(transaction=False)
    for a in ids:
        p.hmget(k.agent(a), "state", "call_sid", "since")
    agents = dict(zip(ids, p.execute()))
    for agent_id in wrapup.unscheduled(svc, agents):
        since = agents[agent_id][2]
        wrapup.set_missing_end(svc, agent_id, float(since) if since else None, now)
        out["wrapups_timed"] += 1
    for agent_id in wrapup.due(svc, now):
        out["wrapups_ended"] += wrapup.done(svc, agent_id, via="sweep", now=now) == "ended"
    busy = [(a, c) for a, (s, c, _since) in agents.items() if s == "busy" and c]
    if busy:
        p = r.pipeline(transaction=False)
        for _, c in busy:
            p.hget(k.call(c), "state")
        # A call that left `bridged` some other way (a callback attempt the customer did not
        # answer) frees its agent when their leg's status callback comes; if it was lost,
        # here, once the leg must be over: past the customer's ring and a minute more.
        settled = now - svc.settings.callback_ring_timeout_s - AGENT_LEG_GRACE_S
        for (a, c), state in zip(busy, p.execute()):
            since = float(agents[a][2] or 0)
            if state in FINAL or state is None or (state != "bridged" and since < settled):
                out["agents_freed"] += free_agent(svc, a, c)
    return out


__all__ = [
    "bridge",
    "caller_leg_ended",
    "end",
    "free_agent",
    "join",
    "notify_agent",
    "repair",
    "routing_again",
]
