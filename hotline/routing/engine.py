"""What routing does on each trigger; hotline/jobs.py runs these as RQ jobs.

Triggers are events, never polling alone: a call starts waiting, an agent becomes
available, a shift starts or ends, an overflow step or a reservation timer is due.
The periodic sweep (`sweep`) is the net under all of them: it repairs and matches
whatever a lost job left behind, and is idempotent.

Timers go through hotline/timers.py: RQ's scheduler (`Worker(..., with_scheduler=True)`,
`enqueue_in(clock.real_delay(...))`) on real or scaled time, so a demo at 30x fires
them 30x sooner; the virtual timer set under a manual clock. The sweep and the shift-boundary timer reschedule themselves; `timer:{name}`
remembers the next firing, so starting the timers twice does not double them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .. import timers
from . import overflow, reservations

SWEEP_INTERVAL_S = 60.0
SHIFT_LOOKAHEAD_S = 8 * 86400


def call_waiting(svc, sid: str):
    """A call entered its waiting line (or became a callback request)."""
    overflow.prepare(svc, sid)
    overflow.apply_due(svc, sid)
    overflow.schedule(svc, sid)
    return svc.matcher.match_call(sid)


def agent_available(svc, agent_id: str):
    return svc.matcher.match_agent(agent_id)


def overflow_due(svc, sid: str, step: int):
    applied = overflow.apply_due(svc, sid)
    if applied:
        return svc.matcher.match_call(sid)
    return None


def reservation_due(svc, sid: str):
    """An offer's timer fired: expire it if still unanswered, then offer the call again."""
    status = reservations.expire(svc, sid)
    if status == "expired":
        overflow.apply_due(svc, sid)
        return svc.matcher.match_call(sid)
    return None


def shift_boundary(svc, reschedule: bool = True) -> int:
    """Shifts started or ended: recompute who is on, re-index the pools, match."""
    svc.roster.refresh_shift_sets()
    svc.agents.reindex()
    matched = len(svc.matcher.match_all())
    if reschedule:
        schedule_next_boundary(svc)
    return matched


def sweep(svc, reschedule: bool = True):
    # One sweep at a time: two would only repeat each other's idempotent work.
    if not svc.redis.set(svc.keys.sweep_lock, "1", nx=True, ex=300):
        return None
    try:
        return reservations.sweep(svc)
    finally:
        svc.redis.delete(svc.keys.sweep_lock)
        if reschedule:
            schedule_sweep(svc)


def _schedule_once(svc, name: str, at: float, func: str) -> bool:
    """Enqueue `func` at clock time `at` unless this timer is already set for `at` or earlier."""
    key = svc.keys.timer(name)
    now = svc.clock.now()
    current = svc.redis.get(key)
    if current is not None and now < float(current) <= at:
        return False
    svc.redis.set(key, repr(at))
    timers.schedule(svc, at, func)
    return True


def schedule_sweep(svc) -> bool:
    now = svc.clock.now()
    key = svc.keys.timer("sweep")
    current = svc.redis.get(key)
    if current is not None and float(current) > now:
        return False
    return _schedule_once(svc, "sweep", now + SWEEP_INTERVAL_S, "hotline.jobs.sweep")


def schedule_next_boundary(svc) -> float | None:
    from . import schedule

    roster = svc.roster.load()
    if roster is None:
        return None
    now = svc.clock.now()
    start = datetime.fromtimestamp(now, tz=timezone.utc)
    later = [t for t in schedule.boundaries(roster, start, start + timedelta(seconds=SHIFT_LOOKAHEAD_S))
             if t.timestamp() > now]
    if not later:
        return None
    at = later[0].timestamp()
    _schedule_once(svc, "shift", at, "hotline.jobs.shift_boundary")
    return at


def start_timers(svc) -> None:
    """At worker start: make sure the sweep and the next shift boundary are scheduled."""
    schedule_sweep(svc)
    schedule_next_boundary(svc)


def ensure_timers(svc) -> None:
    """Restart a timer chain that died (its job lost with a crashed worker): one MGET.

    Run by every routing job, so the sweep keeps going even if nobody called
    start_timers; a chain that is merely a little late is left alone.
    """
    now = svc.clock.now()
    sweep_at, shift_at = svc.redis.mget(svc.keys.timer("sweep"), svc.keys.timer("shift"))
    if sweep_at is None or float(sweep_at) < now - SWEEP_INTERVAL_S:
        svc.redis.delete(svc.keys.timer("sweep"))
        schedule_sweep(svc)
    if shift_at is None or float(shift_at) < now - SWEEP_INTERVAL_S:
        schedule_next_boundary(svc)
