"""Reservations: the offer of a call to an agent, and how it ends; the repair sweep.

Owns `reservation:{sid}` (hash: agent, offered_at, expires_at, lines, score, prev_state,
skill) and `reservations` (zset: sid -> expires_at: the timeout held in Redis). The
matcher writes both; store/lua/reservation_end.lua ends them:

* accept  -- the agent answered: agent busy, call bridged;
* release -- the offer is withdrawn (agent declined, leg failed): agent available;
* miss    -- the agent's leg said no answer / declined: agent away (reason missed), now;
* expire  -- nobody answered in time: agent away (reason missed).
On release, miss and expiry the call goes back into every line it was in, with its old score.
Every ending is idempotent, so the RQ timer, the sweep and a late webhook may race.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)
REPAIR_HORIZON_S = (
    7 * 86400
)  # calls older than this are not looked at by the sweep (a long weekend fits)


@dataclass(frozen=True)
class Ended:
    """What reservation_end.lua did, and what it saw before doing it."""

    status: str
    agent_id: str
    call_held: bool  # the call was reserved for this agent before the step
    call_state: str  # the call's state before the step ('' = no such call)


def end(
    svc,
    sid: str,
    mode: str,
    now: float | None = None,
    reason: str = "",
    agent_id: str = "",
    leg_sid: str = "",
    leg_ttl_s: int = 0,
) -> Ended:
    """One reservation_end.lua step. `leg_sid` (accept): the agent leg to record as accepted,
    kept `leg_ttl_s` seconds (the legs own that record's lifetime)."""
    k = svc.keys
    now = svc.clock.now() if now is None else now
    status, agent, held, state = svc.scripts.reservation_end(
        keys=[
            k.reservation(sid),
            k.reservations,
            k.call(sid),
            k.events,
            k.onshift,
            k.oncall,
            k.leg(leg_sid or "none"),
        ],
        args=[
            k.prefix,
            sid,
            repr(now),
            mode,
            svc.settings.routing_strategy,
            reason,
            agent_id,
            leg_sid,
            leg_ttl_s or 1,
        ],
    )
    return Ended(status, agent, held == "1", state)


def accept(
    svc,
    sid: str,
    agent_id: str = "",
    now: float | None = None,
    *,
    leg_sid: str = "",
    leg_ttl_s: int = 0,
) -> str:
    """accepted | call_gone (caller hung up while ringing) | none | wrong_agent | leg_done.
    With `leg_sid`, that leg is recorded as accepted and as the call's agent leg in the same step."""
    return end(
        svc, sid, "accept", now, agent_id=agent_id, leg_sid=leg_sid, leg_ttl_s=leg_ttl_s
    ).status


def release(
    svc, sid: str, reason: str = "declined", agent_id: str = "", now: float | None = None
) -> str:
    return end(svc, sid, "release", now, reason, agent_id).status


def miss(
    svc, sid: str, reason: str = "no_answer", agent_id: str = "", now: float | None = None
) -> str:
    """The agent's leg reported no answer / declined: end the offer now, in one step --
    agent away (missed), call back at its place. missed | none | wrong_agent.
    (`end(svc, sid, "miss", ...)` also tells what the step saw of the call.)

    Unlike release-then-away, no other match can take the agent in between."""
    return end(svc, sid, "miss", now, reason, agent_id).status


def expire(svc, sid: str, now: float | None = None) -> str:
    """expired | not_due | none."""
    return end(svc, sid, "expire", now).status


def get(svc, sid: str) -> dict | None:
    return svc.redis.hgetall(svc.keys.reservation(sid)) or None


def expire_due(svc, now: float | None = None) -> list[str]:
    now = svc.clock.now() if now is None else now
    out = []
    for sid in svc.redis.zrangebyscore(svc.keys.reservations, "-inf", now):
        if expire(svc, sid, now) == "expired":
            out.append(sid)
    return out


@dataclass
class SweepReport:
    expired: int = 0
    requeued: int = 0
    agents_fixed: int = 0
    overflowed: int = 0
    matched: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _waiting_calls(svc, now: float) -> list[tuple[str, dict]]:
    r, k = svc.redis, svc.keys
    sids = r.zrangebyscore(k.calls, now - REPAIR_HORIZON_S, "+inf")
    p = r.pipeline(transaction=False)
    for sid in sids:
        p.hmget(
            k.call(sid), "state", "lines", "effective_at", "category", "enqueued_at", "ovf_step"
        )
    out = []
    for sid, (state, lines, eff, cat, enq, step) in zip(sids, p.execute()):
        if state in ("waiting", "callback_requested"):
            out.append(
                (
                    sid,
                    {
                        "state": state,
                        "lines": lines or "",
                        "effective_at": eff,
                        "overflow": (state, cat, enq, step),
                    },
                )
            )
    return out


def sweep(svc, now: float | None = None, match_limit: int = 5000) -> SweepReport:
    """Idempotent repair, then match everything matchable. Safe to run any time, twice."""
    from . import overflow

    now = svc.clock.now() if now is None else now
    r, k = svc.redis, svc.keys
    rep = SweepReport()

    rep.expired = len(expire_due(svc, now))

    waiting = _waiting_calls(svc, now)
    p = r.pipeline(transaction=False)
    probes = [(sid, line) for sid, h in waiting for line in h["lines"].split(",") if line]
    for sid, line in probes:
        p.zscore(k.waiting(line), sid)
    for (sid, line), score in zip(probes, p.execute()):
        if score is None:
            rep.requeued += svc.scripts.requeue(
                keys=[k.call(sid), k.waiting(line), k.events], args=[sid, line, repr(now)]
            )

    for agent_id in sorted(r.smembers(k.agents)):
        status, _ = svc.agents._run(agent_id, "unstick", now=now)
        rep.agents_fixed += status == "fixed"
    svc.agents.reindex()

    for sid, h in waiting:
        rep.overflowed += len(overflow.apply_due(svc, sid, now, h["overflow"]))

    matcher = svc.matcher
    rep.matched = len(matcher.match_all(now))
    # Calls an agent's bounded look at the head of a line could not see (e.g. an English
    # call behind many French ones) are offered from the call's side.
    if any(r.zcard(key) for key in _nonempty_pools(svc)):
        for sid, _ in sorted(
            _waiting_calls(svc, now), key=lambda x: float(x[1]["effective_at"] or 0)
        )[:match_limit]:
            if matcher.match_call(sid, now):
                rep.matched += 1
    svc.events.append("routing_swept", ts=now, **rep.as_dict())
    return rep


def _nonempty_pools(svc) -> list[str]:
    from .agents import decode_skills

    r, k = svc.redis, svc.keys
    skills = set()
    for s in r.smembers(k.agents):
        skills |= set(decode_skills(r.hget(k.agent(s), "skills")))
    return [k.idle_pool(s, None, oc) for s in skills for oc in (False, True)]
