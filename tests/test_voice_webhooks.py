"""The voice webhooks through Flask's test client, signed like Twilio, on a real Redis.

TwiML is parsed with ElementTree and checked verb by verb; every URL it hands
to Twilio is followed as Twilio would (absolute, signed).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
import redis

from hotline.clock import ManualClock
from hotline.services import Services
from tests.conftest import PUBLIC_URL, TwilioTestClient, call_params, sign

SID = "CA" + "1" * 32
SID2 = "CA" + "2" * 32
SID3 = "CA" + "3" * 32
V = "/webhooks/voice"


def xml(resp) -> ET.Element:
    assert resp.status_code == 200, resp.data
    assert resp.mimetype == "text/xml"
    root = ET.fromstring(resp.data)
    assert root.tag == "Response"
    return root


def verbs(root) -> list[str]:
    return [el.tag for el in root]


def says(node) -> list[str]:
    return [el.text for el in node.iter("Say")]


def query(url: str) -> dict:
    """The URL's query, without the call's turn `t` (its own tests are in test_replays.py)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items() if k != "t"}


def types(svc, sid=SID) -> list[str]:
    return [e.type for e in svc.events.read(call_sid=sid)]


class Caller:
    """One caller following the TwiML like Twilio: gather actions and redirects."""

    def __init__(self, twilio, sid=SID, from_=SID and "+33612345678"):
        self.twilio = twilio
        self.sid = sid
        self.from_ = from_

    def post(self, url, **params):
        return xml(self.twilio.post(url, call_params(self.sid, self.from_, **params)))

    def dial(self):
        return self.post(f"{V}/incoming")

    def answer(self, root, **params):
        """Answer the first <Gather> of `root` (Digits=..., SpeechResult=...)."""
        g = root.find("Gather")
        assert g is not None, ET.tostring(root)
        return self.post(g.get("action"), **params)

    def silence(self, root):
        """No input: Twilio falls through to the <Redirect> after the Gather."""
        r = root.find("Redirect")
        assert r is not None, ET.tostring(root)
        return self.post(r.text)

    def to_queue(self, digit="1"):
        root = self.answer(self.dial(), Digits=digit)
        if digit == "3":
            root = self.answer(root, Digits="#")
        return self.silence(root)  # the tip, then silence: queue me


def enqueue_el(root):
    el = root.find("Enqueue")
    assert el is not None, ET.tostring(root)
    return el


# ---------------------------------------------------------------- greeting and menu


def test_incoming_greets_in_french_with_english_key_and_menu_in_one_gather(twilio, svc):
    root = Caller(twilio).dial()
    assert verbs(root) == ["Gather", "Redirect"]
    g = root.find("Gather")
    assert g.get("input") == "dtmf speech"
    assert g.get("numDigits") == "1"
    assert g.get("language") == "fr-FR"
    assert g.get("hints") and "wifi" in g.get("hints")
    assert int(g.get("timeout")) > 0
    assert g.get("action").startswith(PUBLIC_URL + f"{V}/menu")
    assert query(g.get("action")) == {"lang": "fr", "attempt": "1"}
    assert root.find("Redirect").text == g.get("action")
    langs = [s.get("language") for s in g.iter("Say")]
    assert langs == ["fr-FR", "en-US", "fr-FR"]
    assert "For English, press 9." in says(g)
    call = svc.calls.get(SID)
    assert call.state == "ivr" and call.lang == "fr" and call.from_number == "+33612345678"
    assert types(svc) == ["call_created"]


def test_incoming_retried_by_twilio_creates_the_call_once(twilio, svc):
    Caller(twilio).dial()
    Caller(twilio).dial()
    assert types(svc) == ["call_created"]
    assert svc.redis.zcard(svc.keys.calls) == 1


def test_incident_announcement_follows_the_greeting_in_each_language(twilio, svc):
    svc.announcements.set("Une panne réseau touche le site de Rennes.", "fr", by="chef")
    svc.announcements.set("A network outage is affecting the Rennes site.", "en", by="chef")
    c = Caller(twilio)
    root = c.dial()
    s = says(root)
    assert s[0].startswith("Bonjour")
    assert "Une panne réseau touche le site de Rennes." in s[2]
    root = c.answer(root, Digits="9")
    assert root.find("Gather").get("language") == "en-US"
    assert "A network outage is affecting the Rennes site." in says(root)[0]
    assert svc.calls.get(SID).lang == "en"
    assert "language_chosen" in types(svc)


