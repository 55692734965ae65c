"""The console's WFM children: a computation of seconds (a forecast, a report) run in a
Python process of its own, so the console's one worker and `hotline worker`'s queue stay
free. The job goes over stdin as a pickle: it holds the settings, secrets included, which
belong in neither argv nor the environment."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path


class Children(list):
    """The children one module of this process started (a list, for tests to count)."""

    def spawn(self, module: str, job: dict, name: str) -> None:
        """Start `python -m module`, hand it `job`, and reap it when it ends."""
        root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        try:
            proc.stdin.write(pickle.dumps(job))
            proc.stdin.close()
        except OSError:
            proc.kill()
            proc.wait()
            raise
        self[:] = [c for c in self if c.poll() is None] + [proc]
        # Reap it when it ends (under gevent, a greenlet: Popen.wait is cooperative there).
        threading.Thread(target=proc.wait, name=name, daemon=True).start()

    def wait(self, timeout: float = 120.0) -> None:
        """Wait for them all (tests: none outlives its test)."""
        deadline = time.monotonic() + timeout
        for c in list(self):
            c.wait(max(0.1, deadline - time.monotonic()))
        self.clear()


def read_job() -> dict:
    """In the child: the job its parent wrote on stdin."""
    return pickle.load(sys.stdin.buffer)
