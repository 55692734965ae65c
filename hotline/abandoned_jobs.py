"""Jobs a dead worker was running, back in the queue within seconds.

RQ hands a job to a worker by moving its id into the queue's intermediate list, then
into the started registry with a heartbeat of the job's monitoring interval plus 60 s.
When the worker is SIGKILLed with its work horse (a container kill, the OOM killer),
nothing answers for that job: RQ's own maintenance, every 10 minutes, finds its
heartbeat run out and moves it to the *failed* registry. A wrap-up end, an overflow
step or a reservation expiry the dead worker was running would wait for the sweep, and a
job the sweep does not redo would never run.

So every `hotline worker` says it is alive: a `Heartbeat` thread writes `workers:alive`
(process token -> last beat, real seconds) twice a second, and the worker names its RQ
workers `<token>.<n>`. Once a second its timer pump (timers.py) also runs the `Reaper`
over the started registry and the intermediate list; a job held by one of our workers
that has not beaten for `STALE_S` goes back to the front of the queue, in one
WATCH/MULTI on the job's own hash -- two pumps never requeue it twice, and a worker that finishes the job
meanwhile (it was only slow) changes that hash, so the requeue is dropped. Jobs are
idempotent (hotline/jobs.py): if the "dead" worker was only paused, the job runs twice,
never zero times.

A pump judges others only after its own heartbeat has beaten for `STALE_S` without a
gap: during a Redis outage (or a pause) nobody could beat, and a live worker must get
the time to say so again. Workers not named by us (a plain `rq worker` on the same
queue) are never judged. Beats are real time, like the timer leases: they are about processes, not about the
clock the calls live in.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING

import redis

if TYPE_CHECKING:
    from .services import Services


log = logging.getLogger(__name__)

PREFIX = "hl."
BEAT_S = 0.5  # a worker process says it is alive this often (real seconds)
GAP_S = 1.5  # a beat later than this after the previous one: this process was cut off
STALE_S = 5.0  # a worker silent this long is dead (ten beats missed)
FORGET_S = 3600.0  # beats older than this are removed from `workers:alive`


def process_token() -> str:
    """One per `hotline worker` process: `hl.<host>.<pid>.<random>` (pids are reused)."""
    return f"{PREFIX}{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


def token_of(worker_name: str) -> str | None:
    """The process token in an RQ worker name we gave (`<token>.<n>`), else None."""
    if not worker_name.startswith(PREFIX):
        return None
    return worker_name.rsplit(".", 1)[0]


def beat(svc: Services, token: str, now: float | None = None) -> None:
    svc.redis.zadd(svc.keys.workers_alive, {token: time.time() if now is None else now})


class Heartbeat(threading.Thread):
    """Says every `every` real seconds that this worker process is alive.

    A thread of its own, so that nothing else the process does (a long release of due
    timers, a sweep) delays a beat. `steady_for()` is how long it has beaten without a
    gap: a Redis outage (an error, or a reply that took seconds: a paused server) starts
    it again from zero, since nobody else could beat meanwhile either."""

    def __init__(self, svc: Services, token: str, *, every: float = BEAT_S):
        super().__init__(name="hotline-heartbeat", daemon=True)
        self.svc = svc
        self.token = token
        self.every = every
        self.stopping = threading.Event()
        self._since: float | None = None
        self._last: float | None = None

    def stop(self) -> None:
        self.stopping.set()

    def steady_for(self, now: float | None = None) -> float:
        since, last = self._since, self._last
        now = time.time() if now is None else now
        if since is None or last is None or now - last > GAP_S:
            return 0.0
        return now - since

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                beat(self.svc, self.token)
                real = time.time()
                if self._last is None or real - self._last > GAP_S:
                    self._since = real
                self._last = real
            except (redis.RedisError, OSError):
                self._since = self._last = None
            self.stopping.wait(self.every)


class Reaper:
    """The part of one worker's pump that requeues other workers' abandoned jobs.

    It remembers, between passes, the intermediate-list entries it saw without a started
    execution: a live worker moves a job from that list to the started registry within
    milliseconds, so one still there `STALE_S` later was taken by a worker that died."""

    def __init__(self, svc: Services):
        self.svc = svc
        # (job id, its enqueued_at) -> when this pump first saw it in the list alone
        self.limbo: dict[tuple[str, bytes | None], float] = {}

    def run(self, now: float | None = None) -> int:
        """Requeue what dead workers hold; returns how many jobs went back to the queue."""
        from rq.executions import Execution
        from rq.job import Job
        from rq.utils import as_text

        now = time.time() if now is None else now
        svc = self.svc
        q = svc.rq_queue
        conn = svc.rq_redis
        alive_key = svc.keys.workers_alive
        svc.redis.zremrangebyscore(alive_key, 0, now - FORGET_S)
        beats = dict(svc.redis.zrange(alive_key, 0, -1, withscores=True))
        requeued = 0
        running: set[str] = set()
        for raw in conn.zrange(q.started_job_registry.key, 0, -1):
            composite = as_text(raw)
            job_id, _, execution_id = composite.rpartition(":")
            running.add(job_id)
            try:
                execution = Execution.fetch(execution_id, job_id, conn)
            except ValueError:
                continue  # its hash expired: RQ's own cleanup has it
            token = token_of(execution.worker_name)
            if token is None:
                continue
            last = beats.get(token, execution.created_at.timestamp())
            if now - last < STALE_S:
                continue
            if self._requeue(job_id, composite, execution.worker_name):
                requeued += 1
        seen = {}
        for job_id in map(as_text, conn.lrange(q.intermediate_queue_key, 0, -1)):
            if job_id in running:
                continue
            # Keyed by when the job was enqueued: once requeued and taken again, it is
            # another stay in the list, timed afresh.
            enqueued = conn.hget(Job.key_for(job_id), "enqueued_at")
            first = self.limbo.get((job_id, enqueued), now)
            if now - first >= STALE_S:
                if self._requeue(job_id, None, "a worker between dequeue and start", enqueued):
                    requeued += 1
                continue
            seen[(job_id, enqueued)] = first
        self.limbo = seen
        return requeued

    def _requeue(
        self, job_id: str, composite: str | None, held_by: str, enqueued: bytes | None = None
    ) -> bool:
        """Back to the front of the queue, once, unless the job moved on meanwhile.

        Under WATCH of the job's hash, which every step of RQ's and every requeue changes:
        the entry is checked still there (another pump may have requeued it just before),
        then it leaves the registry and the list and the job is enqueued, in one MULTI."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        q = self.svc.rq_queue
        conn = self.svc.rq_redis
        started_key = q.started_job_registry.key
        with conn.pipeline() as p:
            try:
                p.watch(Job.key_for(job_id))
                try:
                    job = Job.fetch(job_id, connection=conn, serializer=q.serializer)
                except NoSuchJobError:
                    p.unwatch()
                    conn.lrem(q.intermediate_queue_key, 0, job_id)
                    return False
                if composite is not None:
                    still = conn.zscore(started_key, composite) is not None
                else:
                    still = (
                        conn.lpos(q.intermediate_queue_key, job_id) is not None
                        and conn.hget(job.key, "enqueued_at") == enqueued
                    )
                if not still:
                    return False
                # QUEUED too in the started registry: the worker records the execution
                # before its work horse marks the job started (and died in between).
                if job.get_status(refresh=False) not in (JobStatus.QUEUED, JobStatus.STARTED):
                    return False  # finished, failed or stopped: a leftover entry RQ cleans
                p.multi()
                if composite is not None:
                    p.zrem(started_key, composite)
                p.lrem(q.intermediate_queue_key, 0, job_id)
                q._enqueue_job(job, pipeline=p, at_front=True)
                p.execute()
            except redis.WatchError:
                return False  # the job changed (its worker finished it, or another pump won)
        log.warning(
            "worker: job %s (%s) was held by %s, gone: requeued", job_id, job.func_name, held_by
        )
        return True