MENU = [("1", "connection"), ("2", "software"), ("0", "general")]


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("digit,category", MENU)
def test_each_menu_key_in_each_language_offers_the_tip_of_its_category(
    twilio, svc, lang, digit, category
):
    from hotline.ivr.classify import selfhelp_tip

    c = Caller(twilio)
    root = c.dial()
    if lang == "en":
        root = c.answer(root, Digits="9")
    root = c.answer(root, Digits=digit)
    g = root.find("Gather")
    assert g.get("input") == "dtmf" and g.get("numDigits") == "1"
    assert query(g.get("action")) == {"lang": lang, "category": category}
    assert selfhelp_tip(category, lang) in says(g)
    assert {s.get("language") for s in g.iter("Say")} == {"fr-FR" if lang == "fr" else "en-US"}
    call = svc.calls.get(SID)
    assert (call.category, call.skill, call.state) == (category, category, "selfhelp")
    ev = svc.events.read(call_sid=SID, types={"classified"})[-1]
    assert ev.fields["method"] == "dtmf" and ev.fields["category"] == category


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_error_message_key_asks_for_the_code_until_pound(twilio, svc, lang):
    c = Caller(twilio)
    root = c.dial()
    if lang == "en":
        root = c.answer(root, Digits="9")
    root = c.answer(root, Digits="3")
    g = root.find("Gather")
    assert g.get("finishOnKey") == "#" and g.get("numDigits") is None
    assert query(g.get("action")) == {"lang": lang}
    root = c.answer(root, Digits="4031")
    assert svc.calls.get(SID).error_code == "4031"
    assert any("4 0 3 1" in s for s in says(root))
    assert query(root.find("Gather").get("action")) == {"lang": lang, "category": "error_message"}
    ev = svc.events.read(call_sid=SID, types={"error_code_captured"})
    assert [e.fields["error_code"] for e in ev] == ["4031"]


def test_no_error_code_just_pound_goes_to_the_tip(twilio, svc):
    c = Caller(twilio)
    root = c.answer(c.answer(c.dial(), Digits="3"), Digits="")
    assert svc.calls.get(SID).error_code is None
    assert svc.calls.get(SID).state == "selfhelp"
    assert "error_code_captured" not in types(svc)
    assert root.find("Gather").get("numDigits") == "1"


SPEECH = [
    ("fr", "ma connexion wifi coupe sans arrêt", "connection"),
    ("fr", "Excel plante au démarrage", "software"),
    ("fr", "j'ai un écran bleu avec un code d'erreur", "error_message"),
    ("en", "my wifi keeps dropping", "connection"),
    ("en", "Excel crashes when I open it", "software"),
    ("en", "I get an error message with a code", "error_message"),
]


@pytest.mark.parametrize("lang,said,category", SPEECH)
def test_speech_is_classified_in_each_language(twilio, svc, lang, said, category):
    c = Caller(twilio)
    root = c.dial()
    if lang == "en":
        root = c.answer(root, Digits="9")
    root = c.answer(root, SpeechResult=said, Confidence="0.91")
    call = svc.calls.get(SID)
    assert call.category == category and call.confidence > 0
    if category == "error_message":
        assert root.find("Gather").get("finishOnKey") == "#"
    else:
        assert query(root.find("Gather").get("action"))["category"] == category
    ev = svc.events.read(call_sid=SID, types={"menu_choice", "classified"})
    # The answer that classified the call is on the `classified` event itself.
    assert ev[-1].type == "classified"
    assert ev[-1].fields["speech"] == said and ev[-1].fields["method"] == "speech"
    assert ev[-1].fields["speech_confidence"] == "0.91"


def test_low_confidence_speech_is_confirmed_by_key(twilio, svc):
    c = Caller(twilio)
    root = c.answer(c.dial(), SpeechResult="le réseau et excel")
    g = root.find("Gather")
    assert g.get("input") == "dtmf"
    assert query(g.get("action")) == {"lang": "fr", "category": "connection", "attempt": "1"}
    assert "un problème de connexion" in says(g)[0]
    assert svc.calls.get(SID).category is None
    root = c.answer(root, Digits="1")
    assert svc.calls.get(SID).category == "connection"
    assert "classification_confirmed" in types(svc)
    assert query(root.find("Gather").get("action"))["category"] == "connection"


