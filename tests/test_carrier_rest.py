"""Carrier simulator, part 2: the REST subset, outbound calls, Dial and conferences.

A tiny signed Flask app of the test's own plays the hotline; it talks to the
simulator with the real `twilio.rest.Client` through the app's telephony port
(TwilioTelephony rebased on the simulator's URL), as the RQ jobs do. Everything
runs in virtual time on one ManualClock.
"""

from __future__ import annotations

import pytest
import requests
from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Dial, Gather, Hangup, Pause, Say, VoiceResponse

from hotline.carrier.loopback import LoopbackServer
from hotline.carrier.party import Party, Press
from hotline.carrier.phones import AgentPhone, CustomerPhone, Network
from hotline.carrier.server import SimulatorServer
from hotline.carrier.simulator import Carrier, CarrierConfig
from hotline.carrier.timing import VirtualTimeline, say_seconds
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.telephony.port import PermanentTelephonyError, TwilioTelephony

ACCOUNT = "AC" + "cd" * 16
TOKEN = "sim-rest-token"
T0 = 1_780_000_000.0
AGENT = "+33612345601"
EVENTS = ["initiated", "ringing", "answered", "completed"]


class Hotline:
    """A signed app: each test fills `routes` with functions form -> TwiML."""

    def __init__(self):
        self.routes: dict = {}
        self.requests: list[tuple[float, str, dict]] = []
        self.server = LoopbackServer()
        self.url = self.server.url
        self.clock: ManualClock | None = None
        app = Flask("hotline-under-test")
        validator = RequestValidator(TOKEN)

        @app.post("/<path:path>")
        def route(path):
            if not validator.validate(
                request.url, request.form.to_dict(), request.headers.get("X-Twilio-Signature", "")
            ):
                return Response("bad signature", status=403)
            form = request.form.to_dict()
            self.requests.append((self.clock.now() if self.clock else 0.0, "/" + path, form))
            answer = self.routes.get("/" + path, VoiceResponse())
            if callable(answer):
                answer = answer(form)
            return Response(str(answer), mimetype="text/xml")

        self.server.mount(app)

    def got(self, path: str) -> list[dict]:
        return [f for _, p, f in self.requests if p == path]

    def at(self, path: str) -> list[float]:
        return [t for t, p, _ in self.requests if p == path]


@pytest.fixture
def clock():
    return ManualClock(T0)


@pytest.fixture
def app(clock):
    h = Hotline()
    h.clock = clock
    yield h
    h.server.close()


@pytest.fixture
def network():
    return Network()


@pytest.fixture
def carrier(app, clock, network):
    cfg = CarrierConfig(
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        incoming_url=app.url + "/incoming",
        status_callback_url=app.url + "/status",
    )
    c = Carrier(cfg, VirtualTimeline(clock), network=network)
    yield c
    c.close()


@pytest.fixture
def sim(carrier):
    with SimulatorServer(carrier, drive=False) as s:
        yield s


@pytest.fixture
def telephony(sim, app):
    settings = Settings(
        twilio_account_sid=ACCOUNT, twilio_auth_token=TOKEN, public_url=app.url, mode="test"
    )
    return TwilioTelephony.from_settings(settings, sim.url)


def auth(token=TOKEN, account=ACCOUNT):
    return (account, token)


def doc(*verbs) -> VoiceResponse:
    r = VoiceResponse()
    for v in verbs:
        r.append(v)
    return r


def conference(name: str, **kw) -> VoiceResponse:
    d = Dial()
    d.conference(name, **kw)
    return doc(d)


def whisper_then(action: str) -> VoiceResponse:
    g = Gather(num_digits=1, action=action, timeout=5)
    g.say("Problème de connexion, en français. Appuyez sur 1 pour prendre l'appel.")
    r = doc(g)
    r.say("Appel refusé.")
    r.hangup()
    return r


