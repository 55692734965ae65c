"""The timer store (hotline/timers.py): every delayed job runs once, at its time, whatever
happens to the workers and to Redis.

The first tests drive `release_due` directly under a manual clock, from many threads
at once; the slow ones run real `hotline worker` processes, kill their whole session
(what a container kill or the OOM killer does: the work horse and anything else they
forked die too), kill and pause Redis, and time when a timer runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time

import pytest
import redis
from procs import kill_group, start_worker, wait_for, worker_env

from hotline import job_names as names
from hotline import timers
from hotline.clock import SystemClock
from hotline.services import Services

PROBE = "timer_probe.mark"


def queued_jobs(svc) -> list:
    return [svc.rq_queue.fetch_job(j) for j in svc.rq_queue.get_job_ids()]


def test_a_timer_is_released_once_when_its_time_comes(svc, clock):
    timers.schedule(svc, clock.now() + 10, "hotline.jobs.sweep")
    clock.advance(9.9)
    assert timers.release_due(svc) == 0
    clock.advance(0.1)
    assert timers.release_due(svc) == 1
    assert timers.release_due(svc) == 0
    assert [j.func_name for j in queued_jobs(svc)] == ["hotline.jobs.sweep"]
    assert svc.redis.zcard(svc.keys.timers) == svc.redis.zcard(svc.keys.timers_claimed) == 0


def test_the_same_timer_scheduled_twice_is_one_timer(svc, clock):
    at = clock.now() + 30
    for _ in range(3):
        timers.schedule(svc, at, "hotline.jobs.wrapup_done", "ana", "CA1")
    timers.schedule(svc, at, "hotline.jobs.wrapup_done", "ben", "CA2")
    clock.advance(30)
    assert timers.release_due(svc) == 2


def test_a_timer_due_now_or_past_is_enqueued_at_once(svc, clock):
    timers.schedule(svc, clock.now(), "hotline.jobs.sweep")
    timers.schedule(svc, clock.now() - 5, "hotline.jobs.sweep")
    assert len(queued_jobs(svc)) == 2
    assert svc.redis.zcard(svc.keys.timers) == 0


def test_eight_pumps_at_once_release_every_timer_exactly_once(settings, clock, redis_url):
    """Eight threads, each with its own connections (a worker each), pump the same 400
    timers as their time comes: each is enqueued once."""
    base = Services(settings, clock=clock)
    n = 400
    t0 = clock.now()
    for i in range(n):
        timers.schedule(base, t0 + 1 + i % 40, "hotline.jobs.rematch", f"CA{i:04d}")
    pumps = [Services(settings, clock=clock) for _ in range(8)]
    go = threading.Barrier(len(pumps))
    errors = []

    def pump(s):
        try:
            go.wait()
            for _ in range(60):
                timers.release_due(s, limit=7)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    clock.advance(41)
    threads = [threading.Thread(target=pump, args=(s,)) for s in pumps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    args = [j.args[0] for j in queued_jobs(base)]
    assert len(args) == n and len(set(args)) == n
    for s in [*pumps, base]:
        s.close()


def test_a_claim_whose_pump_died_is_taken_back_after_its_lease(svc, clock):
    """A pump killed between claiming and enqueueing leaves a claim; once its lease is
    over, the next pump enqueues the timer."""
    k = svc.keys
    timers.schedule(svc, clock.now() + 1, "hotline.jobs.sweep")
    clock.advance(1)
    real = time.time()
    dead = svc.scripts.timers_claim(
        keys=[k.timers, k.timers_claimed],
        args=[repr(clock.now()), repr(real), repr(real + 0.2), 10],
    )
    assert len(dead) == 1 and svc.redis.zcard(k.timers) == 0
    assert timers.release_due(svc) == 0  # still leased to the dead pump
    time.sleep(0.25)
    assert timers.release_due(svc) == 1
    assert svc.redis.zcard(k.timers_claimed) == 0


def test_a_timer_enqueued_before_its_pump_died_does_not_run_twice(svc, clock):
    k = svc.keys
    timers.schedule(svc, clock.now() + 1, "hotline.jobs.sweep")
    clock.advance(1)
    real = time.time()
    (m,) = svc.scripts.timers_claim(
        keys=[k.timers, k.timers_claimed], args=[repr(clock.now()), repr(real), repr(real - 1), 10]
    )
    func, args, _ = json.loads(m)
    svc.rq_queue.enqueue(func, *args, job_id=timers.job_id(svc, m), unique=True)  # then killed
    timers.release_due(svc)
    assert len(queued_jobs(svc)) == 1
    assert svc.redis.zcard(k.timers_claimed) == 0


def test_a_sweep_chain_is_set_once_by_many_workers_starting_together(settings, clock):
    from hotline.routing import engine

    workers = [Services(settings, clock=clock) for _ in range(6)]
    go = threading.Barrier(len(workers))

    def start(s):
        go.wait()
        engine.start_timers(s)

    threads = [threading.Thread(target=start, args=(s,)) for s in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pending = [t for t in timers.pending(workers[0]) if t[0] == names.SWEEP]
    assert len(pending) == 1
    for s in workers:
        s.close()


def test_a_sweep_slower_than_its_lock_never_releases_the_next_sweeps_lock(svc, clock, monkeypatch):
    from hotline import sweep
    from hotline.routing import repair

    def slow_repair(s, *a, **kw):
        # Our lock ran out meanwhile and another sweep took it.
        s.redis.set(s.keys.sweep_lock, f"{s.clock.now() + 90:.6f} the-next-sweep")
        return repair.SweepReport()

    monkeypatch.setattr(repair, "repair", slow_repair)
    sweep.run(svc, reschedule=False)
    assert svc.redis.get(svc.keys.sweep_lock).endswith(" the-next-sweep")


# Real processes ---------------------------------------------------------------------


def _real_services(settings):
    return Services(settings.with_(clock="system"), clock=SystemClock())


def _runs(svc, key) -> list[float]:
    return [float(x.split()[0]) for x in svc.redis.lrange(key, 0, -1)]


@pytest.mark.slow
def test_after_a_whole_worker_group_is_killed_timers_resume_within_5_s(
    settings, rclient, tmp_path, report_figure
):
    """SIGKILL of the worker's whole session, an immediate restart: a timer due 5 s
    after the restart runs on time, and one due during the outage runs at once."""
    svc = _real_services(settings)
    env = worker_env(settings)
    log = tmp_path / "worker.log"
    w = start_worker(env, log)
    try:
        timers.schedule(svc, time.time() + 0.5, PROBE, settings.redis_url, "probe", "before")
        assert wait_for(lambda: _runs(svc, "probe"), 15), log.read_text()
        timers.schedule(svc, time.time() + 1.0, PROBE, settings.redis_url, "probe", "during")
        kill_group(w)  # the whole group, horse included
        killed = time.time()
        time.sleep(1.5)  # the "during" timer comes due while nobody runs
        w = start_worker(env, log)
        up = time.time()
        timers.schedule(svc, up + 5.0, PROBE, settings.redis_url, "probe", "after")
        assert wait_for(lambda: len(_runs(svc, "probe")) >= 3, 20), log.read_text()
        tags = [x.split()[1] for x in svc.redis.lrange("probe", 0, -1)]
        assert tags == ["before", "during", "after"]  # each once
        during, after = _runs(svc, "probe")[1:]
        assert during - up < 5.0
        assert after - (up + 5.0) < 5.0
        report_figure(
            f"timers after kill -9 of the worker group: the timer due during the outage ran "
            f"{during - up:.2f} s after the restart; one due 5 s after it ran "
            f"{after - up - 5.0:+.2f} s late (killed {up - killed:.1f} s before the restart)"
        )
    finally:
        kill_group(w)
        svc.close()


@pytest.mark.slow
def test_two_workers_run_each_timer_once_and_one_survives_the_others_death(
    settings, rclient, tmp_path
):
    svc = _real_services(settings)
    env = worker_env(settings)
    log = tmp_path / "worker.log"
    ws = [start_worker(env, log) for _ in range(2)]
    try:
        t0 = time.time() + 2.0
        for i in range(40):
            timers.schedule(svc, t0 + i * 0.05, PROBE, settings.redis_url, "probe", f"t{i}")
        time.sleep(2.5)
        kill_group(ws[0])
        assert wait_for(lambda: len(_runs(svc, "probe")) >= 40, 20), log.read_text()
        time.sleep(1.0)
        tags = [x.split()[1] for x in svc.redis.lrange("probe", 0, -1)]
        assert sorted(tags) == sorted(f"t{i}" for i in range(40))
    finally:
        for w in ws:
            kill_group(w)
        svc.close()


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["kill", "pause"])
def test_timers_resume_within_5_s_after_redis_comes_back(
    settings, own_redis, tmp_path, fault, report_figure
):
    """Redis SIGKILLed and restarted from its AOF 3 s later, or SIGSTOPped for 10 s: the
    worker comes through, and a timer that came due meanwhile runs within 5 s."""
    s = settings.with_(redis_url=own_redis.url)
    svc = _real_services(s)
    env = worker_env(s)
    log = tmp_path / "worker.log"
    w = start_worker(env, log)
    try:
        timers.schedule(svc, time.time() + 0.3, PROBE, s.redis_url, "probe", "before")
        assert wait_for(lambda: _runs(svc, "probe"), 15), log.read_text()
        timers.schedule(svc, time.time() + 1.0, PROBE, s.redis_url, "probe", "during")
        time.sleep(0.3)  # let the AOF (everysec) hold the timer
        if fault == "kill":
            os.kill(own_redis.proc.pid, signal.SIGKILL)
            own_redis.proc.wait()
            time.sleep(3.0)
            own_redis.ensure()
        else:
            os.kill(own_redis.proc.pid, signal.SIGSTOP)
            time.sleep(10.0)
            os.kill(own_redis.proc.pid, signal.SIGCONT)
        back = time.time()
        assert wait_for(lambda: len(_runs(svc, "probe")) >= 2, 15), log.read_text()
        ran = _runs(svc, "probe")[1]
        assert ran - back < 5.0
        assert w.poll() is None, "the worker must outlive Redis"
        timers.schedule(svc, time.time() + 0.5, PROBE, s.redis_url, "probe", "later")
        assert wait_for(lambda: len(_runs(svc, "probe")) >= 3, 10), log.read_text()
        report_figure(
            f"timers after Redis {'SIGKILL + restart' if fault == 'kill' else 'SIGSTOP 10 s'}: "
            f"the timer due meanwhile ran {ran - back:.2f} s after Redis was back"
        )
    finally:
        kill_group(w)
        with contextlib.suppress(redis.RedisError):
            svc.close()


@pytest.mark.slow
def test_an_idle_worker_stops_at_once_on_sigterm(settings, rclient, tmp_path):
    """RQ stops an idle worker by raising StopRequested: that must end `hotline worker`,
    not look like an outage after which it starts working again."""
    w = start_worker(worker_env(settings), tmp_path / "worker.log")
    try:
        time.sleep(2.0)
        t0 = time.monotonic()
        w.send_signal(signal.SIGTERM)
        assert w.wait(timeout=15) == 0
        assert time.monotonic() - t0 < 5
    finally:
        kill_group(w)
