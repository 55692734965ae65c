"""Scenarios as data: who calls, when, and what they do (YAML next to this module).

Part 2 adds agents and shifts to the same document; callers keep this shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import HotlineError
from .party import Party, script

HERE = Path(__file__).parent
DEFAULT_SCENARIO = HERE / "intake_demo.yaml"


@dataclass(frozen=True)
class ScriptedCaller:
    name: str
    from_: str
    at: float = 0.0
    press: str | None = None
    say: str | None = None
    lang: str = "fr"
    patience: float = 120.0
    confidence: float = 0.92

    def party(self) -> Party:
        return Party(
            script(press=self.press, say=self.say, lang=self.lang, confidence=self.confidence),
            patience=self.patience,
            name=self.name,
        )


@dataclass(frozen=True)
class Scenario:
    name: str
    callers: tuple[ScriptedCaller, ...]
    horizon_s: float | None = None


def load_scenario(path: Path | str | None = None) -> Scenario:
    path = Path(path or DEFAULT_SCENARIO)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise HotlineError(f"scenario {path}: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("callers"), list):
        raise HotlineError(f"scenario {path}: expected a mapping with a 'callers' list")
    callers = []
    for i, c in enumerate(doc["callers"], 1):
        if not isinstance(c, dict) or "from" not in c:
            raise HotlineError(f"scenario {path}: caller {i} needs at least 'from'")
        unknown = set(c) - {"name", "from", "at", "press", "say", "lang", "patience", "confidence"}
        if unknown:
            raise HotlineError(
                f"scenario {path}: caller {i}: unknown field(s) {', '.join(sorted(unknown))}"
            )
        try:
            caller = ScriptedCaller(
                name=str(c.get("name") or f"caller {i}"),
                from_=str(c["from"]),
                at=float(c.get("at", 0)),
                press=None if c.get("press") is None else str(c["press"]),
                say=c.get("say"),
                lang=str(c.get("lang", "fr")),
                patience=float(c.get("patience", 120)),
                confidence=float(c.get("confidence", 0.92)),
            )
            caller.party()  # validates the script now, with the caller's number in the message
        except (HotlineError, ValueError, TypeError) as e:
            raise HotlineError(f"scenario {path}: caller {i} ({c.get('from')}): {e}") from None
        callers.append(caller)
    horizon = doc.get("horizon_s")
    return Scenario(
        name=str(doc.get("name", path.stem)),
        callers=tuple(callers),
        horizon_s=float(horizon) if horizon is not None else None,
    )