def test_refused_confirmation_plays_the_menu_again(twilio, svc):
    c = Caller(twilio)
    root = c.answer(c.answer(c.dial(), SpeechResult="le réseau et excel"), Digits="2")
    assert query(root.find("Gather").get("action")) == {"lang": "fr", "attempt": "2"}
    assert svc.calls.get(SID).category is None


@pytest.mark.parametrize(
    "miss,prompt",
    [
        ({}, "Je n'ai rien entendu."),
        ({"Digits": "7"}, "Ce choix n'existe pas."),
        ({"Digits": "12"}, "Ce choix n'existe pas."),
        ({"SpeechResult": "bonjour madame"}, "Je n'ai pas bien compris."),
    ],
)
def test_a_miss_repeats_the_menu_at_most_twice_then_general(twilio, svc, miss, prompt):
    c = Caller(twilio)
    root = c.dial()
    for attempt in (2, 3):
        root = c.post(root.find("Gather").get("action"), **miss)
        g = root.find("Gather")
        assert query(g.get("action")) == {"lang": "fr", "attempt": str(attempt)}
        assert says(g)[0] == prompt
    root = c.post(root.find("Gather").get("action"), **miss)
    assert "Pas de souci, un technicien va vous aider." in says(root)
    call = svc.calls.get(SID)
    assert (call.category, call.skill, call.state) == ("general", "general", "selfhelp")
    assert types(svc).count("menu_retry") == 2
    ev = svc.events.read(call_sid=SID, types={"classified"})[-1]
    assert ev.fields["method"] == "fallback"


def test_silence_follows_the_redirect_and_counts_as_no_input(twilio, svc):
    c = Caller(twilio)
    root = c.silence(c.dial())
    assert says(root)[0] == "Je n'ai rien entendu."
    assert svc.events.read(call_sid=SID, types={"menu_retry"})[0].fields["reason"] == "no_input"


# ---------------------------------------------------------------- self-help and queue


def test_pressing_1_after_the_tip_resolves_the_call_without_an_agent(twilio, svc):
    c = Caller(twilio)
    root = c.answer(c.answer(c.dial(), Digits="2"), Digits="1")
    assert verbs(root) == ["Say", "Hangup"]
    call = svc.calls.get(SID)
    assert call.state == "resolved" and call.ended_at is not None
    assert svc.waiting.position(SID, "software") is None
    assert types(svc)[-1] == "selfhelp_resolved"


@pytest.mark.parametrize(
    "digit,skill",
    [("1", "connection"), ("2", "software"), ("3", "error_message"), ("0", "general")],
)
def test_otherwise_the_caller_waits_in_the_line_of_its_skill(twilio, svc, digit, skill):
    root = Caller(twilio).to_queue(digit)
    el = enqueue_el(root)
    assert el.text == skill
    assert el.get("waitUrl") == f"{PUBLIC_URL}{V}/wait?lang=fr&skill={skill}"
    call = svc.calls.get(SID)
    # The action carries the call's turn: a repeat of that request is recognised.
    assert el.get("action") == f"{PUBLIC_URL}{V}/dequeued?lang=fr&skill={skill}&t={call.turn}"
    assert (
        call.state == "waiting" and call.lines == (skill,) and call.enqueued_at == svc.clock.now()
    )
    assert svc.waiting.position(SID) == (1, 1)
    jobs = svc.rq_queue.get_jobs()
    assert [(j.func_name, j.args) for j in jobs] == [("hotline.jobs.call_waiting", (SID,))]


def test_a_retried_selfhelp_request_does_not_enqueue_twice(twilio, svc):
    c = Caller(twilio)
    root = c.answer(c.dial(), Digits="1")
    c.silence(root)
    root = c.silence(root)
    assert enqueue_el(root).text == "connection"
    assert types(svc).count("enqueued") == 1
    assert len(svc.rq_queue.get_jobs()) == 1


def test_wait_loop_announces_position_and_a_few_minutes_without_data(twilio, svc, clock):
    first, second = Caller(twilio, SID, "+33611111111"), Caller(twilio, SID2, "+33622222222")
    first.to_queue("1")
    clock.advance(5)
    wait_url = enqueue_el(second.to_queue("1")).get("waitUrl")
    root = second.post(wait_url, QueueSid="QU" + "a" * 32, QueuePosition="1", CurrentQueueSize="1")
    assert verbs(root) == ["Say", "Say", "Pause"]
    assert says(root) == [
        "Vous êtes en position 2 dans la file.",
        "Attente estimée : quelques minutes.",
    ]
    assert svc.calls.get(SID2).queue_sid == "QU" + "a" * 32
    ev = svc.events.read(call_sid=SID2, types={"position_announced"})[-1]
    assert ev.fields["position"] == "2" and "estimate_s" not in ev.fields


