"""The objects one process builds once: settings, clock, Redis, event log, domain stores.

Nothing here knows Flask: the web app, the RQ jobs, the CLI and the tests all
build a `Services` and hand it to the domain. Domain stores are built lazily,
each from this object, so a module only pays for what it uses.
"""

from __future__ import annotations

from functools import cached_property

import redis

from .clock import Clock, clock_from_spec
from .config import Settings
from .events import EventLog
from .store.connection import connect
from .store.keys import Keys
from .store.scripts import Scripts


class Services:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        client: redis.Redis | None = None,
        rq_client: redis.Redis | None = None,
        telephony=None,
    ):
        self.settings = settings
        self.clock = clock or clock_from_spec(settings.clock)
        self._client = client
        self._rq_client = rq_client
        self._telephony = telephony  # unit tests of the job logic hand in a recording Telephony

    @classmethod
    def from_env(cls) -> Services:
        return cls(Settings.from_env())

    def derive(self, settings: Settings) -> Services:
        """Services for other settings (URLs of a loopback server...) on the same clock and
        the same Redis connections: what was built from the old settings is built anew."""
        return Services(
            settings,
            clock=self.clock,
            client=self.redis,
            rq_client=self.rq_redis,
            telephony=self._telephony,
        )

    # Redis -------------------------------------------------------------
    @cached_property
    def redis(self) -> redis.Redis:
        return self._client or connect(self.settings, decode=True)

    @cached_property
    def rq_redis(self) -> redis.Redis:
        """RQ stores bytes: it needs a client without decode_responses, on the same server."""
        if self._rq_client is not None:
            return self._rq_client
        kw = self.redis.connection_pool.connection_kwargs
        return redis.Redis(
            connection_pool=redis.ConnectionPool(
                connection_class=self.redis.connection_pool.connection_class,
                **{**kw, "decode_responses": False},
            )
        )

    @cached_property
    def keys(self) -> Keys:
        return Keys(self.settings.key_prefix)

    @cached_property
    def scripts(self) -> Scripts:
        return Scripts(self.redis, self.keys.families)

    @cached_property
    def events(self) -> EventLog:
        return EventLog(self.redis, self.keys, self.clock)

    @cached_property
    def rq_queue(self):
        from rq import Queue

        return Queue(self.settings.rq_queue, connection=self.rq_redis)

    # Domain stores (each module owns its keys) ------------------------------
    @cached_property
    def calls(self):
        from .queue.calls import CallStore

        return CallStore(self)

    @cached_property
    def waiting(self):
        from .queue.waiting import WaitingLines

        return WaitingLines(self)

    @cached_property
    def estimates(self):
        from .queue.estimates import WaitEstimator

        return WaitEstimator(self)

    @cached_property
    def announcements(self):
        from .ivr.announcements import Announcements

        return Announcements(self)

    @cached_property
    def roster(self):
        from .roster.store import RosterStore

        return RosterStore(self)

    @cached_property
    def agents(self):
        from .routing.agents import AgentStore

        return AgentStore(self)

    @cached_property
    def matcher(self):
        from .routing.matcher import Matcher

        return Matcher(self)

    # accounts/ (the web console's users, sign-in limiter, wallboard TV tokens)
    @cached_property
    def users(self):
        from .accounts.users import UserStore

        return UserStore(self)

    @cached_property
    def signin_limit(self):
        from .accounts.signin_limit import SigninLimiter

        return SigninLimiter(self)

    @cached_property
    def tv_tokens(self):
        from .accounts.tokens import TvTokens

        return TvTokens(self)

    @cached_property
    def telephony(self):
        """Twilio's REST API, or the carrier simulator's copy of it (demo/test).

        None in demo/test mode without a simulator: there is no carrier to ring, and
        the agent-leg jobs leave the reservation to its timer (hotline/legs/offers.py)."""
        if self._telephony is not None:
            return self._telephony
        from .telephony.port import TwilioTelephony

        if self.settings.mode != "production" and not self.settings.simulator_url:
            return None
        return TwilioTelephony.from_settings(self.settings, self.settings.simulator_url)

    # archive/ (SQL, never on the webhook path: only jobs and the CLI touch it)
    @cached_property
    def archive(self):
        from .archive import Archive

        return Archive.from_settings(self.settings)

    def close(self) -> None:
        if "scripts" in self.__dict__:
            self.scripts.close()
        if "archive" in self.__dict__:
            self.archive.close()
        for c in (self.__dict__.get("redis"), self.__dict__.get("rq_redis")):
            if c is not None:
                c.close()
