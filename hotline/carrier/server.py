"""The simulator's own HTTP server: a small, honest subset of Twilio's REST API.

Part 1 serves, under HTTP Basic auth with the account SID and auth token like
api.twilio.com:

* `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` — place an *inbound test
  call* to the app (From, To, optional Url/Method). Twilio's real endpoint places
  an outbound call; here the simulator plays the caller. Simulator-only
  parameters script the caller: `SimPress` ("9,2,1"), `SimSay`, `SimLang`
  (fr|en), `SimPatience` (seconds). Answers 201 with the call resource.
* `GET …/Calls.json` and `GET …/Calls/{CallSid}.json` — the calls placed, with
  Twilio's field names plus `transcript` (simulator-only).

Part 2 adds the outbound subset the app's telephony layer uses (Calls create
and update with Url/Status, Queue Members update, Conferences), on this server.
"""

from __future__ import annotations

import threading
from email.utils import format_datetime

from flask import Flask, jsonify, request

from ..clock import utc
from ..errors import HotlineError
from .loopback import LoopbackServer
from .party import Party, script
from .simulator import Carrier
from .twiml_exec import API_VERSION, CallSession


def _twilio_error(status: int, code: int, message: str):
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
    return jsonify(body), status


def call_resource(session: CallSession, account_sid: str) -> dict:
    r = session.result
    if r.status in ("completed", "failed"):
        status = r.status
    else:
        status = "in-progress" if r.exchanges else "queued"
    return {
        "sid": r.sid, "account_sid": account_sid, "from": r.from_, "to": r.to, "status": status,
        "direction": session.spec.direction, "api_version": API_VERSION,
        "start_time": format_datetime(utc(r.started_at)),
        "end_time": format_datetime(utc(r.ended_at)) if r.ended_at else None,
        "duration": str(r.duration) if r.duration is not None else None,
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
        try:
            answers = script(press=f.get("SimPress"), say=f.get("SimSay"), lang=f.get("SimLang"))
            patience = float(f.get("SimPatience", 120))
        except (HotlineError, ValueError) as e:
            return _twilio_error(400, 21205, str(e))
        session = carrier.new_call(Party(answers, patience=patience), from_=from_,
                                   to=f.get("To") or None, url=f.get("Url") or None,
                                   method=f.get("Method", "POST"))
        start(session)
        return jsonify(call_resource(session, cfg.account_sid)), 201

    @app.get(base + "/Calls.json")
    def list_calls(account):
        calls = [call_resource(s, cfg.account_sid) for s in list(carrier.sessions.values())]
        return jsonify({"calls": calls, "page": 0, "page_size": len(calls),
                        "uri": request.path, "first_page_uri": request.path, "next_page_uri": None})

    @app.get(base + "/Calls/<sid>.json")
    def get_call(account, sid):
        session = carrier.sessions.get(sid)
        if session is None:
            return _twilio_error(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
        return jsonify(call_resource(session, cfg.account_sid))

    return app


class SimulatorServer:
    """Serves the REST subset on a loopback port and drives the calls it creates."""

    def __init__(self, carrier: Carrier, host: str = "127.0.0.1", port: int = 0):
        self.carrier = carrier
        self._lock = threading.Lock()
        self._driver: threading.Thread | None = None
        self._threads: list[threading.Thread] = []
        self.http = LoopbackServer(create_sim_app(carrier, self._start), host=host, port=port)
        self.url = self.http.url

    def _start(self, session: CallSession) -> None:
        timeline = self.carrier.timeline
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
            threads = [t for t in (self._driver, *self._threads) if t is not None]
        for th in threads:
            th.join(timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
