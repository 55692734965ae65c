"""The matcher: one Lua decision, all or nothing; strategies; priority and FIFO; eligibility."""

from __future__ import annotations

import random

import pytest
from routing_support import (
    call_hash,
    load_agents,
    make_available,
    set_shifts,
    sid,
    spec,
    waiting_call,
)

from hotline.routing import reservations
from hotline.routing.agents import decode_skills, pool_score
from hotline.routing.eligibility import AgentView, CallView, eligible, eligible_skills, why_not


def snapshot(svc):
    r = svc.redis
    return {
        k: (r.type(k), r.dump(k)) for k in r.keys(svc.keys.prefix + "*") if not k.endswith("events")
    }


@pytest.fixture
def team(svc):
    load_agents(
        svc,
        [
            spec("ana", {"connection": 2, "general": 1}),
            spec("ben", {"connection": 4}),
            spec("cat", {"software": 3}, ("fr", "en")),
            spec("dev", {"general": 3}, ("en",)),
        ],
        on_shift=("ana", "ben", "cat", "dev"),
    )
    return svc


def test_a_match_moves_call_and_agent_together(team, clock):
    waiting_call(team, sid(1), "connection")
    make_available(team, "ben")
    clock.advance(42)
    res = team.matcher.match_call(sid(1))
    assert (res.agent_id, res.skill) == ("ben", "connection")
    assert team.redis.zscore(team.keys.waiting("connection"), sid(1)) is None
    assert (
        call_hash(team, sid(1))["state"] == "reserved" and call_hash(team, sid(1))["agent"] == "ben"
    )
    ben = team.agents.get("ben")
    assert ben.state == "reserved" and ben.call_sid == sid(1)
    assert team.redis.zcard(team.keys.idle_pool("connection")) == 0
    r = reservations.get(team, sid(1))
    assert (
        r["agent"] == "ben" and float(r["expires_at"]) == clock.now() + team.matcher.offer_timeout
    )
    assert team.redis.zscore(team.keys.reservations, sid(1)) == pytest.approx(res.expires_at)
    (ev,) = team.events.read(types={"reserved"})
    assert (ev.call_sid, ev.agent_id, ev.fields["wait_s"]) == (sid(1), "ben", "42.000")


def test_no_eligible_agent_changes_nothing(team):
    waiting_call(team, sid(1), "connection")
    make_available(team, "cat", "dev")  # software / general only
    before = snapshot(team)
    assert team.matcher.match_call(sid(1)) is None
    assert team.matcher.match_agent("cat") is None
    assert snapshot(team) == before


def test_a_call_is_never_matched_twice(team):
    waiting_call(team, sid(1), "connection")
    make_available(team, "ana", "ben")
    assert team.matcher.match_call(sid(1)) is not None
    assert team.matcher.match_call(sid(1)) is None
    assert team.matcher.match_agent("ana") is None


def test_longest_idle_wins_and_level_breaks_ties(team, clock):
    waiting_call(team, sid(1), "connection")
    waiting_call(team, sid(2), "connection")
    make_available(team, "ben")  # both idle since the same instant:
    make_available(team, "ana")  # ben (level 4) before ana (level 2)
    assert team.matcher.match_call(sid(1)).agent_id == "ben"
    team.agents.set_state("ana", "away", notify=False)
    make_available(team, "ana")
    clock.advance(5)
    load_agents(
        team,
        [spec("eli", {"connection": 5})]
        + [
            spec(i, s)
            for i, s in [("ana", {"connection": 2, "general": 1}), ("ben", {"connection": 4})]
        ],
        on_shift=("ana", "ben", "eli"),
    )
    make_available(team, "eli")  # higher level but idle for less time
    assert team.matcher.match_call(sid(2)).agent_id == "ana"


def test_most_skilled_first_prefers_level_over_idle_time(team, clock):
    svc = team
    svc.settings = svc.settings.with_(routing_strategy="most_skilled_first")
    waiting_call(svc, sid(1), "connection")
    make_available(svc, "ana")
    clock.advance(300)
    make_available(svc, "ben")
    assert svc.matcher.match_call(sid(1)).agent_id == "ben"


