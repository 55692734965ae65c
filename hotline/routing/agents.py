"""Agents: profile (from the roster), state machine with timestamps, and the idle pools.

Owns `agent:{id}` (hash), `agents` (set of ids) and the idle pools
`idle:{skill}`, `idle:{skill}:{lang}`, `idlecall:{skill}`, `idlecall:{skill}:{lang}`
(zsets: available agent -> strategy score, lowest offered first). An agent sits in
the `idle:` pools only while available *and* on shift (`onshift` set, owned by the
roster store), in the `idlecall:` pools while available and only on call. So a
shift ending removes nobody from a call: the agent finishes it, and on becoming
available again lands in no pool, and is offered nothing more.

Every change goes through store/lua/agent_state.lua, which keeps state and pools
in one step and appends the `agent_state` event. The hash field `pool` (idle |
idlecall | '') records which kind of pool holds the agent, so the matcher leaves
them with one ZREM per pool held and reads the agent's shift status without the sets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from .. import job_names as names
from .. import languages
from ..errors import IllegalTransition, NotEligible

if TYPE_CHECKING:
    from ..services import Services


STATES = ("offline", "available", "reserved", "busy", "wrapup", "away")
AWAY_REASONS = ("break", "training", "missed", "meeting", "lunch", "other")

# from -> states reachable by set_state. `reserved` is entered by the matcher and
# left by accepting, releasing or expiring the reservation (routing/reservations.py).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "offline": ("available", "away"),
    "available": ("away", "offline"),
    "reserved": (),
    "busy": ("wrapup", "available"),
    "wrapup": ("available", "away", "offline"),
    "away": ("available", "offline", "away"),
}


def pool_score(idle_since: float, level: int, strategy: str) -> float:
    """An available agent's score in the idle pool of a skill held at `level` (lowest is
    offered first); agent_state.lua and reservation_end.lua compute the same."""
    ms = int(idle_since * 1000)
    if strategy == "most_skilled_first":
        return (5 - level) * 1e13 + ms
    return ms * 8 + (5 - level)


def encode_skills(skills: dict[str, int]) -> str:
    return ",".join(f"{k}:{int(v)}" for k, v in sorted(skills.items()))


def decode_skills(text: str | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in (text or "").split(","):
        name, _, lvl = part.rpartition(":")
        if name and lvl.isdigit():
            out[name] = int(lvl)
    return out


@dataclass(frozen=True)
class Agent:
    id: str
    name: str = ""
    state: str = "offline"
    since: float = 0.0
    reason: str = ""
    call_sid: str = ""
    skills: dict[str, int] = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    phone: str = ""
    client: str = ""
    idle_since: float | None = None
    last_call_end: float | None = None
    on_shift: bool = False
    on_call: bool = False

    @classmethod
    def from_hash(cls, agent_id: str, h: dict, on_shift: bool, on_call: bool) -> Agent:
        def f(k):
            v = h.get(k)
            return float(v) if v not in (None, "") else None

        return cls(
            id=agent_id,
            name=h.get("name", ""),
            state=h.get("state", "offline"),
            since=f("since") or 0.0,
            reason=h.get("reason", ""),
            call_sid=h.get("call_sid", ""),
            skills=decode_skills(h.get("skills")),
            languages=tuple(x for x in h.get("languages", "").split(",") if x),
            phone=h.get("phone", ""),
            client=h.get("client", ""),
            idle_since=f("idle_since"),
            last_call_end=f("last_call_end"),
            on_shift=on_shift,
            on_call=on_call,
        )

    def to_json(self) -> dict:
        d = asdict(self)
        d["languages"] = list(self.languages)
        return d


class AgentStore:
    def __init__(self, svc: Services):
        self.svc = svc
        self.r = svc.redis
        self.k = svc.keys

    # internals --------------------------------------------------------------
    def _run(self, agent_id: str, mode: str, *extra: str, now: float | None = None):
        k = self.k
        now = self.svc.clock.now() if now is None else now
        return self.svc.scripts.agent_state(
            keys=[k.agent(agent_id), k.agents, k.onshift, k.oncall, k.events],
            args=[
                agent_id,
                mode,
                repr(now),
                self.svc.settings.routing_strategy,
                *extra,
            ],
        )

    # roster -----------------------------------------------------------------
    def sync_from_roster(self, roster) -> dict:
        """Load every roster agent's skills, languages and contact; retire agents no longer listed.

        States are kept: re-importing a roster mid-day does not log anyone off.
        """
        specs = roster.agents.values() if isinstance(roster.agents, dict) else roster.agents
        seen = set()
        for a in specs:
            langs = ",".join(dict.fromkeys(languages.code(x) for x in a.languages))
            self._run(
                a.id,
                "sync",
                encode_skills(dict(a.skills)),
                langs,
                a.name or "",
                a.phone or "",
                getattr(a, "client_identity", None) or "",
            )
            seen.add(a.id)
        gone = [i for i in self.r.smembers(self.k.agents) if i not in seen]
        for agent_id in gone:
            self._run(agent_id, "retire")
        return {"synced": len(seen), "retired": len(gone)}

    def reindex(self, agent_ids=None) -> int:
        """Put every (or the given) agent back in exactly the pools its state and shift allow.

        Called after the on-shift sets change (shift boundary) and by the sweep.
        """
        ids = sorted(agent_ids if agent_ids is not None else self.r.smembers(self.k.agents))
        for agent_id in ids:
            self._run(agent_id, "index")
        return len(ids)

    # reads ------------------------------------------------------------------
    def get(self, agent_id: str) -> Agent:
        p = self.r.pipeline(transaction=False)
        p.hgetall(self.k.agent(agent_id))
        p.sismember(self.k.onshift, agent_id)
        p.sismember(self.k.oncall, agent_id)
        h, on_shift, on_call = p.execute()
        if not h or h.get("retired"):
            raise NotEligible(f"no agent {agent_id!r} (see `hotline agents list`)")
        return Agent.from_hash(agent_id, h, bool(on_shift), bool(on_call))

    def list(self) -> list[Agent]:
        ids = sorted(self.r.smembers(self.k.agents))
        p = self.r.pipeline(transaction=False)
        for i in ids:
            p.hgetall(self.k.agent(i))
        hashes = p.execute()
        onshift = self.svc.roster.on_shift_now()
        oncall = self.svc.roster.on_call_now()
        return [Agent.from_hash(i, h, i in onshift, i in oncall) for i, h in zip(ids, hashes) if h]

    def staffed_count(self, skill: str) -> int:
        """Agents on shift now who hold the skill and are not offline (wait estimates divide by it)."""
        ids = sorted(self.svc.roster.on_shift_now())
        if not ids:
            return 0
        p = self.r.pipeline(transaction=False)
        for i in ids:
            p.hmget(self.k.agent(i), "state", "skills", "retired")
        n = 0
        for state, skills, retired in p.execute():
            if state and state != "offline" and not retired and skill in decode_skills(skills):
                n += 1
        return n

    # writes -----------------------------------------------------------------
    def set_state(
        self,
        agent_id: str,
        state: str,
        reason: str | None = None,
        by: str | None = None,
        *,
        notify: bool = True,
    ) -> Agent:
        """Move an agent to `state`; IllegalTransition (nothing changed) if the machine forbids it.

        Becoming available triggers routing for that agent (an RQ job) unless notify=False.
        """
        if state not in STATES:
            raise IllegalTransition(f"{state!r} is not an agent state ({', '.join(STATES)})")
        if state == "reserved":
            raise IllegalTransition(
                "only the matcher reserves an agent (it offers a call atomically)"
            )
        if state == "away" and not reason:
            reason = "break"
        status, prev = self._run(agent_id, "set", state, reason or "", by or "")
        if status == "unknown":
            raise NotEligible(f"no agent {agent_id!r} (see `hotline agents list`)")
        if status == "reserved":
            raise IllegalTransition(
                f"agent {agent_id} is reserved for a call being offered: it must be accepted, "
                "released or left to expire before any other change"
            )
        if status == "illegal":
            allowed = ", ".join(TRANSITIONS.get(prev, ())) or "nothing"
            raise IllegalTransition(
                f"agent {agent_id} cannot go from {prev} to {state} (from {prev}: {allowed})"
            )
        if notify and state == "available":
            self.svc.rq_queue.enqueue(names.AGENT_AVAILABLE, agent_id)
        return self.get(agent_id)
