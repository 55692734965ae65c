"""Archive benchmark: a simulated year at 500 calls a day, archived as the daily timer would.

Each simulated day writes realistic calls straight into Redis (hotline/archive/synthetic.py:
hashes, caller keys, legs and ~22 events per call as the real scripts write them), deletes
what Redis would have expired by then in simulated time (caller keys after 7 days, legs
after 2: the server's own clock would not, in a run of minutes), then the clock moves to the
next night's 03:40 and one archive run (hotline/archive/mover.py) moves what is older than
the retention and packs what is older than two days. At the end:

* Redis `used_memory` (target: under 50 MB) and where it goes (MEMORY USAGE of the stream,
  of the packed part, of the call hashes and indexes);
* the archive's size and the nightly run's time;
* a month's report from the archive through `hotline report`'s own code path
  (hotline/wfm/reading.py, target: under 2 s), and the same report read the way it was
  before (every archived event folded, 7 days of calls after it for first-contact
  resolution), in the same run: they must agree;
* `hotline report --week` as a command, and a day still in Redis with its 7 days of FCR.

    python benchmarks/archive.py                 # 365 days x 500 calls, embedded Redis
    python benchmarks/archive.py --days 70       # 35 days in Redis + a whole archived month
    python benchmarks/archive.py --no-pack       # the stream left unpacked, for comparison
    python benchmarks/archive.py --redis-config hash-max-ziplist-value=64   # Redis's default
    python benchmarks/archive.py --quick --json  # 40 days x 50 calls (the smoke test)
    python benchmarks/archive.py --redis-url redis://127.0.0.1:6379/15   # that db is FLUSHED

The embedded Redis (a temporary directory) is the default: `used_memory` is the whole
server's, so a shared server's other databases would count too.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from hotline import events as eventlog
from hotline import history
from hotline.archive import mover, synthetic
from hotline.archive.store import SQLITE_NAME
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.reports import SERVICE_LEVEL_S
from hotline.services import Services
from hotline.store.embedded import EmbeddedRedis
from hotline.wfm import reading
from hotline.wfm import report as wfm

DAY = 86400.0
START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()  # a Monday: ISO weeks start on days
MEMORY_TARGET_MB = 50.0
REPORT_TARGET_S = 2.0
REPORTED_CONFIG = ("hash-max-ziplist-value", "stream-node-max-bytes", "stream-node-max-entries")


def month_report_from_calls(archive, start: float, end: float) -> dict[str, dict]:
    days: dict[str, dict] = defaultdict(lambda: {"offered": 0, "answered": 0, "abandoned": 0})
    for c in archive.calls_between(start, end):
        d = days[datetime.fromtimestamp(c["created_at"], UTC).date().isoformat()]
        if c["enqueued_at"] is not None or c["callback_requested"]:
            d["offered"] += 1
        if c["answered_at"] is not None:
            d["answered"] += 1
        if c["state"] == "abandoned":
            d["abandoned"] += 1
    return dict(days)


def month_report_from_events(archive, start: float, end: float) -> dict[str, dict]:
    """The same figures from the events alone, as hotline.reports defines them."""
    kinds = {"enqueued": "offered", "callback_requested": "offered", "abandoned": "abandoned"}
    seen: set = set()
    days: dict[str, dict] = defaultdict(lambda: {"offered": 0, "answered": 0, "abandoned": 0})
    for ev in archive.events_between(start, end):
        t = ev["type"]
        what = kinds.get(t) or ("answered" if t == "caller_bridged" else None)
        if what is None or (what, ev["call_sid"]) in seen:
            continue
        seen.add((what, ev["call_sid"]))
        days[datetime.fromtimestamp(ev["ts"], UTC).date().isoformat()][what] += 1
    return dict(days)


class EventsOnlyArchive:
    """The archive as the reports read it before call rows carried records: events only."""

    def __init__(self, archive):
        self.events_between = archive.events_between


def report_as_before(svc, start: float, end: float) -> dict:
    """`hotline report` as it read before: every call of the period and of the 7 days after
    it folded from its events (the archive's included), agent states filtered in Python."""
    old = SimpleNamespace(redis=svc.redis, keys=svc.keys, archive=EventsOnlyArchive(svc.archive))
    calls = history.iter_calls(old, start, end + wfm.FCR_WINDOW_S)
    agents = (
        e
        for e in history.iter_events(old, start - reading.AGENT_LOOKBACK_S, end)
        if e["type"] == "agent_state"
    )
    return wfm.report(
        calls,
        agents,
        start_ts=start,
        end_ts=end,
        tz=svc.settings.tz,
        interval_min=60,
        threshold_s=SERVICE_LEVEL_S,
    )


def month_split(svc, start: float, end: float) -> dict:
    """Where period_report's time goes: its reads one by one, then report() itself."""
    calls, a = timed(lambda: list(history.iter_calls(svc, start, end)))
    numbers = {c["number"] for c in calls if c.get("disposition") == wfm.RESOLVED_REMOTELY}
    later, b = timed(
        history.contacts, svc, end - history.CALL_LOOKBACK_S, end + wfm.FCR_WINDOW_S, numbers
    )
    agents, c = timed(
        lambda: list(
            history.iter_events(svc, start - reading.AGENT_LOOKBACK_S, end, types={"agent_state"})
        )
    )
    _, d = timed(
        wfm.report,
        calls + later,
        agents,
        start_ts=start,
        end_ts=end,
        tz=svc.settings.tz,
        interval_min=60,
        threshold_s=SERVICE_LEVEL_S,
    )
    return {
        "calls": round(a, 3),
        "contacts": round(b, 3),
        "agent_states": round(c, 3),
        "report": round(d, 3),
        "n_calls": len(calls),
        "n_agent_states": len(agents),
    }


def timed(f, *a, **kw):
    t = time.perf_counter()
    out = f(*a, **kw)
    return out, time.perf_counter() - t


def memory_parts(client, keys, calls_left: int) -> dict:
    """MEMORY USAGE of what Redis holds, by part (call hashes: a sample of 500)."""
    mu = lambda k: client.memory_usage(k, samples=0) or 0  # noqa: E731
    sample = client.zrange(keys.calls, 0, -1)[:: max(1, calls_left // 500)][:500]
    per_hash = sum(mu(keys.call(s)) for s in sample) / max(1, len(sample))
    return {
        "stream_mb": round(mu(keys.events) / 1e6, 1),
        "packed_mb": round(mu(keys.events_packed) / 1e6, 1),
        "call_hashes_mb": round(per_hash * calls_left / 1e6, 1),
        "calls_index_mb": round(mu(keys.calls) / 1e6, 1),
        "bytes_per_call_hash": round(per_hash),
    }


def run(
    days: int,
    per_day: int,
    redis_url: str | None,
    retention: float,
    pack: bool,
    config: dict[str, str] | None = None,
) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="hl-archive-bench-"))
    server = None
    try:
        if redis_url is None:
            server = EmbeddedRedis(tmp / "redis")
            server.ensure()
            redis_url = server.url
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        client.flushdb()
        for name, value in (config or {}).items():
            client.config_set(name, value)
        settings = Settings(
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="x" * 32,
            public_url="http://127.0.0.1:5000",
            redis_url=redis_url,
            data_dir=tmp / "data",
            mode="test",
            retention_days=retention,
            timezone="UTC",
        )
        clock = ManualClock(START)
        svc = Services(settings, clock=clock, client=client)
        write_s, nightly = 0.0, []
        peak = peak_day = 0
        peak_info: dict = {}
        moved_calls = moved_events = packed = 0
        expiring: list = []  # heap of (simulated expiry, key)
        for d in range(days):
            t = time.perf_counter()
            new: list = []
            synthetic.write_day(client, svc.keys, START + d * DAY, per_day, seed=d, expiring=new)
            for key, at in new:
                heapq.heappush(expiring, (at, key))
            write_s += time.perf_counter() - t
            info = client.info("memory")
            used = info["used_memory"]
            if used > peak:
                # what besides the data the peak holds: an AOF rewrite's buffer, clients'
                peak, peak_day = used, d
                peak_info = {
                    k: info.get(k)
                    for k in (
                        "used_memory_dataset",
                        "used_memory_overhead",
                        "mem_aof_buffer",
                        "mem_clients_normal",
                    )
                }
                peak_info.update(memory_parts(client, svc.keys, client.zcard(svc.keys.calls)))
                pers = client.info("persistence")
                peak_info["aof_rewrite_in_progress"] = pers.get("aof_rewrite_in_progress")
            night = START + (d + 1) * DAY + 3 * 3600 + 40 * 60  # the next night, 03:40
            clock.set(night)
            gone = []
            while expiring and expiring[0][0] <= night:
                gone.append(heapq.heappop(expiring)[1])
            for i in range(0, len(gone), 1000):
                client.delete(*gone[i : i + 1000])  # what Redis would have expired by now
            out, s = timed(mover.run, svc, pack=pack)
            nightly.append(s)
            moved_calls += out["calls"]
            moved_events += out["events"]
            packed += out["packed"]
        mem = client.info("memory")["used_memory"]
        left_calls = client.zcard(svc.keys.calls)
        segs = eventlog.segments(client, svc.keys)
        left_events = client.xlen(svc.keys.events) + sum(s.count for s in segs)
        parts = memory_parts(client, svc.keys, left_calls)
        archive = svc.archive
        stats = archive.stats()
        # the last whole month in the archive (its 7 days of FCR too, where days allow)
        end = START + (days - retention - 8) * DAY
        start = end - 30 * DAY
        by_calls, calls_s = timed(month_report_from_calls, archive, start, end)
        by_events, events_s = timed(month_report_from_events, archive, start, end)
        month, month_s = timed(reading.period_report, svc, start, end)
        month_before, month_before_s = timed(report_as_before, svc, start, end)
        split = month_split(svc, start, end)
        # a day still in Redis, 10 days back: its FCR's 7 days are in Redis too
        day_end = START + (days - 9) * DAY
        day, day_s = timed(reading.period_report, svc, day_end - DAY, day_end)
        day_before, day_before_s = timed(report_as_before, svc, day_end - DAY, day_end)
        week_s = week_cli(settings, redis_url, end)
        db = settings.data_dir / SQLITE_NAME
        archive_mb = sum(p.stat().st_size for p in db.parent.glob(SQLITE_NAME + "*")) / 1e6
        steady = nightly[int(retention) + 1 :] or nightly
        svc.close()
        return {
            "benchmark": "archive",
            "days": days,
            "calls_per_day": per_day,
            "retention_days": retention,
            "packed_log": pack,
            "redis_config": {k: client.config_get(k)[k] for k in REPORTED_CONFIG},
            "events_written": stats["events"] + left_events,
            "write_s": round(write_s, 1),
            "archive_s": round(sum(nightly), 1),
            "archive_per_day_s": round(sum(steady) / len(steady), 3),
            "archive_max_night_s": round(max(steady), 3),
            # does a night cost more as the archive grows?
            "archive_first_month_night_s": round(sum(steady[:30]) / len(steady[:30]), 3),
            "archive_last_month_night_s": round(sum(steady[-30:]) / len(steady[-30:]), 3),
            "moved_calls": moved_calls,
            "moved_events": moved_events,
            "packed_events": packed,
            "redis_used_memory_mb": round(mem / 1e6, 1),
            "redis_peak_used_memory_mb": round(peak / 1e6, 1),
            "redis_peak_day": peak_day,  # after that day's calls, before its night's run
            "redis_peak_info": peak_info,
            "redis_bytes_per_call": round(mem / max(1, left_calls)),
            "redis_parts": parts,
            "memory_target_mb": MEMORY_TARGET_MB,
            "redis_calls_left": left_calls,
            "redis_events_left": left_events,
            "redis_segments": len(segs),
            "archive_calls": stats["calls"],
            "archive_events": stats["events"],
            "archive_sqlite_mb": round(archive_mb, 1),
            "month_report_calls_s": round(calls_s, 3),
            "month_report_events_s": round(events_s, 3),
            "month_report_s": round(month_s, 3),
            "month_report_before_s": round(month_before_s, 3),
            "month_report_split_s": split,
            "month_offered": month["total"]["offered"],
            "day_in_redis_report_s": round(day_s, 3),
            "day_in_redis_report_before_s": round(day_before_s, 3),
            "week_cli_s": week_s,
            "report_target_s": REPORT_TARGET_S,
            "month_days": len(by_calls),
            "reports_agree": by_calls == by_events and month == month_before and day == day_before,
            "memory_ok": mem / 1e6 < MEMORY_TARGET_MB,
            "report_ok": month_s < REPORT_TARGET_S,
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "cpus": os.cpu_count(),
            "load_avg": round(os.getloadavg()[0], 1),
            "python": platform.python_version(),
            "redis": client.info("server")["redis_version"],
        }
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def week_cli(settings: Settings, redis_url: str, before: float) -> float | None:
    """Wall time of `hotline report --week W --json` as a command, W the last whole ISO
    week before `before` (the process's start and imports included)."""
    d = datetime.fromtimestamp(before - 7 * DAY, UTC).date()
    y, w, _ = d.isocalendar()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "HOTLINE_DATA_DIR": str(settings.data_dir),
        "HOTLINE_MODE": "test",
        "HOTLINE_TIMEZONE": "UTC",
    }
    env.pop("HOTLINE_ARCHIVE_URL", None)
    env.pop("HOTLINE_CLOCK", None)
    t = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "hotline", "report", "--week", f"{y}-W{w:02d}", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        print(f"hotline report --week failed: {p.stderr[-2000:]}", file=sys.stderr)
        return None
    return round(elapsed, 3)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--calls-per-day", type=int, default=500)
    ap.add_argument("--retention-days", type=float, default=35.0)
    ap.add_argument("--redis-url", default=None, help="a scratch database (it is FLUSHED)")
    ap.add_argument("--no-pack", action="store_true", help="leave the stream unpacked")
    ap.add_argument(
        "--redis-config",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="CONFIG SET before the run (repeatable), e.g. hash-max-ziplist-value=64",
    )
    ap.add_argument("--quick", action="store_true", help="40 days x 50 calls")
    ap.add_argument("--json", action="store_true", help="the figures as JSON, last line")
    a = ap.parse_args(argv)
    days, per_day = (40, 50) if a.quick else (a.days, a.calls_per_day)
    if days <= a.retention_days + 38:
        print(
            "note: fewer days than retention + a month and its week of FCR: the report "
            "month is partly outside the archive",
            file=sys.stderr,
        )
    config = dict(c.split("=", 1) for c in a.redis_config)
    s = run(days, per_day, a.redis_url, a.retention_days, not a.no_pack, config)
    s["quick"] = a.quick
    print(
        f"## Archive benchmark ({days} days x {per_day} calls, retention {a.retention_days:g} "
        f"days{', stream unpacked' if a.no_pack else ''})"
    )
    print(f"- Redis {s['redis']}: " + ", ".join(f"{k} {v}" for k, v in s["redis_config"].items()))
    print(
        f"- written: {s['events_written']} events in {s['write_s']} s; archived in "
        f"{s['archive_s']} s ({s['archive_per_day_s']} s per nightly run, at most "
        f"{s['archive_max_night_s']} s; first month {s['archive_first_month_night_s']} s, "
        f"last {s['archive_last_month_night_s']} s); {s['packed_events']} events packed"
    )
    p = s["redis_parts"]
    print(
        f"- Redis used_memory after: {s['redis_used_memory_mb']} MB (peak "
        f"{s['redis_peak_used_memory_mb']} MB after day {s['redis_peak_day']}'s calls; "
        f"target < {MEMORY_TARGET_MB:g} MB): "
        f"{s['redis_calls_left']} calls, {s['redis_events_left']} events left "
        f"({s['redis_bytes_per_call']} B per call: stream {p['stream_mb']} MB, packed "
        f"{p['packed_mb']} MB in {s['redis_segments']} segments, call hashes "
        f"{p['call_hashes_mb']} MB ({p['bytes_per_call_hash']} B each), calls index "
        f"{p['calls_index_mb']} MB)"
    )
    print(
        f"- archive: {s['archive_calls']} calls, {s['archive_events']} events, "
        f"SQLite {s['archive_sqlite_mb']} MB"
    )
    print(
        f"- a month's report from the archive (hotline report's reading): "
        f"{s['month_report_s']} s (target < {REPORT_TARGET_S:g} s); read as before (events "
        f"folded, 7 days of FCR folded): {s['month_report_before_s']} s"
    )
    print(
        f"- a day still in Redis, with its 7 days of FCR: {s['day_in_redis_report_s']} s "
        f"(as before: {s['day_in_redis_report_before_s']} s); `hotline report --week` as a "
        f"command: {s['week_cli_s']} s"
    )
    print(
        f"- per-day offered/answered/abandoned of the month: {s['month_report_calls_s']} s "
        f"from the call rows, {s['month_report_events_s']} s from the events; every pair "
        f"of reports agrees: {s['reports_agree']}"
    )
    if a.json:
        print(json.dumps(s))
    ok = s["memory_ok"] and s["report_ok"] and s["reports_agree"]
    return 0 if ok or (a.quick and s["reports_agree"]) else 1


if __name__ == "__main__":
    sys.exit(main())