def wire_agent_legs(app, telephony, *, caller_end_on_exit=True):
    """The dance the hotline does: a waiting caller, an offer to the agent, a whisper,
    press 1, agent in the conference named after the caller, caller moved in."""
    state = {}

    def incoming(form):
        r = VoiceResponse()
        r.enqueue("support", wait_url=app.url + "/wait", action=app.url + "/dequeued")
        return r

    def wait(form):
        if "caller" not in state:
            state["caller"] = form["CallSid"]
            state["queue"] = form["QueueSid"]
            # A real app does this in an RQ job; the test app may do it right here.
            state["agent_leg"] = telephony.place_call(
                to=AGENT,
                from_="+33100000000",
                url=app.url + "/agent",
                status_callback=app.url + "/agent-status",
                timeout=20,
            )
        return doc(Pause(length=20))

    def accept(form):
        if form.get("Digits") != "1":
            return doc(Say("Bien noté."))
        telephony.dequeue_member(state["queue"], state["caller"], app.url + "/join-caller")
        return conference(
            state["caller"], start_conference_on_enter=True, end_conference_on_exit=True
        )

    app.routes.update(
        {
            "/incoming": incoming,
            "/wait": wait,
            "/agent": lambda f: whisper_then(app.url + "/accept"),
            "/accept": accept,
            "/join-caller": lambda f: doc(
                _dial_conf(state["caller"], caller_end_on_exit), Hangup()
            ),
            "/dequeued": VoiceResponse(),
        }
    )
    return state


def _dial_conf(name, end):
    d = Dial()
    d.conference(name, start_conference_on_enter=True, end_conference_on_exit=end)
    return d


# REST basics ------------------------------------------------------------------------


def test_rest_requires_basic_auth_with_the_account_sid_and_token(sim):
    url = f"{sim.url}/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert requests.get(url).status_code == 401
    assert requests.get(url, auth=auth(token="wrong")).status_code == 401
    body = requests.get(url, auth=auth(token="wrong")).json()
    assert body["code"] == 20003
    other = "AC" + "ef" * 16
    assert (
        requests.get(
            f"{sim.url}/2010-04-01/Accounts/{other}/Calls.json", auth=(ACCOUNT, TOKEN)
        ).status_code
        == 404
    )
    assert requests.get(url, auth=auth()).status_code == 200


def test_outbound_call_with_a_bad_number_is_refused_at_once(telephony, carrier):
    with pytest.raises(PermanentTelephonyError):
        telephony.place_call(
            to="0612",
            from_="+33100000000",
            url="http://x.invalid/a",
            status_callback="http://x.invalid/s",
        )
    assert carrier.sessions == {}


# Outbound calls: ring, answer, status callbacks ------------------------------------------


def test_answered_outbound_call_reports_each_status_with_sequence_numbers(
    app, telephony, carrier, network, clock
):
    network.add(AgentPhone("camille", AGENT, answer_after=4, talk_seconds=30))
    text = "Bonjour, ceci est un appel de la hotline informatique."
    app.routes["/agent"] = doc(Say(text))
    sid = telephony.place_call(
        to=AGENT,
        from_="+33100000000",
        url=app.url + "/agent",
        status_callback=app.url + "/agent-status",
        timeout=20,
    )
    carrier.run()
    cbs = app.got("/agent-status")
    assert [c["CallStatus"] for c in cbs] == ["initiated", "ringing", "in-progress", "completed"]
    assert [c["SequenceNumber"] for c in cbs] == ["0", "1", "2", "3"]
    assert all(c["CallSid"] == sid and c["Direction"] == "outbound-api" for c in cbs)
    assert all(c["CallbackSource"] == "call-progress-events" and c["Timestamp"] for c in cbs)
    assert app.at("/agent") == [T0 + 4]  # TwiML fetched on answer, after the ring
    first = app.got("/agent")[0]
    assert (
        first["CallStatus"] == "in-progress"
        and first["To"] == AGENT
        and first["From"] == "+33100000000"
    )
    assert cbs[-1]["CallDuration"] == str(round(say_seconds(text)))  # from the answer, not the ring


