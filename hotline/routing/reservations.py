"""Reservations: the offer of a call to an agent, and how it ends.

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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ..services import Services

EndStatus = Literal[
    "accepted",
    "released",
    "missed",
    "expired",
    "none",
    "not_due",
    "wrong_agent",
    "call_gone",
    "leg_done",
]


@dataclass(frozen=True)
class Ended:
    """What reservation_end.lua did, and what it saw before doing it."""

    status: EndStatus
    agent_id: str
    call_held: bool  # the call was reserved for this agent before the step
    call_state: str  # the call's state before the step ('' = no such call)


def end(
    svc: Services,
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
    svc: Services,
    sid: str,
    agent_id: str = "",
    now: float | None = None,
    *,
    leg_sid: str = "",
    leg_ttl_s: int = 0,
) -> EndStatus:
    """accepted | call_gone (caller hung up while ringing) | none | wrong_agent | leg_done.
    With `leg_sid`, that leg is recorded as accepted and as the call's agent leg in the same step."""
    return end(
        svc, sid, "accept", now, agent_id=agent_id, leg_sid=leg_sid, leg_ttl_s=leg_ttl_s
    ).status


def release(
    svc: Services, sid: str, reason: str = "declined", agent_id: str = "", now: float | None = None
) -> EndStatus:
    return end(svc, sid, "release", now, reason, agent_id).status


def miss(
    svc: Services, sid: str, reason: str = "no_answer", agent_id: str = "", now: float | None = None
) -> EndStatus:
    """The agent's leg reported no answer / declined: end the offer now, in one step --
    agent away (missed), call back at its place. missed | none | wrong_agent.
    (`end(svc, sid, "miss", ...)` also tells what the step saw of the call.)

    Unlike release-then-away, no other match can take the agent in between."""
    return end(svc, sid, "miss", now, reason, agent_id).status


def expire(svc: Services, sid: str, now: float | None = None) -> EndStatus:
    """expired | not_due | none."""
    return end(svc, sid, "expire", now).status


def get(svc: Services, sid: str) -> dict | None:
    return svc.redis.hgetall(svc.keys.reservation(sid)) or None


def expire_due(svc: Services, now: float | None = None) -> list[str]:
    now = svc.clock.now() if now is None else now
    out = []
    for sid in svc.redis.zrangebyscore(svc.keys.reservations, "-inf", now):
        if expire(svc, sid, now) == "expired":
            out.append(sid)
    return out
