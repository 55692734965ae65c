"""One ISO week of the roster as a grid: agents down, the week's days across (pure, no Flask).

Built on `schedule.occurrences`, so the grid says what routing will do: holidays run
their `holiday_as` day's shifts, leave removes an occurrence, a swap moves it to the
other agent at the same instants, and every instant is real (DST included). An
occurrence sits in the column of the date it belongs to, the local date it starts on
in its shift's zone (docs/roster-format.md): an overnight shift is its evening's, and a
Montréal agent's Monday 16:00-22:00 is Monday's although it ends on Tuesday in Paris.

Times are given in the centre's zone, and also in the agent's own zone where that is
not the centre's; each occurrence carries its real length, so the night that crosses
the spring change is an hour short and the autumn one an hour long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from . import schedule
from .model import DAYS, AgentSpec, HolidayRule, Leave, Roster, Swap, minutes_of

_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


@dataclass(frozen=True)
class Slot:
    """One shift occurrence in a cell."""

    shift_id: str
    agent_id: str  # who works it
    owner: str  # whose shift it is in the roster (another agent after a swap)
    on_call: bool
    extra: bool  # a one-off shift
    date: date  # the date it belongs to (its column)
    start: datetime  # centre's zone, fixed offset
    end: datetime
    hours: float  # real length
    wall_hours: float  # length on the wall clock (what it lasts on a day without a DST change)
    own_zone: str | None = None  # the agent's zone, when it is not the centre's
    own_start: datetime | None = None
    own_end: datetime | None = None

    @property
    def covering_for(self) -> str | None:
        return self.owner if self.owner != self.agent_id else None

    @property
    def dst_changed(self) -> bool:
        return abs(self.hours - self.wall_hours) > 1e-9

    @property
    def start_day(self) -> int:
        """Days from the column's date to the start's date in the centre's zone (a Montréal
        evening shift may start the next day in Paris)."""
        return (self.start.date() - self.date).days


@dataclass(frozen=True)
class Cell:
    date: date
    slots: tuple[Slot, ...] = ()
    leave: Leave | None = None  # the agent is on leave that day
    swaps: tuple[Swap, ...] = ()  # swaps naming the agent on that day


@dataclass(frozen=True)
class Row:
    agent: AgentSpec
    zone: str | None  # the agent's own zone, when it is not the centre's
    cells: tuple[Cell, ...]

    @property
    def hours(self) -> float:
        """Real hours on shift this week (on call apart)."""
        return sum(s.hours for c in self.cells for s in c.slots if not s.on_call)

    @property
    def on_call_hours(self) -> float:
        return sum(s.hours for c in self.cells for s in c.slots if s.on_call)


@dataclass(frozen=True)
class Day:
    date: date
    hours: float  # real length of the centre's local day: 23 or 25 on a DST change
    holiday: str | None = None  # its name, when it is a public holiday of the roster's calendar
    runs_as: int | None = None  # the weekday whose shifts run that day (holiday_as)


@dataclass(frozen=True)
class WeekGrid:
    week: str  # YYYY-Www
    timezone: str
    start: datetime  # Monday 00:00, centre's zone
    end: datetime
    days: tuple[Day, ...]
    rows: tuple[Row, ...]
    previous: str
    next: str

    @property
    def hours(self) -> float:
        """Real hours in the week: 168, or 167 / 169 in the weeks of the DST changes."""
        return (self.end - self.start).total_seconds() / 3600

    def row(self, agent_id: str) -> Row:
        for r in self.rows:
            if r.agent.id == agent_id:
                return r
        raise KeyError(agent_id)


def parse_week(text: str) -> tuple[str, date]:
    """'2026-W49' (or '2026W49') -> ('2026-W49', its Monday); ValueError saying what is wrong."""
    m = _WEEK.match((text or "").strip())
    if not m:
        raise ValueError(f"week {text!r}: expected YYYY-Www, like 2026-W49")
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise ValueError(f"week {text!r} does not exist") from None
    return iso_week(monday), monday


def iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def week_of(at: datetime, tz: ZoneInfo) -> str:
    """The ISO week holding instant `at` in zone `tz`."""
    return iso_week(at.astimezone(tz).date())


def week_grid(roster: Roster, week: str, *, language: str = "fr") -> WeekGrid:
    """The grid of ISO week `week` (YYYY-Www; ValueError if it is not one); holiday names
    in `language` when the holidays package has them in it."""
    week, monday = parse_week(week)
    tz = roster.tz
    w0, w1 = schedule.week_bounds(week, tz)
    dates = tuple(monday + timedelta(days=i) for i in range(7))
    zones = {a.id: ZoneInfo(a.timezone or roster.timezone) for a in roster.agents}
    wall = {
        s.id: ((minutes_of(s.end) - minutes_of(s.start)) % (24 * 60)) / 60
        for s in (*roster.shifts, *roster.extras)
    }

    # Two days of margin: an occurrence belongs to its own zone's date, which may lie a
    # day either side of the centre's week for an agent far east or west.
    covers = schedule.occurrences(roster, w0 - timedelta(days=2), w1 + timedelta(days=2))
    slots: dict[tuple[str, date], list[Slot]] = {}
    for c in covers:
        d = c.start.astimezone(zones[c.owner]).date()
        if d not in dates:
            continue
        own = zones[c.agent_id]
        foreign = own.key != roster.timezone
        slots.setdefault((c.agent_id, d), []).append(
            Slot(
                shift_id=c.shift_id,
                agent_id=c.agent_id,
                owner=c.owner,
                on_call=c.on_call,
                extra=c.extra,
                date=d,
                start=schedule.fixed(c.start, tz),
                end=schedule.fixed(c.end, tz),
                hours=(c.end - c.start).total_seconds() / 3600,
                wall_hours=wall[c.shift_id],
                own_zone=own.key if foreign else None,
                own_start=schedule.fixed(c.start, own) if foreign else None,
                own_end=schedule.fixed(c.end, own) if foreign else None,
            )
        )

    leaves: dict[str, list[Leave]] = {}
    for lv in roster.leaves:
        leaves.setdefault(lv.agent, []).append(lv)
    swaps: dict[tuple[str, date], list[Swap]] = {}
    for sw in roster.swaps:
        for who in (sw.agent, sw.other):
            swaps.setdefault((who, sw.date), []).append(sw)
    rows = []
    for a in roster.agents:
        cells = tuple(
            Cell(
                date=d,
                slots=tuple(slots.get((a.id, d), ())),
                leave=next((lv for lv in leaves.get(a.id, ()) if lv.start <= d <= lv.end), None),
                swaps=tuple(swaps.get((a.id, d), ())),
            )
            for d in dates
        )
        zone = a.timezone if a.timezone and a.timezone != roster.timezone else None
        rows.append(Row(a, zone, cells))

    days = tuple(_day(roster, d, language) for d in dates)
    return WeekGrid(
        week=week,
        timezone=roster.timezone,
        start=w0,
        end=w1,
        days=days,
        rows=tuple(rows),
        previous=iso_week(monday - timedelta(days=7)),
        next=iso_week(monday + timedelta(days=7)),
    )


def _day(roster: Roster, d: date, language: str) -> Day:
    tz = roster.tz
    t0 = schedule.localize(datetime.combine(d, datetime.min.time()), tz)
    t1 = schedule.localize(datetime.combine(d + timedelta(days=1), datetime.min.time()), tz)
    hours = (t1 - t0).total_seconds() / 3600
    rule = roster.holidays
    if rule is None or not rule.is_holiday(d):
        return Day(d, hours)
    return Day(d, hours, holiday_name(rule, d, language), rule.as_day)


def holiday_name(rule: HolidayRule, d: date, language: str = "fr") -> str | None:
    return _calendar(rule.country, rule.subdivision, language).get(d)


@lru_cache(maxsize=16)
def _calendar(country: str, subdivision: str | None, language: str):
    base = holidays_lib.country_holidays(country, subdiv=subdivision)
    supported = getattr(base, "supported_languages", ())
    wanted = next(
        (x for x in supported if x == language or x.split("_")[0] == language.split("_")[0]),
        None,
    )
    if wanted is None:
        return base
    return holidays_lib.country_holidays(country, subdiv=subdivision, language=wanted)


def days_text(days: tuple[int, ...], names: tuple[str, ...] = DAYS) -> str:
    """Weekday indexes as the roster's readers accept them back: (0, 1, 2, 3, 4) -> 'mon-fri',
    (0, 5, 6) -> 'mon,sat-sun'; `names` may be the French lun..dim (read too)."""
    runs: list[list[int]] = []
    for i in sorted(set(days)):
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ",".join(
        names[r[0]]
        if len(r) == 1
        else f"{names[r[0]]}-{names[r[-1]]}"
        if len(r) > 2
        else f"{names[r[0]]},{names[r[1]]}"
        for r in runs
    )


__all__ = [
    "Cell",
    "Day",
    "Row",
    "Slot",
    "WeekGrid",
    "days_text",
    "holiday_name",
    "iso_week",
    "parse_week",
    "week_grid",
    "week_of",
]
