"""The full benchmark (webhooks.py without --compare / --slow-clients), phase by phase.

1. `start_servers`: the embedded Redis, gunicorn with the app under test and gunicorn
   with bare_app.py, the same worker count and class;
2. `discover`: the IVR followed from the incoming URL (as Twilio would), the calls put
   in the queue for the wait loop, the request sets and their markers;
3. `warm_up` both apps; `in_process_costs` (wh_cost.py; --cost-only stops here);
4. `closed_loop`: rounds of bare, bare+redis, incoming, menu, wait, then bare once more;
   `profile_runs` (--profile) in runs of their own;
5. `open_loop`: Poisson arrivals at --open-fraction of each scenario's closed-loop peak,
   and ours at the bare endpoint's rate when we can sustain it;
6. `report`: the markdown (wh_report.py), --output, --json; the exit code says whether
   the targets were met.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from wh_common import BARE_PATH, BARE_REDIS_PATH, HERE, HOST, log, median
from wh_cost import in_process_costs
from wh_load import Runner
from wh_procs import (
    Target,
    benchmark_dir,
    free_port,
    server_env,
    start_gunicorn,
    start_redis,
    wait_healthy,
)
from wh_report import commandstats_markdown, redis_commandstats, summarize
from wh_requests import (
    Flow,
    Signer,
    Workload,
    bare_doc,
    bare_requests,
    follow_to_queue,
    marker_of,
    queue_waiting_calls,
    sid_of,
)


@dataclass
class Servers:
    """What `start_servers` started, and how to sign requests for each app."""

    redis: object  # hotline.store.embedded.EmbeddedRedis
    redis_pid: int | None
    base_env: dict
    app: Target
    bare: Target
    app_url: str
    bare_url: str
    app_signer: Signer
    bare_signer: Signer


def start_servers(args, tmp: Path, procs) -> Servers:
    redis_srv = start_redis(tmp, procs)
    redis_pid = redis_srv.proc.pid if redis_srv.proc else None
    token = secrets.token_hex(16)
    app_port, bare_port = free_port(), free_port()
    base_env = server_env(tmp, redis_srv.url, token)
    app_url, bare_url = f"http://{HOST}:{app_port}", f"http://{HOST}:{bare_port}"
    app_p = start_gunicorn(
        procs,
        args.app,
        app_port,
        {**base_env, "HOTLINE_PUBLIC_URL": app_url},
        args,
        [x for d in args.pythonpath for x in ("--pythonpath", d)],
        tmp / "app.log",
    )
    bare_p = start_gunicorn(
        procs,
        "bare_app:create_app()",
        bare_port,
        {**base_env, "HOTLINE_PUBLIC_URL": bare_url},
        args,
        ["--pythonpath", str(HERE)],
        tmp / "bare.log",
    )
    wait_healthy(app_port, app_p, "hotline app")
    wait_healthy(bare_port, bare_p, "bare app")
    return Servers(
        redis=redis_srv,
        redis_pid=redis_pid,
        base_env=base_env,
        app=Target("hotline", app_port, app_p),
        bare=Target("bare", bare_port, bare_p),
        app_url=app_url,
        bare_url=bare_url,
        app_signer=Signer(app_url, token),
        bare_signer=Signer(bare_url, token),
    )


def discover(args, srv: Servers) -> Workload:
    """Discover the IVR from the incoming URL, as Twilio would; build the request sets."""
    port, app_s = srv.app.port, srv.app_signer
    flow = Flow()
    follow_to_queue(port, app_s, sid_of("d0", 0), 0, flow)
    for line in flow.steps:
        log("  " + line)
    menu_url2, _, _ = follow_to_queue(port, app_s, sid_of("d0", 1), 1)
    if menu_url2 != flow.menu_url:
        raise RuntimeError(
            f"the menu action URL depends on the call ({flow.menu_url} vs {menu_url2}); "
            "this benchmark assumes it does not"
        )
    wl = Workload(app_s, flow, cap=int(args.max_rps * args.duration))
    wl.markers["incoming"] = marker_of(flow.incoming_xml)
    wl.markers["menu"] = marker_of(flow.menu_xml)
    # Calls waiting in a queue, for the wait loop (each with its own waitUrl).
    wl.wait_lines, wl.markers["wait"] = queue_waiting_calls(port, app_s, args.waiting_calls)
    m = wl.markers
    log(f"  markers: incoming {m['incoming']!r}, menu {m['menu']!r}, wait {m['wait']!r}")
    wl.bare_lines = bare_requests(srv.bare_signer, BARE_PATH)
    wl.bare_redis_lines = bare_requests(srv.bare_signer, BARE_REDIS_PATH)
    wl.markers["bare"] = marker_of(bare_doc(srv.bare_url))
    return wl


def warm_up(args, runner: Runner, srv: Servers, wl: Workload) -> None:
    """Both apps: imports, connection pools, Lua script cache."""
    warm = float(max(1, round(args.duration / 5)))  # whole seconds: wrk rejects "1.2s"
    runner.warm_up(srv.bare, "warmup-bare", wl.bare_lines, wl.markers["bare"], warm)
    runner.warm_up(
        srv.app,
        "warmup-app",
        wl.incoming_lines("f0")[: int(3000 * warm)],
        wl.markers["incoming"],
        warm,
    )


def closed_loop(args, runner: Runner, srv: Servers, wl: Workload) -> tuple[dict, list[int], str]:
    """Rounds of bare, bare+redis, incoming, menu, wait; bare once more at the end.

    The machine is shared and noisy: each of ours is paired with the bare runs on either
    side of it, and the medians over rounds are reported. Returns (runs per scenario, calls
    each incoming run created, the CallSid prefix of the last menu run)."""
    run, record, m = runner.run, runner.record, wl.markers
    bare, app = srv.bare, srv.app
    log(f"closed loop, {args.clients} clients, {args.rounds} round(s):")
    closed = {"bare": [], "bare+redis": [], "incoming": [], "menu": [], "wait": []}
    distinct = []
    menu_prefix = ""
    for k in range(args.rounds):
        closed["bare"].append(record(run(bare, "bare", wl.bare_lines, m["bare"])))
        closed["bare+redis"].append(record(run(bare, "bare+redis", wl.bare_redis_lines, m["bare"])))
        inc = record(
            run(app, "incoming", lambda a, k=k: wl.incoming_lines(f"c{k}{a}"), m["incoming"])
        )
        # The last requests in flight when the run stopped may never have reached the app.
        created = max(1, min(inc["requests"], wl.cap) - 2 * args.clients)
        distinct.append(created)
        closed["incoming"].append(inc)
        menu_prefix = f"c{k}{inc['attempt']}"
        r = record(run(app, "menu", wl.menu_lines(menu_prefix, created), m["menu"]))
        r["distinct_calls"] = created
        r["repeat_answer_share"] = round(max(0, r["sent"] - created) / max(1, r["sent"]), 3)
        closed["menu"].append(r)
        closed["wait"].append(record(run(app, "wait", wl.wait_lines, m["wait"])))
    closed["bare"].append(record(run(bare, "bare", wl.bare_lines, m["bare"])))
    return closed, distinct, menu_prefix


def profile_runs(
    args, runner: Runner, srv: Servers, wl: Workload, menu_prefix: str, distinct
) -> list[dict]:
    """--profile: runs of their own, so that sampling does not weigh on the measured ones."""
    run, m = runner.run, wl.markers
    profiled = []
    for name in args.profile:
        if name == "bare":
            profiled.append(run(srv.bare, "bare", wl.bare_lines, m["bare"], profile=True))
        elif name == "incoming":
            profiled.append(
                run(srv.app, "incoming", wl.incoming_lines("f1"), m["incoming"], profile=True)
            )
        elif name == "menu":
            profiled.append(
                run(
                    srv.app,
                    "menu",
                    wl.menu_lines(menu_prefix, distinct[-1]),
                    m["menu"],
                    profile=True,
                )
            )
        elif name == "wait":
            profiled.append(run(srv.app, "wait", wl.wait_lines, m["wait"], profile=True))
        else:
            raise SystemExit(f"--profile: unknown scenario {name!r}")
    for r in profiled:
        r["scenario"] += " (profiled)"
        log(f"  {r['scenario']:<20} {r['rps']:8.1f} req/s (not counted)")
    return profiled


def open_loop(args, runner: Runner, srv: Servers, wl: Workload, peak: dict) -> tuple[dict, dict]:
    """Poisson arrivals at --open-fraction of each scenario's median closed-loop peak.

    Returns (the run per scenario, ours at the bare endpoint's rate)."""
    run, record, m = runner.run, runner.record, wl.markers
    bare, app = srv.bare, srv.app
    f = args.open_fraction
    log(f"open loop, Poisson arrivals at {f:.0%} of each scenario's closed-loop peak:")
    opened = {}
    opened["bare"] = record(run(bare, "bare", wl.bare_lines, m["bare"], "open", f * peak["bare"]))
    opened["incoming"] = oi = record(
        run(
            app,
            "incoming",
            lambda a: wl.incoming_lines(f"e1{a}"),
            m["incoming"],
            "open",
            f * peak["incoming"],
        )
    )
    created = max(1, min(oi["requests"], wl.cap) - 2 * args.clients)
    om = opened["menu"] = record(
        run(
            app,
            "menu",
            wl.menu_lines(f"e1{oi['attempt']}", created),
            m["menu"],
            "open",
            f * peak["menu"],
        )
    )
    om["distinct_calls"] = created
    om["repeat_answer_share"] = round(max(0, om["sent"] - created) / max(1, om["sent"]), 3)
    opened["wait"] = record(run(app, "wait", wl.wait_lines, m["wait"], "open", f * peak["wait"]))
    # And ours at the bare endpoint's open-loop rate when we can sustain it: same load, same yardstick.
    same = {}
    for name, lines in (("incoming", None), ("wait", wl.wait_lines)):
        if opened["bare"]["rate"] < 0.9 * peak[name]:
            same[name] = record(
                run(
                    app,
                    name,
                    lines or (lambda a: wl.incoming_lines(f"e2{a}")),
                    m[name],
                    "open",
                    opened["bare"]["rate"],
                ),
                f"{name} @ bare rate",
            )
    return opened, same


def report(args, summary: dict, redis_url: str) -> int:
    """Print the report (and --output, --json); 0 when every target was met, else 1."""
    summary["redis_commandstats"] = redis_commandstats(redis_url)
    summary["markdown"] += "\n\n" + commandstats_markdown(summary["redis_commandstats"])
    print(summary["markdown"])
    if args.output:
        Path(args.output).write_text(summary["markdown"] + "\n")
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "markdown"}))
    return 0 if summary["all_checks_passed"] else 1


