"""Turning a roster's wall-clock shifts into real instants: pure functions, no Redis.

Every shift is written in its agent's local time (the agent's own `timezone`,
else the centre's). An occurrence of a weekly shift belongs to the local date it
starts on; that date decides everything about it:

* its weekday, except that a public holiday of the roster's calendar counts as
  `holiday_as` (e.g. Sunday: the Sunday shifts run, the weekday's do not);
* its validity (`valid_from` / `valid_until`), leave (`from`..`to` inclusive),
  and swaps (the occurrence is worked by the other agent, at the same instants).

DST rule (see docs/roster-format.md): a wall-clock time that does not exist
(the skipped hour in spring) is the transition instant itself, so a shift
starting 02:30 on 2026-03-29 in Paris starts at 03:00 CEST; a wall-clock time
that happens twice (autumn) is its first occurrence (fold=0, summer time). An
occurrence that collapses to nothing (02:00-02:30 on the spring day) is dropped.
Everything else is computed on real UTC instants, so a week has 167 or 169
hours when it should. Instants returned carry the fixed UTC offset in force at
that moment (not the ZoneInfo): Python compares and subtracts two datetimes
sharing one ZoneInfo by wall clock, which is wrong across a DST change.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .model import ExtraShift, Roster, Shift

HOUR = timedelta(hours=1)
NEXT_COVER_HORIZON_WEEKS = 53


@dataclass(frozen=True)
class Cover:
    """One agent on one shift occurrence: [start, end), aware, in the shift's zone."""

    agent_id: str
    shift_id: str
    on_call: bool
    start: datetime
    end: datetime
    owner: str  # whose shift it is in the roster; differs from agent_id after a swap
    extra: bool = False

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def to_json(self, tz: ZoneInfo | None = None) -> dict:
        d = {
            "agent_id": self.agent_id,
            "shift_id": self.shift_id,
            "on_call": self.on_call,
            "start": (self.start.astimezone(tz) if tz else self.start).isoformat(),
            "end": (self.end.astimezone(tz) if tz else self.end).isoformat(),
        }
        if self.owner != self.agent_id:
            d["covering_for"] = self.owner
        if self.extra:
            d["extra"] = True
        return d


# --- wall clock -> instant -------------------------------------------------


def local_kind(naive: datetime, tz: ZoneInfo) -> str:
    """ "ok", "nonexistent" (skipped by a DST change) or "ambiguous" (happens twice)."""
    a, b = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if a.utcoffset() == b.utcoffset():
        return "ok"
    if _exists(a):
        return "ambiguous"
    return "nonexistent"


def _exists(aware: datetime) -> bool:
    back = aware.astimezone(UTC).astimezone(aware.tzinfo)
    return back.replace(tzinfo=None) == aware.replace(tzinfo=None)


def fixed(at: datetime, tz: ZoneInfo | None = None) -> datetime:
    """`at` in `tz` (default: its own zone), as a fixed offset: safe to compare and subtract."""
    local = at.astimezone(tz) if tz else at
    return local.astimezone(timezone(local.utcoffset()))


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """The instant a wall-clock time means: skipped -> the transition; repeated -> the first."""
    first = naive.replace(tzinfo=tz, fold=0)
    if _exists(first):
        return fixed(first)
    # In the gap: fold=1 reads it with the later offset (an instant before the change),
    # fold=0 with the earlier one (an instant after it). Find the change between them.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = first.astimezone(UTC)
    after = hi.astimezone(tz).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return fixed(hi.replace(microsecond=0), tz)


# --- occurrences ------------------------------------------------------------


def _aware(at: datetime, what: str = "time") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} {at.isoformat()} has no UTC offset; give an instant")
    return at


def occurrences(roster: Roster, start: datetime, end: datetime) -> list[Cover]:
    """Every cover (weekly and extra, after holidays, leave and swaps) meeting [start, end)."""
    _aware(start, "start"), _aware(end, "end")
    zones = {a.id: ZoneInfo(a.timezone or roster.timezone) for a in roster.agents}
    out: list[Cover] = []

    def emit(s: Shift | ExtraShift, d: date, extra: bool) -> None:
        worker = _worker(roster, s, d)
        if any(lv.agent == worker and lv.start <= d <= lv.end for lv in roster.leaves):
            return
        tz = zones[s.agent]
        t0 = localize(datetime.combine(d, s.start), tz)
        t1 = localize(datetime.combine(d + timedelta(days=1 if s.overnight else 0), s.end), tz)
        if t0 < t1 and t0 < end and start < t1:
            out.append(Cover(worker, s.id, s.on_call, t0, t1, s.agent, extra))

    for s in roster.shifts:
        tz = zones[s.agent]
        d = start.astimezone(tz).date() - timedelta(days=1)  # overnight shifts from the day before
        last = end.astimezone(tz).date()
        while d <= last:
            if s.valid_on(d) and roster.effective_weekday(d) in s.days:
                emit(s, d, False)
            d += timedelta(days=1)
    for e in roster.extras:
        tz = zones[e.agent]
        if start.astimezone(tz).date() - timedelta(days=1) <= e.date <= end.astimezone(tz).date():
            emit(e, e.date, True)
    out.sort(key=lambda c: (c.start, c.agent_id, c.shift_id))
    return out


def _worker(roster: Roster, s: Shift | ExtraShift, d: date) -> str:
    for sw in roster.swaps:
        if sw.date == d and (sw.shift is None or sw.shift == s.id):
            if s.agent == sw.agent:
                return sw.other
            if s.agent == sw.other:
                return sw.agent
    return s.agent


def _holds(roster: Roster, agent_id: str, skill: str | None) -> bool:
    return skill is None or roster.agent(agent_id).level(skill) > 0


# --- questions ----------------------------------------------------------------


