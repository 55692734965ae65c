"""The console's interval reports: computed in a child process, kept in Redis.

`hotline report` is `report(history.iter_calls(period + 7 days), agent states)`. Reading that
history is the slow part, measured on synthetic days of 500 calls (archive/synthetic.py,
~24 events a call; 2 vCPU shared, load ≈ 3.5): a day takes 1.6-2.3 s (its first-contact
resolution reads the 7 days after it: 8 days, ~90,000 events), a week 3.0-4.1 s (14 days:
calls 1.9 s, agent states 0.9 s, report() itself 0.07 s). The console is one gevent worker:
seconds of CPU inside a request would stop every other page, the live wallboard included.
An RQ job would not do either: `hotline worker` runs the routing and the agents' legs one
job at a time, and a caller's offer would wait behind a report. So the console starts a
child process (`python -m hotline.wfm.report_store`: `compute()` below, the CLI's reads and
the same `report()`), the page says it is being computed and polls, and the result is kept
here for every console process.

**When a report can still change.** Its calls are read up to FCR_WINDOW_S (7 days) past the
period's end for first-contact resolution; a call offered in the period is over within
CALL_LOOKAHEAD_S (4 days, a callback). So from the end plus FCR_WINDOW_S (and SETTLE_S more)
nothing it reads can change: `final`, computed once, kept KEEP_S. Archiving changes nothing
(history.py merges the archive and the live log by stream id). Before that, the mark is a
period of `now`: LIVE_REFRESH_S while the period runs (and SETTLE_S after, for its last
calls to end), SETTLING_REFRESH_S afterwards (only first-contact resolution can still fall,
as later calls come in). A report older than its mark is shown with its time while the
next one is computed, and computed again only when somebody asks for it.

**Keys** (this module owns them; named here, beside their only reader and writer, while
issue 12's pages are built in parallel -- they belong in store/keys.py's list):
* `report:{kind}:{value}:{skill|*}:{interval}` hash: `mark`, `computed_at`, `took_s`,
  `report` (the JSON, zlib, base64: a week at 15 minutes is 1.5 MB of JSON, ~0.1 MB so);
  expires KEEP_S after its last write;
* `…:error` string, TTL RETRY_S: why the last child failed; no new child before it expires;
* `report:jobs` zset (report id -> claim expiry, clock time) and `report:jobs:owner` hash
  (report id -> "token started_at"): the children running, at most MAX_JOBS across every
  console process (report_job_claim.lua / report_job_release.lua).
A result is written only if it is newer than the one kept (WATCH/MULTI): two children
finishing out of order cannot put an older history back.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import secrets
import signal
import sys
import time
import zlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import redis

from . import report as wfm
from .children import Children, read_job

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..services import Services

# The state an agent is in at the start of the period: `hotline report`'s own look-back
# (cli/report.py AGENT_LOOKBACK_S).
AGENT_LOOKBACK_S = 86400.0
SETTLE_S = 3600.0  # after a period ends, for the calls offered just before it to end
LIVE_REFRESH_S = 60.0  # a running period's report is read again at most this often
SETTLING_REFRESH_S = 3600.0  # an ended one's, until final (only FCR can still change)
FINAL_AFTER_S = wfm.FCR_WINDOW_S + SETTLE_S  # after the period's end: nothing it reads changes
MAX_JOBS = 2  # children at once, hotline-wide: the cores are shared with the webhooks
JOB_TTL_S = 600  # a child is given this long (it kills itself then; its claim expires)
RETRY_S = 120  # after a failure, no new child for this long
KEEP_S = 7 * 86400  # a report is dropped this long after it was last written
SLOW_S = 60.0  # the page says a child is taking longer than it should

_SKILL = re.compile(r"^[a-z0-9_]{1,40}$")
_children = Children()  # this process's children, for wait_children()


@dataclass(frozen=True)
class Query:
    """One report: a day (`YYYY-MM-DD`) or an ISO week (`YYYY-Www`), one skill or all,
    intervals of 15, 30 or 60 minutes -- `hotline report`'s arguments."""

    kind: str  # "day" | "week"
    value: str
    skill: str | None = None
    interval_min: int = 60

    def __post_init__(self):
        if self.kind not in ("day", "week"):
            raise ValueError(f"kind: {self.kind!r} is not day or week")
        if self.interval_min not in wfm.INTERVALS_MIN:
            raise ValueError(f"--interval-min: {self.interval_min} is not one of 15, 30, 60")
        if self.skill is not None and not _SKILL.match(self.skill):
            raise ValueError(f"--skill: {self.skill!r} is not a skill name")

    def period(self, tz: ZoneInfo) -> tuple[float, float]:
        """(start, end) epoch seconds; ValueError with wfm.report's message when malformed."""
        if self.kind == "day":
            return wfm.day_period(self.value, tz)
        return wfm.week_period(self.value, tz)

    @property
    def ident(self) -> str:
        return f"{self.kind}:{self.value}:{self.skill or '*'}:{self.interval_min}"

    def cli_args(self) -> list[str]:
        """The same report from the command line: `hotline report ARGS`."""
        args = [f"--{self.kind}", self.value]
        if self.skill:
            args += ["--skill", self.skill]
        return [*args, "--interval-min", str(self.interval_min)]

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "value": self.value,
            "skill": self.skill,
            "interval_min": self.interval_min,
        }