def test_freed_agent_takes_earliest_effective_arrival_across_skills(team, clock):
    waiting_call(team, sid(1), "general")
    clock.advance(10)
    waiting_call(team, sid(2), "connection")
    make_available(team, "ana")
    res = team.matcher.match_agent("ana")
    assert res.call_sid == sid(1) and res.skill == "general"


def test_priority_overtakes_recent_arrivals_and_ties_are_fifo(team, clock):
    waiting_call(team, sid(1), "connection")
    waiting_call(team, sid(2), "connection")
    clock.advance(1)
    waiting_call(team, sid(3), "connection", priority=1)
    make_available(team, "ana", "ben")
    got = [team.matcher.match_agent("ben").call_sid, team.matcher.match_agent("ana").call_sid]
    assert got == [sid(3), sid(1)]  # priority first; then the first of two equal arrivals


def test_language_rule_skips_callers_the_agent_cannot_understand(team, clock):
    waiting_call(team, sid(1), "general", lang="en")
    clock.advance(1)
    waiting_call(team, sid(2), "general", lang="fr")
    make_available(team, "ana")  # French only
    assert team.matcher.match_agent("ana").call_sid == sid(2)
    make_available(team, "dev")  # English
    assert team.matcher.match_agent("dev").call_sid == sid(1)


def test_english_call_is_offered_only_to_english_speakers(team, clock):
    make_available(team, "ana")
    clock.advance(1)
    make_available(team, "dev")
    waiting_call(team, sid(1), "general", lang="en")
    assert team.matcher.match_call(sid(1)).agent_id == "dev"


def test_required_level_is_enforced(team):
    waiting_call(team, sid(1), "connection")
    team.redis.hset(team.keys.call(sid(1)), "min_level", 3)
    make_available(team, "ana")
    assert team.matcher.match_call(sid(1)) is None
    assert team.matcher.match_agent("ana") is None
    make_available(team, "ben")
    assert team.matcher.match_call(sid(1)).agent_id == "ben"


def test_shift_ending_while_busy_finishes_the_call_then_nothing_more(team, clock):
    waiting_call(team, sid(1), "connection")
    make_available(team, "ben")
    team.matcher.match_call(sid(1))
    assert reservations.accept(team, sid(1), "ben") == "accepted"
    assert team.agents.get("ben").state == "busy"
    set_shifts(team, on_shift=("ana", "cat", "dev"))  # ben's shift ends mid-call
    assert team.agents.get("ben").state == "busy"  # nobody cuts his call
    waiting_call(team, sid(2), "connection")
    clock.advance(300)
    team.agents.set_state("ben", "wrapup", notify=False)
    team.agents.set_state("ben", "available", notify=False)
    assert team.matcher.match_agent("ben") is None
    assert team.matcher.match_call(sid(2)) is None
    assert call_hash(team, sid(2))["state"] == "waiting"


def test_on_call_agent_only_after_the_call_overflowed_to_on_call(team):
    load_agents(team, [spec("oli", {"connection": 3})], on_call=("oli",))
    waiting_call(team, sid(1), "connection")
    make_available(team, "oli")
    assert team.matcher.match_call(sid(1)) is None
    assert team.matcher.match_agent("oli") is None
    team.redis.hset(team.keys.call(sid(1)), "ovf_oncall", "1")
    assert team.matcher.match_agent("oli").call_sid == sid(1)


