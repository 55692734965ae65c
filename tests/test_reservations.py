"""Reservations: accept, release, expiry (a missed offer) and the repair sweep."""

from __future__ import annotations

import pytest
from routing_support import call_hash, load_agents, make_available, sid, spec, waiting_call

from hotline.routing import repair, reservations


@pytest.fixture
def offered(svc, clock):
    load_agents(
        svc,
        [spec("ana", {"connection": 3}), spec("ben", {"connection": 2})],
        on_shift=("ana", "ben"),
    )
    waiting_call(svc, sid(1), "connection")
    clock.advance(5)
    waiting_call(svc, sid(2), "connection")
    make_available(svc, "ana")
    res = svc.matcher.match_call(sid(1))
    assert res.agent_id == "ana"
    return svc


def test_expiry_puts_the_call_back_at_its_place_and_the_agent_away_missed(offered, clock):
    svc = offered
    place = float(call_hash(svc, sid(1))["effective_at"])
    assert reservations.expire(svc, sid(1)) == "not_due"
    clock.advance(svc.matcher.offer_timeout)
    assert reservations.expire(svc, sid(1)) == "expired"
    assert svc.redis.zrange(svc.keys.waiting("connection"), 0, -1) == [sid(1), sid(2)]
    assert svc.redis.zscore(svc.keys.waiting("connection"), sid(1)) == pytest.approx(
        place, abs=1e-6
    )
    h = call_hash(svc, sid(1))
    assert (h["state"], h["lines"]) == ("waiting", "connection")
    ana = svc.agents.get("ana")
    assert (ana.state, ana.reason, ana.since) == ("away", "missed", clock.now())
    assert reservations.get(svc, sid(1)) is None
    assert svc.redis.zcard(svc.keys.reservations) == 0
    # idempotent: a second timer, the sweep, a late webhook
    assert reservations.expire(svc, sid(1)) == "none"
    assert reservations.accept(svc, sid(1), "ana") == "none"
    assert svc.agents.get("ana").state == "away"
    (ev,) = svc.events.read(types={"reservation_expired"})
    assert ev.fields["requeued"] == "1"


def test_expired_call_goes_to_the_next_agent(offered, clock):
    svc = offered
    make_available(svc, "ben")
    clock.advance(60)
    assert reservations.expire(svc, sid(1)) == "expired"
    assert svc.matcher.match_call(sid(1)).agent_id == "ben"


def test_release_returns_both_to_where_they_were(offered):
    svc = offered
    assert reservations.release(svc, sid(1), "declined", "ana") == "released"
    assert call_hash(svc, sid(1))["state"] == "waiting"
    assert svc.redis.zrange(svc.keys.waiting("connection"), 0, 0) == [sid(1)]
    assert svc.agents.get("ana").state == "available"
    assert svc.redis.zscore(svc.keys.idle_pool("connection"), "ana") is not None


def test_release_by_another_agent_is_refused(offered):
    assert reservations.release(offered, sid(1), "declined", "ben") == "wrong_agent"
    assert offered.agents.get("ana").state == "reserved"


def test_accept_makes_agent_busy_and_call_bridged(offered):
    svc = offered
    assert reservations.accept(svc, sid(1), "ana") == "accepted"
    assert svc.agents.get("ana").state == "busy"
    assert call_hash(svc, sid(1))["state"] == "bridged"
    assert svc.redis.zcard(svc.keys.reservations) == 0
    assert reservations.accept(svc, sid(1), "ana") == "none"


def test_caller_hanging_up_during_the_offer_frees_the_agent(offered, clock):
    svc = offered
    svc.waiting.abandon(sid(1), via="status", status="completed")
    assert call_hash(svc, sid(1))["state"] == "abandoned"
    clock.advance(60)
    assert reservations.expire(svc, sid(1)) == "expired"
    assert svc.agents.get("ana").state == "available"  # not "missed": nobody was there
    assert svc.redis.zscore(svc.keys.waiting("connection"), sid(1)) is None
    assert call_hash(svc, sid(1))["state"] == "abandoned"


def test_accept_after_the_caller_left_reports_call_gone(offered):
    svc = offered
    svc.waiting.abandon(sid(1), via="action")
    assert reservations.accept(svc, sid(1), "ana") == "call_gone"
    assert svc.agents.get("ana").state == "available"


def test_sweep_repairs_and_matches(offered, clock):
    svc = offered
    r, k = svc.redis, svc.keys
    clock.advance(60)  # ana's offer has expired, its timer job was lost
    r.zrem(k.waiting("connection"), sid(2))  # a call lost from its line
    load_agents(
        svc,
        [
            spec("ana", {"connection": 3}),
            spec("ben", {"connection": 2}),
            spec("cid", {"general": 1}),
        ],
        on_shift=("ana", "ben", "cid"),
    )
    r.hset(k.agent("cid"), mapping={"state": "reserved", "call_sid": "CAgone"})  # stuck reserved
    make_available(svc, "ben")
    r.zrem(k.idle_pool("connection"), "ben")  # and missing from its pool
    rep = repair.repair(svc)
    assert (rep.expired, rep.requeued, rep.agents_fixed) == (1, 1, 1)
    assert rep.matched == 1
    assert svc.agents.get("ben").call_sid == sid(1)  # the call back at the head went to ben
    assert r.zrange(k.waiting("connection"), 0, -1) == [sid(2)]
    assert svc.agents.get("cid").state == "available"
    assert svc.agents.get("ana").state == "away"
    again = repair.repair(svc)
    assert (again.expired, again.requeued, again.agents_fixed, again.matched) == (0, 0, 0, 0)


def test_miss_ends_the_offer_at_once_with_the_agent_away(offered):
    svc = offered
    assert reservations.miss(svc, sid(1), "no_answer", "ana") == "missed"
    ana = svc.agents.get("ana")
    assert (ana.state, ana.reason) == ("away", "missed")
    assert svc.redis.zrange(svc.keys.waiting("connection"), 0, 0) == [sid(1)]
    assert (
        svc.redis.zscore(svc.keys.idle_pool("connection"), "ana") is None
    )  # never offered in between
    assert reservations.miss(svc, sid(1), "no_answer", "ana") == "none"
    (ev,) = svc.events.read(types={"reservation_missed"})
    assert ev.fields["reason"] == "no_answer"
