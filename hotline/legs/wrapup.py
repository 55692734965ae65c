"""Wrap-up: after a call the agent has the skill's wrap-up time, then is available again.

Owns `wrapups` (zset agent id -> wrap-up end, clock time). The wrap-up *starts* inside
the end of the conversation (store/lua/call_end.lua: one step for any number of end
signals); it *ends* by wrapup_end.lua, from the `wrapup_done` timer, from the sweep
if that timer was lost (or never set: an agent put in wrap-up by hand), or earlier by
hand (`hotline agents state AGENT available`: the timer then finds nothing to do), or
by the agent's own "Ready" (`ready`, the console's button): the same script, which with
HOTLINE_REQUIRE_DISPOSITION first checks that the call has a disposition, in the same step.
Wrap-up seconds per skill: hotline/legs/wrapup.yaml (or HOTLINE_WRAPUP_FILE).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml

from .. import job_names as names
from ..errors import ConfigError, DispositionRequired

if TYPE_CHECKING:
    from ..services import Services


DEFAULT_FILE = Path(__file__).with_name("wrapup.yaml")
TOLERANCE_S = 0.5  # the sweep ends a wrap-up due within this much (clock vs scheduler jitter)


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[float, dict[str, float]]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"HOTLINE_WRAPUP_FILE: cannot read {path}: {e}") from None
    try:
        default = float(data.get("default", 60))
        skills = {str(k): float(v) for k, v in (data.get("skills") or {}).items()}
    except (TypeError, ValueError, AttributeError):
        raise ConfigError(
            f"{path}: wrap-up times must be numbers of seconds (default: N, skills: {{skill: N}})"
        ) from None
    if default < 0 or any(v < 0 for v in skills.values()):
        raise ConfigError(f"{path}: wrap-up times cannot be negative")
    return default, skills


def _path(svc: Services) -> str:
    return str(svc.settings.wrapup_file or DEFAULT_FILE)


def seconds_for(svc: Services, skill: str | None) -> float:
    default, skills = _load(_path(svc))
    return skills.get(skill or "", default)


@lru_cache(maxsize=8)
def _policy_json(path: str) -> str:
    default, skills = _load(path)
    return json.dumps({"default": default, "skills": skills})


def policy_json(svc: Services) -> str:
    """The wrap-up times as call_end.lua reads them."""
    return _policy_json(_path(svc))


def schedule_end(svc: Services, agent_id: str, sid: str, until: float) -> None:
    """The timer that ends the wrap-up call_end.lua started (the sweep does it if lost)."""
    from .common import enqueue_at

    enqueue_at(svc, until, names.WRAPUP_DONE, agent_id, sid)


def done(
    svc: Services,
    agent_id: str,
    sid: str | None = None,
    *,
    via: str = "timer",
    now: float | None = None,
) -> Literal["ended", "not_due", "skipped"]:
    """End the wrap-up of `agent_id` (for call `sid` when given): ended | not_due | skipped."""
    k = svc.keys
    now = svc.clock.now() if now is None else now
    out = svc.scripts.wrapup_end(
        keys=[k.agent(agent_id), k.wrapups, k.events, k.onshift, k.oncall],
        args=[
            agent_id,
            repr(now),
            svc.settings.routing_strategy,
            sid or "",
            via,
            TOLERANCE_S,
        ],
    )
    if out == "ended":
        svc.rq_queue.enqueue(names.AGENT_AVAILABLE, agent_id)  # the next call
    return out


@dataclass(frozen=True)
class Ready:
    """What `ready` did: `ended` (the agent is available again) or `not_in_wrapup` (nothing
    changed: already ended by the timer, a repeated click...), with a sentence to show."""

    status: Literal["ended", "not_in_wrapup"]
    message: str
    call_sid: str = ""


def ready(svc: Services, agent_id: str, *, by: str) -> Ready:
    """The agent ends their wrap-up early ("Ready"): wrapup_end.lua, as the timer does, so
    that the timer, the sweep and a repeated click give one end. With
    settings.require_disposition, DispositionRequired (nothing changed) while the call of
    the wrap-up has no disposition -- checked in the same step that ends it."""
    k = svc.keys
    call_sid = svc.redis.hget(k.agent(agent_id), "call_sid") or ""
    out = svc.scripts.wrapup_end(
        keys=[k.agent(agent_id), k.wrapups, k.events, k.onshift, k.oncall],
        args=[
            agent_id,
            repr(svc.clock.now()),
            svc.settings.routing_strategy,
            "",
            "ready",
            TOLERANCE_S,
            "1" if svc.settings.require_disposition else "",
            by or "agent",
        ],
    )
    if out == "disposition_required":
        raise DispositionRequired(
            f"agent {agent_id}: choose a disposition for call {call_sid} before Ready"
        )
    if out == "ended":
        svc.rq_queue.enqueue(names.AGENT_AVAILABLE, agent_id)  # the next call
        return Ready("ended", f"{agent_id} is available again", call_sid)
    state = svc.agents.get(agent_id).state  # NotEligible for an unknown agent
    return Ready("not_in_wrapup", f"{agent_id} is not in wrap-up (now {state}): nothing to end")


def due(svc: Services, now: float | None = None) -> list[str]:
    now = svc.clock.now() if now is None else now
    return svc.redis.zrangebyscore(svc.keys.wrapups, "-inf", now + TOLERANCE_S)


def unscheduled(svc: Services, agent_states: dict[str, tuple]) -> list[str]:
    """Agents in wrap-up with no end in `wrapups` (put there by hand, or a lost write):
    the sweep gives them the default wrap-up from when it began."""
    in_wrapup = [a for a, (state, *_rest) in agent_states.items() if state == "wrapup"]
    if not in_wrapup:
        return []
    p = svc.redis.pipeline(transaction=False)
    for a in in_wrapup:
        p.zscore(svc.keys.wrapups, a)
    return [a for a, score in zip(in_wrapup, p.execute()) if score is None]


def set_missing_end(svc: Services, agent_id: str, since: float | None, now: float) -> float:
    """Give an agent in wrap-up without an end one (ZADD NX: an end set meanwhile wins)."""
    until = (since if since is not None else now) + seconds_for(svc, None)
    svc.redis.zadd(svc.keys.wrapups, {agent_id: until}, nx=True)
    return until


def ends_at(svc: Services, agent_id: str) -> float | None:
    """When the agent's wrap-up ends (clock time), for the console's countdown; None if
    they are not in one."""
    score = svc.redis.zscore(svc.keys.wrapups, agent_id)
    return float(score) if score is not None else None
