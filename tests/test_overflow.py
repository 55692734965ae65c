"""Overflow steps with an injected clock; the policy file; after-hours and callback requests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from routing_support import (
    call_hash,
    load_agents,
    make_available,
    pending_timers,
    sid,
    spec,
    waiting_call,
)

from hotline.errors import ConfigError
from hotline.ivr import prompts
from hotline.routing import afterhours, engine, overflow

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def team(svc):
    load_agents(
        svc,
        [
            spec("con", {"connection": 3}),
            spec("gen", {"general": 2}),
            spec("eng", {"general": 3}, ("en",)),
            spec("ast", {"connection": 2, "general": 2}),
        ],
        on_shift=("con", "gen", "eng"),
        on_call=("ast",),
    )
    return svc


def test_default_policy_loads_and_says_what_the_issue_says():
    p = overflow.load_policy()
    steps = p.steps("connection")
    assert [(s.after, s.add_lines, s.on_call, s.callback) for s in steps] == [
        (120, ("general",), False, False),
        (600, (), True, False),
        (900, (), False, True),
    ]
    assert p.steps("no-such-category") == p.steps("*")


@pytest.mark.parametrize(
    "doc, message",
    [
        ({}, "categories"),
        ({"categories": {"x": [{"after": -1, "on_call": True}]}}, "after"),
        (
            {"categories": {"x": [{"after": 10, "on_call": True}, {"after": 5, "callback": True}]}},
            "comes before",
        ),
        ({"categories": {"x": [{"after": 10}]}}, "does nothing"),
        ({"categories": {"x": [{"after": 10, "add_lines": "general"}]}}, "list of skill names"),
        ({"categories": {"x": [{"after": 10, "on_call": "yes"}]}}, "true or false"),
        ({"categories": {"x": [{"after": 10, "on_cal": True}]}}, "unknown key"),
        ({"categories": {"x": {"min_level": 9, "steps": []}}}, "min_level"),
    ],
)
def test_policy_validation_names_the_problem(doc, message):
    with pytest.raises(ConfigError, match=message):
        overflow.parse_policy(doc, "test.yaml")


def test_due_steps_is_a_pure_function_of_time():
    steps = overflow.load_policy().steps("connection")
    assert overflow.due_steps(steps, 1000.0, 0, 1119.9) == []
    assert overflow.due_steps(steps, 1000.0, 0, 1120.0) == [1]
    assert overflow.due_steps(steps, 1000.0, 1, 1950.0) == [2, 3]
    assert overflow.lines_after("connection", steps, 1) == ("connection", "general")


def test_each_step_in_turn_with_the_manual_clock(team, clock):
    svc = team
    waiting_call(svc, sid(1), "connection")
    place = svc.redis.zscore(svc.keys.waiting("connection"), sid(1))
    make_available(svc, "gen", "ast")  # neither may take it yet
    assert engine.call_waiting(svc, sid(1)) is None

    clock.advance(119)
    assert overflow.apply_due(svc, sid(1)) == []
    clock.advance(1)  # 120 s: general agents too, same place
    assert overflow.apply_due(svc, sid(1)) == [1]
    h = call_hash(svc, sid(1))
    assert h["lines"] == "connection,general" and h["ovf_step"] == "1"
    assert svc.redis.zscore(svc.keys.waiting("general"), sid(1)) == place
    assert overflow.apply_due(svc, sid(1)) == []  # idempotent

    svc.agents.set_state("gen", "away", notify=False)  # general agent busy elsewhere
    clock.advance(480)  # 600 s: on-call too
    assert overflow.apply_due(svc, sid(1)) == [2]
    assert call_hash(svc, sid(1))["ovf_oncall"] == "1"
    clock.advance(300)  # 900 s: offer a callback
    assert overflow.apply_due(svc, sid(1)) == [3]
    assert call_hash(svc, sid(1))["callback_offered"] == "1"
    types = [e.type for e in svc.events.read(call_sid=sid(1))]
    assert types.count("overflowed") == 3 and "callback_offered" in types


def test_overflowed_call_is_taken_by_a_general_agent_and_leaves_every_line(team, clock):
    svc = team
    waiting_call(svc, sid(1), "connection")
    engine.call_waiting(svc, sid(1))
    make_available(svc, "gen")
    assert svc.matcher.match_agent("gen") is None
    clock.advance(120)
    res = engine.overflow_due(svc, sid(1), 1)
    assert res.agent_id == "gen" and res.skill == "general"
    assert svc.redis.zscore(svc.keys.waiting("connection"), sid(1)) is None
    assert svc.redis.zscore(svc.keys.waiting("general"), sid(1)) is None


def test_overflow_keeps_the_place_against_later_general_calls(team, clock):
    svc = team
    waiting_call(svc, sid(1), "connection")
    clock.advance(60)
    waiting_call(svc, sid(2), "general")
    clock.advance(60)
    overflow.apply_due(svc, sid(1))
    make_available(svc, "gen")
    assert svc.matcher.match_agent("gen").call_sid == sid(1)


def test_on_call_agent_reached_after_600s(team, clock):
    svc = team
    waiting_call(svc, sid(1), "connection")
    make_available(svc, "ast")
    clock.advance(599)
    overflow.apply_due(svc, sid(1))
    assert svc.matcher.match_call(sid(1)) is None
    clock.advance(1)
    overflow.apply_due(svc, sid(1))
    assert svc.matcher.match_call(sid(1)).agent_id == "ast"


def test_reserved_call_does_not_overflow_until_back_in_line(team, clock):
    svc = team
    waiting_call(svc, sid(1), "connection")
    make_available(svc, "con")
    svc.matcher.match_call(sid(1))
    clock.advance(200)
    assert overflow.apply_due(svc, sid(1)) == []
    assert engine.reservation_due(svc, sid(1)) is None  # expired, back in line, nobody else
    assert call_hash(svc, sid(1))["lines"] == "connection,general"


def test_each_step_gets_a_timer_at_its_time(team):
    svc = team
    waiting_call(svc, sid(1), "connection")
    enq = float(call_hash(svc, sid(1))["enqueued_at"])
    assert overflow.schedule(svc, sid(1)) == 3
    assert pending_timers(svc) == [
        ("hotline.jobs.overflow_due", [sid(1), 1], enq + 120),
        ("hotline.jobs.overflow_due", [sid(1), 2], enq + 600),
        ("hotline.jobs.overflow_due", [sid(1), 3], enq + 900),
    ]


# after hours ---------------------------------------------------------------------------
def test_open_while_someone_on_shift_is_logged_in(team):
    make_available(team, "con")
    assert afterhours.check(team, "connection", "connection").open


def test_on_call_keeps_the_line_open(team):
    make_available(team, "ast")
    assert afterhours.check(team, "connection", "connection").open


def test_after_hours_when_nobody_on_shift_or_on_call_is_logged_in(team):
    info = afterhours.check(team, "connection", "connection")
    assert not info.open
    assert info.lines == ("connection", "general")


def test_after_hours_message_says_when_in_each_language():
    now = datetime(2026, 3, 6, 22, 0, tzinfo=PARIS).timestamp()  # Friday 22:00
    monday = datetime(2026, 3, 9, 8, 0, tzinfo=PARIS).timestamp()
    tomorrow = datetime(2026, 3, 7, 9, 30, tzinfo=PARIS).timestamp()
    assert "lundi à 8 h 00" in prompts.after_hours_message("fr", monday, PARIS, now)
    assert "on Monday at 08:00" in prompts.after_hours_message("en", monday, PARIS, now)
    assert "demain à 9 h 30" in prompts.after_hours_message("fr", tomorrow, PARIS, now)
    assert "Laissez un message" in prompts.after_hours_message("fr", None, PARIS, now)


def test_voicemail_becomes_a_callback_request_routed_when_cover_returns(team, clock):
    svc = team
    svc.calls.arrive(sid(9), "+33611111111", "+33100000000", "fr")
    svc.redis.hset(svc.keys.call(sid(9)), mapping={"skill": "connection", "category": "connection"})
    assert (
        afterhours.request_callback(svc, sid(9), "https://api.twilio.com/rec/RE1", 31)
        == "requested"
    )
    h = call_hash(svc, sid(9))
    assert h["state"] == "callback_requested" and h["callback_number"] == "+33611111111"
    assert svc.redis.zscore(svc.keys.waiting("connection"), sid(9)) == pytest.approx(clock.now())
    assert afterhours.add_transcription(svc, sid(9), "Ma connexion VPN ne marche plus")
    assert (
        afterhours.request_callback(svc, sid(9), "https://api.twilio.com/rec/RE2", 12) == "updated"
    )
    svc.waiting.abandon(
        sid(9), via="status", status="completed"
    )  # the caller hangs up: request stays
    assert call_hash(svc, sid(9))["state"] == "callback_requested"
    clock.advance(8 * 3600)  # morning: cover returns
    make_available(svc, "con")
    res = svc.matcher.match_agent("con")
    assert res.call_sid == sid(9)
    assert svc.redis.hget(svc.keys.reservation(sid(9)), "prev_state") == "callback_requested"


def test_callback_request_from_a_waiting_call_keeps_its_place(team, clock):
    svc = team
    waiting_call(svc, sid(1), "connection")
    place = svc.redis.zscore(svc.keys.waiting("connection"), sid(1))
    clock.advance(900)
    waiting_call(svc, sid(2), "connection")
    assert afterhours.request_callback(svc, sid(1), "", "") == "requested"
    assert svc.redis.zscore(svc.keys.waiting("connection"), sid(1)) == place
    make_available(svc, "con")
    assert svc.matcher.match_agent("con").call_sid == sid(1)


def roster_with_ana(svc, shift: str) -> None:
    """A one-agent roster: Ana, connection level 3, French, with this one shift."""
    svc.roster.import_text(
        f"""
