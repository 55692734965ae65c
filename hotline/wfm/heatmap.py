"""The coverage heatmap of a week: per skill and interval, agents scheduled against agents
required, coloured by the gap; who is on and the forecast behind each cell; the gaps.

Pure (no Flask, no Redis): a grid built from `plan.plan`'s JSON -- every number of a cell
(scheduled, required, gap, on call, the forecast) is the plan's, so the console's heatmap
and `hotline plan --json` cannot disagree -- and, for who is on, the roster's own
`schedule.occurrences`, the function both the plan and `hotline roster coverage` are
built on. The gaps list: the plan's under-staffed intervals joined into runs, and
`schedule.coverage`'s gaps (nobody on shift at all, and who is on call then).

Two ways of counting heads, both shown:
* `scheduled` is the plan's: an agent on shift counts 1/k in each of their k skills,
  times the share of the interval their shift covers. This is what is set against the
  required agents, and what the gap is made of.
* `heads` is `roster coverage`'s: the agents holding the skill on shift during any part
  of the interval, each counted whole in each of their skills. With single-skilled agents
  on whole hours they agree (tests/test_plan.py); with multi-skilled agents the plan's is
  smaller (a person answers one call at a time).
A week without a forecast to rest on (`requirement=False`: too little history, or not
computed yet) shows the scheduled cover alone: cells carry `heads`, no requirement, and are
coloured by whether anyone is on shift (or only on call).

Intervals are the plan's, which are the forecast's real intervals: a 23-hour spring day
has 23 hourly columns (no 02:00), a 25-hour autumn day 25 (02:00 twice, each with its
UTC offset).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from ..roster.model import Roster
from ..roster.schedule import Gap, coverage, occurrences, week_bounds

# Colour classes, worst first (the legend's order). Plan mode: by the gap in heads.
PLAN_LEVELS = ("short-2", "short-1", "short-0", "even", "over", "idle", "unknown")
# Scheduled cover alone: is anyone there.
COVER_LEVELS = ("nobody", "oncall", "covered")


@dataclass(frozen=True)
class OnDuty:
    """One agent in one cell: on shift (counted) or on call (listed apart, not counted)."""

    agent_id: str
    name: str
    shifts: tuple[str, ...]
    share: float  # of the interval on shift (or on call), at most 1
    counted: float  # what they add to this skill's `scheduled`: share / k (0 on call)
    skills: tuple[str, ...]  # every skill they hold, roster order
    on_call: bool
    covering_for: tuple[str, ...] = ()  # whose shift they work (a swap)


@dataclass(frozen=True)
class Cell:
    skill: str
    start: datetime
    end: datetime
    scheduled: float  # the plan's heads (1/k per skill, pro rata)
    heads: int  # agents on shift holding the skill during any part (roster coverage's count)
    on_call: tuple[str, ...]  # agent ids on call only, not counted
    required: int | None  # positions to roster; None: no forecast for it
    agents: int | None  # on the phones, before shrinkage
    gap: float | None  # scheduled - required
    calls: float | None
    aht_s: float | None
    patience_s: float | None
    model: str | None
    service_level: float | None
    note: str | None
    level: str
    who: tuple[OnDuty, ...]  # on shift first, then on call

    @property
    def key(self) -> str:
        return self.start.isoformat()


@dataclass(frozen=True)
class Column:
    start: datetime
    end: datetime
    time: str  # local wall clock, "10:00"
    utc_offset: str  # "+02:00"
    repeated: bool  # this wall-clock time happens twice this day (the autumn change)


@dataclass(frozen=True)
class Day:
    date: date
    weekday: str  # mon..sun
    counted_as: str | None  # a public holiday forecast and rostered as this weekday
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]  # (skill, its cells in column order)


@dataclass(frozen=True)
class Shortfall:
    """A run of consecutive under-staffed intervals of one skill (gap < 0 throughout)."""

    skill: str
    start: datetime
    end: datetime
    worst_gap: float
    required: int  # the most required in the run
    scheduled: float  # the least scheduled in the run
    on_call: tuple[str, ...]

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True)
class Heatmap:
    week: str
    timezone: str
    start: datetime
    end: datetime
    interval_min: int
    skills: tuple[str, ...]
    requirement: bool  # False: scheduled cover alone
    history_weeks: int | None
    enough_history: bool | None
    target_sl: float
    target_s: float
    shrinkage: float
    max_occupancy: float | None
    days: tuple[Day, ...]
    shortfalls: tuple[Shortfall, ...]
    uncovered: tuple[Gap, ...]  # schedule.coverage's gaps: nobody on shift

    @property
    def levels(self) -> tuple[str, ...]:
        return PLAN_LEVELS if self.requirement else COVER_LEVELS

    @property
    def columns(self) -> int:
        return sum(len(d.columns) for d in self.days)

    def cell(self, skill: str, start: str) -> Cell | None:
        for d in self.days:
            for k, cells in d.rows:
                if k != skill:
                    continue
                for c in cells:
                    if c.key == start:
                        return c
        return None


def level(cell_json: dict, heads: int, requirement: bool) -> str:
    """The colour class of a cell (see PLAN_LEVELS and COVER_LEVELS)."""
    if not requirement:
        if heads:
            return "covered"
        return "oncall" if cell_json["on_call"] else "nobody"
    need, gap = cell_json["positions"], cell_json["gap"]
    if need is None or gap is None:
        return "unknown"
    if need == 0 and cell_json["scheduled"] == 0:
        return "idle"
    if gap <= -2:
        return "short-2"
    if gap <= -1:
        return "short-1"
    if gap < 0:
        return "short-0"
    return "even" if gap < 1 else "over"


def build(plan_result: dict, roster: Roster, *, requirement: bool = True) -> Heatmap:
    """The grid of `plan_result` (plan.plan's JSON for the week), with who is on from `roster`.

    `requirement=False` keeps only the scheduled cover (the page's week without enough
    history, or whose forecast is not computed yet): no required, no gap, no shortfalls."""
    week = plan_result["week"]
    skills = tuple(plan_result["skills"])
    w0, w1 = week_bounds(week, roster.tz)
    covers = occurrences(roster, w0, w1)
    held = {a.id: tuple(k for k in roster.skills if a.level(k) > 0) for a in roster.agents}
    names = {a.id: a.name for a in roster.agents}

    by_date: dict[str, list[dict]] = defaultdict(list)
    for row in plan_result["intervals"]:
        by_date[row["local_date"]].append(row)

    days = []
    # Covers as epoch seconds, by start; swept once in time order (not all of them for
    # every interval). Equal OnDuty values are shared: most intervals repeat the last.
    pending = [(c.start.timestamp(), c.end.timestamp(), c) for c in covers]
    active: list[tuple[float, float, object]] = []
    memo: dict[tuple, OnDuty] = {}
    for d, rows in by_date.items():
        times = [r["time"] for r in rows]
        columns, per_skill = [], {k: [] for k in skills}
        for r in rows:
            t0, t1 = datetime.fromisoformat(r["start"]), datetime.fromisoformat(r["end"])
            columns.append(Column(t0, t1, r["time"], r["utc_offset"], times.count(r["time"]) > 1))
            a, b = t0.timestamp(), t1.timestamp()
            while pending and pending[0][0] < b:
                active.append(pending.pop(0))
            active = [x for x in active if x[1] > a]
            on = _on_duty(active, held, names, a, b, memo)
            for k in skills:
                per_skill[k].append(_cell(k, t0, t1, r["skills"][k], on, requirement))
        first = rows[0]
        days.append(
            Day(
                date.fromisoformat(d),
                first["weekday"],
                first.get("counted_as"),
                tuple(columns),
                tuple((k, tuple(per_skill[k])) for k in skills),
            )
        )
    shortfalls = _shortfalls(days, skills) if requirement else ()
    return Heatmap(
        week=week,
        timezone=plan_result["timezone"],
        start=datetime.fromisoformat(plan_result["start"]),
        end=datetime.fromisoformat(plan_result["end"]),
        interval_min=plan_result["interval_min"],
        skills=skills,
        requirement=requirement,
        history_weeks=plan_result.get("history_weeks"),
        enough_history=plan_result.get("enough_history"),
        target_sl=plan_result["target_sl"],
        target_s=plan_result["target_s"],
        shrinkage=plan_result["shrinkage"],
        max_occupancy=plan_result["max_occupancy"],
        days=tuple(days),
        shortfalls=tuple(shortfalls),
        uncovered=tuple(g for g in uncovered(roster, week) if g.skill in skills),
    )


_UNCOVERED: dict[tuple[int, str], tuple[Roster, tuple[Gap, ...]]] = {}


def uncovered(roster: Roster, week: str) -> tuple[Gap, ...]:
    """`schedule.coverage(roster, week).gaps`, kept per roster object and week: it takes
    ~0.1 s (it counts every hour too), and a page and each of its cells ask for it. The
    stored roster is parsed once per document (RosterStore.load), so an edit is a new
    object and a new entry; the entry holds its roster, so the id is not reused meanwhile."""
    k = (id(roster), week)
    hit = _UNCOVERED.get(k)
    if hit is None or hit[0] is not roster:
        if len(_UNCOVERED) > 32:
            _UNCOVERED.clear()
        hit = _UNCOVERED[k] = (roster, coverage(roster, week).gaps)
    return hit[1]


def _on_duty(covers, held, names, t0: float, t1: float, memo: dict) -> list[OnDuty]:
    """Everyone on in [t0, t1) (epoch seconds), by the plan's rule: an agent's shares of the
    interval add up (back-to-back shifts) to at most 1; on-call covers are listed apart."""
    length = t1 - t0
    worked: dict[tuple[str, bool], float] = defaultdict(float)
    shifts: dict[tuple[str, bool], list[str]] = defaultdict(list)
    owners: dict[tuple[str, bool], set[str]] = defaultdict(set)
    for s0, s1, c in covers:
        if s0 >= t1 or s1 <= t0:
            continue
        k = (c.agent_id, c.on_call)
        worked[k] = min(1.0, worked[k] + (min(s1, t1) - max(s0, t0)) / length)
        shifts[k].append(c.shift_id)
        if c.owner != c.agent_id:
            owners[k].add(c.owner)
    out = []
    for (agent, on_call), share in worked.items():
        k = (agent, on_call, round(share, 3), tuple(shifts[(agent, on_call)]))
        k += tuple(sorted(owners[(agent, on_call)]))
        o = memo.get(k)
        if o is None:
            mine = held.get(agent, ())
            o = memo[k] = OnDuty(
                agent_id=agent,
                name=names.get(agent, agent),
                shifts=k[3],
                share=k[2],
                counted=0.0 if on_call or not mine else round(k[2] / len(mine), 3),
                skills=mine,
                on_call=on_call,
                covering_for=k[4:],
            )
        out.append(o)
    out.sort(key=lambda o: (o.on_call, o.agent_id))
    return out


def _cell(skill, t0, t1, f: dict, on: list[OnDuty], requirement: bool) -> Cell:
    who = tuple(o for o in on if skill in o.skills)
    heads = sum(1 for o in who if not o.on_call)
    known = requirement and f["positions"] is not None
    return Cell(
        skill=skill,
        start=t0,  # fixed offsets already (the plan's ISO instants)
        end=t1,
        scheduled=f["scheduled"],
        heads=heads,
        on_call=tuple(f["on_call"]),
        required=f["positions"] if known else None,
        agents=f["agents"] if known else None,
        gap=f["gap"] if known else None,
        calls=f["calls"],
        aht_s=f["aht_s"],
        patience_s=f["patience_s"],
        model=f["model"],
        service_level=f["service_level"],
        note=f.get("note"),
        level=level(f, heads, requirement),
        who=who,
    )


def _shortfalls(days: list[Day], skills: tuple[str, ...]) -> list[Shortfall]:
    out: list[Shortfall] = []
    for k in skills:
        run: list[Cell] = []
        cells = [c for d in days for skill, cs in d.rows if skill == k for c in cs]
        for c in [*cells, None]:
            short = c is not None and c.gap is not None and c.gap < 0
            if short and run and run[-1].end == c.start:
                run.append(c)
                continue
            if run:
                out.append(
                    Shortfall(
                        skill=k,
                        start=run[0].start,
                        end=run[-1].end,
                        worst_gap=min(x.gap for x in run),
                        required=max(x.required for x in run),
                        scheduled=min(x.scheduled for x in run),
                        on_call=tuple(sorted({a for x in run for a in x.on_call})),
                    )
                )
            run = [c] if short else []
    out.sort(key=lambda s: (s.start, skills.index(s.skill)))
    return out


__all__ = [
    "COVER_LEVELS",
    "PLAN_LEVELS",
    "Cell",
    "Column",
    "Day",
    "Heatmap",
    "OnDuty",
    "Shortfall",
    "build",
    "level",
    "uncovered",
]
