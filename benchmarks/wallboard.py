"""Wallboard benchmark: what one poll of `hotline.wallboard.figures` costs on a busy day.

    python benchmarks/wallboard.py [--calls N] [--agents M] [--polls P] [--json]

Starts its own embedded Redis in a temporary directory. Builds a day through the real
domain (the same functions the webhooks and jobs call): M agents on shift, N calls spread
over the four skills from 08:00 Paris, each queued, offered, answered, ended and wrapped
up, a tenth abandoned, 20 still waiting at the end (about 12 events per call). Then times,
on the manual clock:

* the first poll of a fresh WallboardTally (it reads the whole day from local midnight);
* P polls with nothing new (what a console process pays every second on a quiet minute);
* P polls each after one more call's events (a busy second).

The console polls about once a second per process: the figure to watch is the steady
poll, against that second. The last line printed with --json is one JSON object.
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
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.legs import conversation
from hotline.legs.wrapup import ready
from hotline.roster import AgentSpec
from hotline.routing import reservations
from hotline.services import Services
from hotline.wallboard import WallboardTally, figures

SKILLS = ("connection", "software", "error_message", "general")


def build_day(svc: Services, clock: ManualClock, calls: int, agents: int) -> None:
    specs = [
        AgentSpec(
            id=f"a{i:03d}",
            name=f"Agent {i}",
            phone="+33600000000",
            client_identity=None,
            skills={s: 3 for s in SKILLS},
            languages=("fr",),
        )
        for i in range(agents)
    ]
    svc.agents.sync_from_roster(SimpleNamespace(agents=tuple(specs)))
    svc.redis.sadd(svc.keys.onshift, *(a.id for a in specs))
    svc.agents.reindex()
    for a in specs:
        svc.agents.set_state(a.id, "available", notify=False)
    for n in range(calls):
        sid = "CA%032d" % n
        skill = SKILLS[n % 4]
        svc.calls.arrive(sid, "+336%08d" % (n % 5000), "+33100000000", "fr")
        svc.waiting.enqueue(sid, skill, category=skill)
        clock.advance(2)
        if n >= calls - 20:
            continue  # still waiting at the end
        if n % 10 == 9:
            svc.waiting.abandon(sid, via="status")
            continue
        res = svc.matcher.match_call(sid, schedule_expiry=False)
        if res is None:
            continue
        reservations.accept(svc, sid, res.agent_id)
        conversation.join(svc, sid, "LG%032d" % n)
        clock.advance(1)
        conversation.end(svc, sid, res.agent_id, ended_via="agent_leg")
        ready(svc, res.agent_id, by="bench")


def one_call(svc: Services, clock: ManualClock, n: int) -> None:
    sid = "CB%032d" % n
    svc.calls.arrive(sid, "+337%08d" % n, "+33100000000", "fr")
    svc.waiting.enqueue(sid, "general", category="general")
    clock.advance(1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--agents", type=int, default=40)
    ap.add_argument("--polls", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from hotline.store.embedded import EmbeddedRedis

    d = tempfile.mkdtemp(prefix="hlw-", dir="/tmp")
    server = EmbeddedRedis(d)
    server.ensure()
    try:
        settings = Settings(
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="x" * 32,
            public_url="http://127.0.0.1:5000",
            redis_url=server.url,
            mode="test",
            key_prefix="benchw:",
            data_dir=Path(d),
        )
        start = datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
        clock = ManualClock(start)
        svc = Services(settings, clock=clock)
        svc.redis.flushdb()
        t0 = time.perf_counter()
        build_day(svc, clock, args.calls, args.agents)
        built_s = time.perf_counter() - t0
        events = len(svc.events)

        tally = WallboardTally()
        t0 = time.perf_counter()
        doc = figures(svc, tally)
        first_ms = (time.perf_counter() - t0) * 1000

        quiet = []
        for _ in range(args.polls):
            t0 = time.perf_counter()
            figures(svc, tally)
            quiet.append((time.perf_counter() - t0) * 1000)
        busy = []
        for n in range(args.polls):
            one_call(svc, clock, n)
            t0 = time.perf_counter()
            figures(svc, tally)
            busy.append((time.perf_counter() - t0) * 1000)
        assert figures(svc, tally) == figures(svc)  # the running tally is still right

        out = {
            "calls": args.calls,
            "agents": args.agents,
            "events": events,
            "build_s": round(built_s, 1),
            "offered": doc["totals"]["offered"],
            "first_poll_ms": round(first_ms, 1),
            "quiet_poll_ms_median": round(statistics.median(quiet), 2),
            "quiet_poll_ms_p95": round(sorted(quiet)[int(0.95 * len(quiet))], 2),
            "busy_poll_ms_median": round(statistics.median(busy), 2),
            "busy_poll_ms_p95": round(sorted(busy)[int(0.95 * len(busy))], 2),
            "python": platform.python_version(),
        }
        print(
            f"{args.calls} calls, {events} events, {args.agents} agents "
            f"(built in {out['build_s']} s)\n"
            f"first poll (the whole day): {out['first_poll_ms']} ms\n"
            f"quiet poll: median {out['quiet_poll_ms_median']} ms, p95 {out['quiet_poll_ms_p95']} ms\n"
            f"busy poll (one more call): median {out['busy_poll_ms_median']} ms, "
            f"p95 {out['busy_poll_ms_p95']} ms"
        )
        if args.json:
            print(json.dumps(out))
        svc.close()
    finally:
        server.stop()
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
