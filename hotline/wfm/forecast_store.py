"""The forecasts behind the console's coverage heatmap: read in a child process, kept in Redis.

`hotline plan` is `plan(forecast(history.iter_calls(8 weeks)), roster)`. The history read is
the slow part: at 500 calls a day, 8 weeks are ~620,000 events and take ~9 s on an idle machine
(benchmarks/coverage.py, docs/console.md "Coverage"); forecast() then takes ~0.15 s and plan()
~0.1 s. The console is one gevent worker, so 9 s inside a request would stop every other
page; an RQ job would not do either: `hotline worker` runs the routing and the agents'
legs one job at a time, and a caller's offer would wait behind it. So the console starts a
child process (`python -m hotline.wfm.forecast_store`, the same history reader and the
same forecast() as the CLI), at most one per (week, interval) across every console process
(a lock in Redis), and the page shows the scheduled cover until the result lands.

**What is kept, and keyed by what.** The forecast, and beside it plan() of it for the roster
version the child read (`plan_for`: the page draws it while the roster is at that version).
plan() reads the roster's shifts, so after an edit the page plans the kept forecast itself
(~0.1 s) and the edit shows on the next reload. Of the roster, forecast() reads only the
skills and the public-holiday rule (`calendar()`, a digest, with the centre's zone); the
history decides the rest:
* the history of week W is the 8 weeks before its Monday. Once W has begun (and SETTLE_S
  more, for the calls in progress then to end), it no longer changes: mark `final`,
  computed once;
* before that (a coming week) it grows with every call: the mark is the REFRESH_S period
  of `now`, so it is read again at most every REFRESH_S, and only while someone looks; the
  previous result is shown meanwhile, with its time.
Archiving changes nothing of a history (history.py merges the archive and the live log by
stream id), so the archive's runs are no part of the key.

**Keys** (this module owns them; named here, beside their only reader and writer, while
issue 12's pages are built in parallel -- they belong in store/keys.py's list):
* `coverage:forecast:{week}:{interval}` hash: `calendar`, `mark`, `computed_at`,
  `history_end`, `took_s`, `forecast` (JSON), `plan` (JSON) and `plan_roster_version`;
  expires KEEP_S after its last write;
* `…:job` string, TTL JOB_TTL_S: the child computing it (`token started_at`);
* `…:error` string, TTL RETRY_S: why the last child failed; no new child before it expires.
A result is written only if it is newer than the one kept (WATCH/MULTI): two children
finishing out of order cannot put an older history back.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import redis

from ..roster.model import Roster
from ..roster.schedule import week_bounds
from .children import Children, read_job
from .forecast import forecast, history_window
from .plan import plan

if TYPE_CHECKING:
    from ..services import Services

SETTLE_S = 3600.0  # after a week began, for the calls offered just before to end
REFRESH_S = 300.0  # a coming week's history is read again at most this often
JOB_TTL_S = 900  # a child is given this long (it kills itself then; the lock expires)
RETRY_S = 300  # after a failure, no new child for this long
KEEP_S = 14 * 86400  # a week's forecast is dropped this long after it was last written
SLOW_S = 120.0  # the page says a child is taking longer than it should
# `hotline plan`'s default targets: the console plans for the same service level.
TARGET_SL = 0.8
TARGET_S = 60.0

_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{2})\s*$")
_children = Children()  # this process's children, for wait_children()


@dataclass
class Status:
    """What the console can show for (week, interval) now. The kept documents are decoded
    when asked for (a page drawn from its process's grid cache needs neither)."""

    forecast_doc: str | None  # a forecast of the roster's calendar (fresh or not), JSON
    fresh: bool  # computed for the current history mark
    computed_at: float | None
    history_end: float | None  # the history it read ended here (epoch seconds)
    took_s: float | None
    pending_since: float | None  # a child is computing one since then
    error: str | None  # the last child failed (no new one before RETRY_S)
    plan_doc: str | None = None  # plan_for() of that forecast, for roster version:
    plan_roster_version: int | None = None

    @cached_property
    def forecast(self) -> dict | None:
        return None if self.forecast_doc is None else json.loads(self.forecast_doc)

    @cached_property
    def plan(self) -> dict | None:
        return None if self.plan_doc is None else json.loads(self.plan_doc)


# --- keys and marks -----------------------------------------------------------------


def key(svc: Services, week: str, interval_min: int) -> str:
    return f"{svc.keys.prefix}coverage:forecast:{week}:{interval_min}"


def calendar(svc: Services, roster: Roster) -> str:
    """A digest of what forecast() reads of the roster and the settings besides the history."""
    h = roster.holidays
    rule = None if h is None else [h.country, h.subdivision, h.as_day]
    text = json.dumps([svc.settings.timezone, list(roster.skills), rule])
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def mark(svc: Services, week: str, now: float) -> str:
    """`final` once the week's history can no longer change, else the REFRESH_S period of now."""
    _, end = history_window(week, svc.settings.tz)
    if now >= end + SETTLE_S:
        return "final"
    return f"t{int(now // REFRESH_S)}"


# --- reading ------------------------------------------------------------------------


def status(svc: Services, week: str, interval_min: int, roster: Roster, now: float) -> Status:
    """The kept forecast for (week, interval), without starting anything. One round trip."""
    k = key(svc, week, interval_min)
    with svc.redis.pipeline(transaction=False) as p:
        p.hmget(
            k, "calendar", "mark", "computed_at", "history_end", "took_s", "forecast", "plan",
            "plan_roster_version",
        )  # fmt: skip
        p.get(k + ":job")
        p.get(k + ":error")
        (cal, m, at, hend, took, doc, pdoc, pver), job, error = p.execute()
    usable = doc is not None and cal == calendar(svc, roster)
    pending = float(job.split()[1]) if job else None
    return Status(
        forecast_doc=doc if usable else None,
        fresh=usable and m == mark(svc, week, now),
        computed_at=float(at) if usable and at else None,
        history_end=float(hend) if usable and hend else None,
        took_s=float(took) if usable and took else None,
        pending_since=pending,
        error=error,
        plan_doc=pdoc if usable and pver else None,
        plan_roster_version=int(pver) if usable and pver else None,
    )


def ensure(svc: Services, week: str, interval_min: int, roster: Roster, now: float) -> Status:
    """status(), and a child started to compute the forecast when the kept one is missing or
    out of date, none is running (in any console process) and the last did not just fail."""
    st = status(svc, week, interval_min, roster, now)
    if st.fresh or st.pending_since is not None or st.error is not None:
        return st
    token = secrets.token_hex(8)
    started = svc.redis.set(
        key(svc, week, interval_min) + ":job", f"{token} {now!r}", nx=True, ex=JOB_TTL_S
    )
    if not started:  # another console process just started one
        return status(svc, week, interval_min, roster, now)
    try:
        _spawn(svc, week, interval_min, now, token)
    except OSError as e:  # no process could be started: say so, try again later
        _failed(svc, week, interval_min, token, f"could not start the forecast: {e}")
    return status(svc, week, interval_min, roster, now)


# --- computing ----------------------------------------------------------------------


def read(svc: Services, week: str, interval_min: int, roster: Roster) -> dict:
    """The forecast `hotline plan` would make: the same history reader, the same function."""
    from ..history import iter_calls

    tz = svc.settings.tz
    start_ts, end_ts = history_window(week, tz)
    calls = iter_calls(svc, start_ts, end_ts)
    return forecast(
        calls, week, tz=tz, roster=roster, interval_min=interval_min, now=svc.clock.now()
    )


def plan_for(svc: Services, forecast_result: dict, roster: Roster, week: str) -> dict:
    """plan() as the console shows it: `hotline plan`'s targets, the settings' shrinkage and
    occupancy cap."""
    return plan(
        forecast_result,
        roster,
        week,
        target_sl=TARGET_SL,
        target_s=TARGET_S,
        shrinkage=svc.settings.shrinkage,
        max_occupancy=svc.settings.max_occupancy,
    )


def compute(
    svc: Services, week: str, interval_min: int, now: float, token: str | None = None
) -> bool:
    """Read the history, keep the forecast (if newer than the kept one) and its plan for the
    roster of now, release the child's lock. True if it was kept. A failure is kept as the
    error (RETRY_S) and raised."""
    t = time.perf_counter()
    try:
        version = svc.roster.version()
        roster = svc.roster.load()
        if roster is None:
            raise ValueError("no roster imported yet (hotline roster import FILE)")
        result = read(svc, week, interval_min, roster)
        planned = plan_for(svc, result, roster, week)
        if svc.roster.version() != version:  # edited meanwhile: the page plans it itself
            planned = None
        kept = store(
            svc,
            week,
            interval_min,
            result,
            calendar=calendar(svc, roster),
            mark=mark(svc, week, now),
            computed_at=now,
            history_end=min(now, history_window(week, svc.settings.tz)[1]),
            took_s=time.perf_counter() - t,
            plan_result=planned,
            roster_version=version,
        )
    except Exception as e:
        _failed(svc, week, interval_min, token, f"{type(e).__name__}: {e}")
        raise
    if token is not None:
        _release(svc, week, interval_min, token)
    return kept


def store(
    svc: Services,
    week: str,
    interval_min: int,
    result: dict,
    *,
    calendar: str,
    mark: str,
    computed_at: float,
    history_end: float,
    took_s: float = 0.0,
    plan_result: dict | None = None,
    roster_version: int | None = None,
) -> bool:
    """Keep `result` (and `plan_result`, plan_for() of it with roster `roster_version`)
    unless the kept forecast of the same calendar was computed later."""
    k = key(svc, week, interval_min)
    doc = json.dumps(result, ensure_ascii=False)
    extra = {}
    if plan_result is not None and roster_version is not None:
        extra = {
            "plan": json.dumps(plan_result, ensure_ascii=False),
            "plan_roster_version": str(roster_version),
        }
    with svc.redis.pipeline() as p:
        while True:
            try:
                p.watch(k)
                cal, at = p.hmget(k, "calendar", "computed_at")
                if cal == calendar and at is not None and float(at) > computed_at:
                    p.unwatch()
                    return False
                p.multi()
                p.delete(k)
                p.hset(
                    k,
                    mapping={
                        "calendar": calendar,
                        "mark": mark,
                        "computed_at": repr(computed_at),
                        "history_end": repr(history_end),
                        "took_s": f"{took_s:.3f}",
                        "forecast": doc,
                        **extra,
                    },
                )
                p.expire(k, KEEP_S)
                p.execute()
                return True
            except redis.WatchError:
                continue


def _failed(svc: Services, week: str, interval_min: int, token: str | None, why: str) -> None:
    svc.redis.set(key(svc, week, interval_min) + ":error", why[:500], ex=RETRY_S)
    if token is not None:
        _release(svc, week, interval_min, token)


def _release(svc: Services, week: str, interval_min: int, token: str) -> None:
    # Only our own lock: a child slower than JOB_TTL_S must not drop its successor's.
    lock = key(svc, week, interval_min) + ":job"
    raw = svc.redis.get(lock)
    if raw and raw.split()[0] == token:
        svc.scripts.lock_release(keys=[lock], args=[raw])


# --- the child process --------------------------------------------------------------


def _spawn(svc: Services, week: str, interval_min: int, now: float, token: str) -> None:
    # The settings go over stdin (they hold secrets: not in argv or the environment);
    # `now` is the console's clock, so a simulated clock marks the result as the page does.
    job = {
        "settings": svc.settings,
        "week": week,
        "interval_min": interval_min,
        "now": now,
        "token": token,
    }
    _children.spawn("hotline.wfm.forecast_store", job, "forecast-child")


wait_children = _children.wait


def main() -> int:
    from ..clock import ManualClock
    from ..services import Services

    job = read_job()
    signal.alarm(JOB_TTL_S)  # never outlive the lock: SIGALRM ends the process
    svc = Services(job["settings"], clock=ManualClock(job["now"]))
    try:
        compute(svc, job["week"], job["interval_min"], job["now"], token=job["token"])
    finally:
        svc.close()
    return 0


def current_week(svc: Services, now: float) -> str:
    """The ISO week of `now` in the centre's zone, `YYYY-Www`."""
    from datetime import datetime

    y, w, _ = datetime.fromtimestamp(now, svc.settings.tz).isocalendar()
    return f"{y}-W{w:02d}"


def normal_week(text: str, tz) -> str:
    """`text` as `YYYY-Www` (ValueError with the reason otherwise); years 2000-2100 only:
    the history and the plan walk weeks around it, and a year out of range is a typo."""
    m = _WEEK.match(text or "")
    if not m:
        raise ValueError(f"week {text!r}: expected YYYY-Www, like 2026-W13")
    if not 2000 <= int(m.group(1)) <= 2100:
        raise ValueError(f"week {text!r} is out of range (years 2000 to 2100)")
    w0, _ = week_bounds(f"{m.group(1)}-W{m.group(2)}", tz)  # a week 53 that is not: its error
    y, w, _ = w0.date().isocalendar()
    return f"{y}-W{w:02d}"


if __name__ == "__main__":
    sys.exit(main())
