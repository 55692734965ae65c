"""The whole hotline end to end, through the carrier simulator over real HTTP.

Each test runs the real Flask app on a loopback port, the real Redis, RQ jobs in a
burst SimpleWorker at the simulated instant they are due, and the carrier
simulator (its REST API reached by the app's jobs with the real twilio client):
callers dial in, agents' phones ring, agents listen to the whisper and press 1,
both meet in a conference. Virtual time: a morning runs in seconds.

Every test ends by checking the invariants from the event log alone
(hotline/invariants.py) and reading its figures from the log (hotline/reports.py).
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from hotline import invariants, reports
from hotline.carrier.local import LocalHotline, SimulatedClock
from hotline.carrier.party import Message, Party, Press, Silence
from hotline.carrier.phones import AgentPhone, CustomerPhone, Network
from hotline.services import Services

PARIS = ZoneInfo("Europe/Paris")
T9 = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS).timestamp()  # Tuesday 1 December 2026, 09:00
ANA, BEN, CLEO = "+33600000001", "+33600000002", "client:cleo"

ROSTER = """
timezone: Europe/Paris
skills: [connection, software, error_message, general]
agents:
  - {id: ana, name: Ana, phone: '+33600000001', skills: {connection: 5, general: 3}, languages: [fr, en]}
  - {id: ben, name: Ben, phone: '+33600000002', skills: {connection: 3, general: 2}, languages: [fr]}
  - {id: cleo, name: Cléo, client: cleo, skills: {software: 5, error_message: 4}, languages: [fr, en]}
shifts:
  - {id: ana-day, agent: ana, days: mon-fri, start: '08:00', end: '18:00'}
  - {id: ben-day, agent: ben, days: mon-fri, start: '08:00', end: '18:00'}
  - {id: cleo-early, agent: cleo, days: mon-fri, start: '08:00', end: '09:10'}
