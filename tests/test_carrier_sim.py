"""The carrier simulator executes TwiML as Twilio does, over real HTTP, signed.

Each test serves a tiny Flask app of its own on a loopback port. The app checks
X-Twilio-Signature with twilio's RequestValidator (403 otherwise), records every
request it accepted, and answers TwiML built with twilio.twiml.voice_response.
"""

from __future__ import annotations

import base64

import pytest
import requests
from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Enqueue, Gather, VoiceResponse

from hotline.carrier.loopback import LoopbackServer
from hotline.carrier.party import Message, Party, Press, Silence, Speak, parse_press, script
from hotline.carrier.signing import WebhookFailed
from hotline.carrier.simulator import Carrier, CarrierConfig
from hotline.carrier.timing import VirtualTimeline, say_seconds
from hotline.carrier.twiml_exec import TwimlError
from hotline.clock import ManualClock
from hotline.errors import HotlineError

ACCOUNT = "AC" + "ab" * 16
TOKEN = "sim-test-token"
T0 = 1_780_000_000.0


class TinyApp:
    """A signed Flask app whose routes each test fills with TwiML."""

    def __init__(self, token: str = TOKEN):
        self.routes: dict[str, object] = {}
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, params)
        self.server = LoopbackServer()
        self.url = self.server.url
        app = Flask("tiny")
        validator = RequestValidator(token)

        @app.route("/<path:path>", methods=["GET", "POST"])
        def any_route(path):
            params = request.form.to_dict() if request.method == "POST" else {}
            if not validator.validate(
                request.url, params, request.headers.get("X-Twilio-Signature", "")
            ):
                return Response("bad signature", status=403)
            got = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
            self.requests.append((request.method, "/" + path, got))
            answer = self.routes.get("/" + path, VoiceResponse())
            if callable(answer):
                answer = answer(got)
            return Response(str(answer), mimetype="text/xml")

        self.server.mount(app)

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.requests]

    def params(self, path: str) -> list[dict]:
        return [d for _, p, d in self.requests if p == path]

    def close(self):
        self.server.close()


@pytest.fixture
def tiny():
    t = TinyApp()
    yield t
    t.close()


@pytest.fixture
def clock():
    return ManualClock(T0)


@pytest.fixture
def carrier(tiny, clock):
    cfg = CarrierConfig(
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        incoming_url=tiny.url + "/incoming",
        status_callback_url=tiny.url + "/status",
    )
    c = Carrier(cfg, VirtualTimeline(clock))
    yield c
    c.close()


def twiml(verb: str, *args, **kw) -> VoiceResponse:
    """A one-verb document (VoiceResponse's verb methods return the verb, not the document)."""
    r = VoiceResponse()
    getattr(r, verb)(*args, **kw)
    return r


def lines(result) -> list[str]:
    return [line.label() for line in result.transcript]


def test_say_and_pause_are_heard_and_take_virtual_time(tiny, carrier, clock):
    r = VoiceResponse()
    r.say("Bonjour, vous êtes bien au support informatique.", language="fr-FR")
    r.pause(length=10)
    tiny.routes["/incoming"] = r
    result = carrier.call(Party(), from_="+33612345678")
    assert lines(result) == [
        "[Say fr-FR] Bonjour, vous êtes bien au support informatique.",
        "[Pause 10s]",
    ]
    spoken = say_seconds("Bonjour, vous êtes bien au support informatique.")
    assert clock.now() == pytest.approx(T0 + spoken + 10)
    assert result.status == "completed"
    assert tiny.paths() == ["/incoming", "/status"]


def test_first_request_carries_twilios_parameters_and_status_callback_ends_the_call(tiny, carrier):
    tiny.routes["/incoming"] = VoiceResponse()
    result = carrier.call(Party(), from_="+33612345678")
    first, status = tiny.requests[0][2], tiny.requests[1][2]
    assert first["CallSid"] == result.sid and first["CallSid"].startswith("CA")
    assert first["AccountSid"] == ACCOUNT
    assert (first["From"], first["To"], first["Direction"]) == (
        "+33612345678",
        "+33100000000",
        "inbound",
    )
    assert first["CallStatus"] == "ringing" and first["ApiVersion"] == "2010-04-01"
    assert first["FromCountry"] == "FR"
    assert status["CallStatus"] == "completed"
    assert status["CallDuration"] == "0"
    assert status["CallbackSource"] == "call-progress-events"
    assert status["Timestamp"].endswith("+0000")