def test_wait_loop_estimates_from_recent_handle_times(twilio, svc, monkeypatch):
    # One agent on shift for the skill (the routing engine's count, tested with routing).
    monkeypatch.setattr(svc.estimates, "staffed", lambda skill: 1)
    for s in (240, 360, 300):
        svc.estimates.record_handle_time("software", s)
    Caller(twilio, SID, "+33611111111").to_queue("2")
    c2 = Caller(twilio, SID2, "+33622222222")
    root = c2.post(enqueue_el(c2.to_queue("2")).get("waitUrl"))
    assert says(root)[1] == "Attente estimée : environ 8 minutes."  # (2 - 1/2) x 300 s, one agent
    ev = svc.events.read(call_sid=SID2, types={"position_announced"})[-1]
    assert float(ev.fields["estimate_s"]) == 450.0
    root = Caller(twilio, SID, "+33611111111").post(f"{V}/wait?lang=fr&skill=software")
    assert says(root) == ["Vous êtes le prochain.", "Attente estimée : environ 3 minutes."]


def test_repeat_caller_within_a_day_is_boosted_and_told(twilio, svc, clock):
    me = "+33612345678"
    c = Caller(twilio, SID, me)
    c.answer(c.answer(c.dial(), Digits="1"), Digits="1")  # solved... or so they thought
    clock.advance(3600)
    Caller(twilio, SID2, "+33699999999").to_queue("1")  # arrived 200 s before me
    clock.advance(140)
    Caller(twilio, SID3, "+33688888888").to_queue("1")  # arrived 60 s before me
    clock.advance(60)
    again = Caller(twilio, "CA" + "4" * 32, me)
    root = again.to_queue("1")
    assert "votre appel est prioritaire" in " ".join(says(root))
    call = svc.calls.get("CA" + "4" * 32)
    assert call.repeat and call.priority == 1 and call.previous_call_at == clock.now() - 3800
    line = svc.waiting.snapshot(["connection"])[0]
    assert [x.sid for x in line.calls] == [SID2, "CA" + "4" * 32, SID3]


# ---------------------------------------------------------------- abandon


def _waiting_caller(twilio, clock):
    root = Caller(twilio).to_queue("1")
    clock.advance(42)
    return enqueue_el(root).get("action")


@pytest.mark.parametrize("order", [("action", "status"), ("status", "action")])
def test_hang_up_while_waiting_is_abandoned_once_whichever_comes_first(twilio, svc, clock, order):
    action = _waiting_caller(twilio, clock)
    c = Caller(twilio)
    for via in order:
        if via == "action":
            root = c.post(action, QueueResult="hangup", QueueTime="42")
            assert verbs(root) == []
        else:
            root = c.post(f"{V}/status", CallStatus="completed", CallDuration="60")
            assert verbs(root) == []
        clock.advance(1)
    call = svc.calls.get(SID)
    assert call.state == "abandoned" and call.wait_s == 42.0 and call.lines == ()
    assert svc.redis.zcard(svc.keys.waiting("connection")) == 0
    ab = svc.events.read(call_sid=SID, types={"abandoned"})
    assert len(ab) == 1 and ab[0].fields["via"] == order[0] and ab[0].fields["wait_s"] == "42.000"
    assert types(svc).count("call_ended") == 1


def test_hang_up_in_the_ivr_is_not_an_abandon(twilio, svc):
    c = Caller(twilio)
    c.dial()
    c.post(f"{V}/status", CallStatus="completed", CallDuration="12")
    assert svc.calls.get(SID).state == "left_ivr"
    assert "abandoned" not in types(svc)
    assert types(svc)[-1] == "call_ended"


def test_status_callbacks_that_are_not_the_end_change_nothing(twilio, svc):
    c = Caller(twilio)
    c.to_queue("1")
    before = len(svc.events)
    for status in ("ringing", "in-progress", "queued", ""):
        assert verbs(c.post(f"{V}/status", CallStatus=status)) == []
    assert svc.calls.get(SID).state == "waiting" and len(svc.events) == before