@dataclass(frozen=True)
class Status:
    """What the console can show for a query now."""

    report: dict | None  # the kept report (fresh or not), else None
    fresh: bool  # computed for the current mark
    final: bool  # it can no longer change
    computed_at: float | None
    took_s: float | None
    pending_since: float | None  # a child is computing it since then
    queued: bool  # MAX_JOBS children are busy with other reports: it waits its turn
    error: str | None  # the last child failed (no new one before RETRY_S)


# --- keys and marks -----------------------------------------------------------------


def key(svc: Services, q: Query) -> str:
    return f"{svc.keys.prefix}report:{q.ident}"


def jobs_keys(svc: Services) -> list[str]:
    return [f"{svc.keys.prefix}report:jobs", f"{svc.keys.prefix}report:jobs:owner"]


def mark(q: Query, tz: ZoneInfo, now: float) -> str:
    """`final` once nothing the report reads can change, else the refresh period of now."""
    _, end = q.period(tz)
    if now >= end + FINAL_AFTER_S:
        return "final"
    if now >= end + SETTLE_S:
        return f"s{int(now // SETTLING_REFRESH_S)}"
    return f"l{int(now // LIVE_REFRESH_S)}"


# --- computing: what `hotline report` does --------------------------------------------


def compute(svc: Services, q: Query) -> dict:
    """The report `hotline report --json` prints for the same arguments: the command's own
    reading and function (`wfm/reading.period_report`)."""
    from .reading import period_report

    start, end = q.period(svc.settings.tz)
    return period_report(svc, start, end, interval_min=q.interval_min, skill=q.skill)


def csv_text(rep: dict) -> str:
    """`hotline report --csv`'s output for this report, byte for byte once UTF-8 encoded."""
    header, rows = wfm.csv_rows(rep)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


# --- reading ------------------------------------------------------------------------


def status(svc: Services, q: Query, now: float) -> Status:
    """The kept report for `q`, without starting anything. One round trip."""
    k = key(svc, q)
    with svc.redis.pipeline(transaction=False) as p:
        p.hmget(k, "mark", "computed_at", "took_s", "report")
        p.hget(jobs_keys(svc)[1], q.ident)
        p.zscore(jobs_keys(svc)[0], q.ident)
        p.get(k + ":error")
        (m, at, took, doc), owner, expiry, error = p.execute()
    running = owner is not None and expiry is not None and float(expiry) > now
    return Status(
        report=_decode(doc) if doc else None,
        fresh=doc is not None and m == mark(q, svc.settings.tz, now),
        final=doc is not None and m == "final",
        computed_at=float(at) if doc and at else None,
        took_s=float(took) if doc and took else None,
        pending_since=float(owner.split()[1]) if running else None,
        queued=False,
        error=error,
    )