def test_gather_answered_by_keys_posts_digits_to_the_action_and_skips_later_verbs(tiny, carrier):
    r = VoiceResponse()
    g = Gather(input="dtmf speech", num_digits=1, action=tiny.url + "/menu", timeout=5)
    g.say("Tapez 1 pour un problème de connexion.", language="fr-FR")
    r.append(g)
    r.say("never heard")
    tiny.routes["/incoming"] = r
    tiny.routes["/menu"] = twiml("say", "Connexion.", language="fr-FR")
    result = carrier.call(Party([Press("1")]))
    assert tiny.params("/menu")[0]["Digits"] == "1"
    assert "CallSid" in tiny.params("/menu")[0]
    assert lines(result) == [
        "[Say fr-FR] Tapez 1 pour un problème de connexion.",
        "[Gather] pressed 1",
        "[Say fr-FR] Connexion.",
    ]


def test_gather_digits_end_at_finish_on_key(tiny, carrier):
    r = VoiceResponse()
    r.gather(
        action="/code", finish_on_key="#", timeout=5
    )  # relative URL: resolved like Twilio does
    tiny.routes["/incoming"] = r
    carrier.call(Party([Press("8007#")]))
    assert tiny.params("/code")[0]["Digits"] == "8007"


def test_gather_answered_by_speech_posts_speech_result_and_confidence(tiny, carrier):
    r = VoiceResponse()
    r.append(Gather(input="dtmf speech", action=tiny.url + "/menu", language="fr-FR"))
    tiny.routes["/incoming"] = r
    result = carrier.call(Party([Speak("Excel plante au démarrage", confidence=0.81)]))
    got = tiny.params("/menu")[0]
    assert got["SpeechResult"] == "Excel plante au démarrage"
    assert got["Confidence"] == "0.81"
    assert "Digits" not in got
    assert lines(result) == ['[Gather] said "Excel plante au démarrage"']


def test_speech_answer_waits_for_a_gather_that_listens_to_speech(tiny, carrier):
    r = VoiceResponse()
    r.gather(input="dtmf", num_digits=1, timeout=3, action="/lang")
    r.gather(input="dtmf speech", action="/menu")
    tiny.routes["/incoming"] = r
    result = carrier.call(Party([Speak("mon wifi coupe")]))
    assert "/lang" not in tiny.paths()
    assert tiny.params("/menu")[0]["SpeechResult"] == "mon wifi coupe"
    assert lines(result)[0] == "[Gather] no input (3s)"


def test_gather_without_input_falls_through_to_the_next_verb_after_its_timeout(
    tiny, carrier, clock
):
    r = VoiceResponse()
    r.gather(action="/menu", timeout=7)
    r.say("Nous n'avons pas reçu votre choix.", language="fr-FR")
    tiny.routes["/incoming"] = r
    result = carrier.call(Party([Silence(), Press("1")]))
    assert "/menu" not in tiny.paths()
    assert lines(result) == [
        "[Gather] no input (7s)",
        "[Say fr-FR] Nous n'avons pas reçu votre choix.",
    ]


def test_action_on_empty_result_posts_the_action_without_input(tiny, carrier):
    r = VoiceResponse()
    r.gather(action="/menu", timeout=2, action_on_empty_result=True)
    tiny.routes["/incoming"] = r
    carrier.call(Party())
    got = tiny.params("/menu")[0]
    assert "Digits" not in got and "SpeechResult" not in got


def test_redirect_follows_the_url_with_its_method_and_signs_get_requests(tiny, carrier):
    tiny.routes["/incoming"] = twiml("redirect", tiny.url + "/next?step=2", method="GET")
    tiny.routes["/next"] = twiml("say", "after redirect")
    result = carrier.call(Party())
    method, path, params = tiny.requests[1]
    assert (method, path) == ("GET", "/next")
    assert params["step"] == "2" and params["CallSid"] == result.sid
    assert lines(result) == ["[Say] after redirect"]