def test_unanswered_offer_ends_no_answer_at_the_timeout_without_fetching_twiml(
    app, telephony, carrier, network, clock
):
    network.add(AgentPhone("camille", AGENT, offers=["miss"]))
    sid = telephony.place_call(
        to=AGENT,
        from_="+33100000000",
        url=app.url + "/agent",
        status_callback=app.url + "/agent-status",
        timeout=20,
    )
    carrier.run()
    cbs = app.got("/agent-status")
    assert [c["CallStatus"] for c in cbs] == ["initiated", "ringing", "no-answer"]
    assert cbs[-1]["CallDuration"] == "0"
    assert app.at("/agent-status")[-1] == T0 + 20
    assert app.got("/agent") == []
    assert carrier.sessions[sid].call_status == "no-answer"


@pytest.mark.parametrize("kind,status", [("busy", "busy"), ("fail", "failed")])
def test_busy_and_failed_endpoints(app, telephony, carrier, network, kind, status):
    network.add(AgentPhone("camille", AGENT, offers=[kind]))
    telephony.place_call(
        to=AGENT,
        from_="+33100000000",
        url=app.url + "/agent",
        status_callback=app.url + "/agent-status",
    )
    carrier.run()
    assert app.got("/agent-status")[-1]["CallStatus"] == status
    assert app.got("/agent") == []


def test_a_client_identity_nobody_has_open_rings_out(app, telephony, carrier):
    telephony.place_call(
        to="client:nobody",
        from_="+33100000000",
        url=app.url + "/agent",
        status_callback=app.url + "/agent-status",
        timeout=15,
    )
    carrier.run()
    assert app.got("/agent-status")[-1]["CallStatus"] == "no-answer"


def test_canceling_a_ringing_call_reports_canceled(app, telephony, carrier, network, clock):
    network.add(AgentPhone("camille", AGENT, answer_after=10))
    app.routes["/agent"] = doc(Say("Bonjour"))
    sid = telephony.place_call(
        to=AGENT,
        from_="+33100000000",
        url=app.url + "/agent",
        status_callback=app.url + "/agent-status",
        timeout=20,
    )

    def cancel_at_3s():
        carrier.timeline.sleep(3)
        telephony.hangup_call(sid)

    carrier.timeline.spawn(cancel_at_3s)
    carrier.run()
    cbs = app.got("/agent-status")
    assert cbs[-1]["CallStatus"] == "canceled" and app.at("/agent-status")[-1] == T0 + 3
    assert app.got("/agent") == []


def test_redirecting_a_ringing_call_changes_the_twiml_fetched_on_answer(
    app, telephony, carrier, network
):
    network.add(AgentPhone("camille", AGENT, answer_after=6))
    app.routes["/gone"] = doc(Say("L'appelant a raccroché."))
    sid = telephony.place_call(
        to=AGENT,
        from_="+33100000000",
        url=app.url + "/agent",
        status_callback=app.url + "/agent-status",
    )

    def redirect_at_2s():
        carrier.timeline.sleep(2)
        telephony.redirect_call(sid, app.url + "/gone")

    carrier.timeline.spawn(redirect_at_2s)
    carrier.run()
    assert app.got("/agent") == [] and len(app.got("/gone")) == 1
    assert [x.text for x in carrier.sessions[sid].result.transcript if x.verb == "Say"] == [
        "L'appelant a raccroché."
    ]


def test_updating_a_call_that_has_ended_is_refused(app, telephony, carrier, network):
    network.add(AgentPhone("camille", AGENT, offers=["miss"]))
    sid = telephony.place_call(
        to=AGENT,
        from_="+33100000000",
        url=app.url + "/agent",
        status_callback=app.url + "/agent-status",
    )
    carrier.run()
    with pytest.raises(PermanentTelephonyError, match=r"21220|not in-progress"):
        telephony.redirect_call(sid, app.url + "/agent")
    with pytest.raises(PermanentTelephonyError):
        telephony.hangup_call("CA" + "0" * 32)


def test_queue_member_update_for_a_call_not_in_that_queue_is_404(telephony):
    with pytest.raises(PermanentTelephonyError, match=r"404|not found"):
        telephony.dequeue_member("QU" + "0" * 32, "CA" + "1" * 32, "http://x.invalid/")


# The hotline's dance: offer, whisper, accept, conference -----------------------------------