def ensure(svc: Services, q: Query, now: float) -> Status:
    """status(), and a child started to compute the report when the kept one is missing or
    out of date, none is computing it, fewer than MAX_JOBS are running and the last one
    did not just fail."""
    st = status(svc, q, now)
    if st.fresh or st.pending_since is not None or st.error is not None:
        return st
    token = secrets.token_hex(8)
    claimed, owner = svc.scripts.report_job_claim(
        keys=jobs_keys(svc), args=[q.ident, token, repr(now), JOB_TTL_S, MAX_JOBS]
    )
    if int(claimed) == -1:
        return replace(st, queued=True)
    if int(claimed) == 1:
        try:
            _spawn(svc, q, now, owner)
        except OSError as e:  # no process could be started: say so, try again later
            _failed(svc, q, owner, f"could not start the report: {e}")
    return status(svc, q, now)


def _decode(doc: str) -> dict:
    return json.loads(zlib.decompress(base64.b64decode(doc)))


def _encode(rep: dict) -> str:
    raw = json.dumps(rep, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.b64encode(zlib.compress(raw, 6)).decode()


# --- keeping ------------------------------------------------------------------------


def compute_and_store(svc: Services, q: Query, now: float, owner: str | None = None) -> bool:
    """Compute the report, keep it (if newer than the kept one), release the claim. True if
    kept. A failure is kept as the error (RETRY_S) and raised."""
    t = time.perf_counter()
    try:
        rep = compute(svc, q)
        kept = store(
            svc,
            q,
            rep,
            mark=mark(q, svc.settings.tz, now),
            computed_at=now,
            took_s=time.perf_counter() - t,
        )
    except Exception as e:
        _failed(svc, q, owner, f"{type(e).__name__}: {e}")
        raise
    if owner is not None:
        _release(svc, q, owner)
    return kept


def store(
    svc: Services, q: Query, rep: dict, *, mark: str, computed_at: float, took_s: float = 0.0
) -> bool:
    """Keep `rep` unless the kept report was computed later."""
    k = key(svc, q)
    doc = _encode(rep)
    with svc.redis.pipeline() as p:
        while True:
            try:
                p.watch(k)
                at = p.hget(k, "computed_at")
                if at is not None and float(at) > computed_at:
                    p.unwatch()
                    return False
                p.multi()
                p.delete(k)
                p.hset(
                    k,
                    mapping={
                        "mark": mark,
                        "computed_at": repr(computed_at),
                        "took_s": f"{took_s:.3f}",
                        "report": doc,
                    },
                )
                p.expire(k, KEEP_S)
                p.execute()
                return True
            except redis.WatchError:
                continue


def _failed(svc: Services, q: Query, owner: str | None, why: str) -> None:
    svc.redis.set(key(svc, q) + ":error", why[:500], ex=RETRY_S)
    if owner is not None:
        _release(svc, q, owner)


def _release(svc: Services, q: Query, owner: str) -> None:
    svc.scripts.report_job_release(keys=jobs_keys(svc), args=[q.ident, owner])


# --- the child process --------------------------------------------------------------


def _spawn(svc: Services, q: Query, now: float, owner: str) -> None:
    # The settings go over stdin (they hold secrets: not in argv or the environment);
    # `now` is the console's clock, so a simulated clock marks the result as the page does.
    job = {"settings": svc.settings, "query": q.as_dict(), "now": now, "owner": owner}
    _children.spawn("hotline.wfm.report_store", job, "report-child")


wait_children = _children.wait


def main() -> int:
    from ..clock import ManualClock
    from ..services import Services

    job = read_job()
    signal.alarm(JOB_TTL_S)  # never outlive the claim: SIGALRM ends the process
    svc = Services(job["settings"], clock=ManualClock(job["now"]))
    try:
        compute_and_store(svc, Query(**job["query"]), job["now"], owner=job["owner"])
    finally:
        svc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
