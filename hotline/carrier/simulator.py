"""The simulated carrier: places calls to the app and keeps what Twilio would keep.

One `Carrier` per simulation holds the account credentials, the app's two
entry points (the "A call comes in" URL and the status callback URL, as they
would be set on a Twilio number), the carrier-side queues, and every call it
has placed. Calls run under a Timeline (timing.py): `call()` runs one call on
the current thread; `spawn()` + `run()` run many calls concurrently in virtual
time (or in real threads on a RealTimeline).

Part 2 adds outbound calls (the REST subset in server.py), Dial to numbers,
clients and conferences, and simulated agents; they are further parties on the
same Timeline and further handlers in CallSession.HANDLERS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..config import Settings
from ..errors import HotlineError
from .conference import Conferences
from .party import Party
from .phones import Network, normalize_address
from .signing import WebhookClient
from .twiml_exec import CallResult, CallSession, CallSpec, Queues

OUTBOUND_EVENTS = ("initiated", "ringing", "answered", "completed")


@dataclass(frozen=True)
class CarrierConfig:
    account_sid: str
    auth_token: str
    incoming_url: str
    status_callback_url: str | None
    number: str = "+33100000000"
    recordings_base: str = "http://carrier-simulator.invalid"
    max_instant_requests: int = 100  # in a row with no simulated time passing: a TwiML loop

    @classmethod
    def from_settings(cls, settings: Settings, **kw) -> CarrierConfig:
        return cls(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            incoming_url=settings.url("/webhooks/voice/incoming"),
            status_callback_url=settings.url("/webhooks/voice/status"),
            number=settings.hotline_number,
            **kw,
        )


class Carrier:
    def __init__(
        self,
        config: CarrierConfig,
        timeline,
        *,
        client: WebhookClient | None = None,
        network: Network | None = None,
    ):
        self.config = config
        self.timeline = timeline
        self.client = client or WebhookClient(config.auth_token)
        self.queues = Queues()
        self.conferences = Conferences()
        self.network = network or Network()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.sessions: dict[str, CallSession] = {}

    def new_call(
        self,
        party: Party,
        *,
        from_: str = "+33612345678",
        to: str | None = None,
        url: str | None = None,
        method: str = "POST",
    ) -> CallSession:
        spec = CallSpec(
            url=url or self.config.incoming_url,
            method=method,
            from_=from_,
            to=to or self.config.number,
            status_callback=self.config.status_callback_url,
        )
        return self._register(CallSession(spec, party, **self._session_kw()))

    def _session_kw(self) -> dict:
        return {
            "account_sid": self.config.account_sid,
            "client": self.client,
            "timeline": self.timeline,
            "queues": self.queues,
            "recordings_base": self.config.recordings_base,
            "max_requests": self.config.max_instant_requests,
            "conferences": self.conferences,
            "carrier": self,
        }

    def _register(self, session: CallSession) -> CallSession:
        with self._lock:
            self.sessions[session.spec.sid] = session
        return session

    def place(
        self,
        *,
        to: str,
        from_: str,
        url: str | None = None,
        method: str = "POST",
        status_callback: str | None = None,
        status_callback_method: str = "POST",
        status_callback_events=("completed",),
        timeout: float = 60.0,
        parent_sid: str | None = None,
        bridge: tuple | None = None,
    ) -> CallSession:
        """An outbound call (REST Calls create, or a <Dial> child leg): it rings the
        endpoint the Network knows at `to`, starting now, on the timeline."""
        address = normalize_address(to)  # HotlineError for something that is no address
        if url is None and bridge is None:
            raise HotlineError("an outbound call needs a Url")
        events = tuple(e for e in status_callback_events if e in OUTBOUND_EVENTS) or ("completed",)
        spec = CallSpec(
            url=url or "",
            method=method.upper(),
            from_=from_,
            to=address,
            status_callback=status_callback,
            status_callback_method=status_callback_method,
            direction="outbound-dial" if parent_sid else "outbound-api",
            status_callback_events=events,
            timeout=float(timeout),
            ring=self.network.ring(address),
            parent_sid=parent_sid,
            bridge=bridge,
        )
        session = self._register(CallSession(spec, None, **self._session_kw()))
        self._start(session)
        return session

    def _start(self, session: CallSession) -> None:
        def go():
            session.result.started_at = session.result.transcript.started_at = self.timeline.now()
            session.run()

        if hasattr(self.timeline, "spawn"):
            self.timeline.spawn(go)
        else:
            th = threading.Thread(target=go, daemon=True, name=f"sim-call-{session.spec.sid[:10]}")
            with self._lock:
                self._threads.append(th)
            th.start()

    def call_threads(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._threads)

    def call(self, party: Party, **kw) -> CallResult:
        """Place one inbound call and run it to its end on this thread."""
        session = self.new_call(party, **kw)
        # The call starts now: its transcript's clock starts when it actually runs.
        return session.run()

    def spawn(self, party: Party, *, at: float | None = None, **kw) -> CallSession:
        """Place an inbound call that starts at simulated time `at`; `run()` drives it."""
        session = self.new_call(party, **kw)

        def go():
            session.result.started_at = session.result.transcript.started_at = self.timeline.now()
            session.run()

        if hasattr(self.timeline, "spawn"):
            self.timeline.spawn(go, at=at)
        else:
            self._pending_real = getattr(self, "_pending_real", [])
            self._pending_real.append((0.0 if at is None else at - self.timeline.now(), go))
        return session

    def run(self, until: float | None = None, *, idle_stop: bool = False) -> None:
        if hasattr(self.timeline, "spawn"):
            self.timeline.run(until=until, idle_stop=idle_stop)
        else:
            pending, self._pending_real = getattr(self, "_pending_real", []), []
            self.timeline.run(pending, until=until)

    def call_sids(self) -> set[str]:
        """Every call this carrier has placed or taken (callers, agent legs, REST test calls)."""
        with self._lock:
            return set(self.sessions)

    @property
    def failed_webhooks(self) -> int:
        """Webhook requests to the app that failed (unreachable, timeout, non-2xx, not TwiML)."""
        return self.client.failures

    def results(self) -> list[CallResult]:
        with self._lock:
            return [s.result for s in self.sessions.values()]

    def close(self) -> None:
        self.client.close()
