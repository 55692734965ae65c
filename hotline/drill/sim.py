"""One replication of a drill: the real queue and routing code on a real Redis, under a
ManualClock, driven from one discrete-event loop -- no HTTP, no sleeping.

What runs is what the webhooks and the RQ jobs run, called directly:

* a caller arrives: `calls.arrive` (create_call.lua), `afterhours.check` as the IVR does,
  `waiting.enqueue` (enqueue.lua) and the `call_waiting` trigger (routing/engine.py:
  overflow timers, match_call.lua); after hours, a callback request
  (`afterhours.request_callback`);
* the RQ jobs the domain enqueues (`svc.rq_queue.enqueue(name, ...)`) land in an
  in-process FIFO (`JobQueue`) and run at the simulated instant they were enqueued,
  through the same routing/legs functions hotline/jobs.py calls;
* delayed jobs (overflow steps, offer expiry, wrap-up end, shift boundaries, callback
  retries) stay in the `timers` zset of hotline/timers.py and are claimed with
  `timers_claim.lua` when the clock reaches them -- what every worker's pump does;
* the agents' phones are simulated where the carrier would call our webhooks: the
  `offer` job checks the reservation (offer_begin.lua) and the agent answers after their
  answer delay (`reservations.accept`, then the caller joins: caller_join.lua) or lets
  it ring out (`reservations.end(..., "miss")`, as legs/offers.py does); the hang-up is
  `conversation.end` (call_end.lua: wrap-up, then `wrapup.done` -> available -> match);
  a caller out of patience hangs up (`waiting.abandon`, abandon.lua).

The loop always moves the clock to the earliest of: the next arrival, the next timer
due, the next simulated answer/ring-out/hang-up, the next patience expiry, the next
incident. Not run: the periodic sweep and reconciliation (they repair lost signals; a
drill loses none), the IVR menus (callers arrive classified) and the wait loop's
announcements.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import time
from collections import deque
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import redis
import yaml

from .. import job_names as names
from ..clock import ManualClock
from ..config import Settings
from ..errors import IllegalTransition
from ..legs import conversation, customer, wrapup
from ..routing import afterhours, engine, overflow, reservations
from ..services import Services
from ..timers import BATCH, LEASE_S
from .arrivals import Caller, generate
from .scenario import Scenario

# Seconds after the end of the drill that calls still in progress are given to finish.
DRAIN_S = 6 * 3600.0
CUSTOMER_ANSWER_S = 6.0  # a called-back customer picks up after this long
WAIT_TICK_S = 5.0  # the wait loop offers the callback this long after the overflow step


class JobQueue:
    """Stands in for the RQ queue: what the domain enqueues runs at this simulated instant,
    in order, in this process (a drill has no workers and no network)."""

    def __init__(self):
        self.jobs: deque = deque()

    def enqueue(self, func: str, *args, **_kw):
        self.jobs.append((func, args))

    @property
    def count(self) -> int:
        return len(self.jobs)


class TimerWatch(redis.Redis):
    """The drill's client: it notes the earliest timer written (timers.schedule's ZADD), so
    the loop knows the next due timer without asking Redis after every event. The only
    other writer of `timers`, timer_chain.lua (the shift and sweep chains), runs in jobs
    after which the loop reads the head again; `Replication.run` checks at the end that
    no timer was left behind."""

    timers_key = ""
    earliest = math.inf

    def zadd(self, name, mapping, *args, **kwargs):
        if name == self.timers_key and mapping:
            self.earliest = min(self.earliest, *mapping.values())
        return super().zadd(name, mapping, *args, **kwargs)


class DrillServices(Services):
    """Services whose RQ queue is the drill's JobQueue; everything else is the real thing."""

    def __init__(self, settings: Settings, *, clock: ManualClock, client):
        super().__init__(settings, clock=clock, client=client, rq_client=client)
        self.jobs = JobQueue()

    @cached_property
    def rq_queue(self):
        return self.jobs


