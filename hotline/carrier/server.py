"""The simulator's own HTTP server: a small, honest subset of Twilio's REST API.

Served under HTTP Basic auth with the account SID and auth token, like
api.twilio.com (401 + Twilio error 20003 otherwise; another account's path: 404),
at the paths `twilio.rest.Client` builds, so the app's telephony layer talks to
it with the real client library (telephony/port.py rebases api.twilio.com here):

* `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` — an outbound call: `To`
  (E.164 or `client:identity`), `From`, `Url` + `Method`, `StatusCallback`,
  `StatusCallbackMethod`, `StatusCallbackEvent` (repeated: initiated, ringing,
  answered, completed), `Timeout` (ring seconds, default 60). The phone network
  (phones.py) decides who answers. 201 with the call resource (status queued).
  A call *to the hotline's own number*, or with `Sim*` parameters, is instead an
  inbound test call to the app: the simulator plays the caller, scripted by
  `SimPress` ("9,2,1"), `SimSay`, `SimLang` (fr|en), `SimPatience` (seconds).
* `POST …/Calls/{CallSid}.json` — `Url` (+ `Method`): the call fetches new TwiML
  now (a ringing call: on answer); `Status=completed|canceled`: the call ends
  (canceled if never answered). A call that has ended: 400, error 21220.
* `POST …/Queues/{QueueSid}/Members/{CallSid|Front}.json` with `Url`: exactly that
  call leaves the queue (the Enqueue action gets QueueResult=redirected) and runs
  the TwiML at `Url`. Not in that queue: 404.
* `GET …/Calls.json` (filters `Status`, `To`, `From`) and `GET …/Calls/{CallSid}.json`
  — Twilio's Call resource (see `call_resource`: status, start_time, end_time,
  duration as Twilio gives them), plus `transcript` (simulator-only); an unknown
  CallSid: 404, error 20404.
* `GET …/Conferences.json` (filters `FriendlyName`, `Status`),
  `GET …/Conferences/{ConferenceSid}/Participants.json`.
"""

from __future__ import annotations

import threading
from email.utils import format_datetime

from flask import Flask, jsonify, request

from ..clock import utc
from ..errors import HotlineError
from .loopback import LoopbackServer
from .party import Party, script
from .simulator import OUTBOUND_EVENTS, Carrier
from .twiml_exec import API_VERSION, CallSession


def _twilio_error(status: int, code: int, message: str):
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return jsonify(body), status


def _page(name: str, items: list):
    # Twilio's list envelope, always one page: the client library stops at next_page_uri None.
    return jsonify(
        {
            name: items,
            "page": 0,
            "page_size": len(items),
            "uri": request.path,
            "first_page_uri": request.path,
            "next_page_uri": None,
        }
    )


def call_resource(session: CallSession, account_sid: str) -> dict:
    """Twilio's Call resource: start_time empty until the call is dialed (queued),
    end_time only for a call that completed, duration (seconds, a string) only for a
    completed call -- empty for busy, failed, unanswered, canceled or ongoing calls."""
    r = session.result
    status = session.call_status
    completed = status == "completed" and r.ended_at is not None
    return {
        "sid": r.sid,
        "account_sid": account_sid,
        "from": r.from_,
        "to": r.to,
        "status": status,
        "parent_call_sid": session.spec.parent_sid,
        "direction": session.spec.direction,
        "api_version": API_VERSION,
        "start_time": None if status == "queued" else format_datetime(utc(r.started_at)),
        "end_time": format_datetime(utc(r.ended_at)) if completed else None,
        "duration": str(round(r.ended_at - (r.answered_at or r.started_at))) if completed else None,
        "queue_result": r.queue_result,
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/Calls/{r.sid}.json",
        "transcript": r.transcript.to_json(),
    }


