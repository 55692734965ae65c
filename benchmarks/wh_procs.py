"""The processes of a benchmark run: embedded Redis, gunicorns, their health and CPU time.

Everything a run starts goes into one `Procs`, stopped in reverse order whatever
happens; every child also gets SIGTERM if the benchmark itself dies
(`die_with_parent`, PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from wh_common import ACCOUNT_SID, HOST, REPO

# The settings a benchmark server gets from the benchmark, never from the caller's shell.
OWN_ENV = ("HOTLINE_", "TWILIO_", "REDIS_")


def die_with_parent() -> None:
    # If the benchmark is killed outright, its servers and clients go too.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Procs:
    """Everything this run started, stopped in reverse order whatever happens."""

    def __init__(self):
        self.items: list[tuple[str, object]] = []

    def add(self, name, obj):
        self.items.append((name, obj))
        return obj

    def stop_all(self):
        while self.items:
            name, obj = self.items.pop()
            try:
                if isinstance(obj, subprocess.Popen):
                    if obj.poll() is None:
                        obj.terminate()
                        try:
                            obj.wait(timeout=15)
                        except subprocess.TimeoutExpired:
                            obj.kill()
                            obj.wait()
                else:
                    obj.stop()
            except Exception as e:  # keep stopping the others
                print(f"warning: could not stop {name}: {e}", file=sys.stderr)


@contextlib.contextmanager
def benchmark_dir(keep: bool):
    """(a temporary directory, a Procs) for one run; on the way out, Ctrl-C or not, every
    process is stopped and the directory removed (kept, and said, with `keep`)."""
    tmp = Path(tempfile.mkdtemp(prefix="hlb-", dir="/tmp"))
    procs = Procs()
    try:
        yield tmp, procs
    except KeyboardInterrupt:
        print("interrupted: stopping servers", file=sys.stderr)
        raise
    finally:
        procs.stop_all()
        if keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Target:
    """A server under load: its name in the report, its port, its gunicorn master."""

    name: str
    port: int
    proc: subprocess.Popen


def start_redis(tmp: Path, procs: Procs):
    """The run's private redis-server (hotline.store.embedded), in `tmp`."""
    from hotline.store.embedded import EmbeddedRedis

    redis_srv = EmbeddedRedis(tmp / "r")
    redis_srv.ensure()
    procs.add("redis", redis_srv)
    return redis_srv


def server_env(tmp: Path, redis_url: str, token: str, drop: tuple[str, ...] = OWN_ENV) -> dict:
    """The environment of every gunicorn of the run (each adds its HOTLINE_PUBLIC_URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        {
            "HOTLINE_MODE": "test",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": token,
            "REDIS_URL": redis_url,
            "HOTLINE_DATA_DIR": str(tmp / "data"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def wait_healthy(port: int, proc: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what}: gunicorn exited with code {proc.returncode}")
        try:
            c = http.client.HTTPConnection(HOST, port, timeout=2)
            c.request("GET", "/healthz")
            r = c.getresponse()
            last = r.read().decode()
            c.close()
            if r.status == 200:
                return
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    raise SystemExit(f"{what}: not healthy after {timeout:.0f}s ({last})")


def start_gunicorn(
    procs: Procs,
    app: str,
    port: int,
    env: dict,
    args,
    extra: list[str],
    log: Path,
    worker_class: str | None = None,
    workers: int | None = None,
):
    """gunicorn with the shipped settings (hotline.web: limits, keep-alive, no control
    socket), the worker class and count of this run (or of one compared variant)."""
    from hotline import web

    worker_class = worker_class or args.worker_class
    threads = ["--threads", str(args.threads)] if worker_class == "gthread" else []
    cmd = web.gunicorn_argv(
        HOST,
        port,
        workers or args.workers,
        worker_class=worker_class,
        app=app,
        extra=["--log-level", "warning", "--backlog", "2048", *extra, *threads],
    )
    with open(log, "ab") as out:  # the child keeps its own copy of the file
        p = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    procs.add(f"gunicorn {app}", p)
    return p


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def machine_busy() -> tuple[float, float]:
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = f[3] + f[4]
    return sum(f), idle
