"""Delayed jobs (overflow steps, reservation expiry, wrap-up end, shift boundaries), in one place.

`schedule(svc, at, func, *args)` runs the RQ job `func` when the service's clock reads
`at`. Every clock uses the same store, and this module owns it:

* `timers` (zset): member = JSON `[func, args, at]`, score = `at` in clock seconds. The
  same timer scheduled twice is one member.
* `timers:claimed` (zset): member -> end of its lease, in *real* seconds (a lease is about
  processes, not about the simulated time they share).

`release_due(svc)` moves the timers due now into the RQ queue. Every `hotline worker`
runs it from its own `TimerPump` thread several times a second, and the offline
simulator runs it whenever it moves its virtual clock. It is safe with any number of
workers and against SIGKILL at any line:

1. one Lua call (`timers_claim.lua`) claims the due timers -- out of `timers`, into
   `timers:claimed` with a lease -- together with any claim whose lease ran out (its
   claimer died); two pumps never claim the same timer;
2. each claimed timer is enqueued with a job id made from the member, `unique=True`:
   a second enqueue of the same timer (the claimer died after enqueueing it, and
   another pump took the claim back) is refused by RQ's own atomic check;
3. the claims are released.

So a timer runs once, and at most a lease (5 s) after its claimer died; a job that a
dead worker was running goes back to the queue as soon (hotline/abandoned_jobs.py).
We do not use RQ's scheduler: it runs in a child process that dies on a Redis error
and is restarted only by the worker's 10-minute maintenance, and its lock outlives a
SIGKILLed worker by a minute; its registry also rounds due times to whole seconds (docs/reliability.md).
Jobs RQ itself delays (the retries of `rq.Retry`) still go to RQ's scheduled registry:
`release_due` moves those too, under WATCH, so two workers never enqueue one twice.

Jobs must be idempotent and re-check their preconditions: the periodic sweep may
already have done their work, and a timer may fire after the state it was meant
for has changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from typing import TYPE_CHECKING

import redis

if TYPE_CHECKING:
    from . import abandoned_jobs
    from .services import Services


log = logging.getLogger(__name__)

# A claim older than this (real seconds) is taken back. It covers a few milliseconds of
# work (enqueue, release), so a claim still there after 5 s belongs to a dead pump. Taking
# back a live but stalled pump's claim is safe: the job id is the timer's, and RQ refuses
# the second enqueue while the first job's hash lives (its result TTL, minutes).
LEASE_S = 5.0
BATCH = 200  # timers claimed per Lua call


def schedule(svc: Services, at: float, func: str, *args) -> None:
    """Run job `func(*args)` at clock time `at` (at once if that is now or past)."""
    if at <= svc.clock.now():
        svc.rq_queue.enqueue(func, *args)
        return
    svc.redis.zadd(svc.keys.timers, {member(func, args, at): at})


def member(func: str, args, at: float) -> str:
    return json.dumps([func, list(args), at])


def job_id(svc: Services, m: str) -> str:
    """The RQ job id of one timer: the same timer always gets the same id."""
    return "timer-" + hashlib.sha1((svc.keys.prefix + m).encode()).hexdigest()


def release_due(svc: Services, now: float | None = None, *, limit: int = BATCH) -> int:
    """Enqueue every timer due at clock time `now` (and RQ's own delayed jobs due);
    returns how many of our timers were enqueued."""
    from rq.exceptions import DuplicateJobError

    now = svc.clock.now() if now is None else now
    k = svc.keys
    q = svc.rq_queue
    released = 0
    while True:
        real = time.time()
        claimed = svc.scripts.timers_claim(
            keys=[k.timers, k.timers_claimed],
            args=[repr(now), repr(real), repr(real + LEASE_S), limit],
        )
        if not claimed:
            break
        for m in claimed:
            func, args, _at = json.loads(m)
            try:
                q.enqueue(func, *args, job_id=job_id(svc, m), unique=True)
                released += 1
            except DuplicateJobError:
                pass  # enqueued before its claimer died: it runs once
        svc.redis.zrem(k.timers_claimed, *claimed)
        if len(claimed) < limit:
            break
    _release_rq_delayed(svc)
    return released


def _release_rq_delayed(svc: Services) -> int:
    """Move the jobs RQ delayed itself (retries with an interval) to the queue once due.

    Scores in RQ's registry are real epoch seconds; a simulated clock's `real_delay`
    makes them simulated ones (carrier/local.py), hence `real_delay(0)`."""
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    q = svc.rq_queue
    reg = ScheduledJobRegistry(queue=q)
    due_at = time.time() + svc.clock.real_delay(0.0)
    conn = svc.rq_redis
    with conn.pipeline() as p:
        try:
            p.watch(reg.key)
            ids = [
                i.decode() if isinstance(i, bytes) else i
                for i in p.zrangebyscore(reg.key, 0, due_at, start=0, num=BATCH)
            ]
            if not ids:
                return 0
            found = Job.fetch_many(ids, connection=conn, serializer=q.serializer)
            p.multi()
            for jid, job in zip(ids, found):
                if job is not None:
                    q._enqueue_job(job, pipeline=p, at_front=job.should_enqueue_at_front())
                p.zrem(reg.key, jid)
            p.execute()
        except redis.WatchError:
            return 0  # another worker moved them (or one was added): the next pass looks again
    return len(ids)


def pending(svc: Services) -> list[tuple[str, list, float]]:
    """Every timer not yet due, by time: [(func, args, at)] (tests, `hotline queue`)."""
    return [tuple(json.loads(m)) for m in svc.redis.zrange(svc.keys.timers, 0, -1)]


class TimerPump(threading.Thread):
    """The loop every `hotline worker` runs beside RQ's: due timers into the queue every
    `interval` real seconds, and every `chains_every` seconds `engine.ensure_timers`
    (the sweep and shift-boundary chains restarted if a crash lost them).

    It never dies: a Redis error is logged once per outage and retried with a short
    backoff; the first pass after the outage runs the moment Redis answers again, and
    `store.outage` is told, so that the sweep reconciles calls with the carrier."""

    def __init__(
        self,
        svc: Services,
        *,
        interval: float = 0.2,
        chains_every: float = 5.0,
        heartbeat: abandoned_jobs.Heartbeat | None = None,
        reap_every: float = 1.0,
    ):
        super().__init__(name="hotline-timers", daemon=True)
        self.svc = svc
        self.interval = interval
        self.chains_every = chains_every
        # With the worker's heartbeat (hotline/abandoned_jobs.py) the pump also requeues
        # the jobs of workers that stopped beating, once its own has beaten long enough.
        self.heartbeat = heartbeat
        self.reap_every = reap_every
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        from . import abandoned_jobs
        from .archive import daily
        from .routing import engine
        from .store import outage

        reaper = abandoned_jobs.Reaper(self.svc)
        down_since: float | None = None
        next_chains = next_reap = 0.0
        delay = self.interval
        while not self.stopping.is_set():
            try:
                release_due(self.svc)
                real = time.time()
                if (
                    self.heartbeat is not None
                    and real >= next_reap
                    and self.heartbeat.steady_for(real) >= abandoned_jobs.STALE_S
                ):
                    reaper.run(real)
                    next_reap = real + self.reap_every
                if time.monotonic() >= next_chains:
                    engine.ensure_timers(self.svc)
                    daily.ensure(self.svc)  # the archive's chain (hotline/archive/daily.py)
                    next_chains = time.monotonic() + self.chains_every
                if down_since is not None:
                    log.warning(
                        "timers: Redis answers again after %.1f s", time.time() - down_since
                    )
                    outage.record(self.svc, down_since)
                    down_since = None
                delay = self.interval
            except (redis.RedisError, OSError) as e:
                if down_since is None:
                    down_since = time.time()
                    log.error("timers: Redis unreachable (%s); retrying", e)
                delay = min(1.0, max(self.interval, delay * 2))
            except Exception:  # a bug in one job's scheduling must not stop every timer
                log.exception("timers: unexpected error; retrying")
                delay = 1.0
            self.stopping.wait(delay)
