"""Every sentence the caller hears, from `data/prompts.yaml`, loaded once at import.

Languages are short codes (hotline/languages.py). A prompt missing a language fails
at import, not in the middle of a call.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from ..languages import LANGS

DATA = Path(__file__).parent / "data" / "prompts.yaml"


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


def text(key: str, lang: str, **fmt) -> str:
    s = _PROMPTS[key][lang]
    return s.format(**fmt) if fmt else s


def category_name(category: str, lang: str) -> str:
    return _PROMPTS["category"].get(category, _PROMPTS["category"]["general"])[lang]


def spoken_digits(code: str) -> str:
    """ "4031" -> "4 0 3 1": text-to-speech reads digits one by one, not as a number."""
    return " ".join(code)


def when_phrase(lang: str, at: float, tz: ZoneInfo, now: float) -> str:
    """ "demain à 8 h 00" / "tomorrow at 08:00": relative to today in the centre's zone."""
    t = datetime.fromtimestamp(at, tz)
    days = (t.date() - datetime.fromtimestamp(now, tz).date()).days
    hour = text("hour_format", lang, h=t.hour, m=t.minute)
    day = _PROMPTS["day_names"][lang][t.weekday()]
    if days == 0:
        return text("when_today", lang, hour=hour)
    if days == 1:
        return text("when_tomorrow", lang, hour=hour)
    if days < 7:
        return text("when_this_week", lang, day=day, hour=hour)
    month = _PROMPTS["month_names"][lang][t.month - 1]
    return text("when_later", lang, day=day, date=t.day, month=month, hour=hour)


def after_hours_message(lang: str, next_at: float | None, tz: ZoneInfo, now: float) -> str:
    """What the IVR says after hours (then it records a voicemail)."""
    parts = [text("after_hours_nobody", lang)]
    if next_at is not None:
        parts.append(text("after_hours_when", lang, when=when_phrase(lang, next_at, tz, now)))
    parts.append(text("after_hours_message", lang))
    return " ".join(parts)
