"""`hotline worker` stops when asked, whatever RQ's command-channel thread is doing."""

from __future__ import annotations

import time

from rq import Worker

from hotline.worker import worker_class


def _stuck_in_redis_py_wait(w) -> None:
    """Subscribe as RQ does, then leave the channel behind the thread's back: once it has
    read the reply, the thread waits (60 s, RQ's sleep_time) for a new subscription --
    where it is when a SIGTERM's teardown comes at the wrong moment."""
    w.subscribe()
    deadline = time.monotonic() + 5
    while not w.pubsub.subscribed and time.monotonic() < deadline:
        time.sleep(0.01)
    w.pubsub.unsubscribe()
    time.sleep(0.5)


def test_a_worker_unsubscribes_within_a_second_when_its_pubsub_thread_is_waiting(svc):
    w = worker_class()([svc.rq_queue], connection=svc.rq_redis)
    _stuck_in_redis_py_wait(w)
    t0 = time.monotonic()
    w.unsubscribe()
    assert time.monotonic() - t0 < 2.0


def test_rqs_own_unsubscribe_hangs_there_which_is_why_we_override_it(svc):
    """The control: RQ's method, in the same state, is still waiting after 3 s."""
    import threading

    w = Worker([svc.rq_queue], connection=svc.rq_redis)
    _stuck_in_redis_py_wait(w)
    t = threading.Thread(target=w.unsubscribe, daemon=True)
    t.start()
    t.join(3.0)
    hung = t.is_alive()
    w.pubsub.subscribed_event.set()  # let it go
    t.join(5.0)
    assert hung