def test_offer_whisper_accept_and_conference_bridge_the_exact_caller(
    app, telephony, carrier, network, clock
):
    network.add(AgentPhone("camille", AGENT, answer_after=4, talk_seconds=120))
    state = wire_agent_legs(app, telephony)
    other = carrier.spawn(Party(patience=600, name="other caller"), from_="+33611000002", at=T0)
    caller = carrier.spawn(Party(patience=600, name="caller"), from_="+33611000001", at=T0 + 1)
    # `other` enqueued first (head of the Twilio queue): the member update must take *our* caller.
    state.clear()

    def incoming_only_first(form):
        r = VoiceResponse()
        r.enqueue(
            "support",
            wait_url=app.url + ("/wait" if form["From"] == "+33611000001" else "/hold"),
            action=app.url + "/dequeued",
        )
        return r

    app.routes["/incoming"] = incoming_only_first
    app.routes["/hold"] = doc(Pause(length=30))
    carrier.run(until=T0 + 400)
    agent_leg = carrier.sessions[state["agent_leg"]]
    assert state["caller"] == caller.spec.sid
    assert caller.result.queue_result == "redirected"
    assert app.got("/dequeued")[0]["QueueResult"] == "redirected"
    assert app.got("/dequeued")[0]["CallSid"] == caller.spec.sid
    # Talk starts when both are in; the agent hangs up after 120 s; the room ends for both.
    assert agent_leg.result.status == "completed" and caller.result.status == "completed"
    assert agent_leg.result.ended_at == caller.result.ended_at
    rooms = [c for c in carrier.conferences.all if c.name == caller.spec.sid]
    assert len(rooms) == 1 and rooms[0].ever == [agent_leg.spec.sid, caller.spec.sid]
    assert rooms[0].end_reason == "participant-with-end-conference-on-exit-left"
    caller_in = next(
        t
        for t, ev, room, sid in carrier.conferences.history
        if ev == "join" and sid == caller.spec.sid
    )
    assert agent_leg.result.ended_at - caller_in == pytest.approx(120)
    assert other.result.status == "in-progress" or other.result.queue_result == "hangup"
    lines = [x.label() for x in agent_leg.result.transcript]
    assert any("pressed 1" in x for x in lines) and any("conference" in x for x in lines)
    cbs = app.got("/agent-status")
    assert [c["CallStatus"] for c in cbs] == ["initiated", "ringing", "in-progress", "completed"]
    assert int(cbs[-1]["CallDuration"]) >= 120


def test_a_declining_agent_never_reaches_the_conference(app, telephony, carrier, network):
    network.add(AgentPhone("camille", AGENT, offers=["decline"]))
    state = wire_agent_legs(app, telephony)
    carrier.spawn(Party(patience=90, name="caller"), from_="+33611000001")
    carrier.run()
    leg = carrier.sessions[state["agent_leg"]]
    assert app.got("/accept")[0]["Digits"] == "2"
    assert carrier.conferences.all == []
    assert leg.result.status == "completed"


def test_an_agent_hanging_up_during_the_whisper_ends_the_leg(app, telephony, carrier, network):
    network.add(AgentPhone("camille", AGENT, offers=["hangup"], answer_after=3))
    state = wire_agent_legs(app, telephony)
    carrier.spawn(Party(patience=90, name="caller"), from_="+33611000001")
    carrier.run()
    leg = carrier.sessions[state["agent_leg"]]
    assert app.got("/accept") == []
    assert leg.result.status == "completed" and leg.result.duration <= 6


def test_the_caller_hanging_up_first_ends_the_conference_for_the_agent(
    app, telephony, carrier, network
):
    network.add(AgentPhone("camille", AGENT, talk_seconds=300))
    state = wire_agent_legs(app, telephony)
    caller = carrier.spawn(
        Party(patience=600, talk_seconds=45, name="caller"), from_="+33611000001"
    )
    carrier.run()
    leg = carrier.sessions[state["agent_leg"]]
    room = carrier.conferences.all[0]
    assert caller.result.ended_at == leg.result.ended_at
    assert caller.result.ended_at - room.started_at < 300
    assert any("Caller hangs up" in x.label() for x in caller.result.transcript)


