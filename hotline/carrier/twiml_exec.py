"""Execute one call's TwiML the way Twilio does, over real HTTP, against any app.

A `CallSession` requests the first URL, parses the returned <Response> with
ElementTree and runs its verbs in order, following URLs as Twilio does:

* Say / Play / Pause: heard by the caller; time passes (see timing.py).
* Gather: nested Say/Play/Pause play first; then the party answers (keys or
  speech) and Twilio requests `action` (default: the current document) with
  Digits, or SpeechResult + Confidence, ignoring the verbs after the Gather. No
  input: after `timeout` seconds the next verb runs (or, with
  actionOnEmptyResult="true", `action` is requested without input).
* Redirect: request the URL (method attribute, default POST) and run that.
* Enqueue: join the named queue, request `waitUrl` with QueueSid,
  QueuePosition, QueueTime, AvgQueueTime, CurrentQueueSize, MaxQueueSize and
  run the wait TwiML (only Say, Play, Pause, Gather, Redirect, Leave, Hangup),
  then request `waitUrl` again each time the wait TwiML ends. On <Leave> (or a
  redirect by the REST API in part 2) the `action` URL is requested with
  QueueResult (leave / redirected), QueueSid, QueueTime and its TwiML runs; no
  action = the verb after <Enqueue>. When the caller hangs up while enqueued
  (patience exhausted) or the wait TwiML says <Hangup>, `action` is requested
  with QueueResult=hangup and its answer ignored.
* Record: the party's Message (or silence); `action` (default: the current
  document) gets RecordingUrl, RecordingSid, RecordingDuration and Digits; a
  transcribeCallback gets the text after the call.
* Hangup, or the end of the document: the call is over.
* Dial (part 2): <Conference> puts the call in a room of conference.py
  (startConferenceOnEnter, endConferenceOnExit, timeLimit) until the room ends,
  the call hangs up, or the REST API moves it; <Number>/<Client> (or a bare
  number) rings that endpoint of the Network (phones.py) as a child leg
  (ParentCallSid) and bridges the two in a private two-party room, running the
  noun's `url` on the callee first (a whisper). Then the Dial `action` gets
  DialCallStatus (completed, no-answer, busy, failed, canceled), DialCallSid,
  DialCallDuration; no action = the verb after <Dial>.

Outbound calls (REST Calls create, Dial child legs) first ring: status callbacks
for the events asked (initiated, ringing, answered, completed), then the
endpoint answers after its delay, or the call ends no-answer at `Timeout`, busy
or failed. The REST API may redirect a call (new TwiML now; for a call still
ringing, the TwiML fetched on answer) or end it (completed, or canceled while
not yet answered).

When the call is over the status callback is requested with the final
CallStatus (completed, no-answer, busy, failed, canceled), CallDuration (seconds
since the answer), Timestamp, CallbackSource and SequenceNumber (0, 1, 2... per
callback of this call). An inbound call reports only its end (SequenceNumber 0).

Every request carries Twilio's standard parameters (CallSid, AccountSid, From,
To, Caller, Called, CallStatus, Direction, ApiVersion, FromCountry, ToCountry)
and a valid X-Twilio-Signature (signing.py).
"""

from __future__ import annotations

import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import ClassVar
from urllib.parse import urljoin

from ..clock import utc
from ..errors import HotlineError
from . import timing
from .conference import Conferences, Participant
from .party import Party, Press, Silence, Speak
from .signing import Exchange, WebhookClient, WebhookFailed
from .transcript import Transcript, audio_name

API_VERSION = "2010-04-01"
MAX_QUEUE_SIZE = 1000
WAIT_VERBS = {"Say", "Play", "Pause", "Gather", "Redirect", "Leave", "Hangup"}
DIAL_NOUNS = {"Number", "Client", "Conference", "Queue", "Sip"}
# A participant alone in a room re-checks it this often (a cheap wake in virtual time);
# the room wakes its participants itself on every change, this is only the safety net.
ROOM_SLICE_S = 60.0
FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


