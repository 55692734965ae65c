"""Delayed jobs (overflow steps, reservation expiry, wrap-up end, shift boundaries), in one place.

`schedule(svc, at, func, *args)` runs the RQ job `func` when the service's clock
reads `at`. How depends on the clock, and this is the only module that knows:

* real or scaled time: RQ's scheduler, `enqueue_in(clock.real_delay(at - now))`
  — so a demo at 30x fires a 120 s overflow step after 4 real seconds;
* virtual time (ManualClock: tests and the offline simulator, where time jumps
  from one event to the next): a `timers` zset scored by clock time, released
  into the RQ queue by `release_due()` whenever the simulator moves the clock.
  RQ's real-time scheduler cannot serve here: it would fire every timer at once.

Jobs must be idempotent and re-check their preconditions: the periodic sweep may
already have done their work, and a timer may fire after the state it was meant
for has changed.
"""

from __future__ import annotations

import json
from datetime import timedelta

from .clock import ManualClock


def is_virtual(svc) -> bool:
    return isinstance(svc.clock, ManualClock)


def schedule(svc, at: float, func: str, *args) -> None:
    now = svc.clock.now()
    if is_virtual(svc):
        member = json.dumps([func, list(args), at])
        svc.redis.zadd(svc.keys.timers, {member: at})
        return
    delay = svc.clock.real_delay(max(0.0, at - now))
    if delay <= 0:
        svc.rq_queue.enqueue(func, *args)
    else:
        svc.rq_queue.enqueue_in(timedelta(seconds=delay), func, *args)


def release_due(svc, now: float | None = None) -> int:
    """Move every virtual timer due at `now` into the RQ queue; returns how many."""
    now = svc.clock.now() if now is None else now
    due = svc.redis.zrangebyscore(svc.keys.timers, "-inf", now)
    released = 0
    for member in due:
        # ZREM first: of two processes releasing at once, only one enqueues.
        if svc.redis.zrem(svc.keys.timers, member):
            func, args, _at = json.loads(member)
            svc.rq_queue.enqueue(func, *args)
            released += 1
    return released
