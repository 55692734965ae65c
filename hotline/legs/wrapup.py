"""Wrap-up: after a call the agent has the skill's wrap-up time, then is available again.

Owns `wrapups` (zset agent id -> wrap-up end, clock time). The end comes from a
scheduled RQ job (`wrapup_done`, delay through clock.real_delay so a scaled demo
keeps pace), from the sweep if that job was lost, or earlier by hand
(`hotline agents state AGENT available`: the job then finds nothing to do).
Wrap-up seconds per skill: hotline/legs/wrapup.yaml (or HOTLINE_WRAPUP_FILE).
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

import yaml

from ..errors import ConfigError, IllegalTransition, NotEligible
from .common import enqueue_at

log = logging.getLogger(__name__)
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
        raise ConfigError(f"{path}: wrap-up times must be numbers of seconds (default: N, skills: {{skill: N}})") from None
    if default < 0 or any(v < 0 for v in skills.values()):
        raise ConfigError(f"{path}: wrap-up times cannot be negative")
    return default, skills


def seconds_for(svc, skill: str | None) -> float:
    path = (svc.settings.extra or {}).get("wrapup_file") or os.environ.get("HOTLINE_WRAPUP_FILE") or str(DEFAULT_FILE)
    default, skills = _load(str(path))
    return skills.get(skill or "", default)


def start(svc, agent_id: str, sid: str, skill: str, talk_s: float, now: float | None = None) -> float | None:
    """The agent's call `sid` ended: handle time recorded, agent to wrapup (or available at once
    for a zero wrap-up). Returns the wrap-up end, or None if the agent had already moved on."""
    now = svc.clock.now() if now is None else now
    w = seconds_for(svc, skill)
    svc.estimates.record_handle_time(skill or "general", max(0.0, talk_s) + w)
    state, call_sid = svc.redis.hmget(svc.keys.agent(agent_id), "state", "call_sid")
    if state != "busy" or call_sid != sid:
        return None
    try:
        svc.agents.set_state(agent_id, "wrapup", by="call_end", notify=False)
    except (IllegalTransition, NotEligible) as e:
        log.info("agent %s not put in wrap-up after %s: %s", agent_id, sid, e)
        return None
    until = now + w
    p = svc.redis.pipeline()
    p.zadd(svc.keys.wrapups, {agent_id: until})
    p.hset(svc.keys.call(sid), mapping={"wrapup_s": repr(w), "wrapup_until": repr(until)})
    svc.events.append("wrapup_started", call_sid=sid, agent_id=agent_id, pipeline=p, ts=now, wrapup_s=w, until=until)
    p.execute()
    if w <= 0:
        done(svc, agent_id, sid, via="timer", now=now)
    else:
        enqueue_at(svc, until, "hotline.jobs.wrapup_done", agent_id, sid)
    return until


def done(svc, agent_id: str, sid: str | None = None, *, via: str = "timer", now: float | None = None) -> str:
    """End the wrap-up of `agent_id` (for call `sid` when given): ended | not_due | skipped."""
    now = svc.clock.now() if now is None else now
    r, k = svc.redis, svc.keys
    state, call_sid = r.hmget(k.agent(agent_id), "state", "call_sid")
    if state != "wrapup":
        r.zrem(k.wrapups, agent_id)  # ended by hand, or never started: nothing left to time
        return "skipped"
    if sid and call_sid != sid:
        return "skipped"  # a timer from an earlier call: this wrap-up has its own
    due = r.zscore(k.wrapups, agent_id)
    if via == "sweep" and due is not None and due > now + TOLERANCE_S:
        return "not_due"
    try:
        svc.agents.set_state(agent_id, "available", by="wrapup")  # notify: the engine offers the next call
    except (IllegalTransition, NotEligible) as e:
        log.info("wrap-up of %s not ended: %s", agent_id, e)
        return "skipped"
    r.zrem(k.wrapups, agent_id)
    svc.events.append("wrapup_ended", call_sid=call_sid or sid, agent_id=agent_id, ts=now, via=via)
    return "ended"


def due(svc, now: float | None = None) -> list[str]:
    now = svc.clock.now() if now is None else now
    return svc.redis.zrangebyscore(svc.keys.wrapups, "-inf", now + TOLERANCE_S)
