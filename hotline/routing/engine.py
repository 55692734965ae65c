"""What routing does on each trigger; hotline/jobs.py runs these as RQ jobs.

Triggers are events, never polling alone: a call starts waiting, an agent becomes
available, a shift starts or ends, an overflow step or a reservation timer is due.
The periodic sweep (`sweep`) is the net under all of them: it repairs and matches
whatever a lost job left behind, and is idempotent.

Timers go through hotline/timers.py (one store for every clock, released by each
worker's timer pump). The sweep and the shift-boundary timer reschedule themselves,
first thing when they run; `timer:{name}` remembers the next firing, and setting it
is one Lua step with the timer, so starting the chains twice does not double them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .. import job_names as names
from .. import timers
from . import overflow, reservations

if TYPE_CHECKING:
    from ..services import Services


SWEEP_INTERVAL_S = 60.0
SHIFT_LOOKAHEAD_S = 8 * 86400


def call_waiting(svc: Services, sid: str):
    """A call entered its waiting line (or became a callback request)."""
    overflow.prepare(svc, sid)
    overflow.apply_due(svc, sid)
    overflow.schedule(svc, sid)
    return svc.matcher.match_call(sid)


def agent_available(svc: Services, agent_id: str):
    return svc.matcher.match_agent(agent_id)


def overflow_due(svc: Services, sid: str, step: int):
    applied = overflow.apply_due(svc, sid)
    if applied:
        return svc.matcher.match_call(sid)
    return None


def reservation_due(svc: Services, sid: str):
    """An offer's timer fired: expire it if still unanswered, then offer the call again."""
    status = reservations.expire(svc, sid)
    if status == "expired":
        overflow.apply_due(svc, sid)
        return svc.matcher.match_call(sid)
    return None


def shift_boundary(svc: Services, reschedule: bool = True) -> int:
    """Shifts started or ended: recompute who is on, re-index the pools, match."""
    if reschedule:
        schedule_next_boundary(svc)  # first: a crash below must not end the chain
    svc.roster.refresh_shift_sets()
    svc.agents.reindex()
    return len(svc.matcher.match_all())


def _chain(svc: Services, name: str, at: float, func: str, *, dead: bool = False) -> bool:
    """Set the next firing of timer chain `name` at clock time `at` unless one is already
    due in (now, at]: one Lua step (timer_chain.lua)."""
    now = svc.clock.now()
    return bool(
        svc.scripts.timer_chain(
            keys=[svc.keys.timer(name), svc.keys.timers],
            args=[repr(now), repr(at), timers.member(func, (), at), "1" if dead else ""],
        )
    )


def schedule_sweep(svc: Services, *, dead: bool = False) -> bool:
    return _chain(svc, "sweep", svc.clock.now() + SWEEP_INTERVAL_S, names.SWEEP, dead=dead)


def schedule_next_boundary(svc: Services, *, dead: bool = False) -> float | None:
    from ..roster import schedule

    roster = svc.roster.load()
    if roster is None:
        return None
    now = svc.clock.now()
    start = datetime.fromtimestamp(now, tz=UTC)
    later = [
        t
        for t in schedule.boundaries(roster, start, start + timedelta(seconds=SHIFT_LOOKAHEAD_S))
        if t.timestamp() > now
    ]
    if not later:
        return None
    at = later[0].timestamp()
    _chain(svc, "shift", at, names.SHIFT_BOUNDARY, dead=dead)
    return at


def start_timers(svc: Services) -> None:
    """At worker start: make sure the sweep and the next shift boundary are scheduled."""
    schedule_sweep(svc)
    schedule_next_boundary(svc)


def ensure_timers(svc: Services) -> None:
    """Restart a timer chain that died: one MGET when both are alive.

    Run by every worker's timer pump every few seconds and by the routing jobs. A chain
    is dead when its next firing is more than a sweep interval in the past: its timer
    ran and its job was lost before rescheduling (it reschedules first thing, so only a
    kill in between does that)."""
    now = svc.clock.now()
    sweep_at, shift_at = svc.redis.mget(svc.keys.timer("sweep"), svc.keys.timer("shift"))
    if sweep_at is None or float(sweep_at) < now - SWEEP_INTERVAL_S:
        schedule_sweep(svc, dead=True)
    if shift_at is None or float(shift_at) < now - SWEEP_INTERVAL_S:
        schedule_next_boundary(svc, dead=shift_at is not None)
