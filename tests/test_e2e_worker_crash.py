"""The worker dies (SIGKILL) in the middle of a busy minute and comes back: nothing is lost.

Unlike the virtual-time end-to-end tests, this one runs as production does, on
separate processes and real (scaled) time: the app serves webhooks on a loopback
port in this process, the carrier simulator places calls and answers the app's
REST requests on another, and a real `hotline worker` subprocess (RQ worker +
RQ's scheduler) runs every job -- routing, offers, bridges, timers -- reading the
same ScaledClock through HOTLINE_CLOCK (x20: a simulated minute in three seconds).

The worker's whole session is killed while offers are outstanding, and started again a moment
later. Whatever the kill interrupted (an offer job half done, a reservation whose
timer is lost) must be repaired: the reservation expiry timers and the periodic
sweep put calls back at their place and free the agents. At the end every call is
in exactly one final state (invariants.py on the event log).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from procs import kill_session
from test_e2e_hotline import ROSTER, T9

from hotline import invariants, reports
from hotline.carrier.loopback import LoopbackServer
from hotline.carrier.party import Party, Press, Silence
from hotline.carrier.phones import AgentPhone, Network
from hotline.carrier.server import SimulatorServer
from hotline.carrier.simulator import Carrier, CarrierConfig
from hotline.carrier.timing import RealTimeline
from hotline.clock import clock_from_spec
from hotline.routing.engine import SWEEP_INTERVAL_S
from hotline.services import Services

SPEED = 20.0
CALLS = 4
HOTLINE = Path(sys.executable).with_name("hotline")


def _worker(env: dict, log: Path) -> subprocess.Popen:
    # Its own session: everything it forks is found (and killed) by session.
    return subprocess.Popen(
        [str(HOTLINE), "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen) -> None:
    kill_session(proc.pid)
    proc.wait(timeout=10)


def _story(log_: list[dict], killed_at: float, worker_log: Path) -> str:
    """For a failure message: the event log, one line an event in clock seconds from the
    kill, and the end of both workers' output."""
    lines = [f"killed at {killed_at:.1f}"]
    for e in log_:
        rest = {k: v for k, v in e.items() if k not in ("id", "ts", "type")}
        lines.append(f"{e['ts'] - killed_at:+8.1f} {e['type']} {rest}")
    out = worker_log.read_text(errors="replace") if worker_log.exists() else ""
    return "\n".join([*lines, "--- worker output (last 60 lines) ---", *out.splitlines()[-60:]])


