"""One measured run: a load generator against one server, and the CPU every side used.

`run_load` replays a request set with wrk or the Python client (wh_client.py) in its
own process, and measures around it the CPU time of the server (gunicorn master and
workers), of Redis, of the client, and of the rest of the machine ('other': the load
this benchmark does not control). `Runner` is how the full benchmark runs a scenario:
a run disturbed by more than --max-other cores of other load is repeated (up to
--retries times) and the quietest attempt kept.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time
from pathlib import Path

import wh_client
from wh_common import log
from wh_procs import Target, children, cpu_seconds, die_with_parent, machine_busy
from wh_profile import collect_profile, start_profilers
from wh_wrk import parse_wrk, wrk_command


def run_load(
    args,
    tmp: Path,
    target: Target,
    scenario: str,
    lines: list[str],
    marker: str,
    antimarker: str,
    mode: str,
    rate: float = 0.0,
    duration: float | None = None,
    redis_pid: int | None = None,
    tool: str | None = None,
    profile: bool = False,
) -> dict:
    duration = duration or args.duration
    tool = tool or ("python" if mode == "open" else args.client)
    data = tmp / f"{scenario}-{mode}.tsv"
    cmd: list[str]
    if tool == "wrk":
        cmd = wrk_command(args, tmp, target.port, data, lines, duration, marker, antimarker)
    else:
        data.write_text("\n".join(lines) + "\n")
        cmd = wh_client.command(
            mode, target.port, data, args.clients, rate, duration, marker, antimarker
        )

    workers = children(target.proc.pid)
    server_pids = [target.proc.pid, *workers]
    profilers = start_profilers(tmp, f"{scenario}-{mode}", workers, duration) if profile else []
    cpu0_server = cpu_seconds(server_pids)
    cpu0_redis = cpu_seconds([redis_pid]) if redis_pid else 0.0
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    tot0, idle0 = machine_busy()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=die_with_parent
    )
    try:
        out, err = proc.communicate(timeout=duration + 60)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    wall = time.perf_counter() - t0
    # py-spy's CPU is the client's, not the next run's
    prof = collect_profile(profilers) if profilers else None
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    tot1, idle1 = machine_busy()
    cpu_server = cpu_seconds(server_pids) - cpu0_server
    cpu_redis = (cpu_seconds([redis_pid]) - cpu0_redis) if redis_pid else 0.0
    cpu_client = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} failed ({proc.returncode}): {err[-2000:]}")

    res = parse_wrk(out, err) if tool == "wrk" else json.loads(out.strip().splitlines()[-1])
    busy = 1 - (idle1 - idle0) / max(1, tot1 - tot0)
    res.update(
        {
            "scenario": scenario,
            "target": target.name,
            "mode": mode,
            "client": tool,
            "clients": args.clients if mode == "closed" else None,
            "rate": round(rate, 1) if mode == "open" else None,
            "duration_s": duration,
            "cpu_cores": {
                "server": round(cpu_server / wall, 2),
                "redis": round(cpu_redis / wall, 2),
                "client": round(cpu_client / wall, 2),
                "machine_busy": round(busy * os.cpu_count(), 2),
                "other": round(
                    max(0.0, busy * os.cpu_count() - (cpu_server + cpu_redis + cpu_client) / wall),
                    2,
                ),
            },
            "server_cpu_ms_per_req": round(cpu_server * 1000 / max(1, res["requests"]), 3),
            "redis_cpu_ms_per_req": round(cpu_redis * 1000 / max(1, res["requests"]), 3),
        }
    )
    if prof:
        res["profile"] = prof
    return res


class Runner:
    """The runs of the full benchmark, in order: every measured one kept in `results`."""

    def __init__(self, args, tmp: Path, antimarker: str, redis_pid: int | None):
        self.args, self.tmp, self.antimarker, self.redis_pid = args, tmp, antimarker, redis_pid
        self.results: list[dict] = []

    def warm_up(self, target: Target, scenario: str, lines: list[str], marker: str, duration):
        """A closed-loop run that is not measured (imports, connection pools, script cache)."""
        run_load(
            self.args,
            self.tmp,
            target,
            scenario,
            lines,
            marker,
            self.antimarker,
            "closed",
            duration=duration,
        )

    def record(self, r: dict, label: str | None = None) -> dict:
        if label:
            r["scenario"] = label
        self.results.append(r)
        c = r["cpu_cores"]
        log(
            f"  {r['scenario']:<20} {r['mode']:<6} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.2f} ms"
            f"  p99 {r['p99_ms']:7.2f} ms  errors {r['errors'] or 0}  cores server {c['server']}"
            f" redis {c['redis']} client {c['client']} other {c['other']}"
        )
        return r

    def run(self, target, scenario, lines, marker, mode="closed", rate=0.0, profile=False) -> dict:
        """One run, repeated (up to --retries times) when the machine's other load took more
        than --max-other cores during it; the quietest attempt is kept. `lines` may be a
        function of the attempt, for runs that must not replay an attempt (new calls)."""
        args = self.args
        best = None
        for attempt in range(1 + (0 if profile else args.retries)):
            r = run_load(
                args,
                self.tmp,
                target,
                scenario,
                lines(attempt) if callable(lines) else lines,
                marker,
                self.antimarker,
                mode,
                rate=rate,
                redis_pid=self.redis_pid,
                profile=profile,
            )
            r["attempt"] = attempt
            if best is None or r["cpu_cores"]["other"] < best["cpu_cores"]["other"]:
                best = r
            if r["cpu_cores"]["other"] <= args.max_other or attempt == (
                0 if profile else args.retries
            ):
                break
            log(
                f"  ({scenario}, {mode}: {r['rps']:.0f} req/s while other processes took "
                f"{r['cpu_cores']['other']} cores: again)"
            )
        best["attempts"] = attempt + 1
        return best
