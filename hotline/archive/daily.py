"""The daily archive run: a self-rescheduling timer chain like the sweep's (timers.py).

The chain fires at RUN_AT local time (the centre's zone, a quiet hour), reschedules itself
first thing (`timer_chain.lua`: the `timer:archive` mark and the timer in one step, so
two workers set one timer and no crash leaves a mark without its timer), then runs the
mover with a time budget under RQ's job timeout. A run that stopped with work left (a
first run over a year of backlog) continues a minute later, through an ordinary timer.
Every worker's timer pump calls `ensure` every few seconds: a chain whose firing is long
past (its job lost) or was never set starts again.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from .. import job_names as names
from .. import timers
from ..errors import ArchiveBusy

if TYPE_CHECKING:
    from ..services import Services

NAME = "archive"
RUN_AT = time(3, 40)  # local: after the night's on-call, before the morning peak
BUDGET_S = 120.0  # per job, under RQ's default 180 s job timeout
CONTINUE_AFTER_S = 60.0
DEAD_AFTER_S = 3600.0  # a firing this far in the past without a new mark: the chain died


def next_run_at(now: float, tz) -> float:
    """The next RUN_AT (local) strictly after `now`; across DST, the local wall time."""
    local = datetime.fromtimestamp(now, tz)
    at = datetime.combine(local.date(), RUN_AT, tzinfo=tz)
    if at.timestamp() <= now:
        at = datetime.combine(local.date() + timedelta(days=1), RUN_AT, tzinfo=tz)
    return at.timestamp()


def schedule(svc: Services, *, dead: bool = False) -> bool:
    now = svc.clock.now()
    at = next_run_at(now, svc.settings.tz)
    return bool(
        svc.scripts.timer_chain(
            keys=[svc.keys.timer(NAME), svc.keys.timers],
            args=[repr(now), repr(at), timers.member(names.ARCHIVE, (), at), "1" if dead else ""],
        )
    )


def ensure(svc: Services) -> None:
    """Start the chain if it was never set, or again if it died: one GET when alive."""
    at = svc.redis.get(svc.keys.timer(NAME))
    if at is None or float(at) < svc.clock.now() - DEAD_AFTER_S:
        schedule(svc, dead=at is not None)


def job(svc: Services) -> dict | None:
    """The chain's job: reschedule first (a crash below must not end the chain), then run."""
    schedule(svc)
    return more(svc)


def more(svc: Services) -> dict | None:
    """One budgeted run, continued a minute later while work is left; None when another
    run holds the lock (it does the work)."""
    from .mover import run

    try:
        out = run(svc, max_seconds=BUDGET_S)
    except ArchiveBusy:
        return None
    if out["more"]:
        timers.schedule(svc, svc.clock.now() + CONTINUE_AFTER_S, names.ARCHIVE_MORE)
    return out