"""


class World:
    def __init__(self, hotline: LocalHotline):
        self.h = hotline
        self.svc = hotline.services
        self.net = hotline.network
        self.t0 = hotline.clock.now()

    def agent(self, agent_id: str, address: str, **behaviour) -> AgentPhone:
        phone = AgentPhone(
            agent_id, address, **{"answer_after": 4, "talk_seconds": 120, **behaviour}
        )
        self.net.add(phone)
        return phone

    def login(self, *agent_ids: str, at: float | None = None) -> None:
        def go():
            for a in agent_ids:
                self.svc.agents.set_state(a, "available", by="test")

        if at is None:
            go()
        else:
            self.h.timeline.spawn(go, at=at)

    def caller(
        self,
        press: str = "1",
        *,
        at: float = 0.0,
        number: str = "+33611000001",
        patience: float = 600,
        talk: float | None = None,
        extra=(),
        message: Message | None = None,
    ):
        """A caller: `press` answers the menu, then stays silent at the self-help tip (queue)."""
        answers = [Press(k) for k in press.split(",")] + [Silence(), *extra]
        party = Party(answers, patience=patience, talk_seconds=talk, message=message, name=number)
        return self.h.spawn(party, at=self.t0 + at, from_=number)

    def run(self, seconds: float) -> None:
        """Run until every call is over and in a final state, `seconds` at most."""
        self.h.run_until_settled(self.t0 + seconds - self.h.clock.now())

    def log(self) -> list[dict]:
        return reports.read_log(self.svc)

    def events(self, sid: str | None = None, *types: str) -> list[dict]:
        return [
            e
            for e in self.log()
            if (sid is None or e.get("call_sid") == sid) and (not types or e["type"] in types)
        ]

    def check(self) -> dict:
        # Every key the hotline wrote is under its prefix (RQ keeps its own `rq:` keys).
        stray = [
            k for k in self.svc.redis.keys("*") if not k.startswith((self.svc.keys.prefix, "rq:"))
        ]
        assert not stray, stray
        log = self.log()
        invariants.assert_holds(log)
        summary = reports.summary(log)
        assert summary["unfinished"] == 0, reports.unfinished_calls(log)
        return summary

    def leg_to(self, address: str):
        return [s for s in self.h.carrier.sessions.values() if s.spec.to == address]

    def state(self, agent_id: str) -> tuple[str, str]:
        a = self.svc.agents.get(agent_id)
        return a.state, a.reason


@pytest.fixture(params=["hotline:", "{hotline}:"], ids=["prefix", "hash-tagged-prefix"])
def world(request, settings, rclient):
    """Every end-to-end test runs twice: with the default prefix, and with the hash-tagged
    one a Redis Cluster deployment uses (all of one hotline's keys in one slot)."""
    settings = settings.with_(key_prefix=request.param)
    svc = Services(settings, clock=SimulatedClock(T9), client=rclient)
    with LocalHotline(services=svc, network=Network()) as h:
        svc.roster.import_text(ROSTER, "test-roster.yaml", by="test")
        h._start_app_timers()
        yield World(h)


def test_happy_path_offer_whisper_accept_talk_wrapup(world):
    world.agent("ana", ANA, talk_seconds=120)
    world.login("ana")
    call = world.caller("1")
    world.run(900)
    sid = call.spec.sid
    done = world.events(sid, "call_completed")
    assert len(done) == 1 and done[0]["agent_id"] == "ana"
    assert float(done[0]["talk_s"]) == pytest.approx(120, abs=5)
    # The agent heard the whisper, pressed 1, and both were in the room named after the call.
    leg = world.leg_to(ANA)[0]
    heard = [x.text for x in leg.result.transcript if x.verb == "Say"]
    assert any("connexion" in t.lower() for t in heard)
    room = world.h.carrier.conferences.find(sid)
    assert room is not None and set(room.ever) == {leg.spec.sid, sid}
    # Wrap-up for the skill, then available again.
    world.h.run(until=world.h.clock.now() + 90)
    assert [e["type"] for e in world.events(None, "wrapup_started", "wrapup_ended")] == [
        "wrapup_started",
        "wrapup_ended",
    ]
    assert world.state("ana")[0] == "available"
    s = world.check()
    assert (s["offered"], s["answered"], s["abandoned"], s["missed_offers"]) == (1, 1, 0, 0)
    assert s["service_level"] == 1.0


def test_missed_offer_then_the_next_agent_takes_the_call(world):
    world.agent("ana", ANA, offers=["miss"])
    world.agent("ben", BEN)
    world.login("ana", "ben")  # ana logged in first: longest idle, offered first
    call = world.caller("1")
    world.run(900)
    sid = call.spec.sid
    offered = [e["agent_id"] for e in world.events(sid, "reserved")]
    assert offered == ["ana", "ben"]
    missed = world.events(sid, "offer_missed")
    assert len(missed) == 1 and missed[0]["reason"] == "no-answer"
    assert world.events(sid, "call_completed")[0]["agent_id"] == "ben"
    assert world.state("ana") == ("away", "missed")
    assert world.leg_to(ANA)[0].result.status == "no-answer"
    s = world.check()
    assert s["missed_offers"] == 1 and s["answered"] == 1


def test_declined_offer_goes_to_the_next_agent(world):
    world.agent("ana", ANA, offers=["decline"])
    world.agent("ben", BEN)
    world.login("ana", "ben")
    call = world.caller("1")
    world.run(900)
    sid = call.spec.sid
    assert world.events(sid, "offer_missed")[0]["reason"] == "declined"
    assert world.events(sid, "call_completed")[0]["agent_id"] == "ben"
    assert world.check()["missed_offers"] == 1


def test_caller_hanging_up_while_the_agent_phone_rings(world):
    world.agent("ana", ANA, answer_after=15)
    world.login("ana")
    call = world.caller("1", patience=5)
    world.run(600)
    sid = call.spec.sid
    assert len(world.events(sid, "abandoned")) == 1
    assert world.events(sid, "call_completed") == []
    # Ana is free again, not punished for a call that vanished.
    assert world.state("ana")[0] == "available"
    assert not world.events(sid, "offer_missed")
    assert world.events(sid, "offer_caller_gone")
    leg = world.leg_to(ANA)[0]
    assert leg.result.status in ("completed", "canceled")
    if leg.answered:  # she picked up after the caller had gone: she is told so
        assert len([x for x in leg.result.transcript if x.verb == "Say"]) == 1
    s = world.check()
    assert s["abandoned"] == 1 and s["missed_offers"] == 0


def test_agent_hangs_up_first(world):
    world.agent("ana", ANA, talk_seconds=60)
    world.login("ana")
    call = world.caller("1", talk=None)
    world.run(600)
    done = world.events(call.spec.sid, "call_completed")[0]
    assert float(done["talk_s"]) == pytest.approx(60, abs=5)
    leg = world.leg_to(ANA)[0]
    assert call.result.ended_at == leg.result.ended_at  # the room ended for both
    assert any("ana hangs up" in x.text for x in leg.result.transcript)
    world.check()


def test_caller_hangs_up_first(world):
    world.agent("ana", ANA, talk_seconds=600)
    world.login("ana")
    call = world.caller("1", talk=45)
    world.run(900)
    done = world.events(call.spec.sid, "call_completed")[0]
    assert float(done["talk_s"]) == pytest.approx(45, abs=5)
    assert any("Caller hangs up" in x.text for x in call.result.transcript)
    # The room ends with the caller; Ana hears that the call is over and her leg ends.
    leg = world.leg_to(ANA)[0]
    assert 0 <= leg.result.ended_at - call.result.ended_at < 5
    world.check()


def test_wrapup_then_the_next_call(world):
    world.agent("ana", ANA, talk_seconds=60)
    world.login("ana")
    first = world.caller("1", number="+33611000001")
    second = world.caller("1", at=5, number="+33611000002", patience=900)
    world.run(1200)
    end1 = world.events(first.spec.sid, "call_completed")[0]["ts"]
    wrap = world.events(None, "wrapup_ended")[0]["ts"]
    offered2 = world.events(second.spec.sid, "reserved")[0]["ts"]
    assert wrap == pytest.approx(end1 + 60, abs=1)  # connection: 60 s of wrap-up (legs/wrapup.yaml)
    assert offered2 >= wrap
    assert world.events(second.spec.sid, "call_completed")[0]["agent_id"] == "ana"
    s = world.check()
    assert s["answered"] == 2


def test_shift_ends_during_a_call(world):
    world.agent("ana", ANA, talk_seconds=60)
    world.agent("cleo", CLEO, talk_seconds=600)
    world.login("ana", "cleo")
    during = world.caller("2", at=5 * 60, number="+33611000001")  # 09:05, software: Cléo
    after = world.caller(
        "2", at=12 * 60, number="+33611000002", patience=1200
    )  # 09:12: Cléo is off
    world.run(2400)
    d = world.events(during.spec.sid, "call_completed")[0]
    assert (
        d["agent_id"] == "cleo" and d["ts"] > T9 + 10 * 60
    )  # finished after her shift ended at 09:10
    assert any(e["agent_id"] == "cleo" for e in world.events(None, "shift_ended"))
    assert all(e["agent_id"] != "cleo" for e in world.events(after.spec.sid, "reserved"))
    # Nobody else has the software skill: the call overflows to the general line (Ana).
    assert world.events(after.spec.sid, "call_completed")[0]["agent_id"] == "ana"
    world.check()


def _busy_ana_and_a_waiting_caller(world, customer: CustomerPhone | None):
    """Ana is on a long call; a second connection caller waits until the callback offer
    (overflow step at 900 s) and presses 1 for it."""
    world.agent("ana", ANA, talk_seconds=1500)
    world.login("ana")
    if customer is not None:
        world.net.add(customer)
    world.caller("1", number="+33611000001")
    return world.caller("1", at=10, number="+33611000002", patience=3600, extra=[Press("1")])


def test_callback_from_the_queue_answered(world):
    waiting = _busy_ana_and_a_waiting_caller(
        world, CustomerPhone("+33611000002", answer_after=6, talk_seconds=90)
    )
    world.run(4 * 3600)
    sid = waiting.spec.sid
    assert len(world.events(sid, "callback_requested")) == 1
    assert (
        waiting.result.queue_result == "leave"
    )  # the caller left the Twilio queue, kept their place
    done = world.events(sid, "callback_completed")
    assert len(done) == 1 and done[0]["agent_id"] == "ana"
    customer_leg = [s for s in world.leg_to("+33611000002") if s.spec.direction == "outbound-api"]
    assert len(customer_leg) == 1 and customer_leg[0].result.status == "completed"
    s = world.check()
    assert s["callbacks_requested"] == 1 and s["callbacks_completed"] == 1


def test_callback_from_the_queue_not_answered(world):
    waiting = _busy_ana_and_a_waiting_caller(world, CustomerPhone("+33611000002", answers=False))
    world.run(6 * 3600)
    sid = waiting.spec.sid
    tries = world.events(sid, "callback_no_answer")
    assert len(tries) == 3  # then it gives up
    failed = world.events(sid, "call_failed")
    assert len(failed) == 1 and failed[0]["reason"] == "callback_no_answer"
    gaps = [b["ts"] - a["ts"] for a, b in pairwise(tries)]
    assert all(g >= 600 for g in gaps)  # spaced
    s = world.check()
    assert s["callbacks_requested"] == 1 and s["callbacks_completed"] == 0 and s["failed"] == 1


def test_voicemail_after_hours_then_callback_at_shift_start(world):
    world.h.clock.set(datetime(2026, 12, 1, 7, 30, tzinfo=PARIS).timestamp())
    world.t0 = world.h.clock.now()
    world.svc.roster.refresh_shift_sets()
    world.agent("ana", ANA, talk_seconds=120)
    world.login("ana", at=datetime(2026, 12, 1, 8, 0, tzinfo=PARIS).timestamp())
    world.net.add(CustomerPhone("+33611000009", answer_after=5, talk_seconds=60))
    call = world.caller(
        "1",
        number="+33611000009",
        message=Message(12, "Bonjour, ma connexion coupe sans arrêt, rappelez-moi"),
    )
    world.run(2 * 3600)
    sid = call.spec.sid
    assert world.events(sid, "after_hours_offered")
    req = world.events(sid, "callback_requested")
    assert (
        len(req) == 1
        and float(req[0]["ts"]) < datetime(2026, 12, 1, 8, 0, tzinfo=PARIS).timestamp()
    )
    offered = world.events(sid, "reserved")
    assert offered and offered[0]["ts"] >= datetime(2026, 12, 1, 8, 0, tzinfo=PARIS).timestamp()
    assert len(world.events(sid, "callback_completed")) == 1
    # The whisper told Ana it is a callback and read her the message.
    leg = world.leg_to(ANA)[0]
    assert any("rappelez-moi" in x.text for x in leg.result.transcript)
    s = world.check()
    assert s["callbacks_requested"] == 1 and s["callbacks_completed"] == 1


@pytest.mark.slow
def test_a_burst_of_200_simultaneous_calls_with_10_agents(
    settings, rclient, tmp_path, report_figure
):
    import time

    agents = [f"a{i:02d}" for i in range(10)]
    roster = [
        "timezone: Europe/Paris",
        "skills: [connection, software, error_message, general]",
        "agents:",
    ]
    for i, a in enumerate(agents):
        roster.append(
            f"  - {{id: {a}, name: Agent {i}, phone: '+3361000{i:04d}', "
            f"skills: {{connection: 4, software: 4, error_message: 4, general: 4}}, languages: [fr, en]}}"
        )
    roster.append("shifts:")
    for a in agents:
        roster.append(
            f"  - {{id: {a}-day, agent: {a}, days: mon-fri, start: '08:00', end: '18:00'}}"
        )
    wrap = tmp_path / "wrapup.yaml"
    wrap.write_text("default: 0\n")  # no wrap-up: the burst is about accounting, not pacing
    svc = Services(settings.with_(wrapup_file=wrap), clock=SimulatedClock(T9), client=rclient)
    t = time.monotonic()
    with LocalHotline(services=svc, network=Network()) as h:
        svc.roster.import_text("\n".join(roster), "burst.yaml", by="test")
        h._start_app_timers()
        w = World(h)
        for i, a in enumerate(agents):
            w.agent(
                a,
                f"+3361000{i:04d}",
                answer_after=1,
                talk_seconds=(5, 20),
                seed=i,
                miss_probability=0.05,
            )
        w.login(*agents)
        for i in range(200):
            # Everyone at once; patience spread so that some give up and most wait it out.
            w.caller(
                "1234"[i % 4] if i % 4 != 3 else "0",
                number=f"+3370{i:07d}",
                patience=120 + (i * 37) % 1500,
                talk=None,
            )
        w.run(3 * 3600)
        log = w.log()
        invariants.assert_holds(log)
        s = reports.summary(log)
        created = {e["call_sid"] for e in log if e["type"] == "call_created"}
        assert len(created) == 200 and s["unfinished"] == 0
        assert (
            s["answered"]
            + s["abandoned"]
            + s["self_service_resolved"]
            + s["callbacks_completed"]
            + s["failed"]
            == 200
        )
        callers = [x for x in h.carrier.sessions.values() if x.spec.direction == "inbound"]
        assert len(callers) == 200 and all(x.result.status == "completed" for x in callers)
    report_figure(
        f"e2e burst: 200 calls / 10 agents in {time.monotonic() - t:.1f} s real: "
        f"answered {s['answered']}, abandoned {s['abandoned']}, ASA {s['average_speed_of_answer_s']} s, "
        f"max wait {s['max_wait_s']} s, missed offers {s['missed_offers']}"
    )
