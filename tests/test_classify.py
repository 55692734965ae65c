"""Speech classification and self-help tips: what the IVR understands from a caller.

The accuracy tests run the hand-labelled utterances in tests/data/utterances.yaml
and print the figures under "hotline figures" at the end of the run.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from hotline.errors import ConfigError
from hotline.ivr import classify as cl
from hotline.ivr.classify import (
    CATEGORIES,
    CONFIDENCE_THRESHOLD,
    SKILL_FOR_CATEGORY,
    Classification,
    classify,
    default_vocabulary,
    fold,
    load_vocabulary,
    reload_data,
    selfhelp_tip,
    speech_hints,
    words,
)

UTTERANCES = Path(__file__).parent / "data" / "utterances.yaml"

# Why 90 %: speech is the shortcut, not the only way in. Every caller also hears
# the keypad menu, a classification below the confidence threshold is confirmed by
# key, and a call that still lands in the wrong line costs one transfer, not a lost
# caller. 90 % per language keeps a misroute under one speech caller in ten while
# leaving room for the deliberately hard, genuinely ambiguous sentences in the set
# (marked "# hard" there). Confident answers skip confirmation, so they must be
# right far more often: 95 %.
MIN_ACCURACY = 0.90
MIN_CONFIDENT_ACCURACY = 0.95


def labelled(lang: str, part: str = "tuned") -> list[tuple[str, str]]:
    """(text, category) pairs; part "tuned" was used to build the vocabulary,
    "holdout" was written afterwards and never tuned against."""
    doc = yaml.safe_load(UTTERANCES.read_text(encoding="utf-8"))
    section = doc["holdout"][lang] if part == "holdout" else doc[lang]
    return [(text, category) for category, texts in section.items() for text in texts]


@pytest.fixture(autouse=True)
def fresh_data():
    """Each test sees the shipped files (and its own extensions), never another test's cache."""
    cl.configure()
    reload_data()
    yield
    cl.configure()
    reload_data()


# ---------------------------------------------------------------- accuracy


def test_the_labelled_set_is_big_and_balanced_enough():
    fr, en = labelled("fr"), labelled("en")
    assert len(fr) >= 35 and len(en) >= 35 and len(fr) + len(en) >= 80
    for rows in (fr, en, labelled("fr", "holdout"), labelled("en", "holdout")):
        assert {cat for _, cat in rows} == set(CATEGORIES)


@pytest.mark.parametrize("part", ["tuned", "holdout"])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_accuracy_on_hand_labelled_utterances(lang, part, report_figure):
    rows = labelled(lang, part)
    results = [(text, want, classify(text, lang)) for text, want in rows]
    wrong = [(t, w, c) for t, w, c in results if c.category != w]
    confident = [(t, w, c) for t, w, c in results if c.is_confident]
    confident_right = sum(1 for _, w, c in confident if c.category == w)

    accuracy = 1 - len(wrong) / len(rows)
    confident_accuracy = confident_right / len(confident)
    report_figure(
        f"classifier accuracy [{lang}, {part}]: {accuracy:.1%} "
        f"({len(rows) - len(wrong)}/{len(rows)}); "
        f"confident {len(confident)}/{len(rows)}, of which right {confident_accuracy:.1%}"
    )
    for text, want, got in wrong:
        report_figure(
            f"  [{lang}] misclassified: {text!r}: want {want}, got {got.category} "
            f"({got.confidence}, {', '.join(got.matched) or 'nothing matched'})"
        )

    detail = "\n".join(f"{t!r}: want {w}, got {c}" for t, w, c in wrong)
    assert accuracy >= MIN_ACCURACY, detail
    assert confident_accuracy >= MIN_CONFIDENT_ACCURACY, detail


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_labelled_verdict_is_well_formed(lang):
    for text, _ in labelled(lang) + labelled(lang, "holdout"):
        c = classify(text, lang)
        assert c.category in CATEGORIES
        assert 0.0 <= c.confidence <= 1.0
        assert all(isinstance(m, str) and m for m in c.matched)