def test_leaving_the_twilio_queue_while_still_waiting_goes_back_in_keeping_the_place(
    twilio, svc, clock
):
    action = _waiting_caller(twilio, clock)
    score = svc.calls.get(SID).effective_at
    root = Caller(twilio).post(action, QueueResult="error")
    assert enqueue_el(root).text == "connection"
    assert svc.calls.get(SID).effective_at == score
    assert svc.waiting.position(SID) == (1, 1)
    assert svc.events.read(call_sid=SID, types={"queue_result"})[0].fields["result"] == "error"


def test_repeated_queue_errors_fail_the_call_to_the_fallback_instead_of_looping(twilio, svc, clock):
    action = _waiting_caller(twilio, clock)
    c = Caller(twilio)
    for retry in (1, 2):
        el = enqueue_el(c.post(action, QueueResult="system-error"))
        action = el.get("action")
        assert query(action)["retry"] == str(retry)
        assert svc.calls.get(SID).state == "waiting"
    root = c.post(action, QueueResult="system-error")
    assert says(root)[0].startswith("Nous sommes désolés")
    call = svc.calls.get(SID)
    assert call.state == "failed" and call.lines == ()
    assert svc.redis.zcard(svc.keys.waiting("connection")) == 0
    failed = svc.events.read(call_sid=SID, types={"call_failed"})
    assert [e.fields["reason"] for e in failed] == ["queue_system-error"]
    c.post(f"{V}/status", CallStatus="completed")
    assert svc.calls.get(SID).state == "failed" and "abandoned" not in types(svc)


def test_a_full_twilio_queue_fails_the_call_at_once(twilio, svc, clock):
    action = _waiting_caller(twilio, clock)
    root = Caller(twilio).post(action, QueueResult="queue-full")
    assert verbs(root)[-1] in ("Hangup", "Dial")
    assert svc.calls.get(SID).state == "failed"


def test_a_bridged_result_for_a_call_never_bridged_puts_it_back_in_the_queue(twilio, svc, clock):
    """The store says the caller is waiting: hanging up on them would lose the call."""
    action = _waiting_caller(twilio, clock)
    assert "Enqueue" in verbs(Caller(twilio).post(action, QueueResult="bridged"))
    assert svc.calls.get(SID).state == "waiting"


# ---------------------------------------------------------------- every step leaves a trace


def test_events_written_for_every_step_of_a_call(twilio, svc, clock):
    c = Caller(twilio)
    root = c.answer(c.dial(), Digits="7")
    root = c.answer(root, Digits="3")
    root = c.answer(root, Digits="1234")
    root = c.silence(root)
    c.post(enqueue_el(root).get("waitUrl"))
    clock.advance(30)
    c.post(enqueue_el(root).get("action"), QueueResult="hangup")
    c.post(f"{V}/status", CallStatus="completed")
    assert types(svc) == [
        "call_created",
        "menu_choice",
        "menu_retry",
        "classified",
        "error_code_captured",
        "selfhelp_offered",
        "enqueued",
        "position_announced",
        "abandoned",
        "call_ended",
    ]
    for e in svc.events.read(call_sid=SID):
        assert e.call_sid == SID and e.ts >= 1_780_000_000.0


# ---------------------------------------------------------------- security and bad input


def test_missing_forged_and_wrong_url_signatures_are_refused_and_write_nothing(app, svc, rclient):
    client = app.test_client()
    params = call_params()
    url = PUBLIC_URL + f"{V}/incoming"
    cases = [
        {},  # missing
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},  # forged
        {"X-Twilio-Signature": sign(url, params, token="someone-elses-token")},
        {
            "X-Twilio-Signature": sign("https://evil.example.test" + f"{V}/incoming", params)
        },  # wrong host
        {"X-Twilio-Signature": sign(PUBLIC_URL + f"{V}/wait", params)},  # wrong path
        {"X-Twilio-Signature": sign(url + "?lang=en", params)},  # wrong query
        {"X-Twilio-Signature": sign(url, {**params, "From": "+33600000000"})},  # tampered body
    ]
    for headers in cases:
        for path in (f"{V}/incoming", f"{V}/menu?lang=fr&attempt=1", f"{V}/status"):
            r = client.post(path, data=params, headers=headers)
            assert r.status_code == 403, (headers, path)
    assert rclient.dbsize() == 0


