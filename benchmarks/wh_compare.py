"""Worker models compared in one run (--compare), and the slow-client probe (--slow-clients).

Every variant (CLASS[:WORKERS]) is a pair of gunicorns, app and bare, on one shared
embedded Redis; every app server checks signatures against the same public URL (and
every bare one against its own), whatever port it listens on, so one set of signed
requests serves all. Phases: `start_variants`, `workload`, `warm_up`, `throughput`
(closed-loop rounds of bare, incoming and wait per variant, interleaved, each
variant's order reversed every other round; ratios paired within a round),
`slow_clients` (wh_slow.py), then `report` (wh_compare_report.py).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from pathlib import Path

from wh_common import BARE_PATH, HERE, log, median
from wh_compare_report import report
from wh_load import Runner
from wh_procs import (
    OWN_ENV,
    Target,
    benchmark_dir,
    free_port,
    server_env,
    start_gunicorn,
    start_redis,
    wait_healthy,
)
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
from wh_slow import slow_client_run, wait_recovered

SCENARIOS = ("bare", "incoming", "wait")


def parse_variants(spec: str, args) -> list[dict]:
    out = []
    for item in (x.strip() for x in spec.split(",")):
        if not item:
            continue
        cls, _, n = item.partition(":")
        w = int(n) if n else args.workers
        label = f"{cls} x{w}" + (f" ({args.threads} threads)" if cls == "gthread" else "")
        out.append({"label": label, "worker_class": cls, "workers": w})
    if not out:
        raise SystemExit("--compare: no variant given")
    return out


def start_variants(args, tmp: Path, procs, variants: list[dict], with_bare: bool):
    """An app gunicorn per variant (and a bare one, `with_bare`); (Redis pid, app signer,
    bare signer)."""
    redis_srv = start_redis(tmp, procs)
    redis_pid = redis_srv.proc.pid if redis_srv.proc else None
    token = secrets.token_hex(16)
    app_url, bare_url = "https://hotline.bench.test", "https://bare.bench.test"
    base_env = server_env(tmp, redis_srv.url, token, drop=(*OWN_ENV, "GUNICORN_"))
    for k, v in enumerate(variants):
        v["app"] = Target(f"app {v['label']}", free_port(), None)
        v["app"].proc = start_gunicorn(
            procs,
            "hotline.app:create_app()",
            v["app"].port,
            {**base_env, "HOTLINE_PUBLIC_URL": app_url},
            args,
            [],
            tmp / f"app{k}.log",
            v["worker_class"],
            v["workers"],
        )
        if with_bare:
            v["bare"] = Target(f"bare {v['label']}", free_port(), None)
            v["bare"].proc = start_gunicorn(
                procs,
                "bare_app:create_app()",
                v["bare"].port,
                {**base_env, "HOTLINE_PUBLIC_URL": bare_url},
                args,
                ["--pythonpath", str(HERE)],
                tmp / f"bare{k}.log",
                v["worker_class"],
                v["workers"],
            )
    for v in variants:
        wait_healthy(v["app"].port, v["app"].proc, v["app"].name)
        if with_bare:
            wait_healthy(v["bare"].port, v["bare"].proc, v["bare"].name)
    return redis_pid, Signer(app_url, token), Signer(bare_url, token)


def workload(args, port: int, app_s: Signer, bare_s: Signer, with_throughput: bool) -> Workload:
    """The incoming requests (and, for the throughput runs, the wait and bare ones)."""
    flow = Flow()
    follow_to_queue(port, app_s, sid_of("d0", 0), 0, flow)
    wl = Workload(app_s, flow, cap=int(args.max_rps * args.duration))
    wl.markers["incoming"] = marker_of(flow.incoming_xml)
    if with_throughput:
        wl.wait_lines, wl.markers["wait"] = queue_waiting_calls(port, app_s, args.waiting_calls)
        wl.bare_lines = bare_requests(bare_s, BARE_PATH)
        wl.markers["bare"] = marker_of(bare_doc(bare_s.base_url))
    return wl


def warm_up(args, runner: Runner, variants: list[dict], wl: Workload) -> None:
    warm = float(max(1, round(args.duration / 5)))
    for k, v in enumerate(variants):
        runner.warm_up(v["bare"], "warmup-bare", wl.bare_lines, wl.markers["bare"], warm)
        runner.warm_up(
            v["app"],
            "warmup-app",
            wl.incoming_lines(f"f{k}")[: int(3000 * warm)],
            wl.markers["incoming"],
            warm,
        )


def run_variant(runner: Runner, v: dict, scenario: str, lines, marker: str) -> dict:
    """One closed-loop run of `Runner.run` (repeated, up to --retries times, while other
    processes take more than --max-other cores; the quietest attempt is kept)."""
    best = runner.run(v["bare" if scenario == "bare" else "app"], scenario, lines, marker)
    best["variant"] = v["label"]
    c = best["cpu_cores"]
    log(
        f"  {v['label']:<16} {scenario:<9} {best['rps']:8.1f} req/s  p50 {best['p50_ms']:7.2f} ms  "
        f"p99 {best['p99_ms']:7.2f} ms  errors {best['errors'] or 0}  cores server {c['server']} "
        f"redis {c['redis']} client {c['client']} other {c['other']}"
    )
    return best


def throughput(args, runner: Runner, variants: list[dict], wl: Workload) -> dict:
    """Interleaved closed-loop rounds; per variant: median req/s and server CPU per request,
    ours / bare and this variant / the first one (both paired within each round)."""
    m = wl.markers
    rps = {v["label"]: {s_: [] for s_ in SCENARIOS} for v in variants}
    cpu = {v["label"]: {s_: [] for s_ in SCENARIOS} for v in variants}
    log(
        f"closed loop, {args.clients} clients, {args.rounds} round(s) of {args.duration:g} s per run:"
    )
    for rnd in range(args.rounds):
        order = variants if rnd % 2 == 0 else variants[::-1]
        for v in order:
            tag = f"c{rnd}{variants.index(v)}"
            for name, lines, marker in (
                ("bare", wl.bare_lines, m["bare"]),
                ("incoming", lambda a, t=tag: wl.incoming_lines(f"{t}{a}"), m["incoming"]),
                ("wait", wl.wait_lines, m["wait"]),
            ):
                r = run_variant(runner, v, name, lines, marker)
                runner.results.append(r)
                rps[v["label"]][name].append(r["rps"])
                cpu[v["label"]][name].append(r["server_cpu_ms_per_req"])
    ref = variants[0]["label"]
    table = {}
    for v in variants:
        lab = v["label"]
        table[lab] = {
            "rps": {s_: round(median(rps[lab][s_]), 1) for s_ in SCENARIOS},
            "server_cpu_ms_per_req": {s_: round(median(cpu[lab][s_]), 3) for s_ in SCENARIOS},
            # ours / bare, paired within each round (same variant, minutes apart at most)
            "vs_bare": {
                s_: round(
                    median([a / b for a, b in zip(rps[lab][s_], rps[lab]["bare"], strict=True)]), 3
                )
                for s_ in ("incoming", "wait")
            },
            # this variant / the first one, paired within each round
            "vs_" + ref: {
                s_: round(
                    median([a / b for a, b in zip(rps[lab][s_], rps[ref][s_], strict=True)]), 3
                )
                for s_ in SCENARIOS
            },
        }
    return table


def slow_clients(args, variants: list[dict], wl: Workload, slow_ns: list[int]) -> dict:
    """For each number of slow connections, each variant (order reversed for odd numbers)."""
    log(
        f"slow clients: {', '.join(map(str, slow_ns))} connections, 1 byte every {args.slow_every:g} s; "
        f"{args.slow_rate:g} signed webhook/s for {args.slow_duration:g} s per run"
    )
    slow_res: dict = {}
    for n in slow_ns:
        for v in variants if n % 2 == 0 else variants[::-1]:
            k = variants.index(v)
            lines = wl.incoming_lines(f"s{k}{n:03d}", int(args.slow_duration * args.slow_rate) + 2)
            r = slow_client_run(v["app"].port, n, lines, wl.markers["incoming"], args)
            r["recovered_after_s"] = round(wait_recovered(v["app"].port), 1)
            slow_res.setdefault(v["label"], {})[n] = r
            log(
                f"  {v['label']:<16} {n:3d} slow: {r['within_1s']}/{r['sent']} within 1 s, "
                f"{r['within_15s']} within 15 s, {r['unanswered']} unanswered; p50 {r['p50_ms']} ms, "
                f"max {r['max_ms']} ms; slow conns closed by server {r.get('slow_closed_by_server')}; "
                f"healthy again after {r['recovered_after_s']} s"
            )
            time.sleep(2)
    return slow_res


def run(args) -> int:
    """Worker models side by side in one run: closed-loop throughput of the bare endpoint
    and of our incoming and wait webhooks per variant, and the slow-client runs."""
    variants = parse_variants(args.compare or args.worker_class, args)
    slow_ns = [int(x) for x in args.slow_clients.split(",") if x.strip()]
    args.slow_duration = args.slow_duration or (15.0 if args.quick else 40.0)
    try:
        with benchmark_dir(args.keep) as (tmp, procs):
            return _run(args, tmp, procs, variants, slow_ns)
    except KeyboardInterrupt:
        return 130


def _run(args, tmp: Path, procs, variants: list[dict], slow_ns: list[int]) -> int:
    from hotline.ivr.fallback import APOLOGY

    do_throughput = bool(args.compare) and not args.no_throughput
    started = dt.datetime.now(dt.UTC)
    redis_pid, app_s, bare_s = start_variants(args, tmp, procs, variants, do_throughput)
    antimarker = APOLOGY["fr"]
    log(
        f"benchmark dir {tmp}; variants: {', '.join(v['label'] for v in variants)}; client {args.client}"
    )
    wl = workload(args, variants[0]["app"].port, app_s, bare_s, do_throughput)
    runner = Runner(args, tmp, antimarker, redis_pid)
    table: dict = {}
    if do_throughput:
        warm_up(args, runner, variants, wl)
        table = throughput(args, runner, variants, wl)
    slow_res = slow_clients(args, variants, wl, slow_ns) if slow_ns else {}
    return report(args, started, variants, table, slow_res, slow_ns, runner.results)
