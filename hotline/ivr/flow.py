"""The IVR's decisions, as plain functions of what the caller did (no Flask, no Redis).

The call states and skills are hotline/states.py (re-exported here for the IVR's own
modules). The menu is played at most three times (the first time and two repeats);
after the third miss the caller goes to the general line rather than round in circles.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..states import (  # noqa: F401 - the vocabulary, re-exported for the IVR's modules
    BOOST_PER_PRIORITY_S,
    CALLBACK,
    ENDED_STATUSES,
    FINAL_STATES,
    IN_IVR,
    SKILL_OF,
    SKILLS,
    WAITING,
    boost_for,
    is_final,
    skill_for,
)

MENU_DIGITS = {"1": "connection", "2": "software", "3": "error_message", "0": "general"}
LANGUAGE_KEY = "9"
MAX_MENU_PLAYS = 3
MAX_ERROR_CODE_DIGITS = 20


@dataclass(frozen=True)
class MenuDecision:
    """What to do with one answer to the menu (or to the confirmation question).

    kind: "switch_language" | "classified" | "confirm" | "retry" | "general_fallback"
    """

    kind: str
    lang: str
    attempt: int
    category: str | None = None
    method: str | None = None  # "dtmf" | "speech" | "fallback"
    confidence: float = 0.0
    matched: tuple[str, ...] = ()
    reason: str | None = (
        None  # why a retry: "no_input" | "invalid_digit" | "no_match" | "not_confirmed"
    )


def _miss(lang: str, attempt: int, reason: str) -> MenuDecision:
    if attempt >= MAX_MENU_PLAYS:
        return MenuDecision(
            "general_fallback", lang, attempt, category="general", method="fallback", reason=reason
        )
    return MenuDecision("retry", lang, attempt + 1, reason=reason)


def decide_menu(
    digits: str | None, speech: str | None, lang: str, attempt: int, classify=None
) -> MenuDecision:
    """The caller's answer to menu play number `attempt` (1-based)."""
    digits = (digits or "").strip()
    speech = (speech or "").strip()
    if digits:
        if digits == LANGUAGE_KEY:
            return MenuDecision("switch_language", "en" if lang == "fr" else "fr", 1)
        if digits in MENU_DIGITS:
            return MenuDecision(
                "classified",
                lang,
                attempt,
                category=MENU_DIGITS[digits],
                method="dtmf",
                confidence=1.0,
            )
        return _miss(lang, attempt, "invalid_digit")
    if speech:
        if classify is None:
            from .classify import classify
        c = classify(speech, lang)
        if not c.scores:  # nothing scored (a negation alone scores nothing either)
            return _miss(lang, attempt, "no_match")
        # Below the classifier's threshold the caller confirms by key.
        kind = "classified" if c.is_confident else "confirm"
        return MenuDecision(
            kind,
            lang,
            attempt,
            category=c.category,
            method="speech",
            confidence=float(c.confidence),
            matched=tuple(c.matched),
        )
    return _miss(lang, attempt, "no_input")


def decide_confirm(
    digits: str | None, category: str | None, lang: str, attempt: int
) -> MenuDecision:
    """1 confirms the guessed category; anything else (or silence) counts as a missed menu."""
    if category in SKILL_OF and (digits or "").strip() == "1":
        return MenuDecision(
            "classified",
            lang,
            attempt,
            category=category,
            method="speech_confirmed",
            confidence=1.0,
        )
    reason = "not_confirmed" if (digits or "").strip() else "no_input"
    return _miss(lang, attempt, reason)


def needs_error_code(category: str) -> bool:
    return category == "error_message"


def clean_error_code(digits: str | None) -> str | None:
    """Keyed digits up to '#', or None when the caller had no code (or keyed junk)."""
    code = "".join(ch for ch in (digits or "") if ch.isdigit())
    return code[:MAX_ERROR_CODE_DIGITS] or None


def selfhelp_resolved(digits: str | None) -> bool:
    return (digits or "").strip() == "1"