def create_sim_app(carrier: Carrier, start) -> Flask:
    app = Flask("hotline.carrier")
    cfg = carrier.config

    @app.before_request
    def authenticate():
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (cfg.account_sid, cfg.auth_token):
            return _twilio_error(401, 20003, "Authenticate")
        if request.view_args and request.view_args.get("account") not in (None, cfg.account_sid):
            return _twilio_error(404, 20404, "The requested resource was not found")
        return None

    base = f"/{API_VERSION}/Accounts/<account>"

    @app.post(base + "/Calls.json")
    def create_call(account):
        f = request.form
        from_ = f.get("From", "").strip()
        if not from_:
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        to = f.get("To", "").strip()
        inbound_test = not to or to == cfg.number or any(k.startswith("Sim") for k in f)
        if not inbound_test:
            return create_outbound(f, from_, to)
        try:
            answers = script(press=f.get("SimPress"), say=f.get("SimSay"), lang=f.get("SimLang"))
            patience = float(f.get("SimPatience", 120))
        except (HotlineError, ValueError) as e:
            return _twilio_error(400, 21205, str(e))
        session = carrier.new_call(
            Party(answers, patience=patience),
            from_=from_,
            to=f.get("To") or None,
            url=f.get("Url") or None,
            method=f.get("Method", "POST"),
        )
        start(session)
        return jsonify(call_resource(session, cfg.account_sid)), 201

    def create_outbound(f, from_: str, to: str):
        url = f.get("Url", "").strip()
        if not url and not f.get("Twiml"):
            return _twilio_error(400, 21205, "Url parameter is required.")
        if f.get("Twiml"):
            return _twilio_error(400, 21205, "the simulator does not run inline Twiml; give a Url")
        events = f.getlist("StatusCallbackEvent") or ["completed"]
        bad = [e for e in events if e not in OUTBOUND_EVENTS]
        if bad:
            return _twilio_error(400, 21626, f"Invalid 'StatusCallbackEvent': {bad[0]}")
        try:
            timeout = float(f.get("Timeout", 60))
        except ValueError:
            return _twilio_error(400, 21212, f"Invalid Timeout {f.get('Timeout')!r}")
        try:
            session = carrier.place(
                to=to,
                from_=from_,
                url=url,
                method=f.get("Method", "POST"),
                status_callback=f.get("StatusCallback") or None,
                status_callback_method=f.get("StatusCallbackMethod", "POST"),
                status_callback_events=tuple(events),
                timeout=min(max(timeout, 5.0), 600.0),
            )
        except HotlineError as e:
            return _twilio_error(400, 21217, f"Phone number is not a valid phone number: {e}")
        start(None)  # the call is on the timeline already: make sure time runs
        return jsonify(call_resource(session, cfg.account_sid)), 201

    @app.get(base + "/Calls.json")
    def list_calls(account):
        want = {k: request.args.get(k) for k in ("Status", "To", "From") if request.args.get(k)}
        calls = [call_resource(s, cfg.account_sid) for s in list(carrier.sessions.values())]
        calls = [c for c in calls if all(c[k.lower()] == v for k, v in want.items())]
        return _page("calls", calls)

    @app.post(base + "/Calls/<sid>.json")
    def update_call(account, sid):
        session = carrier.sessions.get(sid)
        if session is None:
            return _twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        f = request.form
        status, url = f.get("Status", "").strip(), f.get("Url", "").strip()
        if status and status not in ("completed", "canceled"):
            return _twilio_error(400, 21218, f"Invalid Status {status!r}: completed or canceled")
        if not status and not url:
            return _twilio_error(400, 21218, "Nothing to update: give Url or Status")
        if session.ended:
            return _twilio_error(400, 21220, "Call is not in-progress. Cannot redirect.")
        if status == "canceled" and session.answered:
            return jsonify(
                call_resource(session, cfg.account_sid)
            )  # Twilio: canceling an answered call does nothing
        if status:
            session.hangup()
        else:
            session.redirect(url, f.get("Method", "POST"))
        return jsonify(call_resource(session, cfg.account_sid))

    @app.post(base + "/Queues/<qsid>/Members/<sid>.json")
    def dequeue_member(account, qsid, sid):
        if sid == "Front":
            sid = carrier.queues.front(qsid) or ""
        name = carrier.queues.find(qsid, sid) if sid else None
        session = carrier.sessions.get(sid)
        if name is None or session is None or session.ended:
            return _twilio_error(
                404,
                20404,
                f"The requested resource /Queues/{qsid}/Members/{sid}.json was not found",
            )
        url = request.form.get("Url", "").strip()
        if not url:
            return _twilio_error(400, 21205, "Url parameter is required.")
        session.redirect(url, request.form.get("Method", "POST"))
        return jsonify(
            {
                "call_sid": sid,
                "queue_sid": qsid,
                "position": 1,
                "wait_time": 0,
                "date_enqueued": None,
                "uri": request.path,
            }
        )

    @app.get(base + "/Conferences.json")
    def list_conferences(account):
        name, status = request.args.get("FriendlyName"), request.args.get("Status")
        out = [
            {**c, "account_sid": cfg.account_sid}
            for c in carrier.conferences.snapshot()
            if (not name or c["friendly_name"] == name) and (not status or c["status"] == status)
        ]
        return _page("conferences", out)

    @app.get(base + "/Conferences/<csid>/Participants.json")
    def list_participants(account, csid):
        conf = carrier.conferences.find(csid)
        if conf is None:
            return _twilio_error(
                404, 20404, f"The requested resource /Conferences/{csid} was not found"
            )
        parts = [
            {
                "call_sid": p.call_sid,
                "conference_sid": conf.sid,
                "account_sid": cfg.account_sid,
                "start_conference_on_enter": p.start_on_enter,
                "end_conference_on_exit": p.end_on_exit,
                "status": "connected",
                "label": p.label,
            }
            for p in list(conf.participants.values())
        ]
        return _page("participants", parts)

    @app.get(base + "/Calls/<sid>.json")
    def get_call(account, sid):
        session = carrier.sessions.get(sid)
        if session is None:
            return _twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return jsonify(call_resource(session, cfg.account_sid))

    return app


