"""Interval reports: per skill and per local wall-clock interval, from calls and agent states.

Pure: `report(calls, agent_events, ...)` takes the calls `hotline.history.iter_calls`
derives (live and archived alike) and the `agent_state` events of the period, and returns
the dict `hotline report --json` prints. Nothing here reads Redis or SQL; the CLI
(hotline/cli/report.py) reads and prints. Definitions are in docs/wfm.md ("Reports");
the figures of a row:

* offered -- calls that entered a waiting line or left a callback request (`offered_at`
  in the interval), as in the demo summary (hotline/reports.py).
* answered -- offered calls whose caller reached an agent; `answered_within_threshold`
  those whose wait was at most the threshold (the summary's SERVICE_LEVEL_S, 60 s).
* abandoned -- callers who hung up after waiting SHORT_ABANDON_S (5 s) or more;
  short_abandoned -- those who hung up sooner (misdials): counted apart, and out of both
  service levels. `abandoned_within_threshold` -- abandoned (not short) within the threshold.
* service_level = answered within T / (offered - short abandons).
* service_level_sl2 (Asterisk's SL2) = (answered within T + abandoned within T) /
  (offered - short abandons): an abandon within the threshold counts as met.
* asa_s -- mean wait of answered calls; aht_s -- mean talk + wrap-up of the calls an agent
  handled (answered, or callbacks completed); longest_wait_s -- the longest wait of an
  offered call (to its answer, abandon, callback request or end).
* selfhelp_resolved, callbacks_requested, callbacks_completed, missed_offers (the
  summary's rule), dispositions (count per disposition id).
* resolved_remotely -- handled calls with disposition `resolved_remotely`;
  first_contact_resolved -- those after which no call came from the same number within
  FCR_WINDOW_S (7 days) of their end (the window may run past the period: `calls` must
  include the calls of the 7 days after it); a withheld number cannot be followed, so its
  remote resolution counts as first contact.
* fcr_rate = first_contact_resolved / handled; remote_resolution_share =
  resolved_remotely / handled (handled = answered + callbacks completed).
Ratios are None when their denominator is 0, means None when nothing was measured.

Occupancy per agent (`agents`): time busy or in wrap-up / time logged in (any state but
offline) within the period, from `agent_state` events. The state at the start is the
last state before it, else the `from` of the agent's first change within it; an agent
with neither is left out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..history import SHORT_ABANDON_S

FCR_WINDOW_S = 7 * 86400.0
RESOLVED_REMOTELY = "resolved_remotely"
INTERVALS_MIN = (15, 30, 60)
# Every zone's offset from UTC and every DST jump is a multiple of 15 minutes: boundaries
# are looked for on that grid.
_GRID_S = 900.0

# The figures of a row, in the order the CSV and the table give them.
FIELDS = (
    "offered",
    "answered",
    "answered_within_threshold",
    "abandoned",
    "short_abandoned",
    "abandoned_within_threshold",
    "service_level",
    "service_level_sl2",
    "asa_s",
    "aht_s",
    "longest_wait_s",
    "selfhelp_resolved",
    "callbacks_requested",
    "callbacks_completed",
    "missed_offers",
    "handled",
    "resolved_remotely",
    "first_contact_resolved",
    "fcr_rate",
    "remote_resolution_share",
)


# ---------------------------------------------------------------- periods


def day_period(text: str, tz: ZoneInfo) -> tuple[float, float]:
    """`--day YYYY-MM-DD`: local midnight to the next local midnight (23 or 25 h on DST days)."""
    try:
        if len(text) != 10:
            raise ValueError
        d = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--day: {text!r} is not a date like 2026-12-01") from None
    return _midnight(d, tz), _midnight(d + timedelta(days=1), tz)


def week_period(text: str, tz: ZoneInfo) -> tuple[float, float]:
    """`--week YYYY-Www` (ISO week): Monday's local midnight to the next Monday's."""
    bad = ValueError(f"--week: {text!r} is not an ISO week like 2026-W49")
    if len(text) != 8 or text[4:6] != "-W" or not (text[:4].isdigit() and text[6:].isdigit()):
        raise bad
    try:
        monday = date.fromisocalendar(int(text[:4]), int(text[6:]), 1)
    except ValueError:
        raise bad from None
    return _midnight(monday, tz), _midnight(monday + timedelta(days=7), tz)


def _midnight(d: date, tz: ZoneInfo) -> float:
    return datetime.combine(d, time(0), tzinfo=tz).timestamp()


def interval_starts(start_ts: float, end_ts: float, tz: ZoneInfo, minutes: int) -> list[float]:
    """The instants in [start, end) where a local wall-clock interval begins: local times
    on the minute grid of `minutes` (so an hour the clock skips is no interval, and an
    hour it plays twice is two), plus the start itself."""
    if minutes not in INTERVALS_MIN:
        raise ValueError(f"--interval-min: {minutes} is not one of 15, 30, 60")
    out = [start_ts]
    t = start_ts + _GRID_S
    while t < end_ts:
        local = datetime.fromtimestamp(t, tz)
        if (local.hour * 60 + local.minute) % minutes == 0 and local.second == 0:
            out.append(t)
        t += _GRID_S
    return out


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _local(t: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(t, tz).isoformat(timespec="seconds")


# ---------------------------------------------------------------- figures


class _Row:
    def __init__(self):
        self.n = Counter()
        self.waits_answered: list[float] = []
        self.handle: list[float] = []
        self.longest: float | None = None
        self.dispositions: Counter = Counter()

    def add(self, c: dict, threshold_s: float, fcr: bool) -> None:
        n, wait = self.n, c.get("wait_s")
        offered = c.get("offered_at") is not None
        if offered:
            n["offered"] += 1
            if wait is not None:
                self.longest = wait if self.longest is None else max(self.longest, wait)
        if c.get("answered") and offered:
            n["answered"] += 1
            if wait is not None:
                self.waits_answered.append(wait)
                if wait <= threshold_s:
                    n["answered_within_threshold"] += 1
        if c.get("abandoned"):
            if c.get("short_abandon"):
                n["short_abandoned"] += 1
            else:
                n["abandoned"] += 1
                if wait is not None and wait <= threshold_s:
                    n["abandoned_within_threshold"] += 1
        for flag in ("selfhelp_resolved", "callback_requested", "callback_completed"):
            if c.get(flag):
                n[flag.replace("callback_", "callbacks_")] += 1
        n["missed_offers"] += int(c.get("missed_offers") or 0)
        handled = (c.get("answered") and offered) or c.get("callback_completed")
        if handled:
            n["handled"] += 1
            if c.get("talk_s") is not None:
                self.handle.append(float(c["talk_s"]) + float(c.get("wrapup_s") or 0.0))
            if c.get("disposition") == RESOLVED_REMOTELY:
                n["resolved_remotely"] += 1
                n["first_contact_resolved"] += int(fcr)
        if c.get("disposition"):
            self.dispositions[c["disposition"]] += 1

    def merge(self, other: _Row) -> None:
        self.n.update(other.n)
        self.waits_answered += other.waits_answered
        self.handle += other.handle
        if other.longest is not None:
            self.longest = (
                other.longest if self.longest is None else max(self.longest, other.longest)
            )
        self.dispositions.update(other.dispositions)

    def figures(self) -> dict:
        n = self.n
        base = n["offered"] - n["short_abandoned"]
        out = {k: n[k] for k in FIELDS if k in _COUNTS}
        out["service_level"] = _ratio(n["answered_within_threshold"], base)
        out["service_level_sl2"] = _ratio(
            n["answered_within_threshold"] + n["abandoned_within_threshold"], base
        )
        out["asa_s"] = _mean(self.waits_answered)
        out["aht_s"] = _mean(self.handle)
        out["longest_wait_s"] = None if self.longest is None else round(self.longest, 1)
        out["fcr_rate"] = _ratio(n["first_contact_resolved"], n["handled"])
        out["remote_resolution_share"] = _ratio(n["resolved_remotely"], n["handled"])
        out = {k: out[k] for k in FIELDS}
        out["dispositions"] = dict(sorted(self.dispositions.items()))
        return out


_COUNTS = frozenset(FIELDS) - {
    "service_level",
    "service_level_sl2",
    "asa_s",
    "aht_s",
    "longest_wait_s",
    "fcr_rate",
    "remote_resolution_share",
}


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 1) if xs else None


def _anchor(c: dict) -> float | None:
    return c.get("offered_at") if c.get("offered_at") is not None else c.get("created_at")


def first_contact(calls: list[dict]) -> set[str]:
    """The calls resolved remotely after which their number did not call again within
    FCR_WINDOW_S of their end (a withheld number: nothing can be seen, counts as first)."""
    by_number: dict[str, list[float]] = defaultdict(list)
    for c in calls:
        t = c.get("created_at") if c.get("created_at") is not None else _anchor(c)
        if c.get("number") and t is not None:
            by_number[c["number"]].append(t)
    out = set()
    for c in calls:
        if c.get("disposition") != RESOLVED_REMOTELY:
            continue
        began = c.get("created_at") if c.get("created_at") is not None else _anchor(c)
        ended = c.get("ended_at") or began
        later = [
            t
            for t in by_number.get(c.get("number") or "", [])
            if began is not None and began < t <= ended + FCR_WINDOW_S
        ]
        if not later:
            out.add(c["call_sid"])
    return out


def occupancy(agent_events: Iterable[dict], start_ts: float, end_ts: float) -> dict:
    """Per agent: logged_in_s, busy_s, wrapup_s, occupancy within [start, end)."""
    by_agent: dict[str, list[dict]] = defaultdict(list)
    for ev in agent_events:
        if ev.get("type", "agent_state") == "agent_state" and ev.get("agent_id"):
            by_agent[ev["agent_id"]].append(ev)
    out = {}
    for agent, evs in sorted(by_agent.items()):
        evs.sort(key=lambda e: float(e["ts"]))
        before = [e for e in evs if float(e["ts"]) < start_ts]
        within = [e for e in evs if start_ts <= float(e["ts"]) < end_ts]
        if before:
            state = before[-1].get("to")
        elif within and within[0].get("from"):
            state = within[0]["from"]
        else:
            continue
        spent: Counter = Counter()
        t = start_ts
        for e in within:
            spent[state] += float(e["ts"]) - t
            t, state = float(e["ts"]), e.get("to") or state
        spent[state] += end_ts - t
        logged = sum(v for s, v in spent.items() if s != "offline")
        work = spent["busy"] + spent["wrapup"]
        out[agent] = {
            "logged_in_s": round(logged, 1),
            "busy_s": round(spent["busy"], 1),
            "wrapup_s": round(spent["wrapup"], 1),
            "occupancy": _ratio(work, logged),
        }
    return out


def report(
    calls: Iterable[dict],
    agent_events: Iterable[dict],
    *,
    start_ts: float,
    end_ts: float,
    tz: ZoneInfo,
    interval_min: int,
    skill: str | None = None,
    threshold_s: float,
    now: float | None = None,
) -> dict:
    """The report of [start_ts, end_ts): see the module docstring and docs/wfm.md.

    `now`: a period still running has agents' time only up to it (an agent logged in at
    09:00 has been logged in 4 minutes at 09:04, not until midnight).

    `calls`: iter_calls' dicts from start_ts to at least FCR_WINDOW_S after end_ts (the
    later ones are read for first-contact resolution only)."""
    calls = list(calls)
    starts = interval_starts(start_ts, end_ts, tz, interval_min)
    fcr = first_contact(calls)
    rows: dict[str, list[_Row]] = {}
    for c in calls:
        a = _anchor(c)
        if a is None or not (start_ts <= a < end_ts) or not c.get("skill"):
            continue
        if skill is not None and c["skill"] != skill:
            continue
        line = rows.get(c["skill"])
        if line is None:
            line = rows[c["skill"]] = [_Row() for _ in starts]
        line[_index(starts, a)].add(c, threshold_s, c["call_sid"] in fcr)
    if skill is not None and skill not in rows:
        rows[skill] = [_Row() for _ in starts]
    overall = _Row()
    skills = {}
    for name in sorted(rows):
        total = _Row()
        for r in rows[name]:
            total.merge(r)
        overall.merge(total)
        skills[name] = {
            "intervals": [
                {"start_utc": _utc(t), "start_local": _local(t, tz), **r.figures()}
                for t, r in zip(starts, rows[name], strict=True)
            ],
            "total": total.figures(),
        }
    return {
        "period": {
            "start_utc": _utc(start_ts),
            "end_utc": _utc(end_ts),
            "start_local": _local(start_ts, tz),
            "end_local": _local(end_ts, tz),
            "tz": str(tz),
            "interval_min": interval_min,
            "intervals": len(starts),
            "skill": skill,
        },
        "threshold_s": threshold_s,
        "short_abandon_s": SHORT_ABANDON_S,
        "skills": skills,
        "total": overall.figures(),
        "agents": occupancy(
            agent_events, start_ts, end_ts if now is None else max(start_ts, min(end_ts, now))
        ),
    }


def _index(starts: list[float], t: float) -> int:
    lo, hi = 0, len(starts)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if starts[mid] <= t:
            lo = mid
        else:
            hi = mid
    return lo


def csv_rows(rep: dict) -> tuple[list[str], list[list]]:
    """The header and one row per skill x interval (dispositions: a column per id seen)."""
    disp = sorted(
        {d for s in rep["skills"].values() for i in s["intervals"] for d in i["dispositions"]}
    )
    header = ["skill", "interval_start_utc", "interval_start_local", *FIELDS]
    header += [f"disposition_{d}" for d in disp]
    out = []
    for name, s in rep["skills"].items():
        for i in s["intervals"]:
            row = [name, i["start_utc"], i["start_local"]]
            row += ["" if i[k] is None else i[k] for k in FIELDS]
            row += [i["dispositions"].get(d, 0) for d in disp]
            out.append(row)
    return header, out


__all__ = [
    "FCR_WINDOW_S",
    "FIELDS",
    "csv_rows",
    "day_period",
    "first_contact",
    "interval_starts",
    "occupancy",
    "report",
    "week_period",
]
