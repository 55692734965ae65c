"""Real processes for the fault tests: `hotline worker`s in their own sessions (so a kill
reaches everything they forked, as a container kill or an OOM does), a private
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
    # Its own session: kill_session reaches the work horses it forks too (RQ puts each
    # horse in a process group of its own, so killpg alone would leave it running).
    return subprocess.Popen(
        [str(HOTLINE), "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def session_pids(sid: int) -> list[int]:
    """Every live process of session `sid` (Linux /proc: the sixth field of stat)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                pids.append(int(stat.parent.name))
    return pids


def kill_session(pid: int) -> None:
    """SIGKILL a process started with `start_new_session` and everything in its session:
    what a container kill or the OOM killer does to a worker and its work horse."""
    for _ in range(3):  # a process forked while we looked is caught on the next pass
        pids = session_pids(pid)
        if not pids:
            return
        for p in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """SIGKILL to the worker's whole session (work horses included); another `sig` to its
    group (SIGTERM: the worker itself sees its horse through)."""
    if sig == signal.SIGKILL:
        kill_session(proc.pid)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
    if sig in (signal.SIGKILL, signal.SIGTERM):
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_session(proc.pid)
            proc.wait(timeout=10)


def wait_for(predicate, timeout: float, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(every)
    return predicate()
