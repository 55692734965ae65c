"""Realistic days of calls written straight into Redis, for the archive's benchmark and tests.

A day of `n` calls between 08:00 and 18:00 UTC: each call hash with the fields the real
scripts write (about 40, as `hotline demo` leaves them), its `calls` entry and caller key,
and about 24 events per call (IVR, queue, wait announcements, offer, bridge, end, wrap-up
and the agent's state changes), all of the day's events appended to the stream in time
order as the live system would. Outcomes: mostly answered, some abandoned, some resolved
by self-help, a few callback requests. Seeded: the same arguments write the same data
(the stream ids aside).
"""

from __future__ import annotations

import random
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

    from ..store.keys import Keys

SKILLS = ("connection", "software", "error_message", "general")
AGENTS = tuple(
    f"{n}.{s}"
    for n, s in (
        ("camille", "martin"),
        ("hugo", "bernard"),
        ("chloe", "dubois"),
        ("lucas", "thomas"),
        ("manon", "robert"),
        ("lea", "richard"),
    )
)


def _sid(rng: random.Random) -> str:
    return "CA" + uuid.UUID(int=rng.getrandbits(128)).hex


def _call(rng: random.Random, t0: float, number: str) -> tuple[dict, list[tuple[float, dict]]]:
    """One call: its final hash and its events [(ts, fields)]."""
    sid = _sid(rng)
    skill = rng.choice(SKILLS)
    lang = "fr" if rng.random() < 0.9 else "en"
    agent = rng.choice(AGENTS)
    roll = rng.random()
    outcome = (
        "completed"
        if roll < 0.80
        else "abandoned"
        if roll < 0.88
        else "resolved"
        if roll < 0.95
        else "callback"
    )
    h = {
        "sid": sid,
        "from_number": number,
        "to_number": "+33100000000",
        "lang": lang,
        "priority": "0",
        "repeat": "0",
        "previous_call_at": "",
        "created_at": repr(t0),
        "menu_attempts": "1",
        "turn": "3",
        "ivr_stage": "selfhelp",
        "category": skill,
        "skill": skill,
        "confidence": "0.6",
        "classified_by": "speech",
        "lines": "",
        "wait_qt": "",
    }
    ev: list[tuple[float, dict]] = []

    def add(dt: float, type_: str, **fields):
        ev.append((t0 + dt, {"type": type_, "call_sid": sid, **fields}))

    add(0, "call_created", from_number=number, to_number="+33100000000", lang=lang, repeat="0")
    if rng.random() < 0.2:
        add(4, "language_chosen", lang=lang)
    add(9, "menu_choice", speech="mon wifi ne marche plus", attempt="1")
    add(14, "classified", category=skill, skill=skill, confidence="0.6", method="speech")
    add(16, "selfhelp_offered", category=skill)
    if outcome == "resolved":
        h.update(state="resolved", ended_at=repr(t0 + 60))
        add(60, "selfhelp_resolved", category=skill)
        add(62, "call_ended", status="completed", duration="62", state="resolved")
        return h, ev
    enq = 45.0
    wait = rng.uniform(10, 400)
    h.update(
        enqueued_at=repr(t0 + enq),
        effective_at=repr(t0 + enq + 0.00001),
        queue_sid="QU" + uuid.UUID(int=rng.getrandbits(128)).hex,
        ovf_step="1",
    )
    add(enq, "enqueued", skill=skill, priority="0", effective_at=repr(t0 + enq))
    for i in range(int(wait // 60) + 2):
        add(enq + 1 + i * 30, "position_announced", position=str(i + 1), estimate_s="120")
    if outcome == "abandoned":
        h.update(state="abandoned", wait_s=f"{wait:.3f}", ended_at=repr(t0 + enq + wait))
        add(enq + wait, "abandoned", skill=skill, wait_s=f"{wait:.1f}", via="action")
        add(enq + wait + 0.2, "call_ended", status="completed", duration=str(int(enq + wait)))
        return h, ev
    if outcome == "callback":
        h.update(callback_at=repr(t0 + enq + 30), callback_number=number, leg_kind="callback")
        add(enq + 30, "callback_requested", skill=skill, lines=skill, from_state="waiting")
    ring, talk, wrap = rng.uniform(3, 15), rng.uniform(60, 900), 60.0
    res, ans = t0 + enq + wait, t0 + enq + wait + ring
    end = ans + talk
    h.update(
        agent=agent,
        reserved_at=repr(res),
        offer_for=f"{agent}@{res!r}",
        offer_job=str(uuid.UUID(int=rng.getrandbits(128))),
        agent_leg=_sid(rng),
        leg_kind=h.get("leg_kind", "offer"),
        offer_lines=f"{skill},general",
        offers="1",
        answered_at=repr(ans),
        bridged_at=repr(ans),
        completed_at=repr(end),
        wait_s=f"{wait:.3f}",
        ring_s=f"{ring:.3f}",
        talk_s=f"{talk:.3f}",
        ended_by="agent_leg",
        ended_at=repr(end),
        wrapup_s="60",
        wrapup_until=f"{end + wrap:.3f}",
        end_status="completed",
        state="completed",
    )
    base = enq + wait
    add(base, "reserved", agent_id=agent, skill=skill, wait_s=f"{wait:.1f}", via="call")
    add(base + 0.01, "agent_state", agent_id=agent, **{"from": "available", "to": "reserved"})
    add(base + 0.3, "agent_offered", agent_id=agent, leg_sid=h["agent_leg"], to="+33611111111")
    add(base + ring, "agent_answered", agent_id=agent, leg_sid=h["agent_leg"], ring_s=f"{ring:.1f}")
    add(base + ring + 2, "offer_accepted", agent_id=agent, leg_sid=h["agent_leg"])
    add(base + ring + 2.01, "reservation_accepted", agent_id=agent)
    add(base + ring + 2.02, "agent_state", agent_id=agent, **{"from": "reserved", "to": "busy"})
    add(base + ring + 3, "queue_result", result="bridged", state="bridged")
    add(base + ring + 3.1, "caller_bridged", agent_id=agent, who="caller")
    last = end - t0
    kind = "callback_completed" if outcome == "callback" else "call_completed"
    add(last, "call_ended", status="completed", duration=str(int(last)))
    add(last + 0.01, kind, agent_id=agent, skill=skill, wait_s=f"{wait:.1f}", talk_s=f"{talk:.1f}")
    add(last + 0.02, "wrapup_started", agent_id=agent, wrapup_s="60", until=f"{end + wrap:.3f}")
    add(last + 0.03, "agent_state", agent_id=agent, **{"from": "busy", "to": "wrapup"})
    add(last + wrap, "wrapup_ended", agent_id=agent, via="timer")
    add(last + wrap + 0.01, "agent_state", agent_id=agent, **{"from": "wrapup", "to": "available"})
    return h, ev


def write_day(
    r: redis.Redis,
    keys: Keys,
    day_start: float,
    n_calls: int,
    *,
    seed: int = 0,
    caller_ttl_s: int | None = 7 * 86400,
) -> list[str]:
    """Write one day's calls (between 08:00 and 18:00 after `day_start`) and their events,
    the events in time order; returns the sids. `caller_ttl_s=None` writes caller keys
    without a TTL (data from before keys had one)."""
    rng = random.Random(seed)
    starts = sorted(day_start + 8 * 3600 + rng.uniform(0, 10 * 3600) for _ in range(n_calls))
    numbers = [f"+336{rng.randrange(10**8):08d}" for _ in range(max(1, n_calls // 2))]
    sids, events = [], []
    p = r.pipeline(transaction=False)
    for t0 in starts:
        number = rng.choice(numbers)
        h, ev = _call(rng, t0, number)
        sids.append(h["sid"])
        p.hset(keys.call(h["sid"]), mapping=h)
        p.zadd(keys.calls, {h["sid"]: t0})
        p.hset(keys.caller(number), mapping={"last_at": repr(t0), "last_sid": h["sid"], "count": 1})
        if caller_ttl_s:
            p.expire(keys.caller(number), caller_ttl_s)
        events += ev
    p.execute()
    events.sort(key=lambda e: e[0])
    for i in range(0, len(events), 5000):
        p = r.pipeline(transaction=False)
        for ts, fields in events[i : i + 5000]:
            p.xadd(keys.events, {"ts": repr(ts), **fields})
        p.execute()
    return sids


def live_call(r: redis.Redis, keys: Keys, at: float, state: str = "waiting") -> str:
    """One call still live (a waiting caller), created at `at`, with its first events."""
    sid = "CAlive" + uuid.uuid4().hex[:26]
    r.hset(
        keys.call(sid),
        mapping={"sid": sid, "from_number": "+33699999999", "state": state, "created_at": repr(at)},
    )
    r.zadd(keys.calls, {sid: at})
    r.xadd(keys.events, {"type": "call_created", "ts": repr(at), "call_sid": sid})
    r.xadd(keys.events, {"type": "enqueued", "ts": repr(at + 30), "call_sid": sid})
    return sid