def drill_settings(url: str, files: dict[str, Path], scenario: Scenario) -> Settings:
    s = scenario.settings
    return Settings(
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="drill",
        public_url="https://drill.invalid",
        redis_url=url,
        mode="test",
        key_prefix="hotline:",
        timezone=scenario.tz,
        routing_strategy=s.get("routing_strategy", "longest_idle"),
        offer_timeout_s=float(s.get("offer_timeout_s", 20.0)),
        agent_ring_timeout_s=int(s.get("agent_ring_timeout_s", 20)),
        overflow_file=files.get("overflow"),
        wrapup_file=files.get("wrapup"),
    )


def policy_files(scenario: Scenario, workdir: Path) -> dict[str, Path]:
    """The scenario's own wrap-up times and overflow policy, as the files the settings name."""
    out = {}
    for name in ("wrapup", "overflow"):
        doc = getattr(scenario, name)
        if doc is not None:
            p = workdir / f"{name}.yaml"
            p.write_text(yaml.safe_dump(doc), encoding="utf-8")
            out[name] = p
    if "overflow" in out:
        overflow.parse_policy(yaml.safe_load(out["overflow"].read_text()), scenario.source)
    if "wrapup" in out:
        wrapup._load(str(out["wrapup"]))  # the same checks as HOTLINE_WRAPUP_FILE
    return out


