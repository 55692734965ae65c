"""One agent's own shifts, day by day, in their own zone (pure, no Redis, no Flask).

Built on `schedule.occurrences`, so the agent sees what routing will do: holidays run their
`holiday_as` day's shifts, leave removes an occurrence, a swap moves it to the other agent
at the same instants, an extra shift is there on its date, and every length is real (the
night across the autumn change is an hour longer, the spring one an hour shorter).

Times are in the agent's zone (their own `timezone`, else the centre's): what their desk
clock says. A shift sits on the local date it starts on in that zone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from . import schedule
from .model import Leave, Roster

AGENDA_DAYS = 28  # the agent's page: four weeks from today


@dataclass(frozen=True)
class AgentShift:
    """One occurrence the agent works: [start, end) in the agent's zone (fixed offsets)."""

    shift_id: str
    on_call: bool
    extra: bool
    covering_for: str | None  # whose shift it is, after a swap
    start: datetime
    end: datetime

    @property
    def day(self) -> date:
        return self.start.date()

    @property
    def hours(self) -> float:
        """Real length (UTC instants), not wall-clock."""
        return (self.end - self.start).total_seconds() / 3600

    @property
    def wall_hours(self) -> float:
        """Length on the wall clock: differs from `hours` across a DST change."""
        naive = self.end.replace(tzinfo=None) - self.start.replace(tzinfo=None)
        return naive.total_seconds() / 3600

    @property
    def ends_later_day(self) -> int:
        """How many days after its start date it ends (1 for a night shift)."""
        return (self.end.date() - self.start.date()).days


@dataclass(frozen=True)
class Day:
    date: date
    shifts: tuple[AgentShift, ...]
    leave: Leave | None = None
    holiday: str | None = None  # the public holiday's name, from the roster's calendar
    holiday_as: int | None = None  # the weekday whose shifts run on it, if the roster says


@dataclass(frozen=True)
class Week:
    iso: str  # 2026-W23
    days: tuple[Day, ...]


@dataclass(frozen=True)
class Agenda:
    agent_id: str
    timezone: str  # the agent's zone
    centre_timezone: str
    first: date
    last: date  # inclusive
    weeks: tuple[Week, ...]
    names: dict[str, str]  # agent id -> name, for the shifts covered after a swap

    @property
    def shifts(self) -> list[AgentShift]:
        return [s for w in self.weeks for d in w.days for s in d.shifts]


def zone_of(roster: Roster, agent_id: str) -> ZoneInfo:
    return ZoneInfo(roster.agent(agent_id).timezone or roster.timezone)


def only_theirs(roster: Roster, agent_id: str) -> Roster:
    """The roster with only the shifts `agent_id` may work: theirs and those of whoever they
    swap with (a swap hands them the other's shift). Same occurrences for them, a tenth of
    the work on a roster of a dozen agents."""
    partners = {agent_id}
    for sw in roster.swaps:
        if agent_id in (sw.agent, sw.other):
            partners |= {sw.agent, sw.other}
    return replace(
        roster,
        shifts=tuple(s for s in roster.shifts if s.agent in partners),
        extras=tuple(e for e in roster.extras if e.agent in partners),
    )


def agent_shifts(roster: Roster, agent_id: str, start: datetime, end: datetime) -> list[AgentShift]:
    """The occurrences `agent_id` works that start in [start, end), in their zone."""
    tz = zone_of(roster, agent_id)
    roster = only_theirs(roster, agent_id)
    return [
        AgentShift(
            c.shift_id,
            c.on_call,
            c.extra,
            c.owner if c.owner != c.agent_id else None,
            schedule.fixed(c.start, tz),
            schedule.fixed(c.end, tz),
        )
        for c in schedule.occurrences(roster, start, end)
        if c.agent_id == agent_id and start <= c.start < end
    ]


def leave_on(roster: Roster, agent_id: str, d: date) -> Leave | None:
    return next(
        (lv for lv in roster.leaves if lv.agent == agent_id and lv.start <= d <= lv.end), None
    )


HOLIDAY_LANGS = {"fr": "fr", "en": "en_US"}  # the console's languages in `holidays`' codes


def holiday_on(roster: Roster, d: date, lang: str = "fr") -> str | None:
    """The name of the public holiday on `d` in the roster's calendar, in `lang` where the
    `holidays` package has it (the names would otherwise follow the process's locale)."""
    rule = roster.holidays
    if rule is None or not rule.is_holiday(d):
        return None
    return _named_calendar(rule.country, rule.subdivision, HOLIDAY_LANGS.get(lang, lang)).get(d)


@lru_cache(maxsize=16)
def _named_calendar(country: str, subdivision: str | None, language: str):
    return holidays_lib.country_holidays(country, subdiv=subdivision, language=language)


def midnight(d: date, tz: ZoneInfo) -> datetime:
    """The instant local date `d` begins (the DST rule of `schedule.localize`)."""
    return schedule.localize(datetime.combine(d, datetime.min.time()), tz)


def agenda(
    roster: Roster, agent_id: str, now: datetime, days: int = AGENDA_DAYS, lang: str = "fr"
) -> Agenda:
    """`days` local dates from today (in the agent's zone), grouped by ISO week: every day,
    with the shifts that start on it, the agent's leave and the public holiday if any (its
    name in `lang`)."""
    if now.tzinfo is None:
        raise ValueError("now has no UTC offset; give an instant")
    tz = zone_of(roster, agent_id)
    first = now.astimezone(tz).date()
    last = first + timedelta(days=days - 1)
    shifts = agent_shifts(roster, agent_id, midnight(first, tz), midnight(last + timedelta(1), tz))
    by_day: dict[date, list[AgentShift]] = {}
    for s in shifts:
        by_day.setdefault(s.day, []).append(s)
    weeks: list[Week] = []
    for n in range(days):
        d = first + timedelta(days=n)
        holiday = holiday_on(roster, d, lang)
        as_day = roster.holidays.as_day if holiday and roster.holidays else None
        day = Day(d, tuple(by_day.get(d, ())), leave_on(roster, agent_id, d), holiday, as_day)
        iso = "{}-W{:02d}".format(*d.isocalendar()[:2])
        if weeks and weeks[-1].iso == iso:
            weeks[-1] = Week(iso, (*weeks[-1].days, day))
        else:
            weeks.append(Week(iso, (day,)))
    names = {a.id: a.name for a in roster.agents}
    return Agenda(agent_id, tz.key, roster.timezone, first, last, tuple(weeks), names)


__all__ = [
    "AGENDA_DAYS",
    "Agenda",
    "AgentShift",
    "Day",
    "Week",
    "agenda",
    "agent_shifts",
    "holiday_on",
    "leave_on",
    "midnight",
    "only_theirs",
    "zone_of",
]
