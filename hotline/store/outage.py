"""Knowing that Redis was unreachable, so that the sweep reconciles calls with the carrier.

While Redis is down nothing can be written, and Twilio never retries a status callback
it could not deliver: a call may have ended, an agent's leg hung up, and the store not
know. So a process that met a Redis error remembers when (in memory: `Notes`), and
writes the mark `store:outage` (hash since, until) as soon as Redis answers again; a
restart of Redis itself is detected by its `run_id` changing (`restarted`). The sweep
reads the mark (`peek`), looks up every live call, and only then clears it and notes
the run_id it acted on (`clear`, `seen`): a sweep cut off in between leaves both for the
next one, so the reconciliation an outage calls for cannot be lost with it.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..services import Services


def record(svc: Services, since: float, until: float | None = None) -> None:
    """Note an outage seen from `since` (real epoch seconds) to `until` (default now).
    Kept until the sweep takes it; a second outage before that widens it."""
    until = time.time() if until is None else until
    svc.scripts.outage(keys=[svc.keys.outage], args=["record", repr(since), repr(until)])


def peek(svc: Services) -> dict | None:
    """The outage mark, left in place; None if there is none."""
    got = svc.scripts.outage(keys=[svc.keys.outage], args=["peek", "", ""])
    if not got:
        return None
    return {"since": float(got[0]), "until": float(got[1])}


def clear(svc: Services, mark: dict) -> bool:
    """Remove the mark once acted on -- unless an outage recorded meanwhile widened it."""
    args = ["clear", "", repr(mark["until"])]
    return bool(svc.scripts.outage(keys=[svc.keys.outage], args=args))


def run_id(svc: Services) -> str:
    return svc.redis.info("server").get("run_id", "")


def restarted(svc: Services, current: str | None = None) -> bool:
    """True while the Redis server's run_id differs from the one last `seen`: it restarted
    since (a first look, with nothing seen yet, is not a restart)."""
    current = run_id(svc) if current is None else current
    previous = svc.redis.get(svc.keys.run_id)
    return previous is not None and previous != current


def seen(svc: Services, current: str) -> None:
    """Remember `current` as the run_id acted on (after the reconciliation it called for)."""
    svc.redis.set(svc.keys.run_id, current)


class Notes:
    """One process's memory of Redis errors, written to Redis by the first request that works."""

    def __init__(self):
        self._since: float | None = None
        self._lock = threading.Lock()

    def failed(self) -> None:
        with self._lock:
            if self._since is None:
                self._since = time.time()

    def flush(self, svc: Services) -> None:
        """Cheap when nothing failed (one attribute read): called on every request."""
        if self._since is None:
            return
        with self._lock:
            since, self._since = self._since, None
        if since is None:
            return
        try:
            record(svc, since)
        except Exception:
            with self._lock:
                self._since = self._since or since  # still down: keep it for the next request
            raise