def run(args) -> int:
    try:
        with benchmark_dir(args.keep) as (tmp, procs):
            return _run(args, tmp, procs)
    except KeyboardInterrupt:
        return 130


def _run(args, tmp: Path, procs) -> int:
    from hotline.ivr.fallback import APOLOGY

    started = dt.datetime.now(dt.UTC)
    srv = start_servers(args, tmp, procs)
    log(
        f"benchmark dir {tmp}; gunicorn {args.workers} x {args.worker_class}; "
        f"{args.duration:g}s per scenario; closed-loop client: {args.client}"
    )
    wl = discover(args, srv)
    runner = Runner(args, tmp, APOLOGY["fr"], srv.redis_pid)
    warm_up(args, runner, srv, wl)
    cost = in_process_costs(args, srv.base_env, srv.app_url, srv.bare_url, wl, runner.antimarker)
    if args.cost_only:
        print(json.dumps({"in_process_cost_us": cost}))
        return 0
    closed, distinct, menu_prefix = closed_loop(args, runner, srv, wl)
    profiled = profile_runs(args, runner, srv, wl, menu_prefix, distinct)
    peak = {k: median([r["rps"] for r in v]) for k, v in closed.items()}
    opened, same = open_loop(args, runner, srv, wl, peak)
    summary = summarize(
        args, runner.results, closed, opened, same, peak, wl.flow, started, distinct, cost, profiled
    )
    return report(args, summary, srv.redis.url)
