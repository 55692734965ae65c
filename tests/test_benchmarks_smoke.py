"""The benchmarks still run: each in its quickest mode, as a subprocess, as a person would.

Not a measurement: the runs are far too short for their figures to mean anything; what
is checked is that each benchmark starts what it needs, goes through every phase, exits
as documented and prints the figures of its report. The webhook benchmark uses its
Python client (no wrk needed). About 45 s in all on a 2-core machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
ENDPOINTS = ("bare", "bare+redis", "incoming", "menu", "wait")
# The smallest runs: one round of 1 s runs, no repeats, the Python client.
TINY = ["--quick", "--duration", "1", "--retries", "0", "--client", "python"]

pytestmark = pytest.mark.slow


def run(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=BENCH.parent,
        stdin=subprocess.DEVNULL,
    )


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_routing_quick_json_reports_assignment_rates_against_ping():
    p = run("routing.py", "--quick", "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    s = last_json(p.stdout)
    assert s["benchmark"] == "routing" and s["quick"] is True
    assert s["ping_per_s"] > 0 and s["assignments_per_s"] > 0 and s["ratio"] > 0
    assert set(s["ratio_by_size"]) == {"100", "10000", "100000"}
    assert s["cost_growth_100k_vs_100"] > 0
    assert len(s["results"]) == 9  # 3 backlog sizes x 1, 2, 4 matcher processes
    for r in s["results"]:
        assert r["assignments"] > 0 and r["assignments_per_s"] > 0
        assert r["assignments"] == r["decisions"]


def test_webhooks_smallest_full_run_goes_through_every_phase():
    p = run("webhooks.py", *TINY, "--waiting-calls", "10", "--json")
    s = last_json(p.stdout)
    # The exit code says whether the targets were met, which 1 s runs on a shared machine
    # do not decide; it must agree with the checks, and every answer must have been right.
    assert p.returncode == (0 if s["all_checks_passed"] else 1), p.stderr[-3000:]
    assert s["checks"]["no_errors"], [r["errors"] for r in s["results"] if r["errors"]]
    assert s["client"] == "python" and s["rounds"] == 1 and s["duration_s"] == 1
    assert set(s["peak_rps"]) == set(ENDPOINTS) and all(v > 0 for v in s["peak_rps"].values())
    assert set(s["ratios"]) == set(ENDPOINTS) - {"bare"}
    assert set(s["open_loop_p99_ms"]) == {"bare", "incoming", "menu", "wait"}
    for name, cost in s["in_process_cost_us"].items():
        assert cost["cpu_us"] > 0 and cost["bad"] == 0, name
    runs = {(r["scenario"], r["mode"]) for r in s["results"]}
    assert {(k, "closed") for k in ENDPOINTS} <= runs
    assert {(k, "open") for k in ("bare", "incoming", "menu", "wait")} <= runs
    assert s["redis_commandstats"]
    report = p.stdout
    assert "## Webhook benchmark" in report and "| endpoint | closed: req/s (median)" in report
    assert "Where the CPU of one request goes" in report and "INFO commandstats" in report


def test_webhooks_compare_and_slow_clients_report_every_variant():
    p = run(
        "webhooks.py",
        *TINY,
        "--compare",
        "gevent:1,gevent:2",
        "--waiting-calls",
        "5",
        "--slow-clients",
        "2",
        "--slow-duration",
        "1",
        "--slow-rate",
        "2",
        "--json",
    )
    assert p.returncode == 0, p.stderr[-3000:]
    s = last_json(p.stdout)
    assert s["variants"] == ["gevent x1", "gevent x2"]
    for label in s["variants"]:
        t = s["throughput"][label]
        assert all(t["rps"][k] > 0 for k in ("bare", "incoming", "wait"))
        assert set(t["vs_bare"]) == {"incoming", "wait"} and "vs_gevent x1" in t
        slow = s["slow_clients"][label]["2"]
        assert slow["sent"] == 2 and slow["answered"] == 2 and slow["slow_connections"] == 2
    assert len(s["results"]) == 6  # 2 variants x bare, incoming, wait
    assert "## Worker models" in p.stdout and "| variant | slow conns |" in p.stdout


def test_archive_quick_json_archives_as_it_goes_and_times_a_month_report():
    p = run("archive.py", "--quick", "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    s = last_json(p.stdout)
    assert s["benchmark"] == "archive" and s["quick"] is True
    assert s["moved_calls"] == s["archive_calls"] > 0 and s["moved_events"] == s["archive_events"]
    assert s["redis_calls_left"] == 35 * s["calls_per_day"]  # the retention's worth stays
    assert s["redis_used_memory_mb"] > 0 and s["month_report_calls_s"] > 0
    assert s["reports_agree"]
    assert "## Archive benchmark" in p.stdout