@pytest.mark.parametrize("strategy", ["longest_idle", "most_skilled_first"])
def test_eligibility_rule_and_lua_agree_on_random_populations(svc, clock, strategy):
    svc.settings = svc.settings.with_(routing_strategy=strategy)
    rng = random.Random(7)
    skills = ["connection", "software", "general"]
    for round_ in range(6):
        svc.redis.flushdb()
        specs, shift, oncall = [], [], []
        for i in range(12):
            sk = {s: rng.randint(1, 5) for s in rng.sample(skills, rng.randint(1, 2))}
            specs.append(spec(f"g{i}", sk, rng.choice([("fr",), ("en",), ("fr", "en")])))
            (shift if rng.random() < 0.6 else oncall if rng.random() < 0.5 else []).append(f"g{i}")
        load_agents(svc, specs, on_shift=shift, on_call=oncall)
        for s in specs:
            if rng.random() < 0.6:
                make_available(svc, s.id)
                clock.advance(rng.choice([0, 0, 1, 3]))  # idle times differ, and sometimes tie
        for n in range(10):
            c = sid(round_ * 100 + n)
            waiting_call(svc, c, rng.choice(skills), lang=rng.choice(["fr", "en"]))
            extra = {
                "min_level": rng.randint(1, 4),
                "ovf_oncall": rng.choice(["0", "1"]),
                "lang_any": rng.choice(["0", "0", "1"]),
            }
            if rng.random() < 0.3:
                other = rng.choice(skills)
                h = call_hash(svc, c)
                if other not in h["lines"].split(","):
                    svc.redis.zadd(svc.keys.waiting(other), {c: float(h["effective_at"])})
                    extra["lines"] = h["lines"] + "," + other
            svc.redis.hset(svc.keys.call(c), mapping=extra)
            view = CallView.from_hash(call_hash(svc, c))
            agents = {a.id: a for a in svc.agents.list()}
            ok = {
                i
                for i, a in agents.items()
                if eligible(AgentView(a.state, a.skills, a.languages, a.on_shift, a.on_call), view)
            }
            res = svc.matcher.match_call(c, schedule_expiry=False)
            if ok:
                # one with the lowest pool score over the lines it may take the call by
                def score(i):
                    a = agents[i]
                    lines = eligible_skills(
                        AgentView(a.state, a.skills, a.languages, a.on_shift, a.on_call), view
                    )
                    return min(
                        pool_score(a.idle_since, a.skills[s], svc.settings.routing_strategy)
                        for s in lines
                    )

                assert res is not None and res.agent_id in ok, (ok, res, view)
                assert score(res.agent_id) == min(score(i) for i in ok)
            else:
                assert res is None, (view, res)
        clock.advance(1)


def test_why_not_explains(svc):
    a = AgentView("available", {"general": 2}, ("fr",), on_shift=False, on_call=True)
    assert "has not overflowed to on-call" in why_not(a, CallView(("general",)))
    assert why_not(a, CallView(("general",), on_call_allowed=True)) is None
    assert "does not speak en" in why_not(
        a, CallView(("general",), lang="en", on_call_allowed=True)
    )
    assert "level 3" in why_not(a, CallView(("general",), min_level=3, on_call_allowed=True))
    assert decode_skills("a:1,b:5") == {"a": 1, "b": 5}


def test_freed_agent_choice_agrees_with_the_rule_on_random_populations(svc, clock):
    rng = random.Random(11)
    skills = ["connection", "software", "general"]
    checked = 0
    for round_ in range(5):
        svc.redis.flushdb()
        specs = [
            spec(
                f"h{i}",
                {s: rng.randint(1, 5) for s in rng.sample(skills, rng.randint(1, 2))},
                rng.choice([("fr",), ("en",), ("fr", "en")]),
            )
            for i in range(8)
        ]
        shift = [s.id for s in specs if rng.random() < 0.7]
        load_agents(svc, specs, on_shift=shift, on_call=[s.id for s in specs if s.id not in shift])
        for n in range(25):
            c = sid(round_ * 100 + n)
            waiting_call(
                svc,
                c,
                rng.choice(skills),
                lang=rng.choice(["fr", "en"]),
                priority=rng.choice([0, 0, 1]),
            )
            svc.redis.hset(
                svc.keys.call(c),
                mapping={"min_level": rng.randint(1, 4), "ovf_oncall": rng.choice(["0", "1"])},
            )
            clock.advance(rng.choice([0, 1, 7]))
        for s in specs:
            make_available(svc, s.id)
            a = svc.agents.get(s.id)
            view = AgentView(a.state, a.skills, a.languages, a.on_shift, a.on_call)
            waiting = [
                (float(h["effective_at"]), h["sid"])
                for h in (call_hash(svc, sid(round_ * 100 + n)) for n in range(25))
                if eligible(view, CallView.from_hash(h))
            ]
            res = svc.matcher.match_agent(s.id, schedule_expiry=False)
            if waiting:
                assert res is not None and res.call_sid == min(waiting)[1]
                checked += 1
            else:
                assert res is None
    assert checked >= 10