@pytest.mark.parametrize(
    "content_type,body",
    [
        ("application/json", '{"CallSid": "CA1"}'),
        (
            "multipart/form-data; boundary=xx",
            '--xx\r\nContent-Disposition: form-data; name="CallSid"\r\n\r\nCA1\r\n--xx--\r\n',
        ),
        ("text/plain", "CallSid=CA1"),
    ],
)
def test_a_body_that_is_not_a_form_is_refused_and_writes_nothing(app, rclient, content_type, body):
    """The signature covers the URL and the form's fields: for another body it would be
    checked over the URL alone while a handler read fields nobody signed."""
    client = app.test_client()
    url = PUBLIC_URL + f"{V}/incoming"
    r = client.post(
        f"{V}/incoming",
        data=body,
        content_type=content_type,
        headers={"X-Twilio-Signature": sign(url, {})},
    )
    assert r.status_code == 415
    assert rclient.dbsize() == 0


def test_a_body_larger_than_any_twilio_request_is_refused_before_it_is_read(app, rclient):
    from hotline.app import MAX_BODY

    client = app.test_client()
    big = {"CallSid": "CA" + "1" * 32, "SpeechResult": "x" * (MAX_BODY + 10)}
    url = PUBLIC_URL + f"{V}/incoming"
    r = client.post(f"{V}/incoming", data=big, headers={"X-Twilio-Signature": sign(url, big)})
    assert r.status_code == 413
    assert rclient.dbsize() == 0


def test_healthz_says_ok_or_not_and_nothing_about_redis(app, svc, monkeypatch):
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"ok": True}

    def down():
        raise redis.ConnectionError("Error 111 connecting to /srv/hotline/redis.sock")

    monkeypatch.setattr(svc.redis, "ping", down)
    r = client.get("/healthz")
    assert r.status_code == 503 and r.get_json() == {"ok": False}
    assert b"sock" not in r.data


@pytest.mark.parametrize(
    "params",
    [
        {"CallSid": ""},
        {"CallSid": "not a sid!"},
        {"CallSid": "CA" + "9" * 500},
    ],
)
def test_incoming_without_a_usable_call_sid_apologises(twilio, rclient, params):
    root = xml(twilio.post(f"{V}/incoming", {**call_params(), **params}))
    assert says(root)[0].startswith("Nous sommes désolés")
    assert rclient.dbsize() == 0


def test_junk_query_values_are_read_as_defaults(twilio, svc):
    Caller(twilio).dial()
    root = Caller(twilio).post(f"{V}/menu?lang=xx&attempt=banana", Digits="1")
    assert query(root.find("Gather").get("action")) == {"lang": "fr", "category": "connection"}
    root = Caller(twilio).post(f"{V}/wait?lang=en&skill=../../etc", QueueSid="QU1")
    assert verbs(root) in (["Say", "Pause"], ["Leave"])


UNKNOWN = "CA" + "f" * 32


@pytest.mark.parametrize(
    "path,params,expect",
    [
        (f"{V}/menu?lang=en&attempt=1", {"Digits": "1"}, "Redirect"),
        (f"{V}/menu?lang=fr&attempt=2", {"SpeechResult": "wifi"}, "Redirect"),
        (f"{V}/confirm?lang=fr&category=software&attempt=1", {"Digits": "1"}, "Redirect"),
        (f"{V}/error-code?lang=fr", {"Digits": "123"}, "Redirect"),
        (f"{V}/selfhelp?lang=fr&category=software", {"Digits": "1"}, "Redirect"),
        (f"{V}/selfhelp?lang=fr&category=software", {}, "Redirect"),
        (f"{V}/wait?lang=fr&skill=software", {}, "Leave"),
        (f"{V}/dequeued?lang=fr&skill=software", {"QueueResult": "leave"}, "Redirect"),
        (f"{V}/dequeued?lang=fr&skill=software", {"QueueResult": "hangup"}, None),
        (f"{V}/status", {"CallStatus": "completed"}, None),
        (f"{V}/callback?lang=fr&skill=software", {"Digits": "1"}, None),
        (f"{V}/transcription?lang=fr", {"TranscriptionText": "bonjour"}, None),
    ],
)
def test_an_unknown_call_on_any_later_step_is_sent_back_to_the_start(
    twilio, svc, path, params, expect
):
    root = xml(twilio.post(path, call_params(UNKNOWN, **params)))
    assert verbs(root) == ([expect] if expect else [])
    if expect == "Redirect":
        url = root.find("Redirect").text
        assert url.startswith(PUBLIC_URL + f"{V}/incoming")
        assert xml(twilio.post(url, call_params(UNKNOWN))).find("Gather") is not None
    elif "status" in path:
        # The end of a call never seen arriving: a tombstone, so a late /incoming hangs up.
        assert svc.calls.get(UNKNOWN).state == "left_ivr"
        assert verbs(xml(twilio.post(f"{V}/incoming", call_params(UNKNOWN)))) == ["Say", "Hangup"]
    else:
        assert svc.calls.get(UNKNOWN) is None
    assert svc.redis.zcard(svc.keys.waiting("software")) == 0


