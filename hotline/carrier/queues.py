"""The simulated carrier's own queues (<Enqueue>): FIFO per name, QueueSid, average wait.

One `Queues` per Carrier, shared by every call's session and by the REST server
(Queue Members update finds a call by QueueSid, or the front of a queue).
"""

from __future__ import annotations

import threading

from .call_data import new_sid

MAX_QUEUE_SIZE = 1000  # reported as MaxQueueSize, never enforced


class Queues:
    """Twilio-side queues: FIFO per name, with QueueSid and average wait. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._queues: dict[str, dict] = {}

    def join(self, name: str, call_sid: str, now: float) -> str:
        with self._lock:
            q = self._queues.setdefault(name, {"sid": new_sid("QU"), "members": {}, "waits": []})
            q["members"][call_sid] = now
            return q["sid"]

    def stats(self, name: str, call_sid: str, now: float) -> dict:
        with self._lock:
            q = self._queues[name]
            members = list(q["members"].items())
            position = next(i for i, (sid, _) in enumerate(members, 1) if sid == call_sid)
            waits = [now - t for _, t in members]
            return {
                "QueueSid": q["sid"],
                "QueuePosition": position,
                "QueueTime": int(now - q["members"][call_sid]),
                "AvgQueueTime": int(sum(waits) / len(waits)),
                "CurrentQueueSize": len(members),
                "MaxQueueSize": MAX_QUEUE_SIZE,
            }

    def find(self, queue_sid: str, call_sid: str | None = None) -> str | None:
        """The name of the queue with this QueueSid (and, if given, holding this call)."""
        with self._lock:
            for name, q in self._queues.items():
                if q["sid"] == queue_sid and (call_sid is None or call_sid in q["members"]):
                    return name
        return None

    def front(self, queue_sid: str) -> str | None:
        with self._lock:
            for q in self._queues.values():
                if q["sid"] == queue_sid and q["members"]:
                    return next(iter(q["members"]))
        return None

    def leave(self, name: str, call_sid: str, now: float) -> int:
        with self._lock:
            q = self._queues[name]
            joined = q["members"].pop(call_sid, now)
            q["waits"].append(now - joined)
            return int(now - joined)

    def snapshot(self) -> dict:
        with self._lock:
            return {
                name: {"sid": q["sid"], "members": list(q["members"])}
                for name, q in self._queues.items()
            }