@pytest.mark.slow
def test_worker_killed_and_restarted_mid_run_loses_no_call(
    settings, rclient, tmp_path, report_figure
):
    spec = f"scaled:{time.time()!r}:{T9!r}:{SPEED!r}"
    clock = clock_from_spec(spec)
    app_http = LoopbackServer()
    network = Network()
    carrier = Carrier(
        CarrierConfig(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            incoming_url=app_http.url + "/webhooks/voice/incoming",
            status_callback_url=app_http.url + "/webhooks/voice/status",
        ),
        RealTimeline(clock),
        network=network,
    )
    sim = SimulatorServer(carrier)
    wrapup = tmp_path / "wrapup.yaml"
    wrapup.write_text("default: 5\n")  # short wrap-ups: the test is about the crash, not pacing
    # the app in this process ends the conversations (call_end.lua starts the wrap-up), the
    # worker ends the wrap-ups: both read the same file
    s = settings.with_(
        public_url=app_http.url, simulator_url=sim.url, clock=spec, wrapup_file=wrapup
    )
    svc = Services(s, clock=clock, client=rclient)
    from hotline.app import create_app

    app_http.mount(create_app(svc))
    env = {
        **os.environ,
        "REDIS_URL": s.redis_url,
        "HOTLINE_MODE": "test",
        "HOTLINE_CLOCK": spec,
        "TWILIO_ACCOUNT_SID": s.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": s.twilio_auth_token,
        "HOTLINE_PUBLIC_URL": app_http.url,
        "HOTLINE_SIMULATOR_URL": sim.url,
        "HOTLINE_KEY_PREFIX": s.key_prefix,
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("HOTLINE_RQ_QUEUE", None)
    env["HOTLINE_WRAPUP_FILE"] = str(wrapup)
    log = tmp_path / "worker.log"
    workers = []
    try:
        svc.roster.import_text(ROSTER, "roster.yaml", by="test")
        network.add(AgentPhone("ana", "+33600000001", answer_after=6, talk_seconds=40))
        network.add(AgentPhone("ben", "+33600000002", answer_after=6, talk_seconds=40))
        for a in ("ana", "ben"):
            svc.agents.set_state(a, "available", by="test")
        workers.append(_worker(env, log))
        callers = [
            carrier.new_call(
                Party([Press("1"), Silence()], patience=1800, name=f"c{i}"),
                from_=f"+3361100{i:04d}",
            )
            for i in range(CALLS)
        ]
        for c in callers:
            carrier._start(c)
            time.sleep(8 / SPEED)
        # Kill the worker while an offer is outstanding (a reservation in Redis).
        deadline = time.monotonic() + 30
        while not svc.redis.zcard(svc.keys.reservations) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert svc.redis.zcard(svc.keys.reservations), "no offer was ever outstanding"
        # The whole session, as a container kill or the OOM killer does: the work horse
        # (in a process group of its own) dies with it.
        kill_session(workers[0].pid)
        workers[0].wait()
        killed_at = clock.now()
        time.sleep(30 / SPEED)  # half a simulated minute without a worker
        workers.append(_worker(env, log))
        # Run until every caller's call is over and every call record is final.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.5)
            for a in (
                "ana",
                "ben",
            ):  # an agent whose phone rang for a lost offer makes herself available again
                agent = svc.agents.get(a)
                if agent.state == "away" and clock.now() - agent.since > 20:
                    svc.agents.set_state(a, "available", by="test")
            if all(
                c.ended for c in list(carrier.sessions.values())
            ) and not reports.unfinished_calls(reports.read_log(svc)):
                break
        log_ = reports.read_log(svc)
        invariants.assert_holds(log_)
        summary = reports.summary(log_)
        assert summary["calls"] == CALLS and summary["unfinished"] == 0, _story(
            log_, killed_at, log
        )
        assert summary["answered"] + summary["abandoned"] == CALLS, _story(log_, killed_at, log)
        after = [e for e in log_ if e["ts"] > killed_at]
        assert any(e["type"] == "call_completed" for e in after), _story(log_, killed_at, log)
        # the restarted worker sweeps: its chain moves past the dead worker's last link (a
        # sweep logs routing_swept only when it repaired something, so the mark says it)
        deadline = time.monotonic() + 2 * SWEEP_INTERVAL_S / SPEED + 10
        while float(svc.redis.get(svc.keys.timer("sweep"))) <= killed_at + SWEEP_INTERVAL_S:
            assert time.monotonic() < deadline, "no sweep ran after the restart"
            time.sleep(0.2)
        # Nothing is left half-done: no reservation, no agent stuck reserved or busy.
        assert svc.redis.zcard(svc.keys.reservations) == 0
        assert {svc.agents.get(a).state for a in ("ana", "ben")} <= {"available", "wrapup", "away"}
        report_figure(
            f"worker SIGKILL + restart (x{SPEED:g} scaled clock): {summary['answered']} answered, "
            f"{summary['abandoned']} abandoned, {summary['missed_offers']} offers lost/expired, "
            f"sweeps that repaired something after the restart: "
            f"{sum(e['type'] == 'routing_swept' for e in after)}"
        )
    finally:
        for w in workers:
            _stop(w)
        sim.close()
        app_http.close()
        carrier.close()