def test_a_voicemail_for_an_unknown_call_still_thanks_the_caller(twilio, svc):
    root = xml(
        twilio.post(
            f"{V}/voicemail?lang=en", call_params(UNKNOWN, RecordingUrl="https://x.test/RE1")
        )
    )
    assert verbs(root) == ["Say", "Hangup"]
    assert svc.calls.get(UNKNOWN) is None


@pytest.mark.parametrize(
    "path",
    [
        f"{V}/status",
        f"{V}/dequeued?lang=fr&skill=general",
        f"{V}/wait?lang=fr",
        f"{V}/menu?lang=fr&attempt=1",
        f"{V}/selfhelp?lang=fr",
        f"{V}/error-code",
        f"{V}/confirm",
        f"{V}/callback",
        f"{V}/voicemail",
        f"{V}/transcription",
    ],
)
def test_requests_without_any_parameter_get_valid_twiml_and_write_nothing(twilio, rclient, path):
    r = twilio.post(path, {})
    xml(r)
    assert rclient.dbsize() == 0


def test_a_step_arriving_after_the_call_moved_on_resumes_it(twilio, svc):
    c = Caller(twilio)
    menu_url = c.dial().find("Gather").get("action")
    c.to_queue("1")
    root = c.post(menu_url, Digits="2")  # a late duplicate of the menu answer
    assert enqueue_el(root).text == "connection"
    assert svc.calls.get(SID).skill == "connection"


def test_redis_down_gives_the_fallback_twiml(settings, clock):
    dead = settings.with_(
        redis_url="unix:///tmp/hotline-no-such-redis.sock", fallback_number="+33123456789"
    )
    svc = Services(dead, clock=clock)
    from hotline.app import create_app

    client = TwilioTestClient(create_app(svc))
    for path, params in (
        (f"{V}/incoming", {}),
        (f"{V}/menu?lang=en&attempt=1", {"Digits": "1"}),
        (f"{V}/wait?lang=fr&skill=general", {}),
        (f"{V}/status", {"CallStatus": "completed"}),
    ):
        root = xml(client.post(path, call_params(**params)))
        assert root.find("Say") is not None
        assert root.find("Dial").text == "+33123456789"
    root = xml(client.post(f"{V}/menu?lang=en&attempt=1", call_params(Digits="1")))
    assert says(root)[0].startswith("We are sorry")
    svc.close()


def test_redis_down_without_fallback_number_asks_to_call_back(settings):
    svc = Services(
        settings.with_(redis_url="unix:///tmp/hotline-no-such-redis.sock"), clock=ManualClock()
    )
    from hotline.app import create_app

    root = xml(TwilioTestClient(create_app(svc)).post(f"{V}/incoming", call_params()))
    assert verbs(root) == ["Say", "Say", "Hangup"]
    svc.close()


# ---------------------------------------------------------------- after hours and callbacks (issue 3 wiring)


def test_without_a_roster_nobody_is_sent_to_voicemail(twilio, svc):
    assert not svc.redis.exists(svc.keys.roster)
    assert enqueue_el(Caller(twilio).to_queue("1")) is not None