# ---------------------------------------------------------------- the subtle cases


@pytest.mark.parametrize(
    "text, lang, category",
    [
        ("Excel plante au démarrage", "fr", "software"),
        ("j'ai un écran bleu avec un code d'erreur", "fr", "error_message"),
        ("message d'erreur quand j'ouvre Outlook", "fr", "error_message"),
        ("je n'arrive pas à me connecter au VPN", "fr", "connection"),
        ("ma connexion wifi coupe sans arrêt", "fr", "connection"),
        ("l'ordinateur a planté avec un code", "fr", "error_message"),
        ("j'ai oublié mon mot de passe", "fr", "general"),
        ("quel est le mot de passe du wifi", "fr", "connection"),
        ("an error message pops up when I open Outlook", "en", "error_message"),
        ("Excel crashes on startup", "en", "software"),
        ("I forgot my password", "en", "general"),
        ("what's the wifi password", "en", "connection"),
    ],
)
def test_helpdesk_policy_on_subtle_cases(text, lang, category):
    assert classify(text, lang).category == category


def test_a_phrase_beats_the_words_inside_it():
    c = classify("la mise à jour du jour", "fr")
    assert c.category == "software"
    assert c.matched == ("mise à jour",)


def test_a_negated_error_message_is_not_evidence_of_one():
    c = classify("Excel se ferme sans message d'erreur", "fr")
    assert c.category == "software"
    assert "sans message d'erreur" in c.matched
    assert "error_message" not in dict(c.scores)

    assert classify("the app closes with no error message", "en").category == "software"


def test_error_codes_in_digits_or_spelled_out_by_speech_recognition():
    assert "erreur <num>" in classify("ça me met erreur quatre cent quatre", "fr").matched
    assert "error <num>" in classify("I get error 404", "en").matched
    assert classify("code zero x huit zero zero sept", "fr").category == "error_message"
    assert classify("windows says 0x80070005", "en").category == "error_message"


def test_a_number_alone_is_not_an_error_code():
    assert classify("ça dure depuis deux jours", "fr") == Classification("general", 0.0)


# ---------------------------------------------------------------- folding


def test_accents_case_and_punctuation_are_folded():
    assert fold("ÉCRAN Bleu") == "ecran bleu"
    assert fold("cœur") == "coeur"
    assert words("J'ai un écran-bleu, ZUT!") == ["j", "ai", "un", "ecran", "bleu", "zut"]
    spoken = classify("j ai un ecran bleu", "fr")
    written = classify("J'AI UN ÉCRAN BLEU !", "fr")
    assert spoken == written and spoken.category == "error_message"


def test_matched_reports_the_entries_as_the_manager_wrote_them():
    c = classify("RESEAU coupé, et le VPN aussi", "fr")
    assert c.matched == ("réseau", "vpn")


# ---------------------------------------------------------------- confidence


def test_one_plain_word_alone_is_just_confident_enough():
    c = classify("wifi", "en")
    assert c.category == "connection"
    assert c.confidence == CONFIDENCE_THRESHOLD and c.is_confident


def test_a_phrase_alone_is_more_confident_than_a_word():
    assert classify("blue screen", "en").confidence > classify("wifi", "en").confidence


def test_an_ambiguous_word_alone_asks_the_caller_to_confirm():
    c = classify("je n'arrive pas à me connecter", "fr")
    assert c.category == "connection" and not c.is_confident


def test_rival_categories_of_equal_weight_give_zero_confidence():
    c = classify("wifi excel", "en")
    assert c.confidence == 0.0 and not c.is_confident
    assert c.category == CATEGORIES[0]  # ties go to the first category, always confirmed


def test_more_evidence_for_one_side_raises_confidence():
    weak = classify("Outlook is slow and the wifi too", "en")
    strong = classify("the wifi and the VPN are down, no internet at all", "en")
    assert strong.confidence > weak.confidence


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("text", ["", "   ", "?!", None, 42])
def test_empty_or_non_text_input_is_general_with_no_confidence(text):
    c = classify(text, "fr")
    assert (c.category, c.confidence, c.matched) == ("general", 0.0, ())
    assert not c.is_confident


