"""The routing triggers run as real RQ jobs (burst worker, as production runs them)."""

from __future__ import annotations

from routing_support import call_hash, load_agents, pending_timers, sid, spec, waiting_call
from rq import SimpleWorker

from hotline.routing import engine


def work(svc):
    SimpleWorker([svc.rq_queue], connection=svc.rq_redis).work(burst=True)


def test_agent_becoming_available_is_offered_the_waiting_call(svc):
    load_agents(svc, [spec("ana", {"connection": 3})], on_shift=("ana",))
    waiting_call(svc, sid(1), "connection")
    svc.agents.set_state("ana", "available")  # enqueues hotline.jobs.agent_available
    work(svc)
    assert call_hash(svc, sid(1))["agent"] == "ana"


def test_call_waiting_job_matches_and_schedules_overflow_and_expiry(svc):
    load_agents(svc, [spec("ana", {"connection": 3})], on_shift=("ana",))
    svc.agents.set_state("ana", "available", notify=False)
    waiting_call(svc, sid(1), "connection")
    svc.rq_queue.enqueue("hotline.jobs.call_waiting", sid(1))
    work(svc)
    assert call_hash(svc, sid(1))["state"] == "reserved"
    names = sorted(t[0] for t in pending_timers(svc))
    # three overflow steps, the offer's expiry, and the sweep chain the first job started
    assert names == ["hotline.jobs.overflow_due"] * 3 + [
        "hotline.jobs.reservation_due",
        "hotline.jobs.sweep",
    ]


def test_sweep_job_runs_once_and_reschedules_itself_once(svc, clock):
    assert engine.schedule_sweep(svc)
    assert not engine.schedule_sweep(svc)  # a second worker start adds no second chain
    svc.rq_queue.enqueue("hotline.jobs.sweep")
    work(svc)
    assert svc.redis.zcard(svc.keys.timers) == 1  # still one chain


def test_a_sweep_with_nothing_to_repair_logs_nothing_and_one_that_repairs_says_what(svc):
    from hotline import sweep

    before = len(svc.events)
    assert sweep.run(svc, reschedule=False) is not None  # it ran...
    assert len(svc.events) == before  # ...and found nothing to say
    load_agents(svc, [spec("ana", {"connection": 3})], on_shift=("ana",))
    waiting_call(svc, sid(1), "connection")
    svc.agents.set_state("ana", "available", notify=False)  # nobody told routing
    assert sweep.run(svc, reschedule=False)["matched"] == 1
    (ev,) = svc.events.read(types={"routing_swept"})
    assert ev.fields["matched"] == "1"


ROSTER = """
timezone: Europe/Paris
skills: [connection, general]
agents:
  - {id: ana, name: Ana, phone: '+33612345601', skills: {connection: 3}, languages: [fr]}
  - {id: bob, name: Bob, phone: '+33612345602', skills: {connection: 2}, languages: [fr]}
shifts:
  - {id: bob-evening, agent: bob, days: thu, start: '15:00', end: '22:30'}
  - {id: ana-night, agent: ana, days: thu, start: '22:30', end: '23:30'}
"""


def test_shift_boundary_hands_over_from_bob_to_ana(svc, clock):
    # T0 is Thursday 22:26 in Paris: bob on shift (busy with a call), ana not yet.
    svc.roster.import_text(ROSTER, "roster.yaml")
    assert svc.redis.smembers(svc.keys.onshift) == {"bob"}
    for a in ("ana", "bob"):
        svc.agents.set_state(a, "available", notify=False)
    waiting_call(svc, sid(1), "connection")
    assert svc.matcher.match_call(sid(1)).agent_id == "bob"
    waiting_call(svc, sid(2), "connection")
    at = engine.schedule_next_boundary(svc)
    assert at == clock.now() + 200  # 22:30 Paris
    clock.set(at)
    engine.shift_boundary(svc, reschedule=False)  # what the RQ timer runs
    assert call_hash(svc, sid(2))["agent"] == "ana"  # the new shift takes the waiting call
    from hotline.routing import reservations

    reservations.accept(svc, sid(1), "bob")
    svc.agents.set_state("bob", "wrapup", notify=False)
    svc.agents.set_state("bob", "available", notify=False)
    waiting_call(svc, sid(3), "connection")
    assert svc.matcher.match_agent("bob") is None  # off shift now: nothing more for bob


def test_shift_timer_chain_moves_to_the_next_boundary_once(svc, clock):
    svc.roster.import_text(ROSTER, "roster.yaml")
    first = engine.schedule_next_boundary(svc)
    assert engine.schedule_next_boundary(svc) == first  # same timer, not a second job
    assert pending_timers(svc) == [("hotline.jobs.shift_boundary", [], first)]
    clock.set(first)
    engine.shift_boundary(svc)  # fires, schedules the next one
    assert float(svc.redis.get(svc.keys.timer("shift"))) == first + 3600  # 23:30, ana's shift ends
    assert [t[2] for t in pending_timers(svc)] == [first, first + 3600]


def test_a_dead_sweep_chain_is_restarted_by_the_next_routing_job(svc, clock):
    engine.ensure_timers(svc)
    first = float(svc.redis.get(svc.keys.timer("sweep")))
    clock.advance(30)
    engine.ensure_timers(svc)  # due soon: left alone
    assert float(svc.redis.get(svc.keys.timer("sweep"))) == first
    clock.advance(3600)  # its job never ran
    engine.ensure_timers(svc)
    assert float(svc.redis.get(svc.keys.timer("sweep"))) == clock.now() + engine.SWEEP_INTERVAL_S


def test_overflow_timer_fires_at_its_time_and_a_general_agent_takes_the_call(svc, clock):
    from hotline import timers

    load_agents(svc, [spec("gen", {"general": 2})], on_shift=("gen",))
    svc.agents.set_state("gen", "available", notify=False)
    waiting_call(svc, sid(1), "connection")
    svc.rq_queue.enqueue("hotline.jobs.call_waiting", sid(1))
    work(svc)
    assert call_hash(svc, sid(1))["state"] == "waiting"  # nobody for connection
    clock.advance(119)
    timers.release_due(svc)  # only the sweep is due yet
    work(svc)
    assert call_hash(svc, sid(1))["state"] == "waiting"
    clock.advance(1)
    assert timers.release_due(svc) == 1  # the 120 s step
    work(svc)
    h = call_hash(svc, sid(1))
    assert (h["state"], h["agent"], h["ovf_step"]) == ("reserved", "gen", "1")
