"""`hotline simulator` as its own process against a running hotline, and the REST Call
resource it serves.

The end-to-end tests run as production does, on separate processes and real (scaled)
time, like test_e2e_worker_crash.py: the app serves webhooks on a loopback port in this
process, a real `hotline worker` subprocess runs its jobs, and `hotline simulator
--exit-when-done --json` (a subprocess too) places the scenario's callers and answers
for its agents; every process builds the same ScaledClock from HOTLINE_CLOCK. The
other tests point the simulator at small stand-in apps (unreachable, answering 500,
answering the fallback apology, keeping callers waiting) to check its counters, its
deadline and its exit status.

The REST tests fetch calls with the real twilio client rebased on the simulator
(telephony/port.py's _RebasedHttpClient), as the app's jobs reach it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, Response, request
from procs import kill_session
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, VoiceResponse

from hotline.carrier.loopback import LoopbackServer
from hotline.carrier.party import Party
from hotline.carrier.phones import AgentPhone, Network
from hotline.carrier.server import SimulatorServer
from hotline.carrier.simulator import Carrier, CarrierConfig
from hotline.carrier.timing import RealTimeline
from hotline.clock import ScaledClock, clock_from_spec
from hotline.config import Settings
from hotline.ivr.fallback import fallback_twiml
from hotline.services import Services
from hotline.telephony.port import _RebasedHttpClient

HOTLINE = Path(sys.executable).with_name("hotline")
PARIS = ZoneInfo("Europe/Paris")
T10 = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS).timestamp()  # Tuesday 1 December 2026, 10:00
SPEED = 20.0  # a simulated minute in three real seconds

ROSTER = """
timezone: Europe/Paris
skills: [connection, software, error_message, general]
agents:
  - {id: ana, name: Ana, phone: '+33600000001', skills: {connection: 5, general: 3}, languages: [fr, en]}
  - {id: ben, name: Ben, phone: '+33600000002', skills: {connection: 4, general: 2}, languages: [fr]}
shifts:
  - {id: ana-day, agent: ana, days: mon-fri, start: '08:00', end: '18:00'}
  - {id: ben-day, agent: ben, days: mon-fri, start: '08:00', end: '18:00'}
"""

SUMMARY_KEYS = {
    "offered",
    "answered",
    "abandoned",
    "self_service_resolved",
    "callbacks_requested",
    "callbacks_completed",
    "missed_offers",
    "service_level",
    "average_speed_of_answer_s",
    "max_wait_s",
    "unfinished",
    "calls",
    "left_in_ivr",
    "failed",
    "service_level_threshold_s",
}
RUN_KEYS = {"placed", "ended", "failed_webhooks", "heard_apology", "deadline_reached"}


def _scenario(
    tmp_path: Path, *, patience: float = 900, duration: float = 20, talk=(10, 15)
) -> Path:
    roster = tmp_path / "roster.yaml"
    roster.write_text(ROSTER, encoding="utf-8")
    path = tmp_path / "scenario.yaml"
    path.write_text(
        f"""
name: simulator test
start: "2026-12-01T10:00:00+01:00"
duration_s: {duration}
horizon_s: 1800
roster: {roster}
seed: 11
agents:
  - {{id: ana, answer_after: [1, 2], talk_seconds: [{talk[0]}, {talk[1]}]}}
  - {{id: ben, answer_after: [1, 2], talk_seconds: [{talk[0]}, {talk[1]}]}}
calls:
  mix: {{connection: 1.0}}
  patience_s: [{patience}, {patience}]
