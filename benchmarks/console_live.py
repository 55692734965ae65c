#!/usr/bin/env python
"""Webhook throughput with the console's live pages open, against the same run without them.

    .venv/bin/python benchmarks/console_live.py           # 3 A/B pairs of 10 s runs (~2 min)
    .venv/bin/python benchmarks/console_live.py --quick   # 3 pairs of 3 s runs (~1 min)
    .venv/bin/python benchmarks/console_live.py --json    # ... and one JSON object as the last line

Target: webhook throughput with --pages (30) live wallboards open >= 90 % of the same
run without them. What runs, private to this run and stopped at the end: the embedded
Redis and the webhook gunicorn as benchmarks/webhooks.py starts them (wh_procs.py), and
the console gunicorn (hotline.web.CONSOLE_APP, CONSOLE_WORKERS, the shipped worker
class) on another port, on the same Redis and data dir (its secret key generated there,
test mode). The load is the webhook benchmark's incoming case (a new call per request,
--clients closed loop, wh_load.Runner). Runs alternate: A without console pages, B with
--pages threads each holding GET /console/wallboard/stream?token=... open and reading
it continuously; every B run checks each stream received at least one `event: board`.
The incoming calls themselves change the wallboard, so the streams carry real updates.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

import webhooks
from wh_common import HOST, REPO, log, median
from wh_load import Runner
from wh_procs import (
    Target,
    benchmark_dir,
    children,
    cpu_seconds,
    free_port,
    server_env,
    start_gunicorn,
    start_redis,
    wait_healthy,
)
from wh_requests import Flow, Signer, Workload, follow_to_queue, marker_of, sid_of

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGET = 0.90


class Stream(threading.Thread):
    """One open wallboard page: reads its event stream line by line until told to stop."""

    def __init__(self, port: int, path: str):
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.boards = 0
        self.status: int | None = None
        self.error = ""
        self.conn: http.client.HTTPConnection | None = None
        self.stopping = False

    def run(self):
        try:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            self.conn.request("GET", self.path, headers={"Accept": "text/event-stream"})
            r = self.conn.getresponse()
            self.status = r.status
            while not self.stopping:
                line = r.readline()
                if not line:
                    break
                if line.rstrip() == b"event: board":
                    self.boards += 1
        except OSError as e:
            if not self.stopping:
                self.error = str(e)

    def stop(self):
        self.stopping = True
        if self.conn and self.conn.sock:
            with contextlib.suppress(OSError):
                self.conn.sock.shutdown(2)


def open_streams(port: int, path: str, n: int) -> list[Stream]:
    streams = [Stream(port, path) for _ in range(n)]
    for s in streams:
        s.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(s.boards for s in streams):
        time.sleep(0.1)
    return streams


def wait_console(port: int, proc, path: str, timeout: float = 30.0) -> None:
    """The console has no /healthz: its JSON wallboard, with the TV token, answering 200."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"console: gunicorn exited with code {proc.returncode}")
        try:
            c = http.client.HTTPConnection(HOST, port, timeout=2)
            c.request("GET", path)
            r = c.getresponse()
            last = f"{r.status} {r.read()[:200]!r}"
            c.close()
            if r.status == 200:
                return
        except OSError as e:
            last = str(e)
        time.sleep(0.2)
    raise SystemExit(f"console: not ready after {timeout:.0f}s ({last})")


def issue_tv_token(env: dict) -> str:
    """A wallboard TV token, issued through the domain against the run's Redis."""
    saved = dict(os.environ)
    os.environ.update(
        {k: v for k, v in env.items() if k.startswith(("HOTLINE_", "TWILIO_", "REDIS_"))}
    )
    try:
        from hotline.services import Services

        return Services.from_env().tv_tokens.issue("bench", "console_live benchmark")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run(args) -> int:
    try:
        with benchmark_dir(args.keep) as (tmp, procs):
            return _run(args, tmp, procs)
    except KeyboardInterrupt:
        return 130


