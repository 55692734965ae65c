"""The wallboard's figures: a scripted morning through the real domain gives the expected
tiles; the running tally read event by event equals a fresh computation of the day after
every step of random days; the day starts again at local midnight; the totals are the
summary's (reports.py) over the same events."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from day_support import answer, answered_call, hang_up, offer, queue, team
from routing_support import sid

from hotline import reports
from hotline.history import iter_events
from hotline.legs.disposition import record as record_disposition
from hotline.legs.wrapup import ready
from hotline.routing import reservations
from hotline.wallboard import WallboardTally, figures, sl_status

PARIS = ZoneInfo("Europe/Paris")


def at(clock, hhmm: str, day: str = "2026-12-01"):
    clock.set(datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=PARIS))


def skill(doc, name):
    (row,) = [s for s in doc["skills"] if s["skill"] == name]
    return row


def agent(doc, agent_id):
    (row,) = [a for a in doc["agents"] if a["id"] == agent_id]
    return row


def morning(svc, clock):
    """Tuesday 1 December 2026, 09:00-09:21 Paris (ana takes connection, ben software): four
    connection calls (three answered within 60 s, one abandoned after 40 s), one software
    call, one error-message call that cleo lets ring out and that still waits."""
    team(svc)
    at(clock, "09:00:00")
    answered_call(svc, clock, sid(1), wait=10, talk=100)  # ana
    clock.advance(5)
    assert ready(svc, "ana", by="test").status == "ended"
    at(clock, "09:03:00")
    assert answered_call(svc, clock, sid(2), skill="software", wait=10, talk=60) == "ben"
    at(clock, "09:05:00")
    answered_call(svc, clock, sid(3), wait=15, talk=50)
    ready(svc, "ana", by="test")
    at(clock, "09:10:00")
    answered_call(svc, clock, sid(4), wait=30, talk=30)  # ana stays in wrap-up
    at(clock, "09:15:00")
    queue(svc, sid(5), "connection", number="+33698765432")
    clock.advance(40)
    assert svc.waiting.abandon(sid(5), via="status").abandoned
    at(clock, "09:20:00")
    queue(svc, sid(6), "error_message", number="+4915112345678")
    assert offer(svc, sid(6)) == "cleo"
    clock.advance(20)
    assert reservations.miss(svc, sid(6), "no-answer", "cleo") == "missed"
    clock.advance(50)
    svc.announcements.set("Panne du VPN en cours", "fr", by="manager")


def test_a_scripted_morning_gives_the_expected_tiles(svc, clock):
    morning(svc, clock)
    doc = figures(svc, WallboardTally())
    assert doc["day"] == "2026-12-01" and doc["generated_at"] == "2026-12-01T09:21:10+01:00"
    assert [s["skill"] for s in doc["skills"]] == [
        "connection",
        "software",
        "error_message",
        "general",
    ]
    conn = skill(doc, "connection")
    assert conn == {
        "skill": "connection",
        "waiting": 0,
        "oldest_wait_s": None,
        "offered": 4,
        "answered": 3,
        "abandoned": 1,
        "service_level": 0.75,
        "sl_target": 0.8,
        "sl_status": "amber",
        "asa_s": 18.3,
    }
    soft = skill(doc, "software")
    assert (soft["offered"], soft["answered"], soft["service_level"], soft["sl_status"]) == (
        1,
        1,
        1.0,
        "green",
    )
    err = skill(doc, "error_message")
    assert (err["waiting"], err["oldest_wait_s"], err["offered"], err["answered"]) == (
        1,
        70.0,
        1,
        0,
    )
    assert (err["service_level"], err["sl_status"], err["asa_s"]) == (0.0, "red", None)
    general = skill(doc, "general")
    assert (general["offered"], general["service_level"], general["sl_status"]) == (0, None, None)

    ana, ben, cleo = agent(doc, "ana"), agent(doc, "ben"), agent(doc, "cleo")
    assert (ana["state"], ana["available"], ana["call_sid"], ana["call_skill"]) == (
        "wrapup",
        False,
        sid(4),
        "connection",
    )
    assert (ana["call_s"], ana["handled_today"], ana["missed_today"]) == (30.0, 3, 0)
    assert ana["since"] == "2026-12-01T09:11:00+01:00" and ana["in_state_s"] == 610.0
    assert (ben["state"], ben["call_sid"], ben["handled_today"]) == ("wrapup", sid(2), 1)
    assert (cleo["state"], cleo["reason"], cleo["available"], cleo["missed_today"]) == (
        "away",
        "missed",
        False,
        1,
    )
    assert cleo["call_sid"] is None and cleo["in_state_s"] == 50.0 and cleo["name"] == "Cleo"
    t = doc["totals"]
    assert {k: t[k] for k in ("agents", "available", "on_a_call", "wrapup", "away", "offline")} == {
        "agents": 3,
        "available": 0,
        "on_a_call": 0,
        "wrapup": 2,
        "away": 1,
        "offline": 0,
    }
    assert (t["waiting"], t["offered"], t["answered"], t["abandoned"]) == (1, 6, 4, 1)
    assert (t["service_level"], t["sl_status"], t["asa_s"]) == (0.667, "red", 16.2)
    assert doc["announcements"] == {"fr-FR": "Panne du VPN en cours", "en-US": None}


def test_an_agent_ringing_and_on_a_call_count_as_on_a_call(svc, clock):
    team(svc)
    at(clock, "10:00:00")
    queue(svc, sid(1), "connection")
    queue(svc, sid(2), "software")
    clock.advance(5)
    offer(svc, sid(1))  # ana rings
    answer(svc, sid(2), offer(svc, sid(2)))  # ben talks
    clock.advance(12)
    doc = figures(svc)
    ana, ben = agent(doc, "ana"), agent(doc, "ben")
    assert (ana["state"], ana["call_sid"], ana["call_s"]) == ("reserved", sid(1), 12.0)
    assert (ben["state"], ben["call_sid"], ben["call_s"]) == ("busy", sid(2), 12.0)
    assert not ana["available"] and agent(doc, "cleo")["available"]
    assert (doc["totals"]["on_a_call"], doc["totals"]["available"]) == (2, 1)


def test_the_day_totals_are_the_summarys_over_the_same_events(svc, clock):
    morning(svc, clock)
    doc = figures(svc)
    midnight = datetime(2026, 12, 1, tzinfo=PARIS).timestamp()
    s = reports.summary(iter_events(svc, midnight, midnight + 86400))
    t = doc["totals"]
    assert (t["offered"], t["answered"], t["abandoned"]) == (
        s["offered"],
        s["answered"],
        s["abandoned"],
    )
    assert t["service_level"] == s["service_level"]
    assert t["asa_s"] == pytest.approx(s["average_speed_of_answer_s"], abs=0.05)
    assert sum(a["missed_today"] for a in doc["agents"]) == s["missed_offers"]


def test_the_tally_reads_only_what_was_appended(svc, clock, rclient, report_figure):
    morning(svc, clock)
    tally = WallboardTally()
    first = figures(svc, tally)

    def stats():
        return rclient.info("commandstats")

    def xranges():
        return stats().get("cmdstat_xrange", {}).get("calls", 0)

    def commands():
        return sum(v["calls"] for k, v in stats().items() if k != "cmdstat_info")

    before, xr = commands(), xranges()
    assert figures(svc, tally) == first
    assert xranges() - xr == 1  # one XRANGE after the last id, which found nothing
    report_figure(f"wallboard poll: {commands() - before} Redis commands (3 agents, 1 line)")
    queue(svc, sid(7), "software")
    before = xranges()
    assert skill(figures(svc, tally), "software")["offered"] == 2
    assert xranges() - before == 1


def test_the_day_starts_again_at_local_midnight(svc, clock):
    team(svc)
    at(clock, "23:50:00", "2026-12-01")
    answered_call(svc, clock, sid(1), wait=10, talk=60)
    queue(svc, sid(2), "software")  # waits across midnight
    tally = WallboardTally()
    doc = figures(svc, tally)
    assert doc["day"] == "2026-12-01" and doc["totals"]["offered"] == 2
    at(clock, "00:00:30", "2026-12-02")
    doc = figures(svc, tally)
    assert doc["day"] == "2026-12-02"
    assert (doc["totals"]["offered"], doc["totals"]["answered"]) == (0, 0)
    assert agent(doc, "ana")["handled_today"] == 0
    assert skill(doc, "software")["waiting"] == 1  # still waiting: what is true now stays
    answer(svc, sid(2), offer(svc, sid(2)))  # yesterday's call, answered today: not offered today
    queue(svc, sid(3), "connection")
    doc = figures(svc, tally)
    assert (doc["totals"]["offered"], doc["totals"]["answered"]) == (1, 0)
    assert doc == figures(svc)  # a fresh tally agrees


@pytest.mark.parametrize(
    "sl, status", [(0.8, "green"), (0.7, "amber"), (0.6999, "red"), (None, None)]
)
def test_service_level_colours(sl, status):
    assert sl_status(sl, 0.8) == status


# The tally equals a fresh computation, whatever happens -------------------------------
STEPS = ("call", "call", "offer", "accept", "miss", "end", "abandon", "ready", "back", "dispose")


def random_day(svc, clock, rng, steps):
    """A random sequence of real domain steps; after each, the incremental tally and a
    fresh one must agree on every figure."""
    team(svc)
    at(clock, "23:40:00", "2026-12-01")  # some days cross midnight
    tally, n = WallboardTally(), 0
    for _ in range(steps):
        clock.advance(rng.choice((0, 1, 5, 30, 61, 120)))
        step = rng.choice(STEPS)
        calls = {c.sid: c for c in svc.calls.list()}
        by_state = lambda *states: sorted(s for s, c in calls.items() if c.state in states)  # noqa: E731
        agents = {a.id: a for a in svc.agents.list()}
        if step == "call":
            n += 1
            queue(svc, sid(n), rng.choice(("connection", "software", "error_message", "general")))
        elif step == "offer" and by_state("waiting"):
            svc.matcher.match_call(rng.choice(by_state("waiting")), schedule_expiry=False)
        elif step in ("accept", "miss") and by_state("reserved"):
            s = rng.choice(by_state("reserved"))
            a = calls[s].extra.get("agent", "")
            if step == "accept":
                answer(svc, s, a)
            else:
                reservations.miss(svc, s, "no-answer", a)
        elif step == "end" and by_state("bridged"):
            s = rng.choice(by_state("bridged"))
            hang_up(svc, s, calls[s].extra["agent"])
        elif step == "abandon" and by_state("waiting"):
            svc.waiting.abandon(rng.choice(by_state("waiting")), via="status")
        elif step == "ready":
            for a in agents.values():
                if a.state == "wrapup":
                    ready(svc, a.id, by="test")
                    break
        elif step == "back":
            for a in agents.values():
                if a.state == "away":
                    svc.agents.set_state(a.id, "available", notify=False)
                    break
        elif step == "dispose":
            for s in by_state("completed"):
                record_disposition(
                    svc, s, agent_id=calls[s].extra["agent"], disposition="other", by="t"
                )
                break
        incremental, fresh = figures(svc, tally), figures(svc)
        assert incremental == fresh, f"after {step}"
    return tally


@pytest.mark.parametrize("seed", range(6))
def test_the_running_tally_equals_a_fresh_computation_after_every_step(svc, clock, seed):
    tally = random_day(svc, clock, random.Random(seed), 45)
    assert tally.last_id == svc.redis.xrevrange(svc.keys.events, count=1)[0][0]
