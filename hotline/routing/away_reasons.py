"""The away reasons an agent may choose: routing/away_reasons.yaml, extended by managers
with HOTLINE_AWAY_REASONS_FILE (format and merge rules: hotline/labels.py).

`missed` stays internal: routing sets it (reservation_end.lua, call_end.lua) when an
offer rang out, nobody chooses it, and a manager's file may not list it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import labels

if TYPE_CHECKING:
    from ..config import Settings

SHIPPED = Path(__file__).with_name("away_reasons.yaml")
ENV_VAR = "HOTLINE_AWAY_REASONS_FILE"
INTERNAL = frozenset({"missed"})  # set by routing only


def _entries(settings: Settings) -> tuple[dict, ...]:
    return labels.load(SHIPPED, settings.away_reasons_file, "away_reasons", ENV_VAR, INTERNAL)


def away_reasons(settings: Settings) -> list[dict]:
    """[{"id": "break", "label": {"fr": "Pause", "en": "Break"}}, ...] in the file's order."""
    return [{"id": e["id"], "label": dict(e["label"])} for e in _entries(settings)]


def check(settings: Settings, reason: str) -> str:
    """`reason` if an agent may choose it, else ValueError naming the choices."""
    return labels.check(_entries(settings), reason, "away reason")