timezone: Europe/Paris
skills: [connection, general]
agents:
  - {{id: ana, name: Ana, phone: '+33612345601', skills: {{connection: 3}}, languages: [fr]}}
shifts:
  - {shift}
""",
        "roster.yaml",
    )


def test_after_hours_says_when_the_roster_next_has_someone(svc, clock):
    roster_with_ana(svc, "{id: ana-mon, agent: ana, days: mon, start: '08:00', end: '12:00'}")
    info = afterhours.check(svc, "connection", "connection")  # Thursday 22:26 in Paris
    assert not info.open
    assert info.next_cover_at == datetime(2026, 6, 1, 8, 0, tzinfo=PARIS).timestamp()
    assert "lundi à 8 h 00" in prompts.after_hours_message(
        "fr", info.next_cover_at, PARIS, clock.now()
    )


def test_callback_request_widens_with_the_overflow_steps_but_offers_no_second_callback(team, clock):
    svc = team
    svc.calls.arrive(sid(7), "+33611111111", "+33100000000", "fr")
    svc.redis.hset(svc.keys.call(sid(7)), mapping={"skill": "connection", "category": "connection"})
    afterhours.request_callback(svc, sid(7), "https://api.twilio.com/rec/RE7", 20)
    clock.advance(10 * 3600)  # the night passes
    assert overflow.apply_due(svc, sid(7)) == [1, 2, 3]
    h = call_hash(svc, sid(7))
    assert h["lines"] == "connection,general" and "callback_offered" not in h
    make_available(svc, "gen")  # the first general agent of the morning takes it
    assert svc.matcher.match_agent("gen").call_sid == sid(7)


def test_agents_rostered_now_but_not_logged_in_keep_the_line_open(svc, clock):
    roster_with_ana(svc, "{id: ana-thu, agent: ana, days: thu, start: '20:00', end: '23:00'}")
    assert svc.agents.get("ana").state == "offline"
    info = afterhours.check(svc, "connection", "connection")  # Thursday 22:26 in Paris
    assert info.open  # the caller waits for Ana rather than hearing "we open now"
    clock.advance(3600)  # 23:26: her shift is over
    assert not afterhours.check(svc, "connection", "connection").open
