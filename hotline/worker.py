"""`hotline worker`: one RQ worker, the timer pump beside it, and a loop that outlives Redis.

RQ's `Worker.work()` returns (or raises) when Redis goes away mid-way: a timeout it
treats as fatal, an error while it records a heartbeat or its own death. A worker
that then exits leaves every job and timer waiting for a person. So `run` starts
`Worker.work()` again after a short backoff, for as long as nobody asked it to stop
(SIGINT/SIGTERM: RQ's warm shutdown, the job in hand finishes first). The timer pump
(hotline/timers.py) is a thread of this process: it needs no lock and no child
process, and it resumes on its own when Redis answers again. A heartbeat thread says
the process is alive, so that other workers requeue the job it held if it is SIGKILLed
(hotline/abandoned_jobs.py).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import TYPE_CHECKING

import redis

from . import abandoned_jobs
from .timers import TimerPump

if TYPE_CHECKING:
    from .services import Services


log = logging.getLogger(__name__)

BACKOFF_S = (0.2, 0.5, 1.0, 2.0)


def worker_class():
    from rq import Worker

    class HotlineWorker(Worker):
        # RQ waits 1, 2, 4... up to 60 s between tries to reach Redis again: a job the
        # timer pump released the moment Redis came back would wait that long. Once a second.
        exponential_backoff_factor = 1.0
        max_connection_wait_time = 1.0
        asked_to_stop = False

        def request_stop(self, signum, frame):
            # An idle worker stops by raising StopRequested without setting _stop_requested:
            # remember the signal, so that `run` does not take it for an outage.
            self.asked_to_stop = True
            super().request_stop(signum, frame)

        def unsubscribe(self):
            # RQ's joins its command-channel thread with no time limit, and that thread may
            # have gone back to redis-py's wait for a subscription -- 60 s -- after reading
            # the reply to the unsubscribe: a SIGTERMed worker then outlived serve's 15 s
            # grace and was killed (1 stop in 6 on a loaded machine). The thread is a daemon
            # and closes its own connection when it ends: wait a second at most.
            if self.pubsub_thread:
                self.pubsub.unsubscribe()
                self.pubsub_thread.stop(timeout=1.0)
                if not self.pubsub_thread.is_alive():
                    self.pubsub.close()

    return HotlineWorker


def run(svc: Services, *, burst: bool = False, logging_level: str = "WARNING") -> int:
    """Work until asked to stop (or, with `burst`, until the queue is empty). Returns 0."""
    from . import jobs
    from .routing import engine

    jobs.use_services(svc)
    stop = threading.Event()
    token = abandoned_jobs.process_token()
    heartbeat = abandoned_jobs.Heartbeat(svc, token)
    pump = TimerPump(svc, heartbeat=heartbeat)
    if not burst:
        heartbeat.start()
        pump.start()
    attempt = starts = 0
    try:
        while not stop.is_set():
            try:
                engine.start_timers(svc)  # the periodic sweep and the next shift boundary
                # Named after this process, so that other workers' pumps can tell when it
                # died holding a job (abandoned_jobs.py); a new name per start, as RQ wants.
                name = f"{token}.{starts}"
                starts += 1
                w = worker_class()([svc.rq_queue], connection=svc.rq_redis, name=name)
                w.work(burst=burst, with_scheduler=False, logging_level=logging_level)
                if burst or w.asked_to_stop or w._stop_requested:
                    return 0
                attempt = 0
            except (redis.RedisError, OSError) as e:
                log.error("worker: Redis unavailable (%s); starting again", e)
                if burst:
                    raise
            delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            attempt += 1
            _sleep_unless_stopped(stop, delay)
        return 0
    finally:
        pump.stop()
        heartbeat.stop()


def _sleep_unless_stopped(stop: threading.Event, seconds: float) -> None:
    """Between two `Worker.work()` runs RQ's signal handlers are not installed: ours are."""

    def handler(signum, frame):
        stop.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        deadline = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < deadline:
            stop.wait(0.05)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
