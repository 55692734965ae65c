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
`sweep:lock` (with a token: a sweep slower than the lock's TTL never releases its
successor's) keeps two workers from sweeping at once. One `routing_swept` event says
what was repaired -- only when something was: an idle hotline's sweep every minute
would otherwise write 1,440 events a day that say nothing (the log is kept 35 days).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .services import Services


LOCK_TTL_S = 300


def run(svc: Services, *, reschedule: bool = True) -> dict | None:
    """One sweep; None when another holds the lock."""
    from . import reconcile
    from .legs import callbacks, conversation
    from .routing import engine, repair

    if reschedule:
        engine.schedule_sweep(svc)
    token = uuid.uuid4().hex
    if not svc.redis.set(svc.keys.sweep_lock, token, nx=True, ex=LOCK_TTL_S):
        return None
    try:
        now = svc.clock.now()
        out = {}
        if svc.roster.version():
            started, ended = svc.roster.refresh_shift_sets(now)
            out["shift_changes"] = len(started) + len(ended)
        out.update(conversation.repair(svc, now))
        out["callbacks_requeued"] = sum(
            callbacks.retry(svc, s) == "requeued" for s in callbacks.due(svc, now)
        )
        rep = repair.repair(svc, now)
        routing = rep.as_dict()
        out.update(routing)
        out.update(reconcile.sweep(svc, now))
        if any(out.values()):
            svc.events.append("routing_swept", ts=now, **routing)
        return out
    finally:
        svc.scripts.lock_release(keys=[svc.keys.sweep_lock], args=[token])
