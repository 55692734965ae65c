"""Jobs a dead worker held go back to the queue (hotline/abandoned_jobs.py).

The unit tests leave a job where a SIGKILLed worker leaves it -- RQ's own worker takes it
(the intermediate list) and records its execution (the started registry), then nothing
more happens -- and run the reaper at a chosen real time. The slow one kills a real
`hotline worker`'s whole session in the middle of a job and times the rerun.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from procs import kill_group, start_worker, wait_for, worker_env
from rq import SimpleWorker, Worker
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from hotline import abandoned_jobs
from hotline.abandoned_jobs import STALE_S, Reaper
from hotline.clock import SystemClock
from hotline.services import Services

PROBE = "timer_probe.mark"


def taken_and_dropped(svc, name: str, *, execute: bool = True):
    """A worker named `name` takes the next job (and records its execution), then dies."""
    w = Worker([svc.rq_queue], connection=svc.rq_redis, name=name)
    w.register_birth()
    job, _queue = w.dequeue_job_and_maintain_ttl(timeout=1)
    if execute:
        w.prepare_execution(job)
    return job


def started(svc) -> list:
    return svc.rq_redis.zrange(StartedJobRegistry(queue=svc.rq_queue).key, 0, -1)


def run_queue(svc) -> None:
    SimpleWorker([svc.rq_queue], connection=svc.rq_redis).work(burst=True)


def marks(svc) -> list[str]:
    return [x.split()[1] for x in svc.redis.lrange("probe", 0, -1)]


def test_a_job_whose_worker_stopped_beating_goes_back_to_the_front_of_the_queue(svc, settings):
    svc.rq_queue.enqueue(PROBE, settings.redis_url, "probe", "held")
    dead = abandoned_jobs.process_token()
    t = time.time()
    abandoned_jobs.beat(svc, dead, t)
    job = taken_and_dropped(svc, f"{dead}.0")
    svc.rq_queue.enqueue(PROBE, settings.redis_url, "probe", "next")
    reaper = Reaper(svc)
    assert reaper.run(t + STALE_S - 0.5) == 0  # silent, but not for long enough yet
    assert reaper.run(t + STALE_S + 0.5) == 1
    assert (
        started(svc) == [] and svc.rq_redis.lrange(svc.rq_queue.intermediate_queue_key, 0, -1) == []
    )
    assert svc.rq_queue.get_job_ids()[0] == job.id
    assert job.get_status(refresh=True) == JobStatus.QUEUED
    assert reaper.run(t + STALE_S + 1) == 0  # once
    run_queue(svc)
    assert marks(svc) == ["held", "next"]


def test_a_worker_that_still_beats_keeps_its_job(svc, settings):
    svc.rq_queue.enqueue(PROBE, settings.redis_url, "probe", "held")
    alive = abandoned_jobs.process_token()
    taken_and_dropped(svc, f"{alive}.3")
    for dt in (0, 10, 20, 30):
        abandoned_jobs.beat(svc, alive, time.time() + dt)
        assert Reaper(svc).run(time.time() + dt + 1) == 0
    assert len(started(svc)) == 1 and svc.rq_queue.get_job_ids() == []


def test_a_worker_not_started_by_hotline_is_never_judged(svc, settings):
    svc.rq_queue.enqueue(PROBE, settings.redis_url, "probe", "held")
    taken_and_dropped(svc, "somebody-elses-rq-worker")
    assert Reaper(svc).run(time.time() + 3600) == 0
    assert len(started(svc)) == 1


def test_a_worker_that_died_before_its_first_beat_is_judged_from_the_executions_start(
    svc, settings
):
    svc.rq_queue.enqueue(PROBE, settings.redis_url, "probe", "held")
    t = time.time()
    taken_and_dropped(svc, f"{abandoned_jobs.process_token()}.0")
    assert Reaper(svc).run(t + 1) == 0
    assert Reaper(svc).run(t + STALE_S + 2) == 1


def test_a_job_taken_but_never_started_is_requeued_once_it_has_sat_there_long_enough(svc, settings):
    """Killed between RQ's dequeue (the id in the intermediate list) and the execution's
    record: only the list shows it, so the reaper waits until it has seen it there for
    `STALE_S` (a live worker moves it on within milliseconds)."""
    svc.rq_queue.enqueue(PROBE, settings.redis_url, "probe", "limbo")
    job = taken_and_dropped(svc, f"{abandoned_jobs.process_token()}.0", execute=False)
    reaper = Reaper(svc)
    t = time.time()
    assert reaper.run(t) == 0
    assert reaper.run(t + STALE_S - 1) == 0
    assert reaper.run(t + STALE_S) == 1
    assert svc.rq_queue.get_job_ids() == [job.id]
    run_queue(svc)
    assert marks(svc) == ["limbo"]


def test_a_job_that_finished_meanwhile_is_not_requeued(svc, settings):
    svc.rq_queue.enqueue(PROBE, settings.redis_url, "probe", "done")
    dead = abandoned_jobs.process_token()
    job = taken_and_dropped(svc, f"{dead}.0")
    job.set_status(JobStatus.FINISHED)
    assert Reaper(svc).run(time.time() + STALE_S + 1) == 0
    assert svc.rq_queue.get_job_ids() == []


def test_eight_reapers_at_once_requeue_each_abandoned_job_once(settings, svc, clock):
    n = 6
    for i in range(n):
        svc.rq_queue.enqueue(PROBE, settings.redis_url, "probe", f"j{i}")
    for _ in range(n):
        taken_and_dropped(svc, f"{abandoned_jobs.process_token()}.0")
    reapers = [Services(settings, clock=clock) for _ in range(8)]
    go = threading.Barrier(len(reapers))
    counts = []
    later = time.time() + STALE_S + 1

    def reap(s):
        go.wait()
        counts.append(Reaper(s).run(later))

    threads = [threading.Thread(target=reap, args=(s,)) for s in reapers]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for s in reapers:
        s.close()
    assert sum(counts) == n
    assert len(svc.rq_queue.get_job_ids()) == n
    run_queue(svc)
    assert sorted(marks(svc)) == sorted(f"j{i}" for i in range(n))


@pytest.mark.slow
def test_a_job_running_when_its_worker_group_is_killed_runs_again_within_seconds(
    settings, rclient, tmp_path, report_figure
):
    """A job hangs in one real worker; that worker's whole session is SIGKILLed;
    the other worker runs the job again (it would otherwise wait for RQ's 10-minute
    maintenance, and then be failed, not rerun)."""
    svc = Services(settings.with_(clock="system"), clock=SystemClock())
    env = worker_env(settings)
    log = tmp_path / "worker.log"
    first = start_worker(env, log)
    second = None
    try:
        svc.rq_queue.enqueue("timer_probe.hang_first", settings.redis_url, "probe", "once")
        assert wait_for(lambda: svc.redis.get("probe:attempts") == "1", 30), log.read_text()
        second = start_worker(env, log)
        time.sleep(1.0)
        kill_group(first)
        killed = time.time()
        assert wait_for(lambda: marks(svc), 30), log.read_text()
        ran = float(svc.redis.lrange("probe", 0, -1)[0].split()[0])
        assert marks(svc) == ["once"]
        assert ran - killed < STALE_S + 10
        assert "requeued" in log.read_text()
        report_figure(
            f"abandoned job: a job whose worker group was SIGKILLed mid-run ran again "
            f"{ran - killed:.2f} s after the kill (silence judged dead after {STALE_S:.0f} s)"
        )
    finally:
        kill_group(first)
        if second is not None:
            kill_group(second)
        svc.close()


def test_a_heartbeat_is_steady_only_after_beating_without_a_gap(svc):
    hb = abandoned_jobs.Heartbeat(svc, abandoned_jobs.process_token(), every=0.05)
    assert hb.steady_for() == 0.0
    hb.start()
    try:
        assert wait_for(lambda: hb.steady_for() >= 0.3, 5)
        beats = dict(svc.redis.zrange(svc.keys.workers_alive, 0, -1, withscores=True))
        assert time.time() - beats[hb.token] < 1.0
    finally:
        hb.stop()
        hb.join(5)
    # silent for longer than a gap: no longer steady, whatever it did before
    assert hb.steady_for(time.time() + abandoned_jobs.GAP_S + 0.1) == 0.0


@pytest.mark.slow
def test_after_redis_was_paused_no_worker_is_judged_dead_until_all_could_beat_again(
    settings, own_redis
):
    """Redis SIGSTOPped 3 s: every heartbeat is cut off at once. When it answers again,
    each starts steady from zero, so no pump judges the others on their silence."""
    s = settings.with_(redis_url=own_redis.url)
    svc = Services(s, clock=SystemClock())
    hbs = [
        abandoned_jobs.Heartbeat(svc, abandoned_jobs.process_token(), every=0.05) for _ in range(2)
    ]
    for hb in hbs:
        hb.start()
    try:
        assert wait_for(lambda: all(hb.steady_for() > 0.5 for hb in hbs), 5)
        os.kill(own_redis.proc.pid, signal.SIGSTOP)
        time.sleep(3.0)
        os.kill(own_redis.proc.pid, signal.SIGCONT)
        assert wait_for(lambda: all(hb._last and time.time() - hb._last < 0.5 for hb in hbs), 5)
        assert all(hb.steady_for() < 1.0 for hb in hbs)
    finally:
        for hb in hbs:
            hb.stop()
        for hb in hbs:
            hb.join(5)
        svc.close()
