"""`hotline serve`'s supervisor: the processes of one machine, kept running.

`serve` is not one failure domain. Each child (gunicorn, every RQ worker) is a process
of its own; when one exits it is started again after a backoff (0.5 s, doubling to 10 s;
back to 0.5 s once it ran for a minute), and the event is logged. The embedded Redis,
when `serve` runs it, is watched the same way and restarted from its AOF at once (the
children reconnect by themselves: the web app answers the fallback TwiML meanwhile, the
workers wait). `serve` stops only on SIGINT/SIGTERM: children first (SIGTERM, then
SIGKILL after a grace period), Redis last, so nothing is lost that was acknowledged.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from .errors import StoreUnavailable

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 10.0)
STEADY_S = 60.0  # a child that ran this long has its backoff reset
POLL_S = 0.1
GRACE_S = 15.0


def log(message: str) -> None:
    print(f"hotline serve: {message}", file=sys.stderr, flush=True)


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    failures: int = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env)
        self.started_at = time.monotonic()
        self.restart_at = None

    def check(self, now: float) -> None:
        """Notice an exit and schedule the restart; start it again when its time has come."""
        if self.proc is not None and self.restart_at is None and self.proc.poll() is not None:
            ran = now - self.started_at
            self.failures = 0 if ran >= STEADY_S else self.failures + 1
            delay = BACKOFF_S[min(max(self.failures - 1, 0), len(BACKOFF_S) - 1)]
            log(
                f"{self.name} (pid {self.proc.pid}) exited with code {self.proc.returncode} after {ran:.1f} s; "
                f"restarting in {delay:g} s"
            )
            self.restart_at = now + delay
        if self.restart_at is not None and now >= self.restart_at:
            self.start()
            log(f"{self.name} restarted (pid {self.proc.pid})")

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, deadline: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{self.name} (pid {self.proc.pid}) did not stop within {GRACE_S:g} s: killing it")
            self.proc.kill()
            self.proc.wait()


class Supervisor:
    def __init__(self, children: list[Child], redis_server=None):
        """`redis_server`: the EmbeddedRedis to keep running (None with REDIS_URL)."""
        self.children = children
        self.redis = redis_server
        self._stop: int | None = None

    def _watch_redis(self) -> None:
        server = self.redis
        if server is None:
            return
        if server.alive() or (server.proc is None and server.ping()):
            return
        code = server.proc.returncode if server.proc is not None else None
        t0 = time.monotonic()
        try:
            server.ensure()
        except StoreUnavailable as e:
            log(f"embedded Redis could not be restarted: {e}; trying again")
            time.sleep(0.5)
            return
        log(
            f"embedded Redis exited (code {code}); restarted from its AOF in {time.monotonic() - t0:.2f} s"
        )

    def run(self) -> int:
        def handler(signum, frame):
            self._stop = signum

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for c in self.children:
                c.start()
            while self._stop is None:
                self._watch_redis()
                now = time.monotonic()
                for c in self.children:
                    c.check(now)
                time.sleep(POLL_S)
            log(f"stopping on {signal.Signals(self._stop).name}")
            return 0
        finally:
            self.shutdown()
            for s, h in old.items():
                signal.signal(s, h)

    def shutdown(self) -> None:
        for c in self.children:
            c.terminate()
        deadline = time.monotonic() + GRACE_S
        for c in self.children:
            c.wait(deadline)
        if self.redis is not None:
            self.redis.stop()
