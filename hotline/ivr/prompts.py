"""Every sentence the caller hears, from `data/prompts.yaml`, loaded once at import.

Languages are short codes ("fr", "en") inside the IVR; `VOICE` maps each to the
tag Twilio's <Say> and <Gather> expect. A prompt missing a language fails at
import, not in the middle of a call.
"""

from __future__ import annotations

from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data" / "prompts.yaml"
VOICE = {"fr": "fr-FR", "en": "en-US"}
LANGS = tuple(VOICE)


def _load(path: Path) -> dict:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = []
    for key, value in raw.items():
        groups = value.values() if key == "category" else [value]
        for g in groups:
            missing += [
                f"{key}.{lang}" for lang in LANGS if not isinstance(g, dict) or not g.get(lang)
            ]
    if missing:
        raise ValueError(f"{path}: prompts missing for {', '.join(missing)}")
    return raw


_PROMPTS = _load(DATA)


def lang_of(value: str | None, default: str = "fr") -> str:
    """The IVR language for a query/setting value ("en", "en-US", junk -> default)."""
    v = (value or "")[:2].lower()
    return v if v in VOICE else default


def other(lang: str) -> str:
    return "en" if lang == "fr" else "fr"


def text(key: str, lang: str, **fmt) -> str:
    s = _PROMPTS[key][lang]
    return s.format(**fmt) if fmt else s


def category_name(category: str, lang: str) -> str:
    return _PROMPTS["category"].get(category, _PROMPTS["category"]["general"])[lang]


def spoken_digits(code: str) -> str:
    """ "4031" -> "4 0 3 1": text-to-speech reads digits one by one, not as a number."""
    return " ".join(code)
