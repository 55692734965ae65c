"""The roster as a document: agents, skills, weekly shifts and exceptions (plain dataclasses).

Times are wall-clock times in the agent's zone; turning them into instants (and the
DST rules) is `schedule`'s job. Reading and checking a file is `validate` (with
`yamllines`), writing it back `dump`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK_MIN = 7 * 24 * 60


# --- the document -----------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.reason}"
            if self.line
            else f"{self.file}: {self.reason}"
        )


@dataclass(frozen=True)
class HolidayRule:
    country: str
    subdivision: str | None = None
    as_day: int | None = None  # weekday index a public holiday counts as; None: a normal day

    def is_holiday(self, d: date) -> bool:
        return d in holiday_calendar(self.country, self.subdivision)


@dataclass(frozen=True)
class AgentSpec:
    id: str
    name: str
    phone: str | None
    client_identity: str | None
    skills: dict[str, int]
    languages: tuple[str, ...]
    timezone: str | None = None

    def level(self, skill: str) -> int:
        return self.skills.get(skill, 0)


@dataclass(frozen=True)
class Shift:
    """A weekly shift; `end <= start` means it ends the next day."""

    id: str
    agent: str
    days: tuple[int, ...]  # 0 = Monday
    start: time
    end: time
    on_call: bool = False
    valid_from: date | None = None
    valid_until: date | None = None

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def minutes(self) -> int:
        return (minutes_of(self.end) - minutes_of(self.start)) % (24 * 60)

    def valid_on(self, d: date) -> bool:
        return (self.valid_from is None or d >= self.valid_from) and (
            self.valid_until is None or d <= self.valid_until
        )


@dataclass(frozen=True)
class Leave:
    """No shift of `agent` that starts on a date in [start, end] (inclusive, agent's dates)."""

    agent: str
    start: date
    end: date
    reason: str | None = None


@dataclass(frozen=True)
class ExtraShift:
    id: str
    agent: str
    date: date
    start: time
    end: time
    on_call: bool = False

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class Swap:
    """On `date`, the shifts of `agent` and `other` that start that day change hands
    (only shift `shift` when given)."""

    date: date
    agent: str
    other: str
    shift: str | None = None


@dataclass(frozen=True)
class Roster:
    timezone: str
    skills: tuple[str, ...]
    agents: tuple[AgentSpec, ...]
    shifts: tuple[Shift, ...] = ()
    holidays: HolidayRule | None = None
    leaves: tuple[Leave, ...] = ()
    extras: tuple[ExtraShift, ...] = ()
    swaps: tuple[Swap, ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def agent(self, agent_id: str) -> AgentSpec:
        for a in self.agents:
            if a.id == agent_id:
                return a
        raise KeyError(agent_id)

    def shift(self, shift_id: str) -> Shift | ExtraShift:
        for s in (*self.shifts, *self.extras):
            if s.id == shift_id:
                return s
        raise KeyError(shift_id)

    def effective_weekday(self, d: date) -> int:
        """The weekday whose shifts run on `d`: a public holiday counts as `holiday_as`."""
        if self.holidays and self.holidays.as_day is not None and self.holidays.is_holiday(d):
            return self.holidays.as_day
        return d.weekday()


@lru_cache(maxsize=16)
def holiday_calendar(country: str, subdivision: str | None):
    return holidays_lib.country_holidays(country, subdiv=subdivision)


def minutes_of(t: time) -> int:
    return t.hour * 60 + t.minute
