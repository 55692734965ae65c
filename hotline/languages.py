"""Languages, in one place: the short codes the hotline speaks and how any tag maps to one.

Inside the hotline a language is a two-letter code ("fr", "en"); settings and rosters may
say "fr-FR", "en_US" or "EN". `VOICE` maps each spoken code to the tag Twilio's <Say> and
<Gather> expect.
"""

from __future__ import annotations

VOICE = {"fr": "fr-FR", "en": "en-US"}
LANGS = tuple(VOICE)


def code(tag: str | None) -> str:
    """'fr-FR' -> 'fr', 'en_US' -> 'en', 'EN' -> 'en'; '' for nothing usable."""
    base = str(tag or "").strip().lower().replace("_", "-").split("-")[0]
    return base[:2] if len(base) >= 2 and base[:2].isalpha() else ""


def spoken(tag: str | None, default: str = "fr") -> str:
    """The language the hotline speaks for a query value, a setting or a caller's choice."""
    c = code(tag)
    return c if c in VOICE else default


def first_spoken(tags, default: str = "fr") -> str:
    """The first of several languages (an agent's) that the hotline speaks."""
    for tag in tags or ():
        c = code(tag)
        if c in VOICE:
            return c
    return default


def other(lang: str) -> str:
    return "en" if lang == "fr" else "fr"
