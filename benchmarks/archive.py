"""Archive benchmark: a simulated year at 500 calls a day, archived as the daily timer would.

Each simulated day writes realistic call hashes and about 24 events per call straight into
Redis (hotline/archive/synthetic.py), then the clock moves to the next night's 03:40 and
one archive run (hotline/archive/mover.py) moves what is older than the retention. At the
end: Redis `used_memory` (target: under 50 MB), what is left in it, the archive's size,
and a month's report from the archive -- offered / answered / abandoned per day -- timed
through the archive's API (target: under 2 s), from the call rows and from the events.

    python benchmarks/archive.py                 # 365 days x 500 calls, embedded Redis
    python benchmarks/archive.py --quick --json  # 40 days x 50 calls (the smoke test)
    python benchmarks/archive.py --redis-url redis://127.0.0.1:6379/15   # that db is FLUSHED

The embedded Redis (a temporary directory) is the default: `used_memory` is the whole
server's, so a shared server's other databases would count too.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from hotline.archive import mover, synthetic
from hotline.archive.store import SQLITE_NAME
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.services import Services
from hotline.store.embedded import EmbeddedRedis

DAY = 86400.0
START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
MEMORY_TARGET_MB = 50.0
REPORT_TARGET_S = 2.0


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
    seen: dict[str, set] = defaultdict(set)
    days: dict[str, dict] = defaultdict(lambda: {"offered": 0, "answered": 0, "abandoned": 0})
    for ev in archive.events_between(start, end):
        t = ev["type"]
        what = kinds.get(t) or ("answered" if t == "caller_bridged" else None)
        if what is None or (what, ev["call_sid"]) in seen["x"]:
            continue
        seen["x"].add((what, ev["call_sid"]))
        days[datetime.fromtimestamp(ev["ts"], UTC).date().isoformat()][what] += 1
    return dict(days)


def run(days: int, per_day: int, redis_url: str | None, retention: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="hl-archive-bench-"))
    server = None
    try:
        if redis_url is None:
            server = EmbeddedRedis(tmp / "redis")
            server.ensure()
            redis_url = server.url
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        client.flushdb()
        settings = Settings(
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="x" * 32,
            public_url="http://127.0.0.1:5000",
            redis_url=redis_url,
            data_dir=tmp / "data",
            mode="test",
            retention_days=retention,
        )
        clock = ManualClock(START)
        svc = Services(settings, clock=clock, client=client)
        write_s = archive_s = 0.0
        peak = 0
        moved_calls = moved_events = 0
        for d in range(days):
            t = time.perf_counter()
            synthetic.write_day(client, svc.keys, START + d * DAY, per_day, seed=d)
            write_s += time.perf_counter() - t
            peak = max(peak, client.info("memory")["used_memory"])
            clock.set(START + (d + 1) * DAY + 3 * 3600 + 40 * 60)  # the next night, 03:40
            t = time.perf_counter()
            out = mover.run(svc)
            archive_s += time.perf_counter() - t
            moved_calls += out["calls"]
            moved_events += out["events"]
        mem = client.info("memory")["used_memory"]
        left_calls = client.zcard(svc.keys.calls)
        left_events = client.xlen(svc.keys.events)
        archive = svc.archive
        stats = archive.stats()
        # the last whole month in the archive
        end = START + (days - retention - 1) * DAY
        start = end - 30 * DAY
        t = time.perf_counter()
        by_calls = month_report_from_calls(archive, start, end)
        calls_report_s = time.perf_counter() - t
        t = time.perf_counter()
        by_events = month_report_from_events(archive, start, end)
        events_report_s = time.perf_counter() - t
        db = settings.data_dir / SQLITE_NAME
        archive_mb = sum(p.stat().st_size for p in db.parent.glob(SQLITE_NAME + "*")) / 1e6
        svc.close()
        return {
            "benchmark": "archive",
            "days": days,
            "calls_per_day": per_day,
            "retention_days": retention,
            "events_written": stats["events"] + left_events,
            "write_s": round(write_s, 1),
            "archive_s": round(archive_s, 1),
            "archive_per_day_s": round(archive_s / days, 3),
            "moved_calls": moved_calls,
            "moved_events": moved_events,
            "redis_used_memory_mb": round(mem / 1e6, 1),
            "redis_peak_used_memory_mb": round(peak / 1e6, 1),
            "memory_target_mb": MEMORY_TARGET_MB,
            "redis_calls_left": left_calls,
            "redis_events_left": left_events,
            "archive_calls": stats["calls"],
            "archive_events": stats["events"],
            "archive_sqlite_mb": round(archive_mb, 1),
            "month_report_calls_s": round(calls_report_s, 3),
            "month_report_events_s": round(events_report_s, 3),
            "report_target_s": REPORT_TARGET_S,
            "month_days": len(by_calls),
            "month_offered": sum(d["offered"] for d in by_calls.values()),
            "reports_agree": by_calls == by_events,
            "memory_ok": mem / 1e6 < MEMORY_TARGET_MB,
            "report_ok": max(calls_report_s, events_report_s) < REPORT_TARGET_S,
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "python": platform.python_version(),
        }
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--calls-per-day", type=int, default=500)
    ap.add_argument("--retention-days", type=float, default=35.0)
    ap.add_argument("--redis-url", default=None, help="a scratch database (it is FLUSHED)")
    ap.add_argument("--quick", action="store_true", help="40 days x 50 calls")
    ap.add_argument("--json", action="store_true", help="the figures as JSON, last line")
    a = ap.parse_args(argv)
    days, per_day = (40, 50) if a.quick else (a.days, a.calls_per_day)
    if days <= a.retention_days + 31:
        print(
            "note: fewer days than retention + a month: the report month is partial",
            file=sys.stderr,
        )
    s = run(days, per_day, a.redis_url, a.retention_days)
    s["quick"] = a.quick
    print(
        f"## Archive benchmark ({days} days x {per_day} calls, retention {a.retention_days:g} days)"
    )
    print(
        f"- written: {s['events_written']} events in {s['write_s']} s; archived in "
        f"{s['archive_s']} s ({s['archive_per_day_s']} s per daily run)"
    )
    print(
        f"- Redis used_memory after: {s['redis_used_memory_mb']} MB (peak "
        f"{s['redis_peak_used_memory_mb']} MB; target < {MEMORY_TARGET_MB:g} MB): "
        f"{s['redis_calls_left']} calls, {s['redis_events_left']} events left"
    )
    print(
        f"- archive: {s['archive_calls']} calls, {s['archive_events']} events, "
        f"SQLite {s['archive_sqlite_mb']} MB"
    )
    print(
        f"- a month's per-day offered/answered/abandoned: {s['month_report_calls_s']} s from "
        f"the call rows, {s['month_report_events_s']} s from the events (target < "
        f"{REPORT_TARGET_S:g} s); the two agree: {s['reports_agree']}"
    )
    if a.json:
        print(json.dumps(s))
    return 0 if (s["memory_ok"] and s["report_ok"] and s["reports_agree"]) or a.quick else 1


if __name__ == "__main__":
    sys.exit(main())