def test_hangup_ends_the_call_and_nothing_after_it_runs(tiny, carrier):
    r = VoiceResponse()
    r.say("Au revoir.")
    r.hangup()
    r.say("never heard")
    tiny.routes["/incoming"] = r
    result = carrier.call(Party())
    assert lines(result) == ["[Say] Au revoir.", "[Hangup]"]
    assert tiny.paths() == ["/incoming", "/status"]


def enqueue_app(tiny, *, wait_twiml=None):
    r = VoiceResponse()
    r.append(Enqueue("software", wait_url=tiny.url + "/wait", action=tiny.url + "/queue-action"))
    r.say("after the queue")
    tiny.routes["/incoming"] = r
    if wait_twiml is None:
        w = VoiceResponse()
        w.say("Vous êtes en position 1.", language="fr-FR")
        w.pause(length=20)
        wait_twiml = w
    tiny.routes["/wait"] = wait_twiml


def test_enqueue_requests_wait_url_again_each_time_the_wait_twiml_ends(tiny, carrier):
    enqueue_app(tiny)
    carrier.call(Party(patience=100))
    waits = tiny.params("/wait")
    assert len(waits) == 5  # 0, ~21.5, ~43, ~64.5, ~86 s: hangs up at 100 s during the 5th pause
    assert [w["QueuePosition"] for w in waits] == ["1"] * 5
    assert waits[0]["QueueTime"] == "0" and int(waits[-1]["QueueTime"]) > 80
    assert waits[0]["QueueSid"].startswith("QU") and waits[0]["CurrentQueueSize"] == "1"
    assert {"AvgQueueTime", "CallSid", "From"} <= set(waits[0])


def test_caller_hanging_up_while_enqueued_posts_action_with_hangup_then_status(
    tiny, carrier, clock
):
    enqueue_app(tiny)
    result = carrier.call(Party(patience=45))
    assert tiny.paths()[-2:] == ["/queue-action", "/status"]
    action = tiny.params("/queue-action")[0]
    assert action["QueueResult"] == "hangup"
    assert action["QueueTime"] == "45"
    assert action["QueueSid"] == tiny.params("/wait")[0]["QueueSid"]
    assert clock.now() == pytest.approx(T0 + 45)
    assert lines(result)[-1] == "[Caller hangs up after 45s in queue]"
    assert "[Say] after the queue" not in lines(result)
    assert result.queue_result == "hangup" and result.status == "completed"
    assert tiny.params("/status")[0]["CallDuration"] == "45"


def test_leave_posts_action_with_leave_and_runs_its_twiml(tiny, carrier):
    enqueue_app(tiny, wait_twiml=twiml("leave"))
    tiny.routes["/queue-action"] = twiml("say", "Nous vous rappellerons.")
    result = carrier.call(Party())
    assert tiny.params("/queue-action")[0]["QueueResult"] == "leave"
    assert lines(result)[-2:] == ["[Leave]", "[Say] Nous vous rappellerons."]
    assert carrier.queues.snapshot()["software"]["members"] == []


def test_hangup_in_the_wait_twiml_reports_queue_result_hangup(tiny, carrier):
    enqueue_app(tiny, wait_twiml=twiml("hangup"))
    carrier.call(Party())
    assert tiny.params("/queue-action")[0]["QueueResult"] == "hangup"
    assert tiny.paths()[-1] == "/status"


def test_wait_twiml_may_not_use_other_verbs(tiny, carrier):
    enqueue_app(tiny, wait_twiml=twiml("dial", "+33123456789"))
    with pytest.raises(TwimlError, match="not allowed in a waitUrl"):
        carrier.call(Party()).raise_for_error()


def test_two_callers_in_one_queue_hear_their_own_positions_in_virtual_time(tiny, carrier, clock):
    enqueue_app(tiny)
    first = carrier.spawn(Party(patience=60), from_="+33611111111", at=T0)
    second = carrier.spawn(Party(patience=90), from_="+33622222222", at=T0 + 10)
    carrier.run()
    by_caller = {}
    for w in tiny.params("/wait"):
        by_caller.setdefault(w["From"], []).append(w["QueuePosition"])
    assert by_caller["+33611111111"][0] == "1"
    assert by_caller["+33622222222"][0] == "2"
    assert by_caller["+33622222222"][-1] == "1"  # the first caller gave up at T0+60
    assert first.result.ended_at == pytest.approx(T0 + 60)
    assert second.result.ended_at == pytest.approx(T0 + 100)
    assert clock.now() == pytest.approx(T0 + 100)


