"""Overflow: per category, the steps a call goes through while nobody takes it.

The policy is data (hotline/routing/overflow.yaml, or the file named by
HOTLINE_OVERFLOW_FILE), validated on load. Decisions are pure functions of the
policy and the call's times (`due_steps`, `lines_after`); applying a step is one
Lua call (store/lua/overflow_step.lua) that adds the call to further waiting lines
with the score it already has -- it keeps its place -- and is idempotent.

Timers: when a call starts waiting, `schedule(svc, sid)` sets one timer per step
(`hotline.jobs.overflow_due` at enqueued_at + after, through hotline/timers.py); the
sweep applies any step whose job was lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .. import job_names as names
from .. import timers
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..services import Services


DEFAULT_FILE = Path(__file__).with_name("overflow.yaml")
STEP_KEYS = {"after", "add_lines", "on_call", "any_language", "callback"}


@dataclass(frozen=True)
class Step:
    after: float
    add_lines: tuple[str, ...] = ()
    on_call: bool = False
    any_language: bool = False
    callback: bool = False


@dataclass(frozen=True)
class CategoryPolicy:
    steps: tuple[Step, ...] = ()
    min_level: int = 1


@dataclass(frozen=True)
class OverflowPolicy:
    categories: dict[str, CategoryPolicy]

    def for_category(self, category: str | None) -> CategoryPolicy:
        return self.categories.get(category or "*") or self.categories.get("*") or CategoryPolicy()

    def steps(self, category: str | None) -> tuple[Step, ...]:
        return self.for_category(category).steps


def parse_policy(data, source: str = "overflow policy") -> OverflowPolicy:
    """Validate the whole document; ConfigError listing every problem."""
    problems: list[str] = []
    cats = (data or {}).get("categories") if isinstance(data, dict) else None
    if not isinstance(cats, dict) or not cats:
        raise ConfigError(f"{source}: needs a `categories:` mapping of category -> steps")
    out: dict[str, CategoryPolicy] = {}
    for name, body in cats.items():
        min_level = 1
        if isinstance(body, dict):
            min_level = body.get("min_level", 1)
            unknown = set(body) - {"steps", "min_level"}
            if unknown:
                problems.append(f"{name}: unknown key(s) {', '.join(sorted(unknown))}")
            body = body.get("steps", [])
        if not isinstance(min_level, int) or not 1 <= min_level <= 5:
            problems.append(f"{name}: min_level must be an integer 1-5")
            min_level = 1
        if not isinstance(body, list):
            problems.append(f"{name}: steps must be a list")
            continue
        steps, last = [], -1.0
        for i, raw in enumerate(body, 1):
            where = f"{name} step {i}"
            if not isinstance(raw, dict):
                problems.append(
                    f"{where}: must be a mapping like {{after: 120, add_lines: [general]}}"
                )
                continue
            unknown = set(raw) - STEP_KEYS
            if unknown:
                problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
            after = raw.get("after")
            if not isinstance(after, (int, float)) or isinstance(after, bool) or after < 0:
                problems.append(f"{where}: `after` must be a number of seconds >= 0")
                continue
            if after < last:
                problems.append(f"{where}: `after` {after} comes before the previous step's {last}")
            last = float(after)
            lines = raw.get("add_lines", [])
            if not isinstance(lines, list) or not all(isinstance(x, str) and x for x in lines):
                problems.append(f"{where}: add_lines must be a list of skill names")
                lines = []
            flags = {f: raw.get(f, False) for f in ("on_call", "any_language", "callback")}
            for f, v in flags.items():
                if not isinstance(v, bool):
                    problems.append(f"{where}: {f} must be true or false")
            if not lines and not any(v is True for v in flags.values()):
                problems.append(
                    f"{where}: does nothing (no add_lines, on_call, any_language or callback)"
                )
            steps.append(Step(float(after), tuple(lines), *(v is True for v in flags.values())))
        out[str(name)] = CategoryPolicy(tuple(steps), min_level)
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return OverflowPolicy(out)


@lru_cache(maxsize=8)
def _load(path: str) -> OverflowPolicy:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as e:
        raise ConfigError(f"HOTLINE_OVERFLOW_FILE: cannot read {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    return parse_policy(data, path)


def load_policy(svc: Services = None) -> OverflowPolicy:
    """The policy of HOTLINE_OVERFLOW_FILE (settings.overflow_file), else the shipped one."""
    path = (svc.settings.overflow_file if svc is not None else None) or DEFAULT_FILE
    return _load(str(path))


# pure decisions ------------------------------------------------------------------
def due_steps(steps: tuple[Step, ...], enqueued_at: float, applied: int, now: float) -> list[int]:
    """1-based numbers of the steps not yet applied whose time has come, in order."""
    return [i for i, s in enumerate(steps, 1) if i > applied and now >= enqueued_at + s.after]


def lines_after(skill: str, steps: tuple[Step, ...], applied: int) -> tuple[str, ...]:
    out = [skill]
    for s in steps[:applied]:
        out += [x for x in s.add_lines if x not in out]
    return tuple(out)


def all_lines(skill: str, steps: tuple[Step, ...]) -> tuple[str, ...]:
    return lines_after(skill, steps, len(steps))


def reaches_on_call(steps: tuple[Step, ...]) -> bool:
    return any(s.on_call for s in steps)


# store ---------------------------------------------------------------------------
def apply_step(svc: Services, sid: str, number: int, step: Step, now: float | None = None) -> str:
    k = svc.keys
    now = svc.clock.now() if now is None else now
    status, _ = svc.scripts.overflow_step(
        keys=[k.call(sid), k.events, k.skills, *(k.waiting(x) for x in step.add_lines)],
        args=[
            sid,
            repr(now),
            number,
            int(step.on_call),
            int(step.any_language),
            int(step.callback),
            ",".join(step.add_lines),
        ],
    )
    return status


def apply_due(
    svc: Services, sid: str, now: float | None = None, fields: tuple | None = None
) -> list[int]:
    """Apply every step of the call's category that is due; returns the step numbers applied.

    `fields` = (state, category, enqueued_at, ovf_step) already read (the sweep reads
    them for every call in one pipeline); the Lua script re-checks them anyway.
    """
    now = svc.clock.now() if now is None else now
    h = fields or svc.redis.hmget(
        svc.keys.call(sid), "state", "category", "enqueued_at", "ovf_step"
    )
    state, category, enq, applied = h
    if state not in ("waiting", "callback_requested") or not enq:
        return []
    steps = load_policy(svc).steps(category)
    done = []
    for n in due_steps(steps, float(enq), int(applied or 0), now):
        if apply_step(svc, sid, n, steps[n - 1], now) != "applied":
            break
        done.append(n)
    return done


def prepare(svc: Services, sid: str) -> None:
    """Before the first match: the category's required level, once."""
    category = svc.redis.hget(svc.keys.call(sid), "category")
    level = load_policy(svc).for_category(category).min_level
    if level > 1:
        svc.redis.hsetnx(svc.keys.call(sid), "min_level", level)


def schedule(svc: Services, sid: str, now: float | None = None) -> int:
    """One RQ job per pending step, at enqueued_at + after (real delay from the clock)."""
    now = svc.clock.now() if now is None else now
    category, enq, applied = svc.redis.hmget(
        svc.keys.call(sid), "category", "enqueued_at", "ovf_step"
    )
    if not enq:
        return 0
    steps = load_policy(svc).steps(category)
    n = 0
    for i, s in enumerate(steps, 1):
        if i <= int(applied or 0):
            continue
        timers.schedule(svc, max(now, float(enq) + s.after), names.OVERFLOW_DUE, sid, i)
        n += 1
    return n
