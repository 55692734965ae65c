"""The report of a --compare / --slow-clients run: markdown tables and the JSON object."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from wh_common import cpu_model, fmt


def markdown(
    args, started, variants: list[dict], table: dict, slow_res: dict, slow_ns: list[int]
) -> list[str]:
    import gunicorn

    from hotline.web import KEEPALIVE

    md = [
        f"## Worker models — {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, gunicorn {gunicorn.__version__}; load average at start "
        f"{os.getloadavg()[0]:.2f}. Settings from hotline.web (limits, keep-alive {KEEPALIVE} s, "
        "no control socket) for every variant.",
        "",
    ]
    if table:
        ref = variants[0]["label"]
        kept = args.client == "wrk" and args.wrk_connection == "keep-alive"
        conns = (
            " (connections kept alive where the worker allows)"
            if kept
            else " (a new connection per request)"
        )
        md += [
            f"Closed loop: {args.client}, {args.clients} clients{conns}, "
            f"{args.rounds} round(s) of {args.duration:g} s per run, variants interleaved (order reversed "
            "every other round); ratios are medians of per-round ratios.",
            "",
            "| variant | bare req/s | incoming req/s | wait req/s | incoming / bare | wait / bare "
            f"| bare vs {ref} | incoming vs {ref} | wait vs {ref} | server CPU ms/req (bare / inc / wait) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for v in variants:
            t = table[v["label"]]
            rr, vb, vr, c = t["rps"], t["vs_bare"], t["vs_" + ref], t["server_cpu_ms_per_req"]
            md.append(
                f"| {v['label']} | {rr['bare']:.0f} | {rr['incoming']:.0f} | {rr['wait']:.0f} "
                f"| {vb['incoming']:.0%} | {vb['wait']:.0%} | {vr['bare']:.2f} | {vr['incoming']:.2f} "
                f"| {vr['wait']:.2f} | {c['bare']:.2f} / {c['incoming']:.2f} / {c['wait']:.2f} |"
            )
        md.append("")
    if slow_res:
        md += [
            f"Slow clients: N connections each send one more byte of a request head every "
            f"{args.slow_every:g} s (reopened when the server closes them); meanwhile one signed "
            f"`POST /webhooks/voice/incoming` every {1 / args.slow_rate:g} s for {args.slow_duration:g} s, "
            "each on its own connection, waiting up to 20 s (Twilio gives up at 15 s).",
            "",
            "| variant | slow conns | webhooks | ≤ 1 s | ≤ 15 s | unanswered | p50 / max ms (answered) "
            "| slow conns closed by the server (lifetime) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for n in slow_ns:
            for v in variants:
                r = slow_res[v["label"]][n]
                life = (
                    f"{r['slow_closed_by_server']} ({r['slow_lifetime_s'][0]}\u2013{r['slow_lifetime_s'][1]} s)"
                    if r.get("slow_lifetime_s")
                    else ("0" if n else "-")
                )
                md.append(
                    f"| {v['label']} | {n} | {r['sent']} | {r['within_1s']} | {r['within_15s']} "
                    f"| {r['unanswered']} | {fmt(r['p50_ms'], 0)} / {fmt(r['max_ms'], 0)} | {life} |"
                )
    return md


def report(args, started, variants, table, slow_res, slow_ns, results) -> int:
    md = markdown(args, started, variants, table, slow_res, slow_ns)
    print("\n".join(md))
    if args.output:
        Path(args.output).write_text("\n".join(md) + "\n")
    if args.json:
        print(
            json.dumps(
                {
                    "date": started.isoformat(),
                    "variants": [v["label"] for v in variants],
                    "machine": {"nproc": os.cpu_count(), "cpu": cpu_model()},
                    "throughput": table,
                    "slow_clients": slow_res,
                    "results": results,
                }
            )
        )
    return 0
