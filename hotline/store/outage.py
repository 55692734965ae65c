"""Knowing that Redis was unreachable, so that the sweep reconciles calls with the carrier.

While Redis is down nothing can be written, and Twilio never retries a status callback
it could not deliver: a call may have ended, an agent's leg hung up, and the store not
know. So a process that met a Redis error remembers when (in memory: `Notes`), and
writes the mark `store:outage` (hash since, until) as soon as Redis answers again; a
restart of Redis itself is detected by its `run_id` changing (`restarted`). The sweep
takes the mark (`take`: read and delete at once) and looks up every live call.
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


def take(svc: Services) -> dict | None:
    """The outage mark, removed in the same step (one sweep acts on it); None if there is none."""
    got = svc.scripts.outage(keys=[svc.keys.outage], args=["take", "", ""])
    if not got:
        return None
    return {"since": float(got[0]), "until": float(got[1])}


def restarted(svc: Services) -> bool:
    """True once after the Redis server restarted (its run_id differs from the one last seen)."""
    run_id = svc.redis.info("server").get("run_id", "")
    previous = svc.redis.set(svc.keys.run_id, run_id, get=True)
    return previous is not None and previous != run_id


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
