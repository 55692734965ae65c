"""The whole hotline in one process, for `hotline call`, `hotline demo` and end-to-end tests.

The real Flask app is served over real HTTP on an ephemeral loopback port; the
simulator calls it exactly as Twilio would (signed requests, absolute URLs).
App and simulator share one ManualClock: the simulator moves it (virtual time,
timing.py), so a two-minute wait runs in milliseconds and every timestamp the
app writes is consistent with what the caller heard. RQ jobs the app enqueues
run in a burst SimpleWorker, in this process, whenever simulated time moves
and after each call: what runs is what `hotline worker` runs.

Settings come from the environment, forced to demo mode (simulator credentials
are generated under HOTLINE_DATA_DIR when no Twilio credentials are set), with
the public URL set to the loopback server. No request ever leaves the machine.
"""

from __future__ import annotations

import logging
import os
import time

from ..clock import ManualClock
from ..config import Settings
from ..services import Services
from .loopback import LoopbackServer
from .party import Party
from .simulator import Carrier, CarrierConfig
from .timing import VirtualTimeline
from .twiml_exec import CallResult, CallSession

log = logging.getLogger(__name__)


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
    def __init__(self, settings: Settings | None = None, *, start: float | None = None,
                 services: Services | None = None, run_jobs: bool = True):
        base = settings or (services.settings if services else offline_settings())
        self.http = LoopbackServer()
        self.settings = base.with_(public_url=self.http.url)
        if services is not None:
            # A caller-built Services (tests): it must read the shared ManualClock.
            if not isinstance(services.clock, ManualClock):
                raise TypeError("LocalHotline needs Services built with a ManualClock")
            services.settings = self.settings
            self.services = services
            self._own_services = False
        else:
            self.services = Services(self.settings, clock=ManualClock(start or time.time()))
            self._own_services = True
        self.clock: ManualClock = self.services.clock
        self._run_jobs = run_jobs
        from .. import jobs
        from ..app import create_app

        jobs.use_services(self.services)
        self.app = create_app(self.services)
        self.http.mount(self.app)
        self.timeline = VirtualTimeline(self.clock, on_advance=lambda _t: self.run_jobs())
        self.carrier = Carrier(CarrierConfig.from_settings(self.settings), self.timeline)

    # Calls ------------------------------------------------------------------------
    def call(self, party: Party, *, from_: str = "+33612345678") -> CallResult:
        result = self.carrier.call(party, from_=from_)
        self.run_jobs()
        return result

    def spawn(self, party: Party, *, at: float | None = None, from_: str = "+33612345678") -> CallSession:
        return self.carrier.spawn(party, at=at, from_=from_)

    def run(self, until: float | None = None) -> None:
        self.carrier.run(until=until)
        self.run_jobs()

    def run_jobs(self) -> int:
        """Run the RQ jobs waiting now, as `hotline worker --burst` would; how many ran."""
        if not self._run_jobs:
            return 0
        q = self.services.rq_queue
        if q.count == 0:
            return 0
        from rq import SimpleWorker

        n = q.count
        SimpleWorker([q], connection=self.services.rq_redis).work(burst=True, logging_level="WARNING")
        return n

    def close(self) -> None:
        from .. import jobs

        self.carrier.close()
        self.http.close()
        jobs.use_services(None)
        jobs._override[0] = None
        if self._own_services:
            self.services.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
