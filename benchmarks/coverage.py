"""Coverage heatmap benchmark: what `hotline plan` costs, part by part, and what a page of
/console/coverage costs once the forecast is kept (hotline/wfm/forecast_store.py).

Eight weeks of realistic calls (hotline/archive/synthetic.py: ~24 events a call) are written
to a private embedded Redis, the example roster imported, then, for 60- and 30-minute
intervals: the history read (history.iter_calls), forecast(), plan(), heatmap.build(), the
whole page through Flask's test client with the forecast kept, a cell's detail, and the child
process that computes the forecast (started by the page, waited for here).

    python benchmarks/coverage.py                  # 500 calls a day
    python benchmarks/coverage.py --quick --json   # 50 calls a day
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from hotline.archive import synthetic
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.console import create_app
from hotline.history import iter_calls
from hotline.services import Services
from hotline.store.embedded import EmbeddedRedis
from hotline.wfm import forecast_store, heatmap
from hotline.wfm.forecast import forecast, history_window
from hotline.wfm.plan import plan

ROOT = Path(__file__).resolve().parents[1]
WEEK = "2026-W25"
REQUEST_BUDGET_S = 0.3  # the brief's limit for work inside one request of the one worker
PASSWORD = "benchmark password"


def timed(fn, repeat: int = 1):
    """(result, median seconds) of `repeat` runs."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, statistics.median(times)


def run(per_day: int, repeat: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="hl-coverage-bench-"))
    server = EmbeddedRedis(tmp / "redis")
    server.ensure()
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        settings = Settings(
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="x" * 32,
            public_url="http://127.0.0.1:1",
            redis_url=server.url,
            data_dir=tmp / "data",
            mode="test",
        )
        h0, h1 = history_window(WEEK, settings.tz)
        clock = ManualClock(h1 + 2 * 86400)  # the Wednesday of the week: its history is final
        svc = Services(settings, clock=clock, client=client)
        t = time.perf_counter()
        for d in range(56):
            synthetic.write_day(client, svc.keys, h0 + d * 86400, per_day, seed=d)
        write_s = time.perf_counter() - t
        svc.roster.import_text((ROOT / "examples" / "roster.yaml").read_text(), "roster.yaml")
        roster = svc.roster.load()
        from argon2 import PasswordHasher

        svc.users.hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
        svc.users.create("sup@example.org", role="supervisor", password=PASSWORD, by="bench")
        app = create_app(svc)
        web = app.test_client()
        token = _csrf(web.get("/console/login").get_data(as_text=True))
        web.post(
            "/console/login",
            data={"email": "sup@example.org", "password": PASSWORD, "csrf_token": token},
        )
        out = {
            "benchmark": "coverage",
            "calls_per_day": per_day,
            "history_days": 56,
            "events": client.xlen(svc.keys.events),
            "write_s": round(write_s, 1),
        }

        def measure(interval: int) -> dict:
            calls, read_s = timed(lambda: list(iter_calls(svc, h0, h1)))
            fc, forecast_s = timed(
                lambda: forecast(calls, WEEK, tz=settings.tz, roster=roster, interval_min=interval),
                repeat,
            )
            p, plan_s = timed(
                lambda: plan(fc, roster, WEEK, shrinkage=settings.shrinkage, max_occupancy=0.85),
                repeat,
            )
            _, grid_s = timed(lambda: heatmap.build(p, roster), repeat)

            url = f"/console/coverage?week={WEEK}&interval={interval}"
            t = time.perf_counter()
            first = web.get(url)  # starts the child
            first_s = time.perf_counter() - t
            forecast_store.wait_children(600)
            child_s = time.perf_counter() - t
            st = forecast_store.status(svc, WEEK, interval, roster, clock.now())
            _, drawn_s = timed(lambda: web.get(url))  # plan() and the grid drawn
            resp, page_s = timed(lambda: web.get(url), repeat)  # the same page again
            html = resp.get_data(as_text=True)
            start = p["intervals"][10 * 60 // interval]["start"]
            cell_url = (
                f"/console/coverage/cell?week={WEEK}&interval={interval}&skill=connection"
                f"&start={start.replace('+', '%2B')}"
            )
            cell, cell_s = timed(lambda: web.get(cell_url, headers={"HX-Request": "true"}), repeat)
            assert first.status_code == resp.status_code == cell.status_code == 200
            assert st.fresh and "en cours de calcul" not in html
            return {
                "calls_read": len(calls),
                "history_read_s": round(read_s, 3),
                "forecast_s": round(forecast_s, 3),
                "plan_s": round(plan_s, 3),
                "heatmap_s": round(grid_s, 3),
                "first_page_s": round(first_s, 3),
                "child_wall_s": round(child_s, 2),
                "child_took_s": st.took_s,
                "page_drawn_s": round(drawn_s, 3),
                "page_s": round(page_s, 3),
                "page_kb": round(len(html) / 1024, 1),
                "cell_s": round(cell_s, 3),
                "page_ok": max(drawn_s, page_s, cell_s) < REQUEST_BUDGET_S,
            }

        for interval in (60, 30):
            out[f"i{interval}"] = measure(interval)
        svc.close()
        out["machine"] = f"{platform.machine()} {platform.processor() or ''}".strip()
        out["python"] = platform.python_version()
        return out
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _csrf(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls-per-day", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5, help="runs of each timed step (median)")
    ap.add_argument("--quick", action="store_true", help="50 calls a day, 3 runs")
    ap.add_argument("--json", action="store_true", help="the figures as JSON, last line")
    a = ap.parse_args(argv)
    per_day, repeat = (50, 3) if a.quick else (a.calls_per_day, a.repeat)
    s = run(per_day, repeat)
    print(f"## Coverage benchmark (8 weeks x {per_day} calls a day, {s['events']} events)")
    for interval in (60, 30):
        f = s[f"i{interval}"]
        print(
            f"- {interval} min: history read {f['history_read_s']} s ({f['calls_read']} calls), "
            f"forecast {f['forecast_s']} s, plan {f['plan_s']} s, grid {f['heatmap_s']} s; "
            f"the child process {f['child_wall_s']} s wall; then the page {f['page_drawn_s']} s, "
            f"again {f['page_s']} s ({f['page_kb']} KB), a cell {f['cell_s']} s "
            f"(budget {REQUEST_BUDGET_S} s)"
        )
    if a.json:
        print(json.dumps(s))
    ok = all(s[f"i{i}"]["page_ok"] for i in (60, 30))
    return 0 if ok or a.quick else 1


if __name__ == "__main__":
    sys.exit(main())
