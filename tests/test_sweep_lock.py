"""The sweep's lock and the reconciliation an outage calls for survive what kills a sweep.

A sweep can die at any line: its worker SIGKILLed, or Redis itself SIGKILLed under it
(the lock it holds is in the AOF and comes back with the restart). Neither may cost
more than one sweep interval of repairs, at any clock speed -- a Redis TTL (real
seconds) once blocked every sweep for 300 s after such a kill, five simulated hours in
the fault tests' 60x morning, and the calls that ended during the outage stayed live.
"""

from __future__ import annotations

import pytest

from hotline import reconcile, sweep
from hotline.routing import repair
from hotline.store import outage


def hold_as_a_dead_sweep(svc) -> None:
    """What a sweep killed mid-run leaves: its lock, taken by the real script, never released."""
    assert sweep._lock(svc, "take", "a-sweep-that-died")


def test_a_dead_sweeps_lock_blocks_until_its_clock_time_and_no_longer(svc, clock):
    hold_as_a_dead_sweep(svc)
    clock.advance(60)  # the next sweep: the dead one's lock still holds
    assert sweep.run(svc, reschedule=False) is None
    clock.advance(sweep.LOCK_HOLD_S - 60 + 0.001)
    assert sweep.run(svc, reschedule=False) is not None
    assert not svc.redis.exists(svc.keys.sweep_lock)  # released by the sweep that ran


def test_the_lock_is_by_the_clock_not_by_a_redis_ttl(svc, clock):
    hold_as_a_dead_sweep(svc)
    clock.advance(sweep.LOCK_HOLD_S + 1)
    # Real time has hardly moved and the key is still there: only the clock says it is stale.
    assert svc.redis.exists(svc.keys.sweep_lock)
    assert sweep.run(svc, reschedule=False) is not None


def test_a_sweep_under_way_keeps_the_next_one_out_and_renews_its_lock(svc, clock, monkeypatch):
    from hotline.legs import conversation

    seen = []

    def slow(real):
        def part(s, now, *a, **kw):
            if len(seen) < 2:  # the first sweep's part: long, and another sweep tries meanwhile
                clock.advance(sweep.LOCK_HOLD_S - 1)
                seen.append(sweep.run(s, reschedule=False))
            return real(s, now, *a, **kw)

        return part

    monkeypatch.setattr(conversation, "repair", slow(conversation.repair))
    monkeypatch.setattr(repair, "repair", slow(repair.repair))
    # Two parts each nearly as long as the hold: only the renewal between them keeps
    # the second attempt out.
    assert sweep.run(svc, reschedule=False) is not None
    assert seen == [None, None]


def test_a_lock_in_an_older_format_is_stale(svc, clock):
    svc.redis.set(svc.keys.sweep_lock, "a-token-from-before", ex=300)
    assert sweep.run(svc, reschedule=False) is not None


def test_two_sweeps_at_the_same_instant_one_runs(svc, clock):
    import threading

    barrier = threading.Barrier(8)
    got = []

    def take(i):
        barrier.wait()
        got.append(sweep._lock(svc, "take", f"sweep-{i}"))

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == [False] * 7 + [True]


def test_a_sweep_killed_before_its_reconcile_jobs_were_queued_leaves_the_outage_for_the_next(
    svc, clock, monkeypatch
):
    from routing_support import waiting_call

    waiting_call(svc, "CA" + "1" * 32, "connection")
    outage.record(svc, since=1.0, until=2.0)
    real_enqueue = svc.rq_queue.enqueue

    def redis_dies(*a, **kw):
        raise ConnectionError("Redis went away mid-sweep")

    monkeypatch.setattr(svc.rq_queue, "enqueue", redis_dies)
    with pytest.raises(ConnectionError):
        reconcile.sweep(svc, clock.now())
    assert outage.peek(svc) == {"since": 1.0, "until": 2.0}
    monkeypatch.setattr(svc.rq_queue, "enqueue", real_enqueue)
    assert reconcile.sweep(svc, clock.now()) == {"reconcile_jobs": 1, "after_outage": 1}
    assert outage.peek(svc) is None
    assert reconcile.sweep(svc, clock.now() + 1)["after_outage"] == 0


def test_a_redis_restart_is_acted_on_until_a_sweep_gets_through(svc, clock, monkeypatch):
    from routing_support import waiting_call

    waiting_call(svc, "CA" + "2" * 32, "connection")
    outage.seen(svc, "the-run-id-before-the-restart")
    monkeypatch.setattr(svc.rq_queue, "enqueue", lambda *a, **kw: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        reconcile.sweep(svc, clock.now())
    assert outage.restarted(svc)  # still: nothing was reconciled for it
    monkeypatch.undo()
    assert reconcile.sweep(svc, clock.now())["after_outage"] == 1
    assert not outage.restarted(svc)
    assert reconcile.sweep(svc, clock.now() + 1)["after_outage"] == 0


def test_an_outage_recorded_while_a_sweep_acted_on_the_last_one_is_kept(svc, clock, monkeypatch):
    outage.record(svc, since=1.0, until=2.0)
    real_candidates = reconcile.candidates

    def meanwhile(*a, **kw):
        outage.record(svc, since=3.0, until=4.0)  # a web worker met Redis errors again
        return real_candidates(*a, **kw)

    monkeypatch.setattr(reconcile, "candidates", meanwhile)
    reconcile.sweep(svc, clock.now())
    assert outage.peek(svc) == {"since": 1.0, "until": 4.0}
