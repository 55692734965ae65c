"""Routing's part of the repair sweep (hotline/sweep.py runs it): what a lost job or a crash
left undone, put right, then everything matchable matched. Idempotent: safe any time, twice.

Ends expired offers, re-adds waiting calls missing from one of their lines, frees agents
left `reserved` for nothing, re-indexes the idle pools, applies due overflow steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .reservations import expire_due

if TYPE_CHECKING:
    from ..services import Services


REPAIR_HORIZON_S = (
    7 * 86400
)  # calls older than this are not looked at by the sweep (a long weekend fits)


@dataclass
class SweepReport:
    expired: int = 0
    requeued: int = 0
    agents_fixed: int = 0
    overflowed: int = 0
    matched: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _waiting_calls(svc: Services, now: float) -> list[tuple[str, dict]]:
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


def repair(svc: Services, now: float | None = None, match_limit: int = 5000) -> SweepReport:
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
    return rep


def _nonempty_pools(svc: Services) -> list[str]:
    from .agents import decode_skills

    r, k = svc.redis, svc.keys
    skills = set()
    for s in r.smembers(k.agents):
        skills |= set(decode_skills(r.hget(k.agent(s), "skills")))
    return [k.idle_pool(s, None, oc) for s in skills for oc in (False, True)]