class SimulatorServer:
    """Serves the REST subset on a loopback port and drives the calls it creates."""

    def __init__(
        self, carrier: Carrier, host: str = "127.0.0.1", port: int = 0, *, drive: bool = True
    ):
        """`drive=False`: someone else runs the (virtual) timeline (LocalHotline.run);
        calls created here are only added to it."""
        self.carrier = carrier
        self.drive = drive
        self._lock = threading.Lock()
        self._driver: threading.Thread | None = None
        self._threads: list[threading.Thread] = []
        self.http = LoopbackServer(create_sim_app(carrier, self._start), host=host, port=port)
        self.url = self.http.url

    def _start(self, session: CallSession | None) -> None:
        """Run an inbound test call (None: only make sure the timeline is driven)."""
        timeline = self.carrier.timeline
        if session is None:
            if self.drive and hasattr(timeline, "spawn"):
                with self._lock:
                    self._ensure_driver()
            return
        if not hasattr(timeline, "spawn"):
            th = threading.Thread(target=session.run, daemon=True)
            th.start()
            self._threads.append(th)
            return

        def go():
            session.result.started_at = session.result.transcript.started_at = timeline.now()
            session.run()

        with self._lock:
            timeline.spawn(go)
            if self.drive:
                self._ensure_driver()

    def _ensure_driver(self) -> None:
        if self._driver is None or not self._driver.is_alive():
            self._driver = threading.Thread(target=self._drive, daemon=True, name="sim-driver")
            self._driver.start()

    def _drive(self) -> None:
        while True:
            self.carrier.run()
            with self._lock:
                if self.carrier.timeline.idle:
                    self._driver = None
                    return

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until every call placed through the API has ended (tests, scripts)."""
        with self._lock:
            threads = [
                t
                for t in (self._driver, *self._threads, *self.carrier.call_threads())
                if t is not None
            ]
        for th in threads:
            th.join(timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