def test_nothing_matched_is_general_with_no_confidence():
    assert classify("bonjour madame", "fr") == Classification("general", 0.0)


@pytest.mark.parametrize("lang", ["fr-FR", "FR", "fr_FR", "fr"])
def test_language_tags_are_reduced_to_their_language(lang):
    assert classify("la box ne marche plus", lang).category == "connection"


def test_english_only_words_do_not_count_in_french_and_vice_versa():
    assert classify("la box", "en").category == "general"  # "box" is the French router
    assert classify("la box", "fr").category == "connection"


@pytest.mark.parametrize("lang", ["de-DE", "", None, "???"])
def test_an_unknown_language_uses_every_vocabulary(lang):
    assert classify("la box", lang).category == "connection"
    assert classify("blue screen", lang).category == "error_message"


# ---------------------------------------------------------------- the interface


def test_classification_is_a_frozen_value():
    c = classify("wifi", "fr")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.category = "software"  # type: ignore[misc]
    assert c.skill == "connection"


def test_every_category_has_its_skill():
    assert tuple(SKILL_FOR_CATEGORY) == CATEGORIES
    assert dict(SKILL_FOR_CATEGORY) == {c: c for c in CATEGORIES}


def test_the_vocabulary_is_loaded_once():
    assert default_vocabulary() is default_vocabulary()


# ---------------------------------------------------------------- speech hints


def test_speech_hints_are_the_spoken_entries_with_their_accents():
    fr = speech_hints("fr-FR").split(", ")
    assert {"connexion", "écran bleu", "mise à jour", "mot de passe", "vpn"} <= set(fr)
    assert "blue screen" not in fr


def test_speech_hints_fit_twilio_limits_and_skip_what_cannot_be_said():
    for lang in ("fr", "en"):
        hints = speech_hints(lang).split(", ")
        assert 0 < len(hints) <= 500
        assert all(0 < len(h) <= 100 and "," not in h for h in hints)
        assert not [h for h in hints if "*" in h or "<num>" in h]
        assert "no error" not in hints and "pas de message d'erreur" not in hints
        assert len({fold(h) for h in hints}) == len(hints)


# ---------------------------------------------------------------- self-help tips


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_category_has_a_short_tip_in_each_language(category):
    closings = {
        "fr-FR": "Si cela a résolu votre problème, appuyez sur 1. Sinon, restez en ligne.",
        "en-US": "If this solved your problem, press 1. Otherwise, stay on the line.",
    }
    for lang, closing in closings.items():
        text = selfhelp_tip(category, lang)
        assert text.endswith(" " + closing)
        tip = text[: -len(closing)]
        assert 1 <= len(re.findall(r"[^.!?]+[.!?]", tip)) <= 2, tip
        assert not re.search(r"[*/#<>]", text), "nothing a voice would read out oddly"


def test_tips_differ_per_category_and_language():
    tips = {(c, lang): selfhelp_tip(c, lang) for c in CATEGORIES for lang in ("fr", "en")}
    assert len(set(tips.values())) == len(tips)
    assert "box" in tips[("connection", "fr")]
    assert "code" in tips[("error_message", "en")]


def test_a_tip_in_an_unknown_language_falls_back_to_french():
    assert selfhelp_tip("software", "de-DE") == selfhelp_tip("software", "fr")


def test_a_tip_for_an_unknown_category_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown category 'printer'"):
        selfhelp_tip("printer", "fr")


# ---------------------------------------------------------------- managers' files


