"""Time, injected.

Everything that reads the time takes a Clock, so that shifts, DST changes,
timeouts and whole simulated days are testable without sleeping. Lua scripts
never call Redis' TIME: they take `now` (epoch seconds, float) as an argument.

The scaled clock is how the demo runs a simulated hour in minutes: every
process (web, worker, simulator) builds the same ScaledClock from the same
`HOTLINE_CLOCK` string, so they all read the same simulated time, and every
real delay (RQ scheduling, sleeps) is divided by `speed` in `real_delay`.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""

    def real_delay(self, seconds: float) -> float:
        """How many real seconds correspond to `seconds` of this clock's time."""


class SystemClock:
    def now(self) -> float:
        return time.time()

    def real_delay(self, seconds: float) -> float:
        return seconds

    def spec(self) -> str:
        return "system"


class ManualClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: float | datetime = 1_767_225_600.0):  # 2026-01-01T00:00Z
        if isinstance(start, datetime):
            start = start.timestamp()
        self._t = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def set(self, t: float | datetime) -> None:
        if isinstance(t, datetime):
            t = t.timestamp()
        with self._lock:
            self._t = float(t)

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._t += seconds
            return self._t

    def real_delay(self, seconds: float) -> float:
        return 0.0

    def spec(self) -> str:
        return f"manual:{self._t!r}"


class ScaledClock:
    """Simulated time = sim_start + (real now - real_start) * speed."""

    def __init__(self, real_start: float, sim_start: float, speed: float):
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.real_start = float(real_start)
        self.sim_start = float(sim_start)
        self.speed = float(speed)

    def now(self) -> float:
        return self.sim_start + (time.time() - self.real_start) * self.speed

    def real_delay(self, seconds: float) -> float:
        return seconds / self.speed

    def spec(self) -> str:
        return f"scaled:{self.real_start!r}:{self.sim_start!r}:{self.speed!r}"


def clock_from_spec(spec: str | None) -> Clock:
    """Parse `HOTLINE_CLOCK`: "system" (default), "scaled:REAL:SIM:SPEED", "manual:T"."""
    if not spec or spec == "system":
        return SystemClock()
    kind, _, rest = spec.partition(":")
    try:
        if kind == "scaled":
            real, sim, speed = (float(x) for x in rest.split(":"))
            return ScaledClock(real, sim, speed)
        if kind == "manual":
            return ManualClock(float(rest))
    except ValueError:
        pass
    raise ValueError(
        f"HOTLINE_CLOCK: cannot read {spec!r} (system | scaled:REAL:SIM:SPEED | manual:T)"
    )


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)