def _run(args, tmp: Path, procs) -> int:
    from hotline import web
    from hotline.ivr.fallback import APOLOGY

    redis_srv = start_redis(tmp, procs)
    redis_pid = redis_srv.proc.pid if redis_srv.proc else None
    token = secrets.token_hex(16)
    app_port, console_port = free_port(), free_port()
    env = server_env(tmp, redis_srv.url, token)
    app_url = f"http://{HOST}:{app_port}"
    app_p = start_gunicorn(
        procs,
        "hotline.app:create_app()",
        app_port,
        {**env, "HOTLINE_PUBLIC_URL": app_url},
        args,
        [],
        tmp / "app.log",
    )
    wait_healthy(app_port, app_p, "hotline app")
    tv = issue_tv_token({**env, "HOTLINE_PUBLIC_URL": app_url})
    console_p = start_gunicorn(
        procs,
        web.CONSOLE_APP,
        console_port,
        {**env, "HOTLINE_PUBLIC_URL": app_url},
        args,
        [],
        tmp / "console.log",
        worker_class=web.WORKER_CLASS,
        workers=web.CONSOLE_WORKERS,
    )
    wait_console(console_port, console_p, f"/console/api/wallboard?token={tv}")
    stream_path = f"/console/wallboard/stream?tv=1&token={tv}"

    app = Target("hotline", app_port, app_p)
    signer = Signer(app_url, token)
    flow = Flow()
    follow_to_queue(app_port, signer, sid_of("d0", 0), 0, flow)
    wl = Workload(signer, flow, cap=int(args.max_rps * args.duration))
    marker = marker_of(flow.incoming_xml)
    runner = Runner(args, tmp, APOLOGY["fr"], redis_pid)
    log(
        f"benchmark dir {tmp}; webhooks :{app_port} ({args.worker_class} x{args.workers}), "
        f"console :{console_port} ({web.WORKER_CLASS} x{web.CONSOLE_WORKERS}); client {args.client}"
    )
    warm = float(max(1, round(args.duration / 5)))
    runner.warm_up(app, "warmup", wl.incoming_lines("w0")[: int(3000 * warm)], marker, warm)

    def console_cpu() -> float:
        return cpu_seconds([console_p.pid, *children(console_p.pid)])

    pairs = []
    for k in range(args.pairs):
        c0 = console_cpu()
        a = runner.run(app, "incoming", lambda t, k=k: wl.incoming_lines(f"a{k}{t}"), marker)
        runner.record(a, f"A pair {k + 1}")
        c1 = console_cpu()
        streams = open_streams(console_port, stream_path, args.pages)
        ready = sum(1 for s in streams if s.boards)
        b = runner.run(app, "incoming", lambda t, k=k: wl.incoming_lines(f"b{k}{t}"), marker)
        c2 = console_cpu()
        for s in streams:
            s.stop()
        for s in streams:
            s.join(5)
        runner.record(b, f"B pair {k + 1}")
        got = [s.boards for s in streams]
        errs = [s.error for s in streams if s.error or s.status != 200]
        pair = {
            "a_rps": a["rps"],
            "b_rps": b["rps"],
            "ratio": round(b["rps"] / a["rps"], 3),
            # the console's CPU (master and worker) per second of a run, without and with pages
            "console_cores_a": round((c1 - c0) / (a["duration_s"] * a["attempts"]), 3),
            "console_cores_b": round((c2 - c1) / (b["duration_s"] * b["attempts"]), 3),
            "errors": (a["errors"] or 0) + (b["errors"] or 0),
            "streams_with_board": sum(1 for g in got if g),
            "streams_ready_before_load": ready,
            "board_events_min": min(got),
            "board_events_total": sum(got),
            "stream_errors": errs[:3],
        }
        log(
            f"  pair {k + 1}: B/A {pair['ratio']:.3f}; {pair['streams_with_board']}/{args.pages} "
            f"streams got event: board (min {pair['board_events_min']}, total "
            f"{pair['board_events_total']}); console cores A {pair['console_cores_a']}, "
            f"B {pair['console_cores_b']}"
        )
        pairs.append(pair)

    ratio = round(median([p["ratio"] for p in pairs]), 3)
    all_streams = all(p["streams_with_board"] == args.pages for p in pairs)
    no_errors = all(p["errors"] == 0 for p in pairs)
    ok = ratio >= TARGET and all_streams and no_errors
    print(f"## Console live pages: {args.pages} wallboard streams vs none\n")
    print(f"{args.clients} clients, closed loop, incoming webhook, {args.duration:g} s per run\n")
    print(
        "| pair | A req/s (no pages) | B req/s (pages open) | B/A | streams with `event: board` "
        "| console cores A / B |"
    )
    print("|---|---|---|---|---|---|")
    for k, p in enumerate(pairs):
        print(
            f"| {k + 1} | {p['a_rps']:.1f} | {p['b_rps']:.1f} | {p['ratio']:.3f} "
            f"| {p['streams_with_board']}/{args.pages} | {p['console_cores_a']} / {p['console_cores_b']} |"
        )
    print(
        f"\nmedian B/A {ratio:.3f} (target >= {TARGET:.2f}); A median "
        f"{median([p['a_rps'] for p in pairs]):.1f}, B median {median([p['b_rps'] for p in pairs]):.1f} req/s; "
        f"{'met' if ok else 'NOT met'}"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "benchmark": "console_live",
                    "quick": args.quick,
                    "pages": args.pages,
                    "duration_s": args.duration,
                    "client": args.client,
                    "pairs": pairs,
                    "ratio": ratio,
                    "all_streams_got_board": all_streams,
                    "no_errors": no_errors,
                    "target_met": ok,
                    "results": runner.results,
                }
            )
        )
    return 0 if ok else 1


def main(argv=None) -> int:
    p = webhooks.build_parser()
    p.description = __doc__.split("\n\n")[0]
    p.add_argument("--pages", type=int, default=30, help="open wallboard streams in B runs")
    p.add_argument("--pairs", type=int, default=3, help="A/B pairs (default 3)")
    args = p.parse_args(argv)
    webhooks.resolve_defaults(args)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