def test_the_room_does_not_end_when_a_participant_without_end_on_exit_leaves(
    app, telephony, carrier, network
):
    network.add(AgentPhone("camille", AGENT, talk_seconds=60))
    state = wire_agent_legs(app, telephony, caller_end_on_exit=False)
    caller = carrier.spawn(
        Party(patience=600, talk_seconds=20, name="caller"), from_="+33611000001"
    )
    carrier.run()
    leg = carrier.sessions[state["agent_leg"]]
    # The caller leaves after 20 s; the agent (alone, end-on-exit) hangs up at 60 s.
    assert leg.result.ended_at - caller.result.ended_at == pytest.approx(40, abs=1)


def test_conferences_and_participants_are_listed(app, telephony, carrier, network, sim):
    network.add(AgentPhone("camille", AGENT, talk_seconds=60))
    state = wire_agent_legs(app, telephony)
    carrier.spawn(Party(patience=600), from_="+33611000001")
    carrier.run()
    url = f"{sim.url}/2010-04-01/Accounts/{ACCOUNT}/Conferences.json"
    confs = requests.get(url, params={"FriendlyName": state["caller"]}, auth=auth()).json()[
        "conferences"
    ]
    assert len(confs) == 1 and confs[0]["status"] == "completed"
    # Through the real client library too.
    listed = telephony.client.conferences.list(friendly_name=state["caller"])
    assert [c.friendly_name for c in listed] == [state["caller"]]


# <Dial><Number> / <Client> -----------------------------------------------------------------


def test_dial_number_bridges_two_legs_and_reports_the_dial_outcome(app, carrier, network):
    network.add(CustomerPhone("+33611999999", answer_after=5, talk_seconds=40))
    d = Dial(action=app.url + "/dial-done", timeout=20)
    d.number("+33611999999")
    app.routes["/incoming"] = doc(d)
    app.routes["/dial-done"] = doc(Say("Merci"))
    res = carrier.spawn(Party(), from_="+33611000001").result
    carrier.run()
    done = app.got("/dial-done")[0]
    assert done["DialCallStatus"] == "completed" and done["DialCallDuration"] == "40"
    child = carrier.sessions[done["DialCallSid"]]
    assert child.spec.parent_sid == res.sid and child.spec.direction == "outbound-dial"
    assert res.transcript.texts("Say")[-1] == "Merci"


def test_dial_client_that_does_not_answer_reports_no_answer(app, carrier, network):
    d = Dial(action=app.url + "/dial-done", timeout=12)
    d.client("chloe.robert")
    app.routes["/incoming"] = doc(d)
    carrier.spawn(Party(), from_="+33611000001")
    carrier.run()
    assert app.got("/dial-done")[0]["DialCallStatus"] == "no-answer"


def test_dial_number_runs_the_whisper_url_on_the_callee_first(app, carrier, network):
    network.add(AgentPhone("camille", AGENT, talk_seconds=10))
    d = Dial(action=app.url + "/dial-done")
    d.number(AGENT, url=app.url + "/whisper")
    app.routes["/incoming"] = doc(d)
    app.routes["/whisper"] = doc(Say("Appel de la hotline"))
    carrier.spawn(Party(), from_="+33611000001")
    carrier.run()
    assert len(app.got("/whisper")) == 1
    assert app.got("/dial-done")[0]["DialCallStatus"] == "completed"


def test_agent_phone_behaviour_is_scripted_then_seeded():
    a = AgentPhone("x", AGENT, offers=["miss", "accept"], miss_probability=0.5, seed=7)
    kinds = [a.ring().kind for _ in range(40)]
    assert kinds[0] == "no-answer" and kinds[1] == "answer"
    b = AgentPhone("x", AGENT, offers=["miss", "accept"], miss_probability=0.5, seed=7)
    assert [b.ring().kind for _ in range(40)] == kinds  # same seed, same day
    assert 5 < kinds.count("no-answer") < 35
    assert Press("1") in AgentPhone("y", AGENT).ring().party.answers
