"""Helpers for the routing tests: agents from roster specs, calls through the real queue code.

Who is on shift is set directly in the documented `onshift` / `oncall` sets (owned by
the roster store, recomputed at shift boundaries); the agents' pools follow through
`svc.agents.reindex()`, as after a real boundary.
"""

from __future__ import annotations

from types import SimpleNamespace

from hotline.roster import AgentSpec


def spec(agent_id, skills, langs=("fr",), phone=None):
    return AgentSpec(
        id=agent_id,
        name=agent_id.title(),
        phone=phone or "+33600000000",
        client_identity=None,
        skills=dict(skills),
        languages=tuple(langs),
    )


def load_agents(svc, specs, on_shift=(), on_call=()):
    svc.agents.sync_from_roster(SimpleNamespace(agents=tuple(specs)))
    set_shifts(svc, on_shift, on_call)


def set_shifts(svc, on_shift=(), on_call=()):
    r, k = svc.redis, svc.keys
    r.delete(k.onshift, k.oncall)
    if on_shift:
        r.sadd(k.onshift, *on_shift)
    if on_call:
        r.sadd(k.oncall, *on_call)
    svc.agents.reindex()


def make_available(svc, *ids):
    for i in ids:
        svc.agents.set_state(i, "available", notify=False)


def waiting_call(svc, sid, skill="connection", lang="fr", priority=0, category=None):
    svc.calls.arrive(sid, "+3361234%04d" % (abs(hash(sid)) % 10000), "+33100000000", lang)
    if priority:
        svc.redis.hset(
            svc.keys.call(sid), "priority", priority
        )  # the call's own field sets the boost
    res = svc.waiting.enqueue(sid, skill, category=category or skill)
    assert res.status == "enqueued", res
    return res.effective_at


def call_hash(svc, sid):
    return svc.redis.hgetall(svc.keys.call(sid))


def sid(n):
    return "CA%032d" % n


def chaos_worker(settings, seed, agent_ids, call_ids, steps, now):
    """One process of the concurrency test: match, accept, release, expire, finish, at random.

    Every read-then-act here races the other processes on purpose: the scripts must refuse
    what is no longer true (IllegalTransition, `none`, `wrong_agent`), never half-apply it.
    """
    import random as _random

    from hotline.clock import ManualClock
    from hotline.errors import IllegalTransition
    from hotline.routing import reservations
    from hotline.services import Services

    svc = Services(settings, clock=ManualClock(now))
    rng = _random.Random(seed)
    done = {"match": 0, "accepted": 0, "released": 0, "missed": 0, "expired": 0, "refused": 0}
    try:
        for _ in range(steps):
            roll = rng.random()
            if roll < 0.35:
                done["match"] += (
                    svc.matcher.match_agent(rng.choice(agent_ids), schedule_expiry=False)
                    is not None
                )
            elif roll < 0.5:
                done["match"] += (
                    svc.matcher.match_call(rng.choice(call_ids), schedule_expiry=False) is not None
                )
            else:
                a = rng.choice(agent_ids)
                state, call = svc.redis.hmget(svc.keys.agent(a), "state", "call_sid")
                try:
                    if state == "reserved":
                        r = rng.random()
                        if r < 0.7:
                            st = reservations.accept(svc, call, a)
                        elif r < 0.8:
                            st = reservations.release(svc, call, "declined", a)
                        elif r < 0.9:
                            st = reservations.miss(svc, call, "no_answer", a)
                        else:
                            st = reservations.expire(svc, call, now=now + 3600)
                        done[st if st in done else "refused"] += 1
                    elif state == "busy":
                        svc.agents.set_state(a, "wrapup", notify=False)
                    elif state in ("wrapup", "away", "offline"):
                        svc.agents.set_state(a, "available", notify=False)
                except IllegalTransition:
                    done["refused"] += 1
    finally:
        svc.close()
    return done


def pending_timers(svc):
    """The timers set under the manual clock (hotline/timers.py): [(func, args, at)], by time."""
    import json

    return [
        (*tuple(json.loads(m)[:2]), at)
        for m, at in svc.redis.zrange(svc.keys.timers, 0, -1, withscores=True)
    ]
