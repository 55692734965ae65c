"""Several processes run the matcher against one Redis at once: nothing double, nothing lost."""

from __future__ import annotations

import multiprocessing as mp
import random
from collections import Counter, defaultdict

import pytest
from routing_support import chaos_worker, load_agents, sid, spec

SKILLS = ("connection", "software", "general")
PROCS, AGENTS, CALLS, STEPS = 4, 200, 2000, 2500


def populate(svc):
    rng = random.Random(3)
    specs = [
        spec(
            f"a{i:03d}",
            {s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(1, 2))},
            rng.choice([("fr",), ("fr",), ("fr", "en"), ("en",)]),
        )
        for i in range(AGENTS)
    ]
    load_agents(svc, specs, on_shift=[s.id for s in specs])
    k = svc.keys
    for n in range(CALLS):
        svc.calls.arrive(sid(n), "+336%08d" % n, "+33100000000", rng.choice(["fr", "fr", "en"]))
        svc.waiting.enqueue(sid(n), rng.choice(SKILLS))
        if rng.random() < 0.2:  # some have overflowed to general already, keeping their place
            h = svc.redis.hmget(k.call(sid(n)), "lines", "effective_at")
            if "general" not in h[0]:
                svc.redis.zadd(k.waiting("general"), {sid(n): float(h[1])})
                svc.redis.hset(k.call(sid(n)), "lines", h[0] + ",general")
    return [s.id for s in specs], [sid(n) for n in range(CALLS)]


@pytest.mark.slow
def test_concurrent_matchers_never_double_assign_or_lose(svc, clock):
    agent_ids, call_ids = populate(svc)
    ctx = mp.get_context("spawn")
    with ctx.Pool(PROCS) as pool:
        results = pool.starmap(
            chaos_worker,
            [
                (svc.settings, seed, agent_ids, call_ids, STEPS, clock.now())
                for seed in range(PROCS)
            ],
        )
    totals = Counter()
    for r in results:
        totals.update(r)
    assert totals["match"] > CALLS // 4, totals  # the test did real work

    r, k = svc.redis, svc.keys
    events = [
        e
        for e in svc.events.read()
        if e.type
        in (
            "reserved",
            "reservation_accepted",
            "reservation_released",
            "reservation_missed",
            "reservation_expired",
        )
    ]
    # Replay the log in its (serial) order: a call or agent is never reserved twice at once.
    call_holder, agent_holds, accepted = {}, {}, Counter()
    for e in events:
        if e.type == "reserved":
            assert e.call_sid not in call_holder, f"{e.call_sid} reserved twice"
            assert e.agent_id not in agent_holds, f"{e.agent_id} reserved twice"
            assert accepted[e.call_sid] == 0, f"{e.call_sid} offered after being answered"
            call_holder[e.call_sid], agent_holds[e.agent_id] = e.agent_id, e.call_sid
        else:
            assert call_holder.pop(e.call_sid) == e.agent_id
            assert agent_holds.pop(e.agent_id) == e.call_sid
            if e.type == "reservation_accepted":
                accepted[e.call_sid] += 1
    assert max(accepted.values()) == 1

    # Counts balance: every offer ended one way or is still open.
    kinds = Counter(e.type for e in events)
    assert kinds["reserved"] == (
        kinds["reservation_accepted"]
        + kinds["reservation_released"]
        + kinds["reservation_missed"]
        + kinds["reservation_expired"]
        + r.zcard(k.reservations)
    )
    assert kinds["reservation_missed"] == totals["missed"] > 0
    assert kinds["reservation_accepted"] == totals["accepted"]

    # Nothing lost: each call is answered, offered (with a reservation) or waiting in all its lines.
    states = Counter()
    for c in call_ids:
        h = r.hgetall(k.call(c))
        states[h["state"]] += 1
        if h["state"] == "bridged":
            assert accepted[c] == 1 and not r.exists(k.reservation(c))
        elif h["state"] == "reserved":
            res = r.hgetall(k.reservation(c))
            assert res["agent"] == h["agent"] == call_holder[c]
            assert r.hmget(k.agent(h["agent"]), "state", "call_sid") == ["reserved", c]
        else:
            assert h["state"] == "waiting"
            for line in h["lines"].split(","):
                assert r.zscore(k.waiting(line), c) is not None
            assert c not in call_holder
    assert sum(states.values()) == CALLS
    in_lines = defaultdict(set)
    for s in SKILLS:
        for c in r.zrange(k.waiting(s), 0, -1):
            in_lines[c].add(s)
    assert all(r.hget(k.call(c), "state") == "waiting" for c in in_lines)

    # Agents: reserved ones hold a reservation; available ones sit in their pools, others in none.
    for a in agent_ids:
        h = r.hgetall(k.agent(a))
        in_pool = r.zscore(k.idle_pool(h["skills"].split(":")[0]), a) is not None
        assert in_pool == (h["state"] == "available"), (a, h)
        if h["state"] == "reserved":
            assert agent_holds[a] == h["call_sid"]