def on_shift(roster: Roster, at: datetime, skill: str | None = None) -> list[Cover]:
    """Who is on shift (or on call) at instant `at`: regular covers first, then on-call."""
    _aware(at)
    hits = [
        c
        for c in occurrences(roster, at, at + timedelta(seconds=1))
        if c.covers(at) and _holds(roster, c.agent_id, skill)
    ]
    return sorted(hits, key=lambda c: (c.on_call, c.agent_id, c.shift_id))


def next_cover(
    roster: Roster, skill: str, after: datetime, include_on_call: bool = False
) -> datetime | None:
    """The first instant >= `after` when someone holding `skill` is on shift (None within a year)."""
    _aware(after, "after")
    if not any(a.level(skill) > 0 for a in roster.agents):
        return None
    for week in range(NEXT_COVER_HORIZON_WEEKS):
        w0 = after + timedelta(days=7 * week)
        found = [
            c.start
            for c in occurrences(roster, w0, w0 + timedelta(days=7))
            if c.end > after
            and (include_on_call or not c.on_call)
            and _holds(roster, c.agent_id, skill)
        ]
        if found:
            return fixed(max(after, min(found)), roster.tz)
    return None


def boundaries(roster: Roster, start: datetime, end: datetime) -> list[datetime]:
    """Instants in [start, end) where a shift starts or ends (UTC): when to refresh `onshift`."""
    out = set()
    for c in occurrences(roster, start, end):
        for t in (c.start, c.end):
            if start <= t < end:
                out.add(t.astimezone(UTC))
    return sorted(out)


# --- weekly coverage --------------------------------------------------------------


@dataclass(frozen=True)
class HourCover:
    start: datetime  # centre's zone
    end: datetime
    on_shift: dict[str, int]  # skill -> agents on shift (not on call) during any part of the hour
    on_call: dict[str, int]


@dataclass(frozen=True)
class Gap:
    """Nobody on shift for `skill` in [start, end); `on_call` names who can still be reached."""

    skill: str
    start: datetime
    end: datetime
    on_call: tuple[str, ...] = ()

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True)
class Coverage:
    week: str
    timezone: str
    start: datetime
    end: datetime
    skills: tuple[str, ...]
    hours: tuple[HourCover, ...]
    gaps: tuple[Gap, ...]

    def to_json(self) -> dict:
        return {
            "week": self.week,
            "timezone": self.timezone,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "hours_in_week": len(self.hours),
            "skills": list(self.skills),
            "hours": [
                {"start": h.start.isoformat(), "on_shift": h.on_shift, "on_call": h.on_call}
                for h in self.hours
            ],
            "gaps": [
                {
                    "skill": g.skill,
                    "start": g.start.isoformat(),
                    "end": g.end.isoformat(),
                    "hours": round(g.hours, 3),
                    "on_call": list(g.on_call),
                }
                for g in self.gaps
            ],
        }


_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


def week_bounds(iso_week: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    m = _WEEK.match(iso_week.strip())
    if not m:
        raise ValueError(f"week {iso_week!r}: expected YYYY-Www, like 2026-W13")
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise ValueError(f"week {iso_week!r} does not exist") from None
    return (
        localize(datetime.combine(monday, datetime.min.time()), tz),
        localize(datetime.combine(monday + timedelta(days=7), datetime.min.time()), tz),
    )


def coverage(roster: Roster, iso_week: str, skill: str | None = None) -> Coverage:
    """Hour by hour (real hours: 167 or 169 in a DST week), who covers each skill, and the gaps."""
    tz = roster.tz
    if skill is not None and skill not in roster.skills:
        raise ValueError(f"unknown skill {skill!r} (skills are: {', '.join(roster.skills)})")
    skills = (skill,) if skill else roster.skills
    w0, w1 = week_bounds(iso_week, tz)
    covers = occurrences(roster, w0, w1)
    by_skill = {k: [c for c in covers if _holds(roster, c.agent_id, k)] for k in skills}

    hours = []
    t = w0.astimezone(UTC)
    end = w1.astimezone(UTC)
    while t < end:
        u = min(t + HOUR, end)
        shift_n, call_n = {}, {}
        for k in skills:
            here = [c for c in by_skill[k] if c.start < u and t < c.end]
            shift_n[k] = len({c.agent_id for c in here if not c.on_call})
            call_n[k] = len({c.agent_id for c in here if c.on_call})
        hours.append(HourCover(fixed(t, tz), fixed(u, tz), shift_n, call_n))
        t = u

    gaps = []
    for k in skills:
        gaps += _gaps(k, by_skill[k], w0, w1, tz)
    return Coverage(iso_week, roster.timezone, w0, w1, tuple(skills), tuple(hours), tuple(gaps))


def _gaps(skill: str, covers: list[Cover], w0: datetime, w1: datetime, tz: ZoneInfo) -> list[Gap]:
    cuts = sorted({w0, w1, *(t for c in covers for t in (c.start, c.end) if w0 < t < w1)})
    out: list[Gap] = []
    for a, b in itertools.pairwise(cuts):
        here = [c for c in covers if c.start <= a and b <= c.end]
        if any(not c.on_call for c in here):
            continue
        who = tuple(sorted({c.agent_id for c in here}))
        if out and out[-1].end == a and out[-1].on_call == who:
            out[-1] = Gap(skill, out[-1].start, fixed(b, tz), who)
        else:
            out.append(Gap(skill, fixed(a, tz), fixed(b, tz), who))
    return out


__all__ = [
    "Cover",
    "Coverage",
    "Gap",
    "HourCover",
    "boundaries",
    "coverage",
    "fixed",
    "local_kind",
    "localize",
    "next_cover",
    "occurrences",
    "on_shift",
    "week_bounds",
]