class Replication:
    def __init__(
        self,
        scenario: Scenario,
        roster_text: str,
        client,
        settings: Settings,
        *,
        hours: float,
        seed: int,
        progress: Callable[[float], None] | None = None,
    ):
        self.s = scenario
        self.start = scenario.start
        self.end = scenario.start + hours * 3600.0
        self.clock = ManualClock(self.start)
        client.flushdb()
        self.client = TimerWatch(connection_pool=client.connection_pool)
        self.svc = DrillServices(settings, clock=self.clock, client=self.client)
        self.client.timers_key = self.svc.keys.timers
        self.rng = random.Random(seed)
        self.progress = progress
        self.roster_text = roster_text
        self.heap: list = []
        self._seq = 0
        self.live = 0  # calls queued (or callback requests) not yet final
        self.calls = 0
        self.deflected = 0
        self.state: dict[
            str, str
        ] = {}  # our view of each live call: waiting | callback | answered | gone
        self.wanted_away: dict[str, str] = {}  # agent -> reason, while an away incident lasts
        self.silent: set[str] = set()  # agents whose phone rings out (no_answer incidents)
        self.silent_on_call = 0  # no_answer incidents for whoever is on call, running now
        self.handlers = {
            names.CALL_WAITING: lambda sid: engine.call_waiting(self.svc, sid),
            names.AGENT_AVAILABLE: lambda a: engine.agent_available(self.svc, a),
            names.OVERFLOW_DUE: lambda sid, step: engine.overflow_due(self.svc, sid, step),
            names.RESERVATION_DUE: lambda sid: engine.reservation_due(self.svc, sid),
            names.SHIFT_BOUNDARY: self.job_shift_boundary,
            names.REMATCH: self.job_rematch,
            names.OFFER: self.job_offer,
            names.WRAPUP_DONE: self.job_wrapup_done,
            names.AGENT_NOTICE: self.job_agent_notice,
            names.CALLBACK_RETRY: lambda sid: customer.retry(self.svc, sid),
            names.CALLBACK_CANCEL: lambda leg: None,  # nobody's phone to stop
            names.SWEEP: lambda: None,  # not run in a drill (module docstring)
        }

    # scheduling ------------------------------------------------------------------
    def at(self, t: float, fn, *args) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (t, self._seq, fn, args))

    def setup(self) -> None:
        svc = self.svc
        roster = svc.roster.import_text(self.roster_text, "drill roster", by="drill")
        only = set(self.s.only_agents)
        self.agent_ids = sorted(a.id for a in roster.agents if not only or a.id in only)
        self.skills_of = {a.id: tuple(a.skills) for a in roster.agents}
        engine.schedule_next_boundary(svc)
        self.log_in_out()
        for c in generate(self.s, self.start, self.end, self.rng):
            self.at(c.at, self.arrive, c)
        for inc in self.s.incidents:
            if inc.type == "away":
                self.at(inc.start, self.away_begins, inc)
                self.at(inc.end, self.away_ends, inc)
            elif inc.type == "no_answer":
                self.at(max(inc.start, self.start), self.silence_begins, inc)
                if inc.end < math.inf:
                    self.at(inc.end, self.silence_ends, inc)
            elif inc.type == "announcement":
                self.at(inc.start, self.announce, inc)
                if inc.end < math.inf:
                    self.at(inc.end, self.announce_end, inc)
        self.policy = overflow.load_policy(svc)

    # the loop --------------------------------------------------------------------
    def run(self) -> dict:
        self.setup()
        svc, k = self.svc, self.svc.keys
        jobs = svc.jobs.jobs
        heap = self.heap
        r = self.client
        claim = svc.scripts.timers_claim
        hard_end = self.end + DRAIN_S
        last_report = self.start
        wall0 = time.perf_counter()
        self.reread_timers()
        while True:
            while jobs:
                func, args = jobs.popleft()
                self.handlers[func](*args)
            next_timer = r.earliest
            next_event = heap[0][0] if heap else math.inf
            t = min(next_timer, next_event)
            if t == math.inf or t > hard_end or (t >= self.end and self.live <= 0):
                break
            if t > self.clock.now():
                self.clock.set(t)
            if next_timer <= next_event:
                real = time.time()
                due = claim(
                    keys=[k.timers, k.timers_claimed],
                    args=[repr(t), repr(real), repr(real + LEASE_S), BATCH],
                )
                for m in due:
                    func, args, _at = json.loads(m)
                    jobs.append((func, args))
                p = r.pipeline(transaction=False)
                if due:
                    p.zrem(k.timers_claimed, *due)
                p.zrange(k.timers, 0, 0, withscores=True)
                head = p.execute()[-1]
                r.earliest = head[0][1] if head else math.inf
            else:
                _, _, fn, args = heapq.heappop(heap)
                fn(*args)
            if self.progress is not None and t - last_report >= 3600.0:
                self.progress(min(t, self.end) - last_report)
                last_report = min(t, self.end)
        if self.progress is not None and self.end > last_report:
            self.progress(self.end - last_report)
        behind = r.zrangebyscore(k.timers, "-inf", "(%r" % self.clock.now())
        if behind:
            raise RuntimeError(f"drill: {len(behind)} timer(s) written behind the drill's back")
        return {
            "calls": self.calls,
            "unfinished": max(self.live, 0),
            "deflected": self.deflected,
            "wall_s": time.perf_counter() - wall0,
            "agents": self.agent_ids,
            "skills_of": self.skills_of,
        }

    def reread_timers(self) -> None:
        """After a timer chain (timer_chain.lua writes `timers` itself): the head again."""
        head = self.client.zrange(self.svc.keys.timers, 0, 0, withscores=True)
        if head:
            self.client.earliest = min(self.client.earliest, head[0][1])

    # callers ---------------------------------------------------------------------
    def arrive(self, c: Caller) -> None:
        if c.deflected:
            self.calls += 1  # heard the announcement and hung up in the IVR: never queued
            self.deflected += 1
            return
        svc = self.svc
        self.calls += 1
        sid = "CA%032d" % self.calls
        svc.calls.arrive(sid, "+3360%07d" % self.calls, svc.settings.hotline_number, c.lang)
        skill = c.category  # categories map one to one onto skills (states.SKILL_OF)
        res = svc.waiting.enqueue(sid, skill, category=c.category)
        if res.status != "enqueued":
            return
        self.live += 1
        if not afterhours.check(svc, skill, c.category).open:
            # Nobody for this kind of call now or on call: the voicemail, a callback request.
            self.state[sid] = "callback"
            afterhours.request_callback(svc, sid)
            return
        self.state[sid] = "waiting"
        svc.jobs.enqueue(names.CALL_WAITING, sid)
        if c.patience < math.inf:
            self.at(c.at + c.patience, self.patience_out, sid)
        if self.s.callback_accept > 0:
            for step in self.policy.steps(c.category):
                if step.callback:
                    self.at(c.at + step.after + WAIT_TICK_S, self.callback_choice, sid)
                    break

    def patience_out(self, sid: str) -> None:
        if self.state.get(sid) != "waiting":
            return
        if self.svc.waiting.abandon(sid, via="status", status="completed").abandoned:
            self.state[sid] = "gone"
            self.live -= 1

    def callback_choice(self, sid: str) -> None:
        if self.state.get(sid) != "waiting" or self.rng.random() >= self.s.callback_accept:
            return
        if afterhours.request_callback(self.svc, sid) == "requested":
            self.state[sid] = "callback"  # the caller hangs up: their place is kept

    # agents' phones ----------------------------------------------------------------
    def job_offer(self, sid: str, agent_id: str) -> None:
        svc, k = self.svc, self.svc.keys
        now = self.clock.now()
        status, kind, _offered, expires = svc.scripts.offer_begin(
            keys=[k.call(sid), k.reservation(sid)], args=[sid, agent_id, "drill", repr(now)]
        )
        if status != "go":
            return
        model = self.s.model_for(agent_id)
        if self.is_silent(agent_id) or (
            model.miss_probability > 0 and self.rng.random() < model.miss_probability
        ):
            ring = max(5.0, min(svc.settings.agent_ring_timeout_s, float(expires) - now))
            self.at(now + ring, self.rang_out, sid, agent_id)
        else:
            self.at(now + model.answer_delay.draw(self.rng), self.answer, sid, agent_id, kind)

    def rang_out(self, sid: str, agent_id: str) -> None:
        """No answer: what legs/offers.missed does once the leg's status says so."""
        ended = reservations.end(self.svc, sid, "miss", reason="missed", agent_id=agent_id)
        if ended.status == "missed" and ended.call_held:
            self.svc.jobs.enqueue(names.REMATCH, sid)
        elif ended.status == "missed":
            self.svc.jobs.enqueue(names.AGENT_AVAILABLE, agent_id)
        # Missed now, or already by the offer's own timer at this same instant.
        self.come_back_later(agent_id)

    def come_back_later(self, agent_id: str) -> None:
        """An agent the hotline set away (missed) makes themselves available again later."""
        back = self.s.model_for(agent_id).back_after_missed_s
        self.at(self.clock.now() + back, self.back_from_missed, agent_id, back)

    def back_from_missed(self, agent_id: str, back: float) -> None:
        state, reason, since = self.svc.redis.hmget(
            self.svc.keys.agent(agent_id), "state", "reason", "since"
        )
        if state != "away" or reason != "missed":
            return
        if self.clock.now() - float(since or 0) < back - 1e-6:
            return  # missed again since: that miss has its own return
        if self.rostered(agent_id) and agent_id not in self.wanted_away:
            self.set_state(agent_id, "available")
        else:
            self.settle(agent_id)

    def answer(self, sid: str, agent_id: str, kind: str) -> None:
        svc = self.svc
        st = reservations.accept(svc, sid, agent_id)
        if st == "call_gone":
            # The caller hung up while the phone rang (legs/offers.py `_gone`).
            reservations.release(svc, sid, reason="call_gone", agent_id=agent_id)
            svc.jobs.enqueue(names.AGENT_AVAILABLE, agent_id)
            return
        if st != "accepted":
            self.come_back_later(agent_id)  # answered too late: the offer had expired (missed)
            return
        if kind == "callback":
            leg = "CL" + sid[2:]
            svc.scripts.callback_dialed(
                keys=[svc.keys.call(sid), svc.keys.events],
                args=[sid, repr(self.clock.now()), leg, "+33600000000"],
            )
            if self.rng.random() < self.s.callback_answer:
                self.at(
                    self.clock.now() + CUSTOMER_ANSWER_S, self.customer_joins, sid, agent_id, leg
                )
            else:
                ring = float(svc.settings.callback_ring_timeout_s)
                self.at(self.clock.now() + ring, self.customer_missed, sid, leg)
            return
        if self.state.get(sid) == "waiting":
            self.state[sid] = "answered"
        conversation.join(svc, sid, sid, who="caller")
        talk = self.s.model_for(agent_id).talk.draw(self.rng)
        self.at(self.clock.now() + talk, self.hang_up, sid, agent_id, "agent_leg")

    def customer_joins(self, sid: str, agent_id: str, leg: str) -> None:
        conversation.join(self.svc, sid, leg, who="customer")
        talk = self.s.model_for(agent_id).talk.draw(self.rng)
        self.at(self.clock.now() + talk, self.hang_up, sid, agent_id, "customer_leg")

    def customer_missed(self, sid: str, leg: str) -> None:
        if customer.missed(self.svc, sid, leg, "no-answer") == "failed":
            self.live -= 1

    def job_agent_notice(self, sid: str, agent_id: str, what: str) -> None:
        # The agent hears the notice and their leg ends: the real end of their call.
        conversation.end(self.svc, sid, agent_id, ended_via="agent_leg")
        self.settle(agent_id)

    def hang_up(self, sid: str, agent_id: str, via: str) -> None:
        if conversation.end(self.svc, sid, agent_id, ended_via=via) in ("completed", "abandoned"):
            self.live -= 1
            self.state.pop(sid, None)
        self.settle(agent_id)

    # jobs with a drill side --------------------------------------------------------
    def job_rematch(self, sid: str) -> None:
        overflow.apply_due(self.svc, sid)
        self.svc.matcher.match_call(sid)

    def job_wrapup_done(self, agent_id: str, sid: str | None = None) -> None:
        wrapup.done(self.svc, agent_id, sid, via="timer")
        self.settle(agent_id)

    def job_shift_boundary(self) -> None:
        engine.shift_boundary(self.svc)
        self.reread_timers()
        self.log_in_out()

    # who works ---------------------------------------------------------------------
    def rostered(self, agent_id: str) -> bool:
        r, k = self.svc.redis, self.svc.keys
        return bool(r.sismember(k.onshift, agent_id) or r.sismember(k.oncall, agent_id))

    def log_in_out(self) -> None:
        """Agents log in when their shift (or on-call duty) starts, out when it ends."""
        for a in self.agent_ids:
            self.settle(a)

    def set_state(self, agent_id: str, state: str, reason: str | None = None) -> bool:
        try:
            self.svc.agents.set_state(agent_id, state, reason, by="drill")
            return True
        except IllegalTransition:
            return False

    def settle(self, agent_id: str) -> None:
        """Put the agent where the roster and the incidents want them, as far as their
        state allows now (a busy agent goes away or home after their call)."""
        if agent_id not in self.skills_of:
            return
        state, reason = self.svc.redis.hmget(self.svc.keys.agent(agent_id), "state", "reason")
        if state in ("reserved", "busy"):
            return
        if not self.rostered(agent_id):
            if state != "offline":
                self.set_state(agent_id, "offline")
            return
        want = self.wanted_away.get(agent_id)
        if want:
            if not (state == "away" and reason == want):
                self.set_state(agent_id, "away", want)
        elif state == "offline" or (state == "away" and reason not in ("missed",)):
            self.set_state(agent_id, "available")

    # incidents ---------------------------------------------------------------------
    def away_begins(self, inc) -> None:
        ids = list(inc.agents)
        if not ids:
            on = sorted(a for a in self.agent_ids if self.rostered(a))
            ids = self.rng.sample(on, min(inc.count, len(on)))
        for a in ids:
            self.wanted_away[a] = inc.reason
            self.settle(a)

    def away_ends(self, inc) -> None:
        for a, reason in list(self.wanted_away.items()):
            if reason == inc.reason:
                del self.wanted_away[a]
                self.settle(a)

    def silence_begins(self, inc) -> None:
        self.silent.update(inc.agents)
        self.silent_on_call += int(inc.on_call)

    def silence_ends(self, inc) -> None:
        self.silent.difference_update(inc.agents)
        self.silent_on_call -= int(inc.on_call)

    def is_silent(self, agent_id: str) -> bool:
        """Does this agent's phone ring out now? (whoever is on call, while that lasts)"""
        if agent_id in self.silent:
            return True
        return self.silent_on_call > 0 and bool(
            self.svc.redis.sismember(self.svc.keys.oncall, agent_id)
        )

    def announce(self, inc) -> None:
        self.svc.announcements.set(inc.text, by="drill")

    def announce_end(self, inc) -> None:
        self.svc.announcements.clear(by="drill")
