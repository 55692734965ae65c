"""Realistic days of calls written straight into Redis, for the archive's benchmark and tests.

A day of `n` calls between 08:00 and 18:00 UTC, each as the real scripts leave it (the field
sets, their order and value formats copied from what `hotline demo` writes): the call hash
(about 44 fields for an answered call), its `calls` entry, the caller's keys
(`caller:{number}`, `caller_calls:{number}`) and the agent leg's `leg:{sid}`, and about 22
events per call (IVR, queue, wait announcements, overflow, offer, bridge, end, wrap-up, the
agent's state changes and, for most answered calls, the agent's disposition and notes), all
of the day's events appended to the stream in time order as the live system would.
Outcomes: mostly answered, some abandoned, some resolved by self-help, a few callback
requests. Seeded: the same arguments write the same data (the stream ids aside).

The keys Redis expires on its own (caller keys after 7 days, legs after 2) are written with
their TTL and, on request, listed with when they expire in simulated time: a benchmark runs
a year in minutes, so the server's clock does not expire them; it deletes them itself.
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
CALLER_TTL_S = 7 * 86400  # queue/calls.CALLER_TTL_S
LEG_TTL_S = 2 * 86400  # legs/common.LEG_TTL_S
DISPOSITIONS = ("resolved_remotely", "escalated", "ticket_created", "callback_planned")
SPEECH = (
    "mon wifi ne marche plus",
    "j'ai un message d'erreur quand j'ouvre outlook",
    "le logiciel de paie plante au démarrage",
    "je n'arrive plus à me connecter au vpn",
    "mot de passe oublié",
    "l'imprimante du deuxième étage ne répond pas",
)
NOTE_WORDS = [
    "redémarrage",
    "poste",
    "VPN",
    "reconnecté",
    "mot",
    "de",
    "passe",
    "réinitialisé",
    "compte",
    "verrouillé",
    "ticket",
    "escaladé",
    "niveau",
    "2",
    "pilote",
    "imprimante",
    "réinstallé",
    "Outlook",
    "profil",
    "recréé",
    "licence",
    "Office",
    "activée",
    "câble",
    "réseau",
    "changé",
    "utilisateur",
    "rappelé",
    "demain",
    "matin",
    "cache",
    "vidé",
    "mise",
    "à",
    "jour",
    "Windows",
    "appliquée",
    "certificat",
    "expiré",
    "renouvelé",
    "accès",
    "dossier",
    "partagé",
    "donné",
]


def _sid(rng: random.Random, prefix: str = "CA") -> str:
    return prefix + uuid.UUID(int=rng.getrandbits(128)).hex


def _notes(rng: random.Random) -> str:
    if rng.random() < 0.35:
        return ""
    words = [rng.choice(NOTE_WORDS) for _ in range(rng.randint(3, 30))]
    return " ".join(words)[:300]


def _call(
    rng: random.Random, t0: float, number: str
) -> tuple[dict, list[tuple[float, dict]], dict | None]:
    """One call: its final hash, its events [(ts, fields)] and its agent leg's hash."""
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
    by_key = rng.random() < 0.6
    h = {
        "sid": sid,
        "from_number": number,
        "to_number": "+33100000000",
        "lang": lang,
        "state": "ivr",
        "priority": "0",
        "repeat": "0",
        "previous_call_at": "",
        "created_at": repr(t0),
        "menu_attempts": "1",
        "turn": "4",
        "ivr_stage": "selfhelp",
        "category": skill,
        "skill": skill,
        "confidence": "1.0" if by_key else "0.882",
        "classified_by": "dtmf" if by_key else "speech",
        "seen_at": repr(t0 + 55),
    }
    ev: list[tuple[float, dict]] = []

    def add(dt: float, type_: str, fields: dict, front: bool = False):
        # IVR events are written by call_step.lua: ts and call_sid before the type
        head = {"ts": "", "call_sid": sid, "type": type_} if front else {"type": type_, "ts": ""}
        if not front:
            head["call_sid"] = sid
        ev.append((t0 + dt, {**head, **fields}))

    add(
        0,
        "call_created",
        {
            "from_number": number,
            "to_number": "+33100000000",
            "lang": lang,
            "repeat": "0",
            "priority": "0",
        },
    )
    if rng.random() < 0.17:
        add(4, "language_chosen", {"lang": lang}, front=True)
    if by_key:
        add(
            14,
            "classified",
            {
                "category": skill,
                "skill": skill,
                "confidence": "1.0",
                "method": "dtmf",
                "digit": str(SKILLS.index(skill) + 1),
                "attempt": "1",
            },
            front=True,
        )
    else:
        add(
            14,
            "classified",
            {
                "category": skill,
                "skill": skill,
                "confidence": "0.882",
                "method": "speech",
                "matched": skill,
                "speech": rng.choice(SPEECH),
                "speech_confidence": "0.93",
                "attempt": "1",
            },
            front=True,
        )
    if skill == "error_message":
        code = str(rng.randrange(100, 100000))
        h["error_code"] = code
        add(30, "error_code_captured", {"error_code": code}, front=True)
    add(32, "selfhelp_offered", {"category": skill}, front=True)
    if outcome == "resolved":
        h.update(state="resolved", ended_at=repr(t0 + 60), end_status="completed")
        add(60, "selfhelp_resolved", {"category": skill}, front=True)
        add(62, "call_ended", {"status": "completed", "duration": "62", "state": "resolved"})
        return h, ev, None
    enq = 58.0
    wait = rng.uniform(10, 400)
    h.update(
        lines="",
        enqueued_at=repr(t0 + enq),
        effective_at=repr(t0 + enq + 0.0000041),
        min_level="2",
        wait_qt="",
        queue_sid=_sid(rng, "QU"),
        ovf_step="1",
    )
    add(
        enq,
        "enqueued",
        {"skill": skill, "priority": "0", "repeat": "0", "effective_at": h["effective_at"]},
    )
    for i in range(int(wait // 60) + 2):
        add(
            enq + 1 + i * 30,
            "position_announced",
            {"skill": skill, "position": str(i + 1), "size": str(i + 3), "estimate_s": "120"},
        )
    if wait > 60 and rng.random() < 0.3:
        add(
            enq + 60,
            "overflowed",
            {"step": "1", "lines": f"{skill},general", "on_call": "0", "any_language": "0"},
        )
    if outcome == "abandoned":
        h.update(
            state="abandoned",
            wait_s=f"{wait:.3f}",
            abandoned_via="action",
            ended_at=repr(t0 + enq + wait),
            end_status="completed",
        )
        add(
            enq + wait,
            "abandoned",
            {"skill": skill, "wait_s": f"{wait:.3f}", "via": "action", "state_before": "waiting"},
        )
        add(
            enq + wait + 0.2,
            "call_ended",
            {"status": "completed", "duration": str(int(enq + wait)), "state": "abandoned"},
        )
        return h, ev, None
    if outcome == "callback":
        h.update(callback_at=repr(t0 + enq + 30), callback_number=number)
        add(
            enq + 30,
            "callback_requested",
            {"skill": skill, "lines": skill, "from_state": "waiting"},
        )
    ring, talk, wrap = rng.uniform(3, 15), rng.uniform(60, 900), 60.0
    res, ans = t0 + enq + wait, t0 + enq + wait + ring
    end = ans + talk
    leg_sid = _sid(rng)
    kind = "callback" if outcome == "callback" else "offer"
    h.update(
        agent=agent,
        reserved_at=repr(res),
        offer_for=f"{agent}@{res!r}",
        offer_job=str(uuid.UUID(int=rng.getrandbits(128))),
        agent_leg=leg_sid,
        leg_kind=kind,
        offer_lines=f"{skill},general",
        offers="1",
        answered_at=repr(ans),
        bridged_at=repr(ans + 6),
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
    a = {"agent_id": agent}
    add(base, "reserved", {**a, "skill": skill, "wait_s": f"{wait:.3f}", "via": "call"})
    add(
        base + 0.3,
        "agent_offered",
        {**a, "leg_sid": leg_sid, "to": "+33612345604", "kind": kind, "ring_timeout": "20"},
    )
    add(base + ring, "agent_answered", {**a, "leg_sid": leg_sid, "ring_s": f"{ring:.3f}"})
    t = base + ring + 6
    state = {"type": "agent_state", "ts": "", "agent_id": agent}
    ev.append((t0 + t, {**state, "from": "reserved", "to": "busy", "call_sid": sid}))
    add(t, "reservation_accepted", {**a, "wait_s": f"{wait:.3f}"})
    add(t, "offer_accepted", {"leg_sid": leg_sid, **a, "kind": kind})
    add(t, "queue_result", {"result": "redirected", "queue_time": str(int(wait))}, front=True)
    add(t, "caller_bridged", {**a, "leg_sid": sid, "who": "caller"})
    last = end - t0
    done = "callback_completed" if outcome == "callback" else "call_completed"
    add(
        last,
        done,
        {
            **a,
            "skill": skill,
            "wait_s": f"{wait:.3f}",
            "ring_s": f"{ring:.3f}",
            "talk_s": f"{talk:.3f}",
            "ended_by": "agent_leg",
        },
    )
    ev.append(
        (t0 + last, {**state, "from": "busy", "to": "wrapup", "by": "call_end", "call_sid": sid})
    )
    add(last, "wrapup_started", {**a, "wrapup_s": "60", "until": f"{end + wrap:.3f}"})
    add(
        last,
        "call_ended",
        {"status": "completed", "duration": str(int(last)), "state": "completed"},
    )
    if rng.random() < 0.85:  # most agents record what came of the call during the wrap-up
        disposition, notes = rng.choice(DISPOSITIONS), _notes(rng)
        at = last + rng.uniform(5, wrap - 5)
        h.update(
            disposition=disposition,
            notes=notes,
            disposition_by=f"{agent}@example.org",
            disposition_agent=agent,
            disposition_at=repr(t0 + at),
        )
        add(
            at,
            "call_disposition",
            {**a, "disposition": disposition, "notes": notes, "by": f"{agent}@example.org"},
        )
    ev.append(
        (
            t0 + last + wrap,
            {**state, "from": "wrapup", "to": "available", "by": "wrapup", "call_sid": sid},
        )
    )
    ev.append(
        (
            t0 + last + wrap,
            {"type": "wrapup_ended", "ts": "", **a, "via": "timer", "call_sid": sid},
        )
    )
    leg = {
        "call_sid": sid,
        "agent_id": agent,
        "kind": kind,
        "to": "+33612345604",
        "placed_at": repr(res + 0.3),
        "state": "ended",
        "answered_at": repr(ans),
        "accepted_at": repr(ans + 6),
        "duration": str(int(talk)),
        "ended_at": repr(end),
    }
    return h, ev, {"sid": leg_sid, **leg}


def write_day(
    r: redis.Redis,
    keys: Keys,
    day_start: float,
    n_calls: int,
    *,
    seed: int = 0,
    caller_ttl_s: int | None = CALLER_TTL_S,
    expiring: list | None = None,
) -> list[str]:
    """Write one day's calls (between 08:00 and 18:00 after `day_start`) and their events,
    the events in time order; returns the sids. `caller_ttl_s=None` writes caller keys
    without a TTL (data from before keys had one). `expiring` receives (key, simulated
    time it expires) for every key written with a TTL."""
    rng = random.Random(seed)
    starts = sorted(day_start + 8 * 3600 + rng.uniform(0, 10 * 3600) for _ in range(n_calls))
    numbers = [f"+336{rng.randrange(10**8):08d}" for _ in range(max(1, n_calls // 2))]
    sids, events = [], []
    p = r.pipeline(transaction=False)
    for t0 in starts:
        number = rng.choice(numbers)
        h, ev, leg = _call(rng, t0, number)
        sids.append(h["sid"])
        p.hset(keys.call(h["sid"]), mapping=h)
        p.zadd(keys.calls, {h["sid"]: t0})
        p.hset(keys.caller(number), mapping={"last_at": repr(t0), "last_sid": h["sid"], "count": 1})
        p.zadd(keys.caller_calls(number), {h["sid"]: t0})
        p.zremrangebyrank(keys.caller_calls(number), 0, -11)
        if caller_ttl_s:
            p.expire(keys.caller(number), caller_ttl_s)
            p.expire(keys.caller_calls(number), caller_ttl_s)
            if expiring is not None:
                expiring.append((keys.caller(number), t0 + caller_ttl_s))
                expiring.append((keys.caller_calls(number), t0 + caller_ttl_s))
        if leg is not None:
            leg_sid = leg.pop("sid")
            p.hset(keys.leg(leg_sid), mapping=leg)
            p.expire(keys.leg(leg_sid), LEG_TTL_S)
            if expiring is not None:
                expiring.append((keys.leg(leg_sid), t0 + LEG_TTL_S))
        events += ev
    p.execute()
    events.sort(key=lambda e: e[0])
    for i in range(0, len(events), 5000):
        p = r.pipeline(transaction=False)
        for ts, fields in events[i : i + 5000]:
            p.xadd(keys.events, {**fields, "ts": repr(ts)})
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