def write(tmp_path, name, text) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_managers_extend_the_vocabulary_with_their_own_file(tmp_path):
    assert classify("Sage ne démarre plus", "fr").category == "general"
    extra = write(
        tmp_path,
        "site.yaml",
        "software:\n  fr:\n    - sage\n"
        "general:\n  fr:\n    - box: 1   # our 'box' is the badge reader\n",
    )
    cl.configure(vocabulary_files=(extra,))
    assert classify("Sage ne démarre plus", "fr").category == "software"
    assert classify("la box", "fr").category == "general"  # replaced, not added twice
    assert classify("le wifi", "fr").category == "connection"  # the rest is still shipped
    assert "sage" in speech_hints("fr").split(", ")


def test_weight_zero_neutralises_a_shipped_entry(tmp_path):
    extra = write(tmp_path, "x.yaml", "connection:\n  fr:\n    - box: 0\n")
    vocab = load_vocabulary(extra, base=load_vocabulary(cl.SHIPPED_VOCABULARY))
    assert classify("la box", "fr", vocabulary=vocab).category == "general"


@pytest.mark.parametrize(
    "text, message",
    [
        ("printers:\n  fr:\n    - imprimante\n", "unknown category 'printers'"),
        ("software:\n  fr:\n    - sage: lots\n", "the weight must be a number"),
        ("software:\n  fr:\n    - sage: true\n", "the weight must be a number"),
        ("software:\n  fr:\n    - sage: .nan\n", "the weight must be a number"),
        ("software:\n  fr:\n    - '!!!'\n", "contains no word"),
        ("software:\n  fr:\n    - Sage\ngeneral:\n  fr:\n    - sage\n", "listed twice"),
        ("software:\n  french:\n    - sage\n", "not a language code"),
        ("software:\n  fr: sage\n", "expected a list"),
        ("- sage\n", "expected a mapping"),
        ("software: [\n", "not valid YAML"),
    ],
)
def test_a_bad_vocabulary_file_is_refused_with_the_file_and_entry_named(tmp_path, text, message):
    bad = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ConfigError, match=re.escape(message)) as e:
        load_vocabulary(bad)
    assert str(bad) in str(e.value)


def test_a_missing_extension_file_names_the_variable(tmp_path):
    from hotline.config import Settings

    env = {
        "HOTLINE_MODE": "test",
        "HOTLINE_DATA_DIR": str(tmp_path),
        "HOTLINE_VOCABULARY": str(tmp_path / "nope.yaml"),
    }
    with pytest.raises(ConfigError, match="HOTLINE_VOCABULARY: no file"):
        Settings.from_env(env, load_dotenv=False)
    cl.configure(vocabulary_files=(tmp_path / "gone.yaml",))  # there at start, gone since
    with pytest.raises(ConfigError, match="HOTLINE_VOCABULARY: cannot read"):
        classify("wifi", "fr")


def test_managers_replace_a_tip_with_their_own_file(tmp_path):
    extra = write(
        tmp_path, "tips.yaml", "tips:\n  general:\n    fr: Préparez le numéro de votre badge.\n"
    )
    cl.configure(selfhelp_files=(extra,))
    assert selfhelp_tip("general", "fr").startswith("Préparez le numéro de votre badge. Si cela")
    assert selfhelp_tip("general", "en").startswith("To save time")


def test_a_tip_file_missing_a_language_is_refused(tmp_path):
    text = "closing:\n  fr: Appuyez sur 1.\ntips:\n  connection:\n    en: Restart.\n"
    bad = write(tmp_path, "t.yaml", text)
    with pytest.raises(ConfigError, match="tips/connection: no text for language 'fr'"):
        cl.load_selfhelp(bad)


def test_check_data_fails_fast_on_a_broken_extension(tmp_path, settings):
    from dataclasses import replace

    cl.check_data()  # the shipped files are fine
    bad = write(tmp_path, "bad.yaml", "software:\n  fr:\n    - sage: lots\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        cl.check_data(replace(settings, vocabulary_files=(bad,)))


def test_an_empty_extension_file_changes_nothing(tmp_path):
    shipped = load_vocabulary(cl.SHIPPED_VOCABULARY)
    merged = load_vocabulary(write(tmp_path, "empty.yaml", ""), base=shipped)
    assert len(merged.terms) == len(shipped.terms)