def test_after_hours_says_when_cover_returns_and_records_a_voicemail(
    twilio, svc, clock, monkeypatch
):
    from hotline.routing import afterhours

    svc.redis.hset(svc.keys.roster, "version", "1")  # a roster is loaded
    back = clock.now() + 12 * 3600
    monkeypatch.setattr(
        afterhours,
        "check",
        lambda svc_, skill, category=None, now=None: afterhours.AfterHours(
            False, skill, (skill,), back
        ),
    )
    c = Caller(twilio)
    root = c.answer(c.dial(), Digits="2")
    root = c.silence(root)  # the tip did not help
    assert verbs(root) == ["Say", "Record", "Say", "Hangup"]
    assert "La hotline pourra vous répondre" in says(root)[0]
    rec = root.find("Record")
    assert rec.get("action") == f"{PUBLIC_URL}{V}/voicemail?lang=fr"
    assert rec.get("transcribeCallback") == f"{PUBLIC_URL}{V}/transcription?lang=fr"
    assert rec.get("transcribe") == "true" and int(rec.get("maxLength")) > 0
    assert svc.redis.zcard(svc.keys.waiting("software")) == 0
    ev = svc.events.read(call_sid=SID, types={"after_hours_offered"})
    assert float(ev[0].fields["next_cover_at"]) == back

    root = c.post(
        rec.get("action"), RecordingUrl="https://api.example.test/rec/RE1", RecordingDuration="14"
    )
    assert verbs(root) == ["Say", "Hangup"]
    call = svc.calls.get(SID)
    assert call.state == "callback_requested" and call.extra["recording_url"].endswith("RE1")
    assert svc.redis.zrange(svc.keys.waiting("software"), 0, -1) == [SID]
    assert (
        verbs(
            c.post(
                rec.get("transcribeCallback"),
                TranscriptionText="Excel plante",
                TranscriptionStatus="completed",
            )
        )
        == []
    )
    assert svc.calls.get(SID).extra["transcription"] == "Excel plante"
    c.post(f"{V}/status", CallStatus="completed")  # hanging up after the message is not an abandon
    assert svc.calls.get(SID).state == "callback_requested"
    assert "abandoned" not in types(svc)


def test_a_repeated_request_after_hours_resumes_the_voicemail_not_the_tip(
    twilio, svc, clock, monkeypatch
):
    from hotline.routing import afterhours

    svc.redis.hset(svc.keys.roster, "version", "1")
    monkeypatch.setattr(
        afterhours,
        "check",
        lambda svc_, skill, category=None, now=None: afterhours.AfterHours(
            False, skill, (skill,), clock.now() + 3600
        ),
    )
    c = Caller(twilio)
    tip = c.answer(c.dial(), Digits="2")
    closed = c.silence(tip)
    assert verbs(closed) == ["Say", "Record", "Say", "Hangup"]
    again = c.silence(tip)  # the same request once more (a retry, a replay)
    assert verbs(again) == ["Say", "Record", "Say", "Hangup"]
    assert len(svc.events.read(call_sid=SID, types={"after_hours_offered"})) == 1


def test_wait_loop_offers_the_callback_the_routing_engine_flagged(twilio, svc):
    c = Caller(twilio)
    el = enqueue_el(c.to_queue("1"))
    root = c.post(el.get("waitUrl"))
    assert root.find("Gather") is None
    svc.calls.update(SID, callback_offered="1")  # what routing's overflow step does
    root = c.post(el.get("waitUrl"))
    g = root.find("Gather")
    assert g is not None and g.get("numDigits") == "1"
    assert [x.tag for x in g] == ["Say", "Say", "Say", "Pause"]  # the key works during the hold too
    assert says(g)[-1] == "Pour être rappelé sans perdre votre place, tapez 1."
    assert verbs(c.post(g.get("action"), Digits="5")) == []  # not 1: back to the wait loop
    score = svc.calls.get(SID).effective_at
    root = c.post(g.get("action"), Digits="1")
    assert verbs(root) == ["Say", "Leave"]
    call = svc.calls.get(SID)
    assert call.state == "callback_requested" and call.effective_at == score
    assert svc.redis.zrange(svc.keys.waiting("connection"), 0, -1) == [SID]
    root = c.post(el.get("action"), QueueResult="leave")  # Twilio reports the Leave
    assert verbs(root) == ["Say", "Hangup"]
    c.post(f"{V}/status", CallStatus="completed")
    assert svc.calls.get(SID).state == "callback_requested" and "abandoned" not in types(svc)


def test_with_the_example_roster_the_evening_caller_waits_for_rostered_agents_not_yet_logged_in(
    twilio, svc
):
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "roster.yaml"
    svc.roster.import_text(example.read_text(encoding="utf-8"), str(example))
    # Thursday 22:26 in Paris: Léa, Théo and Gabriel are rostered, nobody has logged in.
    root = Caller(twilio).to_queue("1")
    assert "Enqueue" in verbs(root) and "Record" not in verbs(root)
