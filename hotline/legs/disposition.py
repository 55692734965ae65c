"""What came of a call: the agent's disposition and notes, recorded at wrap-up.

The choices are legs/dispositions.yaml, extended by managers with
HOTLINE_DISPOSITIONS_FILE (format and merge rules: hotline/labels.py). `record` writes
the call's fields `disposition`, `notes`, `disposition_by`, `disposition_agent`,
`disposition_at` (this module owns those fields of `call:{sid}`) and appends one
`call_disposition` event, in one step (store/lua/call_disposition.lua): the call must
exist and have been answered by that agent. Recording again replaces the values and
logs again (an agent correcting a choice is worth a line in the log).

With HOTLINE_REQUIRE_DISPOSITION=true, an agent's "Ready" (legs/wrapup.ready) is
refused until the call of the wrap-up has a disposition.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import labels
from ..errors import NotEligible, UnknownCall
from ..queue.calls import valid_sid

if TYPE_CHECKING:
    from ..config import Settings
    from ..services import Services

SHIPPED = Path(__file__).with_name("dispositions.yaml")
ENV_VAR = "HOTLINE_DISPOSITIONS_FILE"
NOTES_MAX = 2000


def _entries(settings: Settings) -> tuple[dict, ...]:
    return labels.load(SHIPPED, settings.dispositions_file, "dispositions", ENV_VAR)


def dispositions(settings: Settings) -> list[dict]:
    """[{"id": "resolved_remotely", "label": {"fr": ..., "en": ...}}, ...] in the file's order."""
    return [{"id": e["id"], "label": dict(e["label"])} for e in _entries(settings)]


def label(settings: Settings, disposition: str, lang: str = "fr") -> str:
    """The label of a stored id (the id itself if a manager's file dropped it since)."""
    for e in _entries(settings):
        if e["id"] == disposition:
            return e["label"].get(lang) or next(iter(e["label"].values()))
    return disposition


@dataclass(frozen=True)
class Recorded:
    call_sid: str
    agent_id: str
    disposition: str
    notes: str
    replaced: bool  # the call had a disposition already


def record(
    svc: Services, call_sid: str, *, agent_id: str, disposition: str, notes: str = "", by: str
) -> Recorded:
    """Store the disposition and notes on the call and log `call_disposition`, atomically.

    Bad input changes nothing: an unknown disposition or notes longer than NOTES_MAX
    (after stripping) raise ValueError; no such call UnknownCall; a call that agent did not
    answer NotEligible."""
    labels.check(_entries(svc.settings), disposition, "disposition")
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise ValueError(f"notes: {len(notes)} characters; at most {NOTES_MAX}")
    if not valid_sid(call_sid):
        raise UnknownCall(f"{call_sid!r} is not a call SID")
    k = svc.keys
    status, had = svc.scripts.call_disposition(
        keys=[k.call(call_sid), k.events],
        args=[call_sid, repr(svc.clock.now()), agent_id, disposition, notes, by or ""],
    )
    if status == "no_call":
        raise UnknownCall(f"no call {call_sid}")
    if status == "not_handled":
        raise NotEligible(f"call {call_sid} was not answered by agent {agent_id}")
    return Recorded(call_sid, agent_id, disposition, notes, had == "1")
