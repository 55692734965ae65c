"""The repair sweep: the net under every trigger, every 60 s of clock time, one at a time.

Each part is idempotent and repairs what a lost job, a crashed worker or a lost callback
left behind; the order matters only in that earlier parts free agents the routing part
then matches:

0. who is on shift now (roster/store.refresh_shift_sets), when a roster is loaded: a
   shift-boundary job lost after its chain moved on (the chain reschedules first) would
   leave `onshift`/`oncall` wrong until the next boundary;
1. the legs (legs/conversation.repair): overdue wrap-ups ended, a wrap-up without an end
   given one, agents busy with a finished call freed; callback retries whose timer was lost;
2. routing (routing/repair.py): expired offers, calls missing from a line, stuck agents,
   pools, due overflow steps, then everything matchable matched;
3. reconciliation (reconcile.py): live calls that went quiet, or all of them after an
   outage, looked up at the carrier in jobs of their own.

The next sweep is scheduled first (a worker killed mid-sweep leaves it set), and
`sweep:lock` keeps two workers from sweeping at once: held until a time of the clock
(sweep_lock.lua), renewed between parts, with a token (a sweep that outlived its lock
never releases its successor's). A holder that died -- its worker SIGKILLed, or Redis
killed under it, the lock kept in the AOF -- delays the sweeps by LOCK_HOLD_S of clock
time at most, whatever the clock's speed; the parts being idempotent, a slow sweep
overlapped by the next costs work, not correctness. One `routing_swept` event says
what was repaired -- only when something was: an idle hotline's sweep every minute
would otherwise write 1,440 events a day that say nothing (the log is kept 35 days).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .services import Services


# Clock seconds a sweep holds its lock from each part's start: past one sweep interval
# (60 s), so a sweep alive and well is never overtaken by the next one, and a dead
# holder blocks the second sweep after it at most.
LOCK_HOLD_S = 90.0


def run(svc: Services, *, reschedule: bool = True) -> dict | None:
    """One sweep; None when another holds the lock."""
    from . import reconcile
    from .legs import callbacks, conversation
    from .routing import engine, repair

    if reschedule:
        engine.schedule_sweep(svc)
    token = uuid.uuid4().hex
    now = svc.clock.now()
    if not _lock(svc, "take", token):
        return None
    try:
        out = {}
        if svc.roster.version():
            started, ended = svc.roster.refresh_shift_sets(now)
            out["shift_changes"] = len(started) + len(ended)
        out.update(conversation.repair(svc, now))
        out["callbacks_requeued"] = sum(
            callbacks.retry(svc, s) == "requeued" for s in callbacks.due(svc, now)
        )
        _lock(svc, "renew", token)
        rep = repair.repair(svc, now)
        routing = rep.as_dict()
        out.update(routing)
        _lock(svc, "renew", token)
        out.update(reconcile.sweep(svc, now))
        if any(out.values()):
            svc.events.append("routing_swept", ts=now, **routing)
        return out
    finally:
        _lock(svc, "release", token)


def _lock(svc: Services, mode: str, token: str) -> bool:
    """sweep_lock.lua: take | renew | release; False when the lock is another sweep's."""
    return bool(
        svc.scripts.sweep_lock(
            keys=[svc.keys.sweep_lock],
            args=[mode, repr(svc.clock.now()), token, repr(LOCK_HOLD_S)],
        )
    )
