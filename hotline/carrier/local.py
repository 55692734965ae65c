"""The whole hotline in one process, for `hotline call`, `hotline demo` and end-to-end tests.

The real Flask app is served over real HTTP on an ephemeral loopback port; the
simulator calls it exactly as Twilio would (signed requests, absolute URLs), and
serves its REST subset on a second loopback port, where the app's telephony port
(the real twilio.rest.Client, rebased) places the agents' legs. App and simulator
share one clock: the simulator moves it (virtual time, timing.py), so a
two-minute wait runs in milliseconds and every timestamp the app writes is
consistent with what the caller heard.

RQ jobs the app enqueues run in this process through an RQ SimpleWorker's own
job execution, at the simulated instant they are due: before every step of the
simulation, the jobs waiting now run (what `hotline worker` would do at once), and
the clock stops at every delayed job's due time to release it -- the timer store of
hotline/timers.py, scored in clock time, released by the same `release_due` every
worker's pump runs. So a 90 s wrap-up ends 90 simulated seconds later, a 20 s offer
expires at 20 s, and a shift boundary fires on the minute.

RQ's own delayed jobs (the retries of `rq.Retry` after a transient carrier error) go
to RQ's scheduled registry, scored in real seconds: `SimulatedClock.real_delay`
answers with the offset that makes that score the *simulated* due time, and
`release_due` compares it with the simulated clock.

Settings come from the environment, forced to demo mode (simulator credentials
are generated under HOTLINE_DATA_DIR when no Twilio credentials are set), with
the public URL set to the loopback server. No request ever leaves the machine.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from ..clock import ManualClock
from ..config import Settings
from ..services import Services
from .loopback import LoopbackServer
from .party import Party
from .phones import Network
from .server import SimulatorServer
from .simulator import Carrier, CarrierConfig
from .timing import VirtualTimeline
from .twiml_exec import CallResult, CallSession

log = logging.getLogger(__name__)
MAX_JOB_ROUNDS = 200  # jobs enqueueing jobs at the same instant: a bound, not a loop


class SimulatedClock(ManualClock):
    """The ManualClock of an offline simulation, readable by RQ's scheduled-job registry.

    `real_delay(s)` is the delay that makes `enqueue_in` store the job at score
    (simulated now + s): see the module docstring."""

    def real_delay(self, seconds: float) -> float:
        return seconds + (self.now() - time.time())


def offline_settings(env: dict | None = None, **overrides) -> Settings:
    """Settings.from_env(), in demo mode unless the environment says test."""
    if env is None:
        try:
            from dotenv import load_dotenv

            load_dotenv(override=False)
        except ImportError:  # pragma: no cover - declared dependency
            pass
        env = dict(os.environ)
    env = dict(env)
    if env.get("HOTLINE_MODE", "").strip() not in ("demo", "test"):
        env["HOTLINE_MODE"] = "demo"
    settings = Settings.from_env(env, load_dotenv=False)
    return settings.with_(**overrides) if overrides else settings


class LocalHotline:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        start: float | None = None,
        services: Services | None = None,
        run_jobs: bool = True,
        network: Network | None = None,
        timers: bool = True,
    ):
        base = settings or (services.settings if services else offline_settings())
        self.http = LoopbackServer()
        settings = base.with_(public_url=self.http.url)
        if services is not None:
            # A caller-built Services (tests, the demo): the app, the jobs and the simulator
            # must all read its simulated clock.
            if not isinstance(services.clock, SimulatedClock):
                raise TypeError("LocalHotline needs Services built with a SimulatedClock")
            clock = services.clock
        else:
            clock = SimulatedClock(start or time.time())
        self.clock: ManualClock = clock
        self._base_services = services
        self._run_jobs = run_jobs
        self._worker = None
        self._next: float | None = None
        self.timeline = VirtualTimeline(
            self.clock, on_step=self._due_work, next_timer=self._next_timer
        )
        self.network = network or Network()
        self.carrier = Carrier(
            CarrierConfig.from_settings(settings), self.timeline, network=self.network
        )
        self.sim = SimulatorServer(self.carrier, drive=False)
        self.settings = settings.with_(simulator_url=self.sim.url)
        # Services for the loopback URLs, on the caller's clock and Redis connections.
        self.services = (
            services.derive(self.settings)
            if services is not None
            else Services(self.settings, clock=clock)
        )
        self._registry_key = self._registry().key
        from .. import jobs
        from ..app import create_app

        jobs.use_services(self.services)
        self.app = create_app(self.services)
        self.http.mount(self.app)
        if timers and run_jobs:
            self._start_app_timers()

    def _start_app_timers(self) -> None:
        # The worker's periodic sweep and the shift-boundary timer, as `hotline worker` starts them.
        from ..routing import engine

        engine.start_timers(self.services)

    # Calls ------------------------------------------------------------------------
    def call(self, party: Party, *, from_: str = "+33612345678") -> CallResult:
        result = self.carrier.call(party, from_=from_)
        self.run_jobs()
        return result

    def spawn(
        self, party: Party, *, at: float | None = None, from_: str = "+33612345678"
    ) -> CallSession:
        return self.carrier.spawn(party, at=at, from_=from_)

    def run(self, until: float | None = None, *, idle_stop: bool = False) -> None:
        """Run the simulation until no party is left, or `until` (delayed jobs included,
        unless `idle_stop`: then it also ends when the last party does)."""
        self.carrier.run(until=until, idle_stop=idle_stop)
        self._due_work()

    def settled(self) -> bool:
        """Every call the carrier knows is over, and the event log has every call in a
        final state (reports.unfinished_calls): the day's work is done."""
        from .. import reports

        if any(not s.ended for s in list(self.carrier.sessions.values())):
            return False
        return not reports.unfinished_calls(reports.read_log(self.services))

    def run_until_settled(
        self, max_seconds: float, *, every: float = 30.0, after: float | None = None
    ) -> bool:
        """Run until `settled()` (checked every `every` simulated seconds, not before `after`),
        or for `max_seconds` at most. True if it settled."""
        end = self.clock.now() + max_seconds
        result = [False]

        def watch():
            while self.timeline.now() < end:
                self.timeline.sleep(min(every, end - self.timeline.now()))
                if after is not None and self.timeline.now() < after:
                    continue
                if self.settled():
                    result[0] = True
                    return

        self.timeline.spawn(watch)
        self.run(until=end, idle_stop=True)
        return result[0]

    # Jobs, now and delayed ------------------------------------------------------------
    def run_jobs(self) -> int:
        """Run the RQ jobs waiting now, one by one, the way `hotline worker` runs each job
        (SimpleWorker.execute_job: perform, result, failure and retry handling); how many ran."""
        if not self._run_jobs:
            return 0
        q = self.services.rq_queue
        if q.count == 0:
            return 0
        from rq import Queue, SimpleWorker

        from ..store.embedded import client_name

        if self._worker is None:
            # One worker for the whole run, never "started": Worker.work() would also
            # register, listen for commands (a pubsub thread) and tear that down on every
            # burst, ~0.3 s each, which a simulated day of thousands of bursts cannot afford.
            # Named as this process's own, so that a Redis the demo started for itself is
            # stopped at its exit (RQ names the connection after the worker: embedded.py).
            self._worker = SimpleWorker(
                [q], connection=self.services.rq_redis, name=client_name("rq")
            )
            if threading.current_thread() is not threading.main_thread():
                # Run from a thread (the console's browser tests): RQ's default job timeout
                # sets SIGALRM, which only the main thread may.
                from rq.timeouts import TimerDeathPenalty

                self._worker.death_penalty_class = TimerDeathPenalty
        n = 0
        while True:
            got = Queue.dequeue_any([q], None, connection=self.services.rq_redis)
            if got is None:
                return n
            job, queue = got
            self._worker.execute_job(job, queue)
            n += 1

    def _due_work(self) -> None:
        """Release every delayed job due at this simulated instant and run them (and the jobs
        they enqueue) until nothing more is due now. One Redis round trip when idle: this
        runs before every step of the simulation."""
        if not self._run_jobs:
            self._next = None
            return
        conn = self.services.rq_redis
        for _ in range(MAX_JOB_ROUNDS):
            p = conn.pipeline(transaction=False)
            p.llen(self.services.rq_queue.key)
            p.zrange(self.services.keys.timers, 0, 0, withscores=True)
            p.zrange(self._registry_key, 0, 0, withscores=True)
            waiting, first_timer, first_job = p.execute()
            due = [float(x[0][1]) for x in (first_timer, first_job) if x]
            self._next = min(due) if due else None
            now = self.clock.now()
            if not waiting and (self._next is None or self._next > now):
                return
            self.release_due()
            self.run_jobs()
        log.warning("jobs kept enqueueing jobs at %s: left for the next step", self.clock.now())

    def release_due(self) -> int:
        """What every worker's timer pump does, at the simulated instant (hotline/timers.py)."""
        from .. import timers

        return timers.release_due(self.services)

    def _registry(self):
        from rq.registry import ScheduledJobRegistry

        return ScheduledJobRegistry(queue=self.services.rq_queue)

    def _next_timer(self) -> float | None:
        """The next delayed job's due time, as the last `_due_work` saw it (it runs just before)."""
        return self._next

    def close(self) -> None:
        from .. import jobs

        self.carrier.close()
        self.sim.close()
        self.http.close()
        jobs.use_services(None)
        if self._base_services is None:
            self.services.close()
        else:
            self.services.scripts.close()  # the connections are the caller's

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
