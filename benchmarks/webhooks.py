#!/usr/bin/env python
"""Load test of the IVR webhooks against gunicorn on loopback, beside a bare baseline.

    .venv/bin/python benchmarks/webhooks.py             # full run (5-10 min: 3 rounds of 10 s runs)
    .venv/bin/python benchmarks/webhooks.py --quick     # one round of 3 s runs (~1-2 min)
    .venv/bin/python benchmarks/webhooks.py --json      # ... and one JSON object as the last line
    .venv/bin/python benchmarks/webhooks.py --cost-only # the in-process cost per request only
    .venv/bin/python benchmarks/webhooks.py --quick --profile menu,wait  # + py-spy profiles
    .venv/bin/python benchmarks/webhooks.py --compare sync,gevent          # worker models, same run (~5 min)
    .venv/bin/python benchmarks/webhooks.py --compare sync,gthread,gevent --slow-clients 3,6,50 \
        --no-throughput                                                    # slowloris (~10 min)

Both apps run with the settings we ship (hotline/web.py: gevent workers, request limits,
keep-alive, no control socket); --worker-class and --compare change the worker class only.

--compare CLASS[:WORKERS],... starts an app and a bare gunicorn per variant and runs the
closed loop on bare, incoming and wait for each, in interleaved rounds (the order reversed
every other round), reporting each variant's throughput against the first's, round by
round: the before/after of a worker change, measured in one run. --slow-clients N,...
opens N connections that send their request heads one byte every --slow-every seconds
(reopened when the server closes them) and counts the signed webhooks answered within
1 s and within Twilio's 15 s meanwhile.

What runs, all private to this run and stopped at the end (also on Ctrl-C):
  * an embedded redis-server in a temporary directory (hotline.store.embedded);
  * gunicorn serving the real app factory `hotline.app:create_app()`;
  * gunicorn serving `benchmarks/bare_app.py` (one POST endpoint: the same signature
    check, then a constant TwiML document built once), with the same worker count
    and class as the real app;
  * the load generator, in its own process: `wrk` (C, epoll; `apt-get install wrk`)
    for the closed-loop peak runs when it is installed, else a Python asyncio
    client; the open-loop runs always use the Python client (wrk has no fixed
    arrival rate). The client shares the machine's cores with the server: its own
    CPU time is reported beside every figure.

Every request carries a valid X-Twilio-Signature (precomputed with
RequestValidator.compute_signature); signature checks stay on in both apps. Every
response is checked (status 200, an expected piece of TwiML, not the fallback
apology), so a fast error path cannot pass for a fast webhook.

Scenarios:
  closed loop (N clients, each sends its next request when the last one answers), in
    rounds of: bare, bare+redis (the bare endpoint plus one tiny Redis round trip: the
    ceiling for any webhook that keeps its state in Redis), incoming (a new CallSid each
    request: each creates a call), menu (Digits=1 on the calls that incoming run
    created), wait (the Enqueue waitUrl of calls already waiting, with Twilio's queue
    parameters); then bare once more. The machine is shared and noisy: each of our runs
    is compared with the bare runs on either side of it, a run during which other
    processes took more than --max-other cores is repeated, and medians are reported.
  open loop (Poisson arrivals at a fixed rate, by default half of that endpoint's
    closed-loop peak; latency counted from the scheduled arrival, so a slow server
    cannot hide its queue): bare, incoming, menu, wait.
  in process: each endpoint called through WSGI one request at a time, best of three
    passes; with Redis's and gunicorn's CPU per request from the runs, it says where
    a request's CPU goes, which is what bounds throughput on two cores.

Why both loops: in a closed loop Little's law fixes the mean latency at
clients / throughput, whatever the code does; at 50 clients and 2,000 req/s that
is 25 ms. A latency target is only meaningful below saturation, hence the
open-loop run at half the peak.

This file is the command line; the parts (see benchmarks/README.md):
  wh_full.py     the full benchmark, phase by phase (servers, IVR discovery and request
                 sets, warm-up, in-process cost, closed loop, profiles, open loop, report)
  wh_compare.py  --compare / --slow-clients (wh_compare_report.py: their report)
  wh_procs.py    Redis, gunicorns, their health and CPU time; stopped whatever happens
  wh_requests.py signed requests, the IVR followed from the incoming URL, request sets
  wh_load.py     one measured run (wrk: wh_wrk.py, or the Python client: wh_client.py)
  wh_cost.py     the in-process cost per request; wh_profile.py: py-spy profiles
  wh_slow.py     the slow-client probe; wh_report.py: figures and markdown of the full run
  wh_common.py   addresses, account, small statistics
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys

import wh_client
import wh_compare
import wh_full
from wh_common import REPO

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3 s per scenario instead of 10")
    p.add_argument(
        "--duration", type=float, default=None, help="seconds per scenario (default 10, --quick 3)"
    )
    p.add_argument(
        "--rounds", type=int, default=None, help="closed-loop rounds (default 3, --quick 1)"
    )
    p.add_argument(
        "--clients", type=int, default=50, help="closed-loop concurrent clients (default 50)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers for both apps (default: as the Procfile's gunicorn.conf.py, "
        "$WEB_CONCURRENCY or cores + 1)",
    )
    p.add_argument(
        "--worker-class",
        default=None,
        help="gunicorn worker class (default: the shipped one, hotline.web.WORKER_CLASS)",
    )
    p.add_argument(
        "--threads", type=int, default=4, help="threads per worker with --worker-class gthread"
    )
    p.add_argument(
        "--max-other",
        type=float,
        default=0.3,
        help="a run during which other processes took more cores than this is repeated",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=None,
        help="repeats of a disturbed run (default 2, --quick 1)",
    )
    p.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="closed-loop load generator (auto: wrk if installed)",
    )
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument(
        "--wrk-connection",
        choices=("close", "keep-alive"),
        default="close",
        help="close (default): a new connection per request, like the Python client of the "
        "open loop and like every run before the gevent workers (sync workers close after each "
        "answer whatever the client asks); keep-alive: wrk reuses its connections where the "
        "worker allows (gevent, gthread)",
    )
    p.add_argument(
        "--open-fraction",
        type=float,
        default=0.5,
        help="open-loop arrival rate as a fraction of the closed-loop peak (default 0.5)",
    )
    p.add_argument(
        "--max-rps",
        type=int,
        default=4000,
        help="unique calls prepared per second of an incoming run (beyond, CallSids repeat)",
    )
    p.add_argument(
        "--waiting-calls",
        type=int,
        default=200,
        help="calls put in the queue for the wait scenario",
    )
    p.add_argument(
        "--app",
        default="hotline.app:create_app()",
        help="the app under test, as gunicorn spells it (to measure a variant)",
    )
    p.add_argument("--pythonpath", action="append", default=[], help="extra import path for --app")
    p.add_argument(
        "--cost-only",
        action="store_true",
        help="only measure the in-process cost per request (quick feedback while optimising)",
    )
    p.add_argument(
        "--profile",
        default="",
        help="comma-separated scenarios (bare,incoming,menu,wait) to "
        "sample with py-spy during their closed-loop run; prints where the workers' time goes",
    )
    p.add_argument("--output", help="also write the markdown report to this file")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    p.add_argument(
        "--compare",
        default="",
        help="compare worker models in one run instead of the full benchmark: comma-separated "
        "CLASS[:WORKERS] variants, e.g. sync,gevent or gevent:2,gevent:3 (closed-loop "
        "throughput of bare, incoming and wait per variant, interleaved rounds, same-run ratios)",
    )
    p.add_argument(
        "--slow-clients",
        default="",
        help="with --compare (or alone, for --worker-class): comma-separated numbers of slowloris "
        "connections, e.g. 3,6,50: signed webhooks answered while that many connections "
        "send their request heads one byte at a time",
    )
    p.add_argument(
        "--no-throughput",
        action="store_true",
        help="with --compare and --slow-clients: the slow-client runs only",
    )
    p.add_argument(
        "--slow-duration",
        type=float,
        default=None,
        help="seconds of webhooks per slow-client run (default 40: past gunicorn's 30 s worker "
        "timeout; --quick 15)",
    )
    p.add_argument(
        "--slow-every",
        type=float,
        default=5.0,
        help="seconds between two bytes of one slow connection (default 5, as in the review)",
    )
    p.add_argument(
        "--slow-rate",
        type=float,
        default=1.0,
        help="signed webhooks per second during a slow-client run",
    )
    return p


def resolve_defaults(args) -> None:
    """The defaults that depend on other options, on the machine or on the shipped settings."""
    if args.worker_class is None:
        from hotline.web import WORKER_CLASS

        args.worker_class = WORKER_CLASS
    if args.workers is None:
        from hotline.config import web_workers

        args.workers = web_workers()
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.retries = args.retries if args.retries is not None else (1 if args.quick else 2)
    args.profile = [x.strip() for x in args.profile.split(",") if x.strip()]
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "python"
    elif args.client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --client python")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    resolve_defaults(args)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C must stop everything even when started from a shell that ignores SIGINT in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.compare or args.slow_clients:
        return wh_compare.run(args)
    return wh_full.run(args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_client":
        wh_client.client_main(sys.argv[2:])  # the load generator's former entry point
    else:
        sys.exit(main())
