"""The IVR's pure parts: decisions (flow.py), sentences (prompts.py) and TwiML (menu.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest

from hotline import languages
from hotline.ivr import flow, menu, prompts
from hotline.ivr.menu import Links

BASE = "https://hotline.example.test"
links = Links(BASE + "/")


@dataclass(frozen=True)
class Verdict:
    category: str
    confidence: float
    matched: tuple = ()
    scores: tuple = ()

    @property
    def is_confident(self):
        return self.confidence >= 0.5


def fake(category, confidence, scored=True):
    return lambda text, lang: Verdict(
        category, confidence, ("w",), ((category, 1.0),) if scored else ()
    )


# ---------------------------------------------------------------- decisions


@pytest.mark.parametrize("digit,category", sorted(flow.MENU_DIGITS.items()))
def test_each_menu_key_is_a_category_with_full_confidence(digit, category):
    d = flow.decide_menu(digit, None, "fr", 1)
    assert (d.kind, d.category, d.method, d.confidence) == ("classified", category, "dtmf", 1.0)


@pytest.mark.parametrize("lang,other", [("fr", "en"), ("en", "fr")])
def test_nine_switches_language_and_restarts_the_count(lang, other):
    d = flow.decide_menu("9", None, lang, 2)
    assert (d.kind, d.lang, d.attempt) == ("switch_language", other, 1)


def test_keys_win_over_speech_in_the_same_answer():
    d = flow.decide_menu("2", "wifi", "fr", 1, classify=fake("connection", 0.9))
    assert d.category == "software"


def test_confident_speech_is_classified_and_unsure_speech_confirmed():
    assert (
        flow.decide_menu(None, "wifi", "fr", 1, classify=fake("connection", 0.8)).kind
        == "classified"
    )
    d = flow.decide_menu(None, "wifi et excel", "fr", 2, classify=fake("connection", 0.1))
    assert (d.kind, d.category, d.attempt) == ("confirm", "connection", 2)


@pytest.mark.parametrize(
    "digits,speech,reason",
    [
        (None, None, "no_input"),
        ("", "  ", "no_input"),
        ("7", None, "invalid_digit"),
        ("*", None, "invalid_digit"),
        ("11", None, "invalid_digit"),
        (None, "bonjour", "no_match"),
    ],
)
def test_misses_retry_then_fall_back_to_general_on_the_third(digits, speech, reason):
    classify = fake("general", 0.0, scored=False)
    d1 = flow.decide_menu(digits, speech, "en", 1, classify=classify)
    d2 = flow.decide_menu(digits, speech, "en", d1.attempt, classify=classify)
    d3 = flow.decide_menu(digits, speech, "en", d2.attempt, classify=classify)
    assert [(d.kind, d.attempt, d.reason) for d in (d1, d2)] == [
        ("retry", 2, reason),
        ("retry", 3, reason),
    ]
    assert (d3.kind, d3.category, d3.method, d3.reason) == (
        "general_fallback",
        "general",
        "fallback",
        reason,
    )


def test_confirmation_needs_the_key_1_and_a_real_category():
    assert flow.decide_confirm("1", "software", "fr", 1).kind == "classified"
    assert flow.decide_confirm("2", "software", "fr", 1).reason == "not_confirmed"
    assert flow.decide_confirm("", "software", "fr", 1).reason == "no_input"
    assert flow.decide_confirm("1", "printers", "fr", 1).kind == "retry"
    assert flow.decide_confirm("2", "software", "fr", 3).kind == "general_fallback"


@pytest.mark.parametrize(
    "keyed,code",
    [
        ("4031", "4031"),
        ("", None),
        (None, None),
        ("#", None),
        ("12*34", "1234"),
        ("9" * 40, "9" * 20),
    ],
)
def test_error_code_is_the_digits_keyed(keyed, code):
    assert flow.clean_error_code(keyed) == code


def test_only_1_after_the_tip_means_solved():
    assert flow.selfhelp_resolved("1")
    assert not any(flow.selfhelp_resolved(x) for x in ("", None, "2", "11", "0"))


def test_categories_map_onto_skills_and_boosts_grow_with_priority():
    assert {flow.skill_for(c) for c in flow.SKILL_OF} == set(flow.SKILLS)
    assert flow.skill_for(None) == flow.skill_for("nonsense") == "general"
    assert flow.boost_for(0) == 0 and flow.boost_for(2) == 2 * flow.BOOST_PER_PRIORITY_S
    assert flow.boost_for(-3) == 0


# ---------------------------------------------------------------- prompts


def test_every_prompt_exists_in_both_languages():
    for key in (
        "greeting",
        "menu",
        "retry_no_input",
        "confirm",
        "error_code_ask",
        "resolved",
        "position",
        "wait_minutes",
        "wait_unknown",
        "goodbye",
    ):
        for lang in prompts.LANGS:
            assert prompts.text(key, lang, category="x", position=2, minutes=3, code="1", text="t")
    for c in flow.SKILL_OF:
        assert prompts.category_name(c, "fr") != prompts.category_name(c, "en")


@pytest.mark.parametrize(
    "value,lang",
    [("en", "en"), ("en-US", "en"), ("FR", "fr"), ("de", "fr"), (None, "fr"), ("", "fr")],
)
def test_language_values_are_read_leniently(value, lang):
    assert languages.spoken(value) == lang


# ---------------------------------------------------------------- TwiML


def parse(s: str) -> ET.Element:
    root = ET.fromstring(s)
    assert root.tag == "Response"
    return root


def test_greeting_is_one_gather_then_a_redirect_to_its_own_action():
    root = parse(menu.greeting(links, "en", "Outage in Rennes.", hints="wifi, excel"))
    g = root.find("Gather")
    assert g.get("action") == BASE + "/webhooks/voice/menu?lang=en&attempt=1"
    assert (g.get("language"), g.get("hints"), g.get("numDigits")) == ("en-US", "wifi, excel", "1")
    said = [(s.get("language"), s.text) for s in g.iter("Say")]
    assert said[1] == ("fr-FR", "Pour le français, tapez 9.")
    assert said[2] == ("en-US", "Important information: Outage in Rennes.")
    assert root.find("Redirect").text == g.get("action")


def test_retry_menu_says_why_and_counts():
    root = parse(menu.menu(links, "fr", 3, reason="invalid_digit"))
    g = root.find("Gather")
    assert g.get("action").endswith("attempt=3")
    assert next(s.text for s in g.iter("Say")) == "Ce choix n'existe pas."


def test_enqueue_names_the_queue_after_the_skill():
    root = parse(menu.enqueue(links, "fr", "software", repeat=True))
    assert [el.tag for el in root] == ["Say", "Say", "Enqueue"]
    e = root.find("Enqueue")
    assert e.text == "software"
    assert e.get("waitUrl") == BASE + "/webhooks/voice/wait?lang=fr&skill=software"
    assert e.get("waitUrlMethod") == "POST"


@pytest.mark.parametrize(
    "estimate,sentence",
    [
        (None, "Estimated wait: a few minutes."),
        (20, "Estimated wait: about one minute."),
        (60, "Estimated wait: about one minute."),
        (61, "Estimated wait: about 2 minutes."),
        (450, "Estimated wait: about 8 minutes."),
    ],
)
def test_wait_turn_says_position_estimate_then_holds(estimate, sentence):
    root = parse(menu.wait("en", 4, estimate))
    assert [el.tag for el in root] == ["Say", "Say", "Pause"]
    assert [s.text for s in root.iter("Say")] == ["You are number 4 in line.", sentence]
    assert int(root.find("Pause").get("length")) > 0


def test_wait_turn_can_play_music_instead_of_silence():
    root = parse(menu.wait("fr", 1, None, music_url="https://example.test/hold.mp3"))
    assert root.find("Play").text == "https://example.test/hold.mp3" and root.find("Pause") is None
    assert root.find("Say").text == "Vous êtes le prochain."
