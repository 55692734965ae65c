"""Estimated wait, from recent handle times and the agents who can take the call.

Owns `aht:{skill}`: a list of the last HISTORY handle times (talk + wrap-up,
seconds), newest first. With n agents staffed for the skill and a mean handle
time A, the caller at position p waits for about (ceil(p / n) - 1/2) * A: each
"round" of n agents frees one call per A seconds, and the agents' current calls
are on average half done. No handle time yet means no estimate (None): the
caller hears "a few minutes" rather than a made-up number; so does a line with
nobody staffed for the skill (the wait then depends on overflow, not on A).

The staffed count comes from the routing engine (`svc.agents.staffed_count`)
when it exists, cached for STAFFED_TTL_S of clock time: the wait loop asks on
every turn of every waiting caller, and who is on shift changes slowly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..services import Services


HISTORY = 50
STAFFED_TTL_S = 10.0


def estimate_from(position: int, handle_times: list[float], staffed: int | None) -> float | None:
    if not handle_times or position < 1 or staffed == 0:
        return None
    n = staffed if staffed else 1
    mean = sum(handle_times) / len(handle_times)
    return (math.ceil(position / n) - 0.5) * mean


class WaitEstimator:
    def __init__(self, svc: Services):
        self.svc = svc
        self.r = svc.redis
        self.keys = svc.keys
        self._staffed: dict[str, tuple[float, int | None]] = {}

    def record_handle_time(self, skill: str, seconds: float, *, pipeline=None) -> None:
        if not (seconds >= 0) or math.isinf(seconds):
            raise ValueError(
                f"handle time must be a non-negative number of seconds, not {seconds!r}"
            )
        p = pipeline if pipeline is not None else self.r.pipeline(transaction=False)
        key = self.keys.handle_times(skill)
        p.lpush(key, repr(float(seconds)))
        p.ltrim(key, 0, HISTORY - 1)
        if pipeline is None:
            p.execute()

    def handle_times(self, skill: str, *, pipeline=None) -> list[float] | None:
        """The recent handle times; with `pipeline`, only queue the read (returns None)."""
        if pipeline is not None:
            pipeline.lrange(self.keys.handle_times(skill), 0, HISTORY - 1)
            return None
        return parse_handle_times(self.r.lrange(self.keys.handle_times(skill), 0, HISTORY - 1))

    def staffed(self, skill: str) -> int:
        """Agents on shift now holding the skill and not offline (cached STAFFED_TTL_S)."""
        now = self.svc.clock.now()
        hit = self._staffed.get(skill)
        if hit and 0 <= now - hit[0] < STAFFED_TTL_S:
            return hit[1]
        count = int(self.svc.agents.staffed_count(skill))
        self._staffed[skill] = (now, count)
        return count

    def estimate(self, skill: str, position: int) -> float | None:
        return estimate_from(position, self.handle_times(skill), self.staffed(skill))


def parse_handle_times(raw: list) -> list[float]:
    out = []
    for v in raw or ():
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            continue
    return out
