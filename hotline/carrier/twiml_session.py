"""The core of one call's session: its state, its requests to the app, and verb dispatch.

`SessionCore` is what every group of verbs builds on (twiml_voice.py, twiml_queue.py,
twiml_record.py, twiml_dial.py) and what `twiml_exec.CallSession` assembles them
with. It holds:

* the call's state: spec, party, status, result (transcript, exchanges), recordings;
* the controls the REST API uses from other threads: `redirect()`, `hangup()`;
* the signed requests (Twilio's standard parameters, a TwiML-loop guard) and the
  parsing of the TwiML they return;
* `_execute`: the verbs of a document in order, through the `HANDLERS` table that
  CallSession fills in;
* waiting under the Timeline, cut short by a REST redirect or hang-up, bounded by the
  caller's patience (in a queue), their talk time (in a room) and the call's limit;
* leaving the carrier's queue, wherever the call leaves it from (the wait TwiML, a
  hang-up, the REST API).

Control flow inside a call is by exceptions, defined here: `CallOver` (the document
ran out or said <Hangup>), `LeftQueue` (<Leave>), `Redirected` (new TwiML from the
REST API), `EndedByApi` (REST Status=completed/canceled), `NotAnswered` (an outbound
call that rang out, was busy or failed).
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from typing import ClassVar

from . import timing
from .call_data import (
    API_VERSION,
    FINAL_STATUSES,
    CallResult,
    CallSpec,
    Fetch,
    TwimlError,
    country_of,
)
from .conference import Conferences
from .party import Party
from .queues import Queues
from .signing import Exchange, WebhookClient
from .transcript import Transcript

WAIT_VERBS = {"Say", "Play", "Pause", "Gather", "Redirect", "Leave", "Hangup"}


class CallOver(Exception):
    """The call is over: the app hung up, or the document ran out."""


class LeftQueue(Exception):
    """<Leave> in the wait TwiML."""


class Redirected(Exception):
    def __init__(self, fetch: Fetch):
        self.fetch = fetch


class EndedByApi(Exception):
    """The REST API ended the call (Status=completed / canceled)."""


class NotAnswered(Exception):
    def __init__(self, status: str):
        self.status = status


class SessionCore:
    """One call's state, requests and dispatch; the verbs come from the subclasses."""

    # tag -> function(session, element, document url, waiting) -> Fetch | None (twiml_exec.py)
    HANDLERS: ClassVar[dict] = {}

    def __init__(
        self,
        spec: CallSpec,
        party,
        *,
        account_sid: str,
        client: WebhookClient,
        timeline,
        queues: Queues,
        recordings_base: str = "http://carrier-simulator.invalid",
        max_requests: int = 100,
        conferences: Conferences | None = None,
        carrier=None,
    ):
        self.spec = spec
        self.party = party if party is not None else Party(name=spec.to)
        self.conferences = conferences if conferences is not None else Conferences()
        self.carrier = carrier  # places the child legs of <Dial><Number>/<Client>
        self.account_sid = account_sid
        self.client = client
        self.timeline = timeline
        self.queues = queues
        self.recordings_base = recordings_base.rstrip("/")
        self.max_requests = max_requests
        self.result = CallResult(
            spec.sid, spec.from_, spec.to, Transcript(timeline.now()), timeline.now()
        )
        self._status = "ringing" if spec.direction == "inbound" else "queued"
        self._seq = 0  # SequenceNumber of the next status callback
        self._remote_end = False
        self._talk_deadline: float | None = None
        self._answer_fetch = Fetch(spec.url, spec.method) if spec.url else None
        self.on_end: list = []  # called (no argument) once the call is over
        self._queue: str | None = None  # name of the queue the call waits in
        self._queue_deadline: float | None = None
        self._queue_joined_at: float | None = None
        self._queue_sid: str | None = None
        self._enqueue_action: tuple[str, str] | None = None
        self._deferred: list[Fetch] = []
        self._instant_requests = 0
        self._pending: Fetch | None = None
        self._pending_lock = threading.Lock()
        self._party = None  # the timeline's id for the thread running this call
        self.recordings: list[dict] = []

    # Called from other threads (the REST API) ------------------------------------
    def redirect(self, url: str, method: str = "POST") -> None:
        """Move the call to new TwiML now (REST Calls or Queue Members update): what the
        caller is hearing is cut short, as on Twilio."""
        with self._pending_lock:
            self._pending = Fetch(url, method.upper())
        self._wake()

    def hangup(self) -> None:
        """End the call now (REST Status=completed/canceled): canceled if never answered."""
        self._remote_end = True
        self._wake()

    def _wake(self) -> None:
        if self._party is not None:
            self.timeline.interrupt(self._party)

    @property
    def answered(self) -> bool:
        return self.result.answered_at is not None

    @property
    def ended(self) -> bool:
        return self.result.ended_at is not None

    @property
    def call_status(self) -> str:
        """Twilio's status of the call now (the Call resource's): queued, ringing,
        in-progress, or its final status. "initiated" (a status callback event, not a
        resource status) reads as queued."""
        if self.ended:
            return self.result.status if self.result.status in FINAL_STATUSES else "failed"
        return "queued" if self._status == "initiated" else self._status

    # HTTP -----------------------------------------------------------------------
    def _params(self) -> dict:
        s = self.spec
        p = {
            "CallSid": s.sid,
            "AccountSid": self.account_sid,
            "From": s.from_,
            "To": s.to,
            "Caller": s.from_,
            "Called": s.to,
            "CallStatus": self._status,
            "Direction": s.direction,
            "ApiVersion": API_VERSION,
            "FromCountry": country_of(s.from_),
            "ToCountry": country_of(s.to),
        }
        return {k: v for k, v in p.items() if v is not None}

    def _request(self, fetch: Fetch) -> Exchange:
        # A document that only redirects (or an empty wait document) loops without the
        # caller hearing anything; Twilio would spin too. Count requests with no time between.
        now = self.timeline.now()
        last = self.result.exchanges[-1].at if self.result.exchanges else None
        self._instant_requests = (
            self._instant_requests + 1 if last is not None and now - last < 0.05 else 0
        )
        if self._instant_requests >= self.max_requests:
            raise TwimlError(
                f"{self.max_requests} webhook requests in a row with no time passing: "
                f"a TwiML loop? (last: {fetch.url})"
            )
        ex = self.client.request(
            fetch.method, fetch.url, {**self._params(), **fetch.params}, at=self.timeline.now()
        )
        self.result.exchanges.append(ex)
        return ex

    def _fetch_twiml(self, fetch: Fetch) -> tuple[str, list[ET.Element]]:
        ex = self._request(fetch)
        self._status = "in-progress"
        try:
            root = ET.fromstring(ex.body)
        except ET.ParseError as e:
            self.client.count_failure()
            raise TwimlError(f"{fetch.url} did not answer TwiML ({e}): {ex.body[:120]!r}") from None
        if root.tag != "Response":
            self.client.count_failure()
            raise TwimlError(f"{fetch.url} answered <{root.tag}>, not <Response>")
        return fetch.url, list(root)

    # Verbs ----------------------------------------------------------------------
    def _execute(self, verbs: list[ET.Element], url: str, *, waiting: bool = False) -> Fetch | None:
        """Run verbs in order; a Fetch = the document to run next; None = end of document."""
        for el in verbs:
            self._check_pending()
            if waiting and el.tag not in WAIT_VERBS:
                raise TwimlError(f"<{el.tag}> is not allowed in a waitUrl document ({url})")
            handler = self.HANDLERS.get(el.tag)
            if handler is None:
                raise TwimlError(f"unsupported TwiML verb <{el.tag}> in {url}")
            nxt = handler(self, el, url, waiting)
            if nxt is not None:
                return nxt
        return None

    def _run_document(self, fetch: Fetch | None, *, waiting: bool = False) -> None:
        """Fetch and run TwiML, following its Redirects and Gather actions, to its end."""
        while fetch is not None:
            doc_url, verbs = self._fetch_twiml(fetch)
            fetch = self._execute(verbs, doc_url, waiting=waiting)

    def _check_pending(self) -> None:
        if self._remote_end:
            raise EndedByApi()
        with self._pending_lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            raise Redirected(pending)

    # Time -----------------------------------------------------------------------
    def _deadline(self) -> float:
        end = self.result.started_at + self.party.max_call_seconds
        if self._queue_deadline is not None:
            end = min(end, self._queue_deadline)
        if self._talk_deadline is not None:
            end = min(end, self._talk_deadline)
        return end

    def _wait(self, seconds: float) -> None:
        try:
            self.timeline.sleep(seconds, deadline=self._deadline())
        except timing.Interrupted:
            self._check_pending()

    def _say_line(self, verb: str, text: str = "", **attrs) -> None:
        self.result.transcript.add(self.timeline.now(), verb, text, **attrs)

    # Leaving the carrier's queue --------------------------------------------------
    def _queue_ended(self, result: str, *, follow: bool = True) -> Fetch | None:
        """Leave the carrier's queue; request Enqueue's action with QueueResult."""
        name, self._queue = self._queue, None
        self._queue_deadline = None
        if name is None:
            return None
        waited = self.queues.leave(name, self.spec.sid, self.timeline.now())
        self.result.queue_result = result
        if self._enqueue_action is None:
            return None
        action, method = self._enqueue_action
        fetch = Fetch(
            action,
            method,
            {"QueueResult": result, "QueueSid": self._queue_sid, "QueueTime": waited},
        )
        if not follow:
            # The call is gone (hangup) or already moved elsewhere (redirected):
            # Twilio still reports to the action URL but does not run its answer.
            self._request(fetch)
            return None
        return fetch

    def _caller_hung_up(self) -> None:
        if self._queue is not None:
            waited = self.timeline.now() - self._queue_joined_at
            self._say_line("Caller", f"Caller hangs up after {waited:.0f}s in queue")
            self._queue_ended("hangup", follow=False)
        else:
            who = "Caller" if self.spec.direction == "inbound" else self.party.name
            self._say_line("Caller", f"{who} hangs up")