""",
        encoding="utf-8",
    )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(settings: Settings, tmp_path: Path, *, spec: str, app_url: str, sim_url: str) -> dict:
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url,
        "HOTLINE_MODE": "test",
        "HOTLINE_CLOCK": spec,
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "HOTLINE_PUBLIC_URL": app_url,
        "HOTLINE_SIMULATOR_URL": sim_url,
        "HOTLINE_KEY_PREFIX": settings.key_prefix,
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("HOTLINE_RQ_QUEUE", None)
    wrapup = tmp_path / "wrapup.yaml"
    wrapup.write_text("default: 5\n")
    env["HOTLINE_WRAPUP_FILE"] = str(wrapup)
    return env


def _simulator(
    env: dict, tmp_path: Path, *args: str, timeout: float = 60
) -> tuple[subprocess.CompletedProcess, dict]:
    proc = subprocess.run(
        [str(HOTLINE), "simulator", *args],
        check=False,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, f"no stdout; stderr:\n{proc.stderr}"
    return proc, json.loads(lines[-1])


class StandIn:
    """A signed-or-not stand-in for the hotline: `incoming(n)` answers the n-th call."""

    def __init__(self, incoming):
        self.server = LoopbackServer()
        self.url = self.server.url
        self.lock = threading.Lock()
        self.calls = 0
        self.paths: list[str] = []
        app = Flask("stand-in")

        @app.post("/<path:path>")
        def route(path):
            with self.lock:
                self.paths.append("/" + path)
                if path == "webhooks/voice/incoming":
                    self.calls += 1
                    n = self.calls
                else:
                    n = None
            if n is None:
                return Response("", status=204)
            return incoming(n)

        self.server.mount(app)

    def close(self):
        self.server.close()


# The whole hotline under `hotline simulator --exit-when-done --json` ------------------------


@pytest.mark.slow
def test_simulator_runs_a_scenario_against_a_running_hotline_and_reports_it(
    settings, rclient, tmp_path
):
    from hotline.app import create_app

    n = 3
    spec = f"scaled:{time.time()!r}:{T10!r}:{SPEED!r}"
    clock = clock_from_spec(spec)
    port = _free_port()
    sim_url = f"http://127.0.0.1:{port}"
    app_http = LoopbackServer()
    s = settings.with_(public_url=app_http.url, simulator_url=sim_url, clock=spec)
    svc = Services(s, clock=clock, client=rclient)
    app_http.mount(create_app(svc))
    env = _env(s, tmp_path, spec=spec, app_url=app_http.url, sim_url=sim_url)
    svc.roster.import_text(ROSTER, "roster.yaml", by="test")
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [str(HOTLINE), "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        t = time.monotonic()
        proc, out = _simulator(
            env,
            tmp_path,
            "--calls",
            str(n),
            "--exit-when-done",
            "--json",
            "--deadline-s",
            "40",
            "--url",
            app_http.url,
            "--port",
            str(port),
            "--scenario",
            str(_scenario(tmp_path)),
        )
        real = time.monotonic() - t
    finally:
        kill_session(worker.pid)
        worker.wait(timeout=10)
        app_http.close()
    assert proc.returncode == 0, proc.stderr
    assert set(out) >= RUN_KEYS | SUMMARY_KEYS
    assert out["placed"] == n and out["ended"] == n
    assert out["failed_webhooks"] == 0 and out["heard_apology"] == 0
    assert out["deadline_reached"] is False
    assert out["calls"] == n and out["unfinished"] == 0 and out["failed"] == 0
    assert (
        out["answered"]
        + out["abandoned"]
        + out["self_service_resolved"]
        + out["callbacks_requested"]
        >= n
    )
    assert out["answered"] >= 1
    assert real < 40
    assert "not logged in" not in proc.stderr  # the simulator logged both agents in


# Counting what went wrong --------------------------------------------------------------------


@pytest.mark.slow
def test_unreachable_app_counts_every_caller_as_a_failed_webhook(settings, rclient, tmp_path):
    spec = f"scaled:{time.time()!r}:{T10!r}:{SPEED!r}"
    port = _free_port()
    dead = f"http://127.0.0.1:{_free_port()}"  # nobody listens there
    env = _env(settings, tmp_path, spec=spec, app_url=dead, sim_url=f"http://127.0.0.1:{port}")
    proc, out = _simulator(
        env,
        tmp_path,
        "--calls",
        "2",
        "--exit-when-done",
        "--json",
        "--no-login",
        "--url",
        dead,
        "--port",
        str(port),
        "--scenario",
        str(_scenario(tmp_path, duration=5)),
    )
    assert proc.returncode == 0, proc.stderr
    assert out["placed"] == 2 and out["ended"] == 2
    assert (
        out["failed_webhooks"] == 2
    )  # the first request of each call; a failed call reports nothing more
    assert out["heard_apology"] == 0 and out["deadline_reached"] is False
    assert out["calls"] == 0 and out["unfinished"] == 0  # the hotline never heard of them


@pytest.mark.slow
def test_http_500_and_no_twiml_are_failed_webhooks_and_the_apology_is_heard(
    settings, rclient, tmp_path
):
    apology = fallback_twiml(settings, "fr")

    def incoming(n):
        if n == 1:
            return Response("boom", status=500)
        if n == 2:
            return Response("<html>not twiml</html", mimetype="text/html")
        return Response(apology, mimetype="text/xml")

    stand_in = StandIn(incoming)
    spec = f"scaled:{time.time()!r}:{T10!r}:{SPEED!r}"
    port = _free_port()
    env = _env(
        settings, tmp_path, spec=spec, app_url=stand_in.url, sim_url=f"http://127.0.0.1:{port}"
    )
    try:
        proc, out = _simulator(
            env,
            tmp_path,
            "--calls",
            "4",
            "--exit-when-done",
            "--json",
            "--no-login",
            "--url",
            stand_in.url,
            "--port",
            str(port),
            "--scenario",
            str(_scenario(tmp_path, duration=5)),
        )
    finally:
        stand_in.close()
    assert proc.returncode == 0, proc.stderr
    assert out["placed"] == 4 and out["ended"] == 4
    assert out["failed_webhooks"] == 2
    assert out["heard_apology"] == 2
    assert out["deadline_reached"] is False


@pytest.mark.slow
def test_redis_unreadable_gives_null_figures_not_a_crash(settings, tmp_path):
    apology = fallback_twiml(settings, "fr")
    stand_in = StandIn(lambda n: Response(apology, mimetype="text/xml"))
    spec = f"scaled:{time.time()!r}:{T10!r}:{SPEED!r}"
    port = _free_port()
    env = _env(
        settings, tmp_path, spec=spec, app_url=stand_in.url, sim_url=f"http://127.0.0.1:{port}"
    )
    env["REDIS_URL"] = f"redis://127.0.0.1:{_free_port()}/0"  # nobody listens there
    try:
        proc, out = _simulator(
            env,
            tmp_path,
            "--calls",
            "1",
            "--exit-when-done",
            "--json",
            "--url",
            stand_in.url,
            "--port",
            str(port),
            "--scenario",
            str(_scenario(tmp_path, duration=2)),
        )
    finally:
        stand_in.close()
    assert proc.returncode == 0, proc.stderr
    assert out["placed"] == out["ended"] == out["heard_apology"] == 1
    assert all(out[k] is None for k in SUMMARY_KEYS)
    assert "cannot read the event log" in proc.stderr
    assert "not logged in" in proc.stderr


@pytest.mark.slow
def test_deadline_stops_the_run_with_callers_still_waiting(settings, rclient, tmp_path):
    def incoming(n):
        r = VoiceResponse()
        r.enqueue(
            "support"
        )  # no waitUrl: the carrier's hold music until the caller's patience runs out
        return Response(str(r), mimetype="text/xml")

    stand_in = StandIn(incoming)
    spec = f"scaled:{time.time()!r}:{T10!r}:{SPEED!r}"
    port = _free_port()
    env = _env(
        settings, tmp_path, spec=spec, app_url=stand_in.url, sim_url=f"http://127.0.0.1:{port}"
    )
    try:
        t = time.monotonic()
        proc, out = _simulator(
            env,
            tmp_path,
            "--calls",
            "2",
            "--exit-when-done",
            "--json",
            "--no-login",
            "--deadline-s",
            "1.5",
            "--url",
            stand_in.url,
            "--port",
            str(port),
            "--scenario",
            str(_scenario(tmp_path, patience=3600, duration=2)),
        )
        real = time.monotonic() - t
    finally:
        stand_in.close()
    assert proc.returncode == 3, proc.stderr
    assert out["deadline_reached"] is True
    assert out["placed"] == 2 and out["ended"] == 0
    assert out["failed_webhooks"] == 0
    assert "hanging up 2 calls" in proc.stderr
    # The callers still on the line were hung up: the "app" got their final status callbacks.
    assert stand_in.paths.count("/webhooks/voice/status") == 2
    assert real < 15


# The REST Call resource, through the real twilio client ------------------------------------


ACCOUNT = "AC" + "ab" * 16
TOKEN = "sim-cli-token"
AGENT = "+33611111111"


@pytest.fixture
def rest():
    """A stand-in app, a simulator on a fast scaled clock, and a twilio Client on it."""
    routes: dict = {}
    app_http = LoopbackServer()
    app = Flask("rest-stand-in")

    @app.post("/<path:path>")
    def route(path):
        answer = routes.get("/" + path, VoiceResponse())
        return Response(
            str(answer(request.form) if callable(answer) else answer), mimetype="text/xml"
        )

    app_http.mount(app)
    network = Network()
    clock = ScaledClock(time.time(), T10, 50.0)
    cfg = CarrierConfig(
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        incoming_url=app_http.url + "/incoming",
        status_callback_url=app_http.url + "/status",
    )
    carrier = Carrier(cfg, RealTimeline(clock), network=network)
    sim = SimulatorServer(carrier)
    client = Client(ACCOUNT, TOKEN, http_client=_RebasedHttpClient(sim.url))

    class R:
        pass

    r = R()
    r.routes, r.url, r.network, r.carrier, r.sim, r.client = (
        routes,
        app_http.url,
        network,
        carrier,
        sim,
        client,
    )
    yield r
    for s in list(carrier.sessions.values()):
        if not s.ended:
            s.hangup()
    sim.wait_idle(5)
    sim.close()
    carrier.close()
    app_http.close()


def _until(fn, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_fetch_unknown_call_is_twilio_404_20404(rest):
    sid = "CA" + "0" * 32
    with pytest.raises(TwilioRestException) as e:
        rest.client.calls(sid).fetch()
    assert e.value.status == 404 and e.value.code == 20404
    assert f"/Calls/{sid}.json" in e.value.msg


def test_fetch_ringing_then_canceled_outbound_call(rest):
    rest.network.add(
        AgentPhone("ana", AGENT, answer_after=500, talk_seconds=30)
    )  # 10 s real: never, here
    rest.routes["/agent"] = VoiceResponse()
    created = rest.client.calls.create(to=AGENT, from_="+33100000000", url=rest.url + "/agent")
    assert created.status in ("queued", "ringing")
    call = _until(lambda: (c := rest.client.calls(created.sid).fetch()).status == "ringing" and c)
    assert (
        call.sid == created.sid
        and call.direction == "outbound-api"
        and call.parent_call_sid is None
    )
    assert isinstance(call.start_time, datetime) and call.start_time.tzinfo is not None
    assert call.end_time is None and call.duration is None
    rest.client.calls(created.sid).update(status="canceled")
    call = _until(lambda: (c := rest.client.calls(created.sid).fetch()).status == "canceled" and c)
    assert (
        call.end_time is None and call.duration is None
    )  # Twilio: empty unless the call completed


def test_fetch_in_progress_then_completed_inbound_call_and_its_dial_child_leg(rest):
    rest.network.add(AgentPhone("ana", AGENT, answer_after=2, talk_seconds=3000))
    r = VoiceResponse()
    r.say("Bonjour")
    d = Dial(timeout=20)
    d.number(AGENT)
    r.append(d)
    rest.routes["/incoming"] = r
    session = rest.carrier.new_call(Party([], patience=600, max_call_seconds=3600))
    rest.carrier._start(session)
    sid = session.spec.sid
    child = _until(
        lambda: next(
            (
                s
                for s in list(rest.carrier.sessions.values())
                if s.spec.parent_sid == sid and s.answered
            ),
            None,
        )
    )
    parent = rest.client.calls(sid).fetch()
    assert (
        parent.status == "in-progress"
        and parent.direction == "inbound"
        and parent.parent_call_sid is None
    )
    assert parent.start_time is not None and parent.end_time is None and parent.duration is None
    leg = rest.client.calls(child.spec.sid).fetch()
    assert (
        leg.status == "in-progress"
        and leg.direction == "outbound-dial"
        and leg.parent_call_sid == sid
    )
    time.sleep(0.1)  # a few simulated seconds of conversation
    rest.client.calls(sid).update(status="completed")
    parent = _until(lambda: (c := rest.client.calls(sid).fetch()).status == "completed" and c)
    assert parent.end_time is not None and parent.end_time >= parent.start_time
    assert parent.duration is not None and int(parent.duration) >= 1
    listed = [c.status for c in rest.client.calls.list()]
    assert set(listed) <= {
        "queued",
        "ringing",
        "in-progress",
        "completed",
        "busy",
        "failed",
        "no-answer",
        "canceled",
    }


def test_fetch_no_answer_and_busy_outbound_calls(rest):
    rest.network.add(AgentPhone("ana", AGENT, offers=["miss", "busy"]))
    rest.routes["/agent"] = VoiceResponse()
    missed = rest.client.calls.create(
        to=AGENT, from_="+33100000000", url=rest.url + "/agent", timeout=5
    )
    busy = rest.client.calls.create(to=AGENT, from_="+33100000000", url=rest.url + "/agent")
    for sid, status in ((missed.sid, "no-answer"), (busy.sid, "busy")):
        call = _until(
            lambda sid=sid: (
                (c := rest.client.calls(sid).fetch()).status not in ("queued", "ringing") and c
            )
        )
        assert call.status == status
        assert call.start_time is not None and call.end_time is None and call.duration is None
