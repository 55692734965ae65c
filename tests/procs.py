"""Real processes for the fault tests: `hotline worker`s in their own process groups (so a
kill reaches everything they forked, as a container kill or an OOM does), a private
embedded Redis to SIGKILL, SIGSTOP and restart, and a few waits."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HOTLINE = Path(sys.executable).with_name("hotline")
TESTS = Path(__file__).parent


def worker_env(settings, **extra) -> dict:
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url,
        "HOTLINE_MODE": "test",
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "HOTLINE_PUBLIC_URL": settings.public_url,
        "HOTLINE_KEY_PREFIX": settings.key_prefix,
        "HOTLINE_DATA_DIR": str(settings.data_dir),
        # the probe jobs of the tests live in tests/
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("HOTLINE_RQ_QUEUE", None)
    env.pop("HOTLINE_CLOCK", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    # Its own session and process group: killpg reaches the work horse it forks too.
    return subprocess.Popen(
        [str(HOTLINE), "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    if sig in (signal.SIGKILL, signal.SIGTERM):
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def wait_for(predicate, timeout: float, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(every)
    return predicate()