class TwimlError(HotlineError):
    """The app answered something Twilio would refuse (error 12100 and friends)."""


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def country_of(number: str) -> str | None:
    import phonenumbers

    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or None
    except phonenumbers.NumberParseException:  # client:alice, sip:…: Twilio sends no country either
        return None


# Control flow inside a call ------------------------------------------------------


@dataclass(frozen=True)
class Fetch:
    url: str
    method: str = "POST"
    params: dict = field(default_factory=dict)


class _Ended(Exception):
    """The call is over: the app hung up, or the document ran out."""


class _Leave(Exception):
    pass


class _Redirected(Exception):
    def __init__(self, fetch: Fetch):
        self.fetch = fetch


class _RemoteEnd(Exception):
    """The REST API ended the call (Status=completed / canceled)."""


class _NotAnswered(Exception):
    def __init__(self, status: str):
        self.status = status


# Queues of the simulated carrier ------------------------------------------------


class Queues:
    """Twilio-side queues: FIFO per name, with QueueSid and average wait. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._queues: dict[str, dict] = {}

    def join(self, name: str, call_sid: str, now: float) -> str:
        with self._lock:
            q = self._queues.setdefault(name, {"sid": new_sid("QU"), "members": {}, "waits": []})
            q["members"][call_sid] = now
            return q["sid"]

    def stats(self, name: str, call_sid: str, now: float) -> dict:
        with self._lock:
            q = self._queues[name]
            members = list(q["members"].items())
            position = next(i for i, (sid, _) in enumerate(members, 1) if sid == call_sid)
            waits = [now - t for _, t in members]
            return {
                "QueueSid": q["sid"],
                "QueuePosition": position,
                "QueueTime": int(now - q["members"][call_sid]),
                "AvgQueueTime": int(sum(waits) / len(waits)),
                "CurrentQueueSize": len(members),
                "MaxQueueSize": MAX_QUEUE_SIZE,
            }

    def find(self, queue_sid: str, call_sid: str | None = None) -> str | None:
        """The name of the queue with this QueueSid (and, if given, holding this call)."""
        with self._lock:
            for name, q in self._queues.items():
                if q["sid"] == queue_sid and (call_sid is None or call_sid in q["members"]):
                    return name
        return None

    def front(self, queue_sid: str) -> str | None:
        with self._lock:
            for q in self._queues.values():
                if q["sid"] == queue_sid and q["members"]:
                    return next(iter(q["members"]))
        return None

    def leave(self, name: str, call_sid: str, now: float) -> int:
        with self._lock:
            q = self._queues[name]
            joined = q["members"].pop(call_sid, now)
            q["waits"].append(now - joined)
            return int(now - joined)

    def snapshot(self) -> dict:
        with self._lock:
            return {
                name: {"sid": q["sid"], "members": list(q["members"])}
                for name, q in self._queues.items()
            }


# One call -----------------------------------------------------------------------


@dataclass
class CallSpec:
    url: str
    from_: str
    to: str
    status_callback: str | None = None
    method: str = "POST"
    status_callback_method: str = "POST"
    direction: str = "inbound"
    sid: str = field(default_factory=lambda: new_sid("CA"))
    # Outbound calls only:
    status_callback_events: tuple[str, ...] = ("completed",)
    timeout: float = 60.0
    ring: object = None  # phones.Ring: how the callee answers
    parent_sid: str | None = None
    bridge: tuple[str, str | None] | None = None  # Dial child leg: (room, whisper url)


@dataclass
class CallResult:
    sid: str
    from_: str
    to: str
    transcript: Transcript
    started_at: float
    ended_at: float | None = None
    # completed | in-progress (simulation stopped) | failed | no-answer | busy | canceled
    status: str = "in-progress"
    queue_result: str | None = None
    answered_at: float | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    error: Exception | None = None

    @property
    def duration(self) -> int | None:
        return None if self.ended_at is None else round(self.ended_at - self.started_at)

    def raise_for_error(self) -> CallResult:
        if self.error is not None:
            raise self.error
        return self

    def urls(self) -> list[str]:
        return [x.url for x in self.exchanges]

    def to_json(self) -> dict:
        return {
            "call_sid": self.sid,
            "from": self.from_,
            "to": self.to,
            "status": self.status,
            "started_at": utc(self.started_at).isoformat(),
            "duration": self.duration,
            "queue_result": self.queue_result,
            "error": str(self.error) if self.error else None,
            "answered_at": utc(self.answered_at).isoformat() if self.answered_at else None,
            "transcript": self.transcript.to_json(),
            "requests": [x.to_json() for x in self.exchanges],
        }


class CallSession:
    """Runs one call to its end on the current thread (under a Timeline)."""

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

    # Called from other threads (REST API, part 2) ---------------------------------
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
        """Twilio's status of the call now: queued, ringing, in-progress, or its final status."""
        if self.ended:
            return self.result.status if self.result.status in FINAL_STATUSES else "failed"
        return self._status

    # Running --------------------------------------------------------------------
    def run(self) -> CallResult:
        res = self.result
        self._party = self.timeline.current_party()
        status = "completed"
        try:
            try:
                if self.spec.direction == "inbound":
                    res.answered_at = res.started_at
                    self._follow(Fetch(self.spec.url, self.spec.method))
                else:
                    self._ring_phase()
                    if self.spec.bridge is not None:
                        self._bridged_leg()
                    elif self._answer_fetch is not None:
                        self._follow(self._answer_fetch)
            except _Ended:
                pass
            except timing.HungUp:
                self._caller_hung_up()
            except _RemoteEnd:
                status = self._ended_by_api()
            except _NotAnswered as e:
                status = e.status
                self._say_line(
                    "Carrier",
                    {
                        "no-answer": "No answer",
                        "busy": "Busy",
                        "failed": "Call failed",
                        "canceled": "Canceled",
                    }.get(status, status),
                )
            self._finish(status)
        except timing.Stopped:
            self._say_line("Carrier", "Still on the line when the simulation stopped")
        except (WebhookFailed, TwimlError) as e:
            res.status = "failed"
            res.error = e
            res.ended_at = self.timeline.now()
            self._say_line("Carrier", f"Call failed: {e}")
        except Exception as e:  # a simulator bug must not vanish inside a party thread
            res.status = "failed"
            res.error = e
            res.ended_at = self.timeline.now()
            raise
        finally:
            for fn in self.on_end:
                fn()
        return res

    def _ended_by_api(self) -> str:
        if self._queue is not None:
            self._queue_ended("hangup", follow=False)
        self._say_line("Carrier", "Call ended by the REST API")
        return "completed" if self.answered else "canceled"

    def _finish(self, status: str = "completed") -> None:
        res = self.result
        res.status = status
        res.ended_at = self.timeline.now()
        self._status = status
        talked = 0 if res.answered_at is None else round(res.ended_at - res.answered_at)
        self._status_callback("completed", {"CallDuration": talked})
        for fetch in self._deferred:
            self._request(fetch)

    def _status_callback(self, event: str, extra: dict | None = None) -> None:
        if not self.spec.status_callback or event not in self.spec.status_callback_events:
            return
        params = {
            **(extra or {}),
            "Timestamp": format_datetime(utc(self.timeline.now())),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": self._seq,
        }
        self._seq += 1
        self._request(Fetch(self.spec.status_callback, self.spec.status_callback_method, params))

    # Outbound: ringing, then the callee's side ----------------------------------------
    def _ring_phase(self) -> None:
        ring = self.spec.ring
        kind = getattr(ring, "kind", "no-answer")
        self._status = "initiated"
        self._status_callback("initiated")
        if kind == "failed":
            raise _NotAnswered("failed")
        self._status = "ringing"
        self._say_line("Carrier", f"Ringing {self.spec.to}")
        self._status_callback("ringing")
        timeout = float(self.spec.timeout)
        if kind == "busy":
            self._ringing_for(min(ring.after, timeout))
            raise _NotAnswered("busy")
        if kind == "answer" and ring.after < timeout:
            self._ringing_for(ring.after)
            if ring.party is not None:
                self.party = ring.party
            self._status = "in-progress"
            self.result.answered_at = self.timeline.now()
            self._say_line("Carrier", f"Answered by {self.party.name}")
            self._status_callback("answered")
            return
        self._ringing_for(timeout)
        raise _NotAnswered("no-answer")

    def _ringing_for(self, seconds: float) -> None:
        """Ring for `seconds`; a REST redirect meanwhile changes the TwiML fetched on answer."""
        end = self.timeline.now() + seconds
        while True:
            left = end - self.timeline.now()
            if left <= 0:
                return
            try:
                self._wait(left)
            except _Redirected as r:
                self._answer_fetch = r.fetch

    def _bridged_leg(self) -> None:
        """The callee of a <Dial><Number>/<Client>: its whisper, then the two-party room."""
        room, whisper = self.spec.bridge
        if whisper:
            fetch: Fetch | None = Fetch(whisper, "POST")
            while fetch is not None:
                doc_url, verbs = self._fetch_twiml(fetch)
                fetch = self._execute(verbs, doc_url)
        self._in_room(room, start=True, end=True, time_limit=14400.0)
        raise _Ended()

    def _follow(self, fetch: Fetch | None) -> None:
        while fetch is not None:
            url, verbs = self._fetch_twiml(fetch)
            try:
                fetch = self._execute(verbs, url)
            except _Redirected as r:
                fetch = r.fetch
            else:
                if fetch is None:
                    raise _Ended()

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
            self._count_failed_webhook()
            raise TwimlError(f"{fetch.url} did not answer TwiML ({e}): {ex.body[:120]!r}") from None
        if root.tag != "Response":
            self._count_failed_webhook()
            raise TwimlError(f"{fetch.url} answered <{root.tag}>, not <Response>")
        return fetch.url, list(root)

    def _count_failed_webhook(self) -> None:
        count = getattr(self.client, "count_failure", None)  # a stand-in client may not count
        if count is not None:
            count()

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

    def _check_pending(self) -> None:
        if self._remote_end:
            raise _RemoteEnd()
        with self._pending_lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            raise _Redirected(pending)

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

    @staticmethod
    def _loops(el: ET.Element, default: int = 1) -> int:
        try:
            n = int(el.get("loop", default))
        except ValueError:
            n = default
        return 1000 if n <= 0 else n  # Twilio: loop="0" repeats until the call ends

    def _v_say(self, el, url, waiting):
        text = " ".join("".join(el.itertext()).split())
        for _ in range(self._loops(el)):
            self._say_line("Say", text, language=el.get("language"), voice=el.get("voice"))
            self._wait(timing.say_seconds(text))

    def _v_play(self, el, url, waiting):
        digits = el.get("digits")
        if digits:
            self._say_line("Play", f"digits {digits}")
            self._wait(timing.keys_seconds(digits))
            return
        src = (el.text or "").strip()
        for _ in range(self._loops(el)):
            self._say_line("Play", audio_name(src), url=src)
            self._wait(getattr(self.party, "play_seconds", None) or timing.DEFAULT_PLAY_SECONDS)

    def _v_pause(self, el, url, waiting):
        length = _number(el.get("length"), 1)
        self._say_line("Pause", f"{length:g}s")
        self._wait(length)

    def _v_gather(self, el, url, waiting):
        for child in el:
            if child.tag not in ("Say", "Play", "Pause"):
                raise TwimlError(f"<{child.tag}> cannot be nested in <Gather> ({url})")
            self.HANDLERS[child.tag](self, child, url, waiting)
        kinds = set((el.get("input") or "dtmf").split())
        timeout = _number(el.get("timeout"), 5)
        action = urljoin(url, el.get("action") or url)
        method = (el.get("method") or "POST").upper()
        answer = self.party.answer_for(kinds)
        if isinstance(answer, Press):
            digits, finished = _collect(
                answer.keys, el.get("finishOnKey", "#"), el.get("numDigits")
            )
            self._wait(timing.keys_seconds(answer.keys))
            if not finished:
                self._wait(timeout)  # Twilio waits `timeout` for more keys before submitting
            self._say_line("Gather", f"pressed {answer.keys}")
            return Fetch(action, method, {"Digits": digits})
        if isinstance(answer, Speak):
            self._wait(timing.speak_seconds(answer.text))
            self._say_line("Gather", f'said "{answer.text}"', language=el.get("language"))
            return Fetch(
                action,
                method,
                {"SpeechResult": answer.text, "Confidence": f"{answer.confidence:.2f}"},
            )
        assert isinstance(answer, Silence)
        self._wait(timeout)
        self._say_line("Gather", f"no input ({timeout:g}s)")
        if (el.get("actionOnEmptyResult") or "").lower() == "true":
            return Fetch(action, method, {})
        return None

    def _v_redirect(self, el, url, waiting):
        target = (el.text or "").strip()
        if not target:
            raise TwimlError(f"<Redirect> without a URL in {url}")
        return Fetch(urljoin(url, target), (el.get("method") or "POST").upper())

    def _v_hangup(self, el, url, waiting):
        self._say_line("Hangup")
        if waiting:
            self._queue_ended("hangup", follow=False)
        raise _Ended()

    def _v_leave(self, el, url, waiting):
        if not waiting:
            return  # Twilio ignores <Leave> outside a queue
        raise _Leave()

    def _v_enqueue(self, el, url, waiting):
        name = " ".join("".join(el.itertext()).split()) or "default"
        action = el.get("action")
        self._enqueue_action = (
            (urljoin(url, action), (el.get("method") or "POST").upper()) if action else None
        )
        wait_url = urljoin(url, el.get("waitUrl")) if el.get("waitUrl") else None
        wait_method = (el.get("waitUrlMethod") or "POST").upper()
        now = self.timeline.now()
        self._queue = name
        self._queue_sid = self.queues.join(name, self.spec.sid, now)
        self._queue_joined_at = now
        self._queue_deadline = now + self.party.patience
        self._say_line("Enqueue", name)
        try:
            while True:
                if wait_url is None:
                    # Twilio's default classical playlist.
                    self._v_play(ET.fromstring("<Play>music</Play>"), url, True)
                    self._check_pending()
                    continue
                params = self.queues.stats(name, self.spec.sid, self.timeline.now())
                fetch: Fetch | None = Fetch(wait_url, wait_method, params)
                while fetch is not None:  # a Redirect or a Gather action inside the wait TwiML
                    doc_url, verbs = self._fetch_twiml(fetch)
                    fetch = self._execute(verbs, doc_url, waiting=True)
        except _Leave:
            self._say_line("Leave")
            return self._queue_ended("leave")
        except _Redirected as r:
            self._queue_ended("redirected", follow=False)
            return r.fetch

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

    def _v_record(self, el, url, waiting):
        msg = getattr(self.party, "message", None)
        if _truthy(el.get("playBeep", "true")):
            self._say_line("Carrier", "Beep")
        silence = _number(el.get("timeout"), 5)
        max_length = _number(el.get("maxLength"), 3600) or 3600
        if msg is None:
            self._wait(silence)
            self._say_line("Record", "", note="nothing recorded (silence)")
            return None  # empty recording: Twilio goes on with the next verb
        seconds = min(msg.seconds, max_length)
        self._wait(seconds)
        finish_keys = el.get("finishOnKey", "1234567890*#")
        params = {}
        if msg.finish_key and msg.finish_key in finish_keys and seconds < max_length:
            self._wait(timing.KEY_PRESS_SECONDS)
            params["Digits"] = msg.finish_key
        elif seconds < max_length:
            self._wait(silence)
        rec_sid = new_sid("RE")
        rec_url = (
            f"{self.recordings_base}/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{rec_sid}"
        )
        self.recordings.append(
            {"sid": rec_sid, "url": rec_url, "duration": int(seconds), "text": msg.text}
        )
        self._say_line("Record", f"{seconds:g}s", note=f'"{msg.text}"' if msg.text else None)
        callback = el.get("transcribeCallback")
        if callback:
            self._deferred.append(
                Fetch(
                    urljoin(url, callback),
                    "POST",
                    {
                        "TranscriptionSid": new_sid("TR"),
                        "TranscriptionText": msg.text,
                        "TranscriptionStatus": "completed",
                        "TranscriptionType": "fast",
                        "TranscriptionUrl": f"{rec_url}/Transcriptions",
                        "RecordingSid": rec_sid,
                        "RecordingUrl": rec_url,
                    },
                )
            )
        action = urljoin(url, el.get("action") or url)
        return Fetch(
            action,
            (el.get("method") or "POST").upper(),
            {
                **params,
                "RecordingUrl": rec_url,
                "RecordingSid": rec_sid,
                "RecordingDuration": int(seconds),
            },
        )

    def _v_dial(self, el, url, waiting):
        timeout = _number(el.get("timeout"), 30)
        time_limit = _number(el.get("timeLimit"), 14400)
        nouns = [c for c in el if c.tag in DIAL_NOUNS]
        others = [c.tag for c in el if c.tag not in DIAL_NOUNS]
        if others:
            raise TwimlError(f"<{others[0]}> cannot be nested in <Dial> ({url})")
        for n in nouns:
            if n.tag in ("Queue", "Sip"):
                raise TwimlError(f"<Dial><{n.tag}> is not supported by the simulator ({url})")
        conf = next((n for n in nouns if n.tag == "Conference"), None)
        child_sid = None
        if conf is not None:
            status, talked = self._dial_conference(conf, time_limit)
        else:
            if nouns:
                noun = nouns[0]  # Twilio rings every noun at once; we ring the first (documented)
                target = _noun_target(noun)
                whisper = urljoin(url, noun.get("url")) if noun.get("url") else None
            else:
                target, whisper = " ".join("".join(el.itertext()).split()), None
            status, talked, child_sid = self._dial_leg(
                target, whisper, timeout, time_limit, el.get("callerId")
            )
        action = el.get("action")
        if action:
            params = {"DialCallStatus": status, "DialCallDuration": talked}
            if child_sid:
                params["DialCallSid"] = child_sid
            return Fetch(urljoin(url, action), (el.get("method") or "POST").upper(), params)
        return None

    def _dial_conference(self, el, time_limit: float) -> tuple[str, int]:
        name = " ".join("".join(el.itertext()).split())
        if not name:
            raise TwimlError("<Conference> without a name")
        start = (el.get("startConferenceOnEnter") or "true").strip().lower() != "false"
        end = _truthy(el.get("endConferenceOnExit"))
        self._say_line("Dial", f"conference {name}")
        conf, joined, _ = self._in_room(name, start=start, end=end, time_limit=time_limit)
        now = self.timeline.now()
        self._say_line(
            "Dial",
            f"left conference {name}",
            note="(the conference ended)" if conf.ended_at is not None else None,
        )
        return "completed", round(now - joined)

    def _dial_leg(
        self,
        target: str,
        whisper: str | None,
        timeout: float,
        time_limit: float,
        caller_id: str | None,
    ) -> tuple[str, int, str | None]:
        """<Dial><Number>/<Client>: ring a child leg; if it answers, talk in a private room."""
        from .phones import normalize_address

        try:
            address = normalize_address(target)
        except HotlineError:
            self._say_line("Dial", target, note="not a valid number")
            return "failed", 0, None
        if self.carrier is None:
            raise TwimlError("<Dial> to a number needs a Carrier with a phone network")
        room = f"dial:{self.spec.sid}:{self._seq}:{len(self.result.exchanges)}"
        self._say_line("Dial", address)
        # The caller is in the room first (it does not start it): the callee's arrival starts it.
        child = self.carrier.place(
            to=address,
            from_=caller_id or self.spec.to,
            timeout=timeout,
            parent_sid=self.spec.sid,
            bridge=(room, whisper),
        )
        child.on_end.append(self._wake)
        try:
            _, _, talk_from = self._in_room(
                room,
                start=False,
                end=True,
                time_limit=time_limit,
                give_up=lambda: child.ended and not child.answered,
            )
        except BaseException:
            if not child.ended:
                child.hangup()
            raise
        if talk_from is None:
            if not child.ended:
                child.hangup()
            status = child.call_status if child.ended else "no-answer"
            self._say_line("Dial", address, note=status)
            return (status if status != "completed" else "no-answer"), 0, child.spec.sid
        talked = round(self.timeline.now() - talk_from)
        self._say_line("Dial", address, note=f"call ended after {talked}s")
        return "completed", talked, child.spec.sid

    def _in_room(self, name: str, *, start: bool, end: bool, time_limit: float, give_up=None):
        """Stay in the room until it ends, time_limit passes, or give_up() says so.

        Returns (conference, joined at, talk started at or None). Hanging up, a REST
        redirect or the end of the simulation leave the room on the way out."""
        sid = self.spec.sid
        conf = self.conferences.join(
            name,
            Participant(sid, start, end, wake=self._wake, label=self.party.name),
            self.timeline.now(),
        )
        joined = self.timeline.now()
        talk_from = None
        try:
            while sid in conf.participants:
                now = self.timeline.now()
                if (
                    talk_from is None
                    and conf.started_at is not None
                    and len(conf.participants) >= 2
                ):
                    talk_from = now
                    if self.party.talk_seconds is not None:
                        self._talk_deadline = now + self.party.talk_seconds
                if give_up is not None and talk_from is None and give_up():
                    break
                if now >= joined + time_limit:
                    break
                self._wait(min(joined + time_limit - now, ROOM_SLICE_S))
        finally:
            self._talk_deadline = None
            self.conferences.leave(conf, sid, self.timeline.now())
        return conf, joined, talk_from

    HANDLERS: ClassVar[dict] = {
        "Say": _v_say,
        "Play": _v_play,
        "Pause": _v_pause,
        "Gather": _v_gather,
        "Redirect": _v_redirect,
        "Hangup": _v_hangup,
        "Leave": _v_leave,
        "Enqueue": _v_enqueue,
        "Record": _v_record,
        "Dial": _v_dial,
    }


def _noun_target(noun: ET.Element) -> str:
    if noun.tag == "Client":
        ident = noun.find("Identity")
        name = (ident.text if ident is not None else noun.text) or ""
        return "client:" + name.strip()
    return " ".join("".join(noun.itertext()).split())


def _number(value: str | None, default: float) -> float:
    if value is None or value == "":
        return float(default)
    try:
        n = float(value)
    except ValueError:
        raise TwimlError(f"{value!r} is not a number") from None
    if n < 0:
        raise TwimlError(f"{value!r} is negative")
    return n


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def _collect(keys: str, finish_on_key: str, num_digits: str | None) -> tuple[str, bool]:
    """(Digits Twilio reports, whether input ended without waiting for the timeout)."""
    limit = int(num_digits) if num_digits else None
    out = ""
    for k in keys:
        if finish_on_key and k in finish_on_key:
            return out, True
        out += k
        if limit is not None and len(out) >= limit:
            return out, True
    return out, False
