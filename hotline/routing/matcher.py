"""The matcher: one Lua call per routing decision, all or nothing.

Two directions, one rule (routing/eligibility.py):

* `match_call(sid)` -- a call started waiting (or overflowed): offer it to the best
  eligible idle agent. The idle pools are zsets scored by the strategy, so "best" is
  the first member of the pool of each line the call is in (plus the on-call pools
  once the call reached that overflow step): ZRANGE with a small limit, never a scan.
* `match_agent(id)` -- an agent became available: offer them the waiting call with
  the earliest effective arrival across the lines of their skills. Each waiting line
  is ordered by effective arrival, so that is the head of each line, read with a
  bounded ZRANGE (calls the agent may not take -- other language, higher level, not yet
  overflowed to on-call -- are skipped up to `window` entries).

Strategies (setting `routing_strategy`, score of an agent in an idle pool, lowest first):

* `longest_idle` (default): idle-since in ms, skill level breaking ties
  (score = ms*8 + (5-level)). Spreads the work evenly: fair to agents, and the best
  agent for short waits when levels are close. Trade-off: a level-1 agent idle one second
  longer takes a call a level-5 agent could have solved faster.
* `most_skilled_first`: skill level first, idle time breaking ties
  (score = (5-level)*1e13 + ms). Highest first-call resolution, but the experts get every
  call while juniors wait idle (burn-out, no learning), and with many experts it is
  longest-idle among them.
A strategy change applies as agents re-enter the pools (or at once with `hotline agents
reindex`/the sweep, which re-scores every available agent).

Keys built inside the scripts: which lines, pools and agent/call hashes a decision
touches depends on the data it reads (the call's lines, the agent's skills), so the
scripts build those names from the key families store/keys.py makes (`Keys.families`,
written into the scripts' text when they are loaded: store/scripts.py).
On Redis Cluster a hash-tagged prefix (`{hotline}:`) keeps them in one slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.exceptions import NoScriptError

from .. import job_names as names

if TYPE_CHECKING:
    from ..services import Services


@dataclass(frozen=True)
class Reservation:
    call_sid: str
    agent_id: str
    skill: str
    expires_at: float


class Matcher:
    def __init__(self, svc: Services):
        self.svc = svc
        self.k = svc.keys
        self.offer_timeout = svc.settings.offer_timeout_s
        self.window = svc.settings.match_window
        self._scripts: dict[str, object] = {}

    def _run(self, name: str, keys: tuple, args: tuple):
        """EVALSHA with the arguments already built: one decision is one round trip, and
        the client's share of it is kept as small as the server's (redis-py's
        `Script.__call__` copies and re-checks its arguments on every call). A server that
        lost its script cache (restart, SCRIPT FLUSH) gets the script loaded again."""
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = getattr(self.svc.scripts, name)
        try:
            return self.svc.redis.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return script(keys=list(keys), args=list(args))

    @property
    def strategy(self) -> str:
        return self.svc.settings.routing_strategy

    def match_call(
        self, sid: str, now: float | None = None, *, schedule_expiry: bool = True
    ) -> Reservation | None:
        k = self.k
        now = self.svc.clock.now() if now is None else now
        out = self._run(
            "match_call",
            (k.call(sid), k.reservations, k.events),
            (sid, repr(now), "%.3f" % (now + self.offer_timeout), self.window),
        )
        if not out:
            return None
        res = Reservation(sid, out[0], out[1], float(out[2]))
        if schedule_expiry:
            self._schedule_expiry(res)
            self._ring(res)
        return res

    def match_agent(
        self, agent_id: str, now: float | None = None, *, schedule_expiry: bool = True
    ) -> Reservation | None:
        k = self.k
        now = self.svc.clock.now() if now is None else now
        out = self._run(
            "match_agent",
            (k.agent(agent_id), k.reservations, k.events),
            (
                agent_id,
                repr(now),
                "%.3f" % (now + self.offer_timeout),
                self.window,
            ),
        )
        if not out:
            return None
        res = Reservation(out[0], agent_id, out[1], float(out[2]))
        if schedule_expiry:
            self._schedule_expiry(res)
            self._ring(res)
        return res

    def idle_agents(self) -> list[str]:
        """Every available agent, longest idle first (match_agent checks the shift)."""
        r = self.svc.redis
        ids = sorted(r.smembers(self.k.agents))
        p = r.pipeline(transaction=False)
        for i in ids:
            p.hmget(self.k.agent(i), "state", "idle_since")
        rows = p.execute()
        avail = [
            (float(since or 0), i) for i, (state, since) in zip(ids, rows) if state == "available"
        ]
        return [i for _, i in sorted(avail)]

    def match_all(self, now: float | None = None, limit: int = 10_000) -> list[Reservation]:
        """Offer calls to every idle agent who can take one (shift start, sweep)."""
        out = []
        for agent_id in self.idle_agents()[:limit]:
            res = self.match_agent(agent_id, now)
            if res:
                out.append(res)
        return out

    def _ring(self, res: Reservation) -> None:
        # The offer itself (ringing the agent's phone, a REST request) is an RQ job of the
        # legs (hotline/legs/offers.py `place`), retried on transient carrier errors.
        self.svc.rq_queue.enqueue(
            names.OFFER, res.call_sid, res.agent_id, retry=names.carrier_retry()
        )

    def _schedule_expiry(self, res: Reservation) -> None:
        from .. import timers

        timers.schedule(self.svc, res.expires_at, names.RESERVATION_DUE, res.call_sid)