def test_simulation_stopped_leaves_waiting_callers_on_the_line(tiny, carrier, clock):
    enqueue_app(tiny)
    session = carrier.spawn(Party(patience=600), at=T0)
    carrier.run(until=T0 + 100)
    assert session.result.status == "in-progress"
    assert "/status" not in tiny.paths()
    assert clock.now() == pytest.approx(T0 + 100)


def test_redirect_by_the_carrier_dequeues_with_queue_result_redirected(tiny, carrier):
    enqueue_app(tiny)
    tiny.routes["/agent"] = twiml("say", "Vous êtes en ligne avec un technicien.")
    session = carrier.new_call(Party(patience=300))

    def wait(params):
        if int(params["QueueTime"]) >= 40:
            session.redirect(tiny.url + "/agent")
        return twiml("pause", length=20)

    tiny.routes["/wait"] = wait
    result = session.run()
    assert tiny.params("/queue-action")[0]["QueueResult"] == "redirected"
    assert lines(result)[-1] == "[Say] Vous êtes en ligne avec un technicien."


def test_record_posts_recording_to_action_and_transcription_after_the_call(tiny, carrier):
    r = VoiceResponse()
    r.say("Laissez un message après le bip.")
    r.record(
        action=tiny.url + "/recorded",
        max_length=60,
        finish_on_key="#",
        transcribe_callback=tiny.url + "/transcribed",
    )
    tiny.routes["/incoming"] = r
    tiny.routes["/recorded"] = twiml("hangup")
    result = carrier.call(Party(message=Message(seconds=12, text="Mon imprimante ne répond plus")))
    rec = tiny.params("/recorded")[0]
    assert rec["RecordingDuration"] == "12" and rec["Digits"] == "#"
    assert rec["RecordingSid"].startswith("RE") and rec["RecordingUrl"].endswith(
        rec["RecordingSid"]
    )
    assert tiny.paths()[-2:] == ["/status", "/transcribed"]
    tr = tiny.params("/transcribed")[0]
    assert tr["TranscriptionText"] == "Mon imprimante ne répond plus"
    assert tr["RecordingSid"] == rec["RecordingSid"]
    assert '[Record 12s] "Mon imprimante ne répond plus"' in lines(result)


def test_empty_recording_goes_on_with_the_next_verb(tiny, carrier):
    r = VoiceResponse()
    r.record(action="/recorded", timeout=4)
    r.say("Aucun message enregistré.")
    tiny.routes["/incoming"] = r
    result = carrier.call(Party())
    assert "/recorded" not in tiny.paths()
    assert lines(result)[-1] == "[Say] Aucun message enregistré."


def test_every_request_is_signed_and_the_app_accepted_it(tiny, carrier):
    enqueue_app(tiny)
    carrier.call(Party(patience=30))
    assert len(tiny.requests) >= 4  # the tiny app only records requests whose signature it accepted


def test_simulator_fails_loudly_when_the_app_answers_403(tiny, clock):
    cfg = CarrierConfig(
        account_sid=ACCOUNT,
        auth_token="not-the-apps-token",
        incoming_url=tiny.url + "/incoming",
        status_callback_url=tiny.url + "/status",
    )
    carrier = Carrier(cfg, VirtualTimeline(clock))
    result = carrier.call(Party())
    assert result.status == "failed"
    assert tiny.requests == []
    with pytest.raises(WebhookFailed, match="403"):
        result.raise_for_error()


def test_non_twiml_answer_fails_loudly(tiny, carrier):
    tiny.routes["/incoming"] = "<html>oops</html>"
    with pytest.raises(TwimlError, match="not <Response>"):
        carrier.call(Party()).raise_for_error()


def test_a_redirect_loop_is_stopped(tiny, carrier):
    tiny.routes["/incoming"] = twiml("redirect", "/incoming")
    with pytest.raises(TwimlError, match="loop"):
        carrier.call(Party()).raise_for_error()


