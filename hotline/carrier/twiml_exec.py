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
  redirect by the REST API) the `action` URL is requested with
  QueueResult (leave / redirected), QueueSid, QueueTime and its TwiML runs; no
  action = the verb after <Enqueue>. When the caller hangs up while enqueued
  (patience exhausted) or the wait TwiML says <Hangup>, `action` is requested
  with QueueResult=hangup and its answer ignored.
* Record: the party's Message (or silence); `action` (default: the current
  document) gets RecordingUrl, RecordingSid, RecordingDuration and Digits; a
  transcribeCallback gets the text after the call.
* Hangup, or the end of the document: the call is over.
* Dial: <Conference> puts the call in a room of conference.py
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

This module is the call's lifecycle (answer or ring, follow the documents, finish
and report) and the verb table; the rest lives beside it:

* call_data.py: CallSpec, CallResult, Fetch, TwimlError (all but Fetch re-exported
  here, with API_VERSION);
* queues.py: the carrier's queues (Queues, re-exported here);
* twiml_session.py: SessionCore: state, REST controls, requests, dispatch, waits;
* twiml_voice.py (Say, Play, Pause, Gather, Redirect, Hangup), twiml_queue.py
  (Enqueue, Leave), twiml_record.py (Record), twiml_dial.py (Dial, rooms, the
  callee's leg): the verbs, as SessionCore subclasses combined by CallSession;
* twiml_attrs.py: attributes read as Twilio reads them.
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import ClassVar

from ..clock import utc
from . import timing
from .call_data import API_VERSION, CallResult, CallSpec, Fetch, TwimlError
from .queues import Queues
from .signing import WebhookFailed
from .twiml_dial import DialVerbs
from .twiml_queue import QueueVerbs
from .twiml_record import RecordVerb
from .twiml_session import CallOver, EndedByApi, NotAnswered, Redirected
from .twiml_voice import VoiceVerbs

# What other modules import from here; the definitions live in the modules above.
__all__ = [
    "API_VERSION",
    "CallResult",
    "CallSession",
    "CallSpec",
    "Queues",
    "TwimlError",
]


class CallSession(VoiceVerbs, QueueVerbs, RecordVerb, DialVerbs):
    """Runs one call to its end on the current thread (under a Timeline)."""

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
            except CallOver:
                pass
            except timing.HungUp:
                self._caller_hung_up()
            except EndedByApi:
                status = self._ended_by_api()
            except NotAnswered as e:
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
            raise NotAnswered("failed")
        self._status = "ringing"
        self._say_line("Carrier", f"Ringing {self.spec.to}")
        self._status_callback("ringing")
        timeout = float(self.spec.timeout)
        if kind == "busy":
            self._ringing_for(min(ring.after, timeout))
            raise NotAnswered("busy")
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
        raise NotAnswered("no-answer")

    def _ringing_for(self, seconds: float) -> None:
        """Ring for `seconds`; a REST redirect meanwhile changes the TwiML fetched on answer."""
        end = self.timeline.now() + seconds
        while True:
            left = end - self.timeline.now()
            if left <= 0:
                return
            try:
                self._wait(left)
            except Redirected as r:
                self._answer_fetch = r.fetch

    def _follow(self, fetch: Fetch) -> None:
        """Run the call's TwiML to its end (CallOver), moving to new TwiML on a REST redirect."""
        while True:
            try:
                self._run_document(fetch)
            except Redirected as r:
                fetch = r.fetch
            else:
                raise CallOver()

    HANDLERS: ClassVar[dict] = {
        "Say": VoiceVerbs._v_say,
        "Play": VoiceVerbs._v_play,
        "Pause": VoiceVerbs._v_pause,
        "Gather": VoiceVerbs._v_gather,
        "Redirect": VoiceVerbs._v_redirect,
        "Hangup": VoiceVerbs._v_hangup,
        "Leave": QueueVerbs._v_leave,
        "Enqueue": QueueVerbs._v_enqueue,
        "Record": RecordVerb._v_record,
        "Dial": DialVerbs._v_dial,
    }
