"""`hotline demo`: the simulated morning, headless, as the CLI runs it.

The CLI builds everything from the environment (REDIS_URL = the test session's
Redis, flushed around each test by the `svc` fixture) and writes to the store
`hotline events` reads afterwards.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from click.testing import CliRunner

from hotline import invariants, reports
from hotline.carrier.day import DEFAULT_DAY, load_day
from hotline.cli import main
from hotline.errors import HotlineError


@pytest.fixture
def env(redis_url, tmp_path):
    return {
        "REDIS_URL": redis_url,
        "HOTLINE_MODE": "test",
        "HOTLINE_DATA_DIR": str(tmp_path / "d"),
        "TWILIO_ACCOUNT_SID": None,
        "TWILIO_AUTH_TOKEN": None,
        "HOTLINE_PUBLIC_URL": None,
        "HOTLINE_CLOCK": None,
        "HOTLINE_KEY_PREFIX": None,
    }


def run(env, *args):
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def test_headless_json_prints_one_summary_object_with_nothing_unfinished(svc, env):
    result = run(env, "demo", "--headless", "--json", "--calls", "12", "--agents", "3")
    assert result.exit_code == 0, result.output
    lines = [x for x in result.stdout.splitlines() if x.strip()]
    assert len(lines) == 1
    s = json.loads(lines[0])
    for key in (
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
    ):
        assert key in s
    assert s["unfinished"] == 0 and s["calls"] == 12
    assert (
        s["missed_offers"] >= 1
    )  # the scenario has Camille miss her third offer (seeded: she gets one)
    # `hotline events --json` afterwards: the whole morning, and the same figures from it.
    ev = run(env, "events", "--json")
    log = [json.loads(x) for x in ev.stdout.splitlines()]
    assert reports.summary(log) == s
    invariants.assert_holds(log)
    assert {"roster_imported", "shift_started", "call_completed", "wrapup_started"} <= {
        e["type"] for e in log
    }


def test_the_default_scenario_is_a_weekday_morning_with_five_agents_and_sixty_calls():
    sc = load_day(DEFAULT_DAY)
    assert len(sc.agents) == 5 and sc.calls["count"] == 60
    plans = sc.caller_plans()
    assert len(plans) == 60 and all(0 <= p.at <= sc.duration_s for p in plans)
    assert plans == load_day(DEFAULT_DAY).caller_plans()  # seeded: the same morning every time
    assert "miss" in next(a for a in sc.agents if a.id == "camille.martin").offers


def test_a_bad_scenario_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("start: '2026-12-01T10:30:00'\nagents: []\n")
    with pytest.raises(HotlineError, match="UTC offset"):
        load_day(bad)
    bad.write_text("start: '2026-12-01T10:30:00+01:00'\nagents: [{id: x, offers: [maybe]}]\n")
    with pytest.raises(HotlineError, match="maybe"):
        load_day(bad)


def test_the_embedded_redis_the_demo_started_for_itself_is_stopped_when_it_exits():
    """Without REDIS_URL the demo starts the data dir's own Redis on demand; its in-process
    RQ worker's connection is its own, so nothing is left running after it."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from hotline.store.embedded import EmbeddedRedis

    d = Path("/tmp") / f"hl-demo-{os.getpid()}"  # short: a unix socket path is at most 107 bytes
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "HOTLINE_"))}
    env |= {"HOTLINE_MODE": "test", "HOTLINE_DATA_DIR": str(d)}
    try:
        out = subprocess.run(
            [sys.executable, "-m", "hotline.cli", "demo", "--headless", "--json", "--calls", "4"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout.splitlines()[-1])["unfinished"] == 0
        assert not EmbeddedRedis(d).ping()
        assert EmbeddedRedis(d)._running_pid() is None
    finally:
        server = EmbeddedRedis(d)
        if server.ping():
            import redis

            with contextlib.suppress(redis.RedisError):
                redis.Redis(unix_socket_path=str(server.socket)).shutdown()
        shutil.rmtree(d, ignore_errors=True)