def test_press_option_syntax():
    assert parse_press("9,2,8007#") == [Press("9"), Press("2"), Press("8007#")]
    assert parse_press("9,,1") == [Press("9"), Silence(), Press("1")]
    assert script(lang="en", say="my wifi drops", press="1") == [
        Press("9"),
        Speak("my wifi drops"),
        Press("1"),
    ]
    with pytest.raises(HotlineError, match="phone keys"):
        parse_press("1,a")


def test_rest_api_places_a_call_and_lists_it(tiny, clock):
    from hotline.carrier.server import SimulatorServer

    cfg = CarrierConfig(
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        incoming_url=tiny.url + "/incoming",
        status_callback_url=tiny.url + "/status",
    )
    tiny.routes["/incoming"] = twiml("say", "Bonjour")
    with SimulatorServer(Carrier(cfg, VirtualTimeline(clock))) as sim:
        base = f"{sim.url}/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
        auth = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        assert requests.post(base, data={"From": "+33612345678"}).status_code == 401
        created = requests.post(
            base,
            data={"From": "+33612345678", "To": "+33100000000", "SimPress": "1"},
            headers={"Authorization": auth},
        )
        assert created.status_code == 201
        sid = created.json()["sid"]
        sim.wait_idle()
        listed = requests.get(base, headers={"Authorization": auth}).json()["calls"]
        assert [c["sid"] for c in listed] == [sid]
        assert listed[0]["status"] == "completed" and listed[0]["direction"] == "inbound"
        one = requests.get(
            f"{sim.url}/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json",
            headers={"Authorization": auth},
        ).json()
        assert one["transcript"][0]["text"] == "Bonjour"


def test_compact_transcript_folds_the_wait_loop():
    from hotline.carrier.transcript import Transcript

    t = Transcript(T0)
    t.add(T0, "Enqueue", "software")
    for i in range(4):
        t.add(T0 + 20 * i, "Say", "Vous êtes le prochain.", language="fr-FR")
        t.add(T0 + 20 * i + 2, "Pause", "18s")
    t.add(T0 + 80, "Caller", "Caller hangs up after 80s in queue")
    assert t.render(compact=True).splitlines() == [
        " 0:00  [Enqueue software]",
        " 0:00  [Say fr-FR] Vous êtes le prochain.",
        " 0:02  [Pause 18s]",
        "       (the same 2 lines 3 more times, until 1:02)",
        " 1:20  [Caller hangs up after 80s in queue]",
    ]
    assert len(t.render().splitlines()) == 10


def test_a_redirect_from_another_party_cuts_the_wait_music_short(tiny, carrier, clock):
    """Part 2's agent leg dequeues the caller at once, not when the current pause ends."""
    enqueue_app(tiny, wait_twiml=twiml("pause", length=60))
    tiny.routes["/agent"] = twiml("say", "Bonjour, ici le support.")
    caller = carrier.spawn(Party(patience=600), at=T0)

    def agent():
        carrier.timeline.sleep(25)
        caller.redirect(tiny.url + "/agent")

    carrier.timeline.spawn(agent, at=T0)
    carrier.run()
    action = tiny.params("/queue-action")[0]
    assert action["QueueResult"] == "redirected"
    assert action["QueueTime"] == "25"
    assert lines(caller.result)[-1] == "[Say] Bonjour, ici le support."


def test_play_is_not_downloaded_and_lasts_the_default_play_time(tiny, carrier, clock):
    r = VoiceResponse()
    r.play("http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3", loop=2)
    r.play(digits="1234")
    tiny.routes["/incoming"] = r
    result = carrier.call(Party())
    assert lines(result) == ["[Play music]", "[Play music]", "[Play digits 1234]"]
    assert clock.now() == pytest.approx(T0 + 2 * 30 + 1.2)


def test_enqueue_without_wait_url_plays_music_until_the_caller_gives_up(tiny, carrier, clock):
    r = VoiceResponse()
    r.enqueue("general", action="/queue-action")
    tiny.routes["/incoming"] = r
    result = carrier.call(Party(patience=75))
    assert lines(result) == [
        "[Enqueue general]",
        "[Play music]",
        "[Play music]",
        "[Play music]",
        "[Caller hangs up after 75s in queue]",
    ]
    assert tiny.params("/queue-action")[0]["QueueResult"] == "hangup"
