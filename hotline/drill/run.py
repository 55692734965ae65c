"""A drill from end to end: the scenario's roster, R replications on private Redis servers,
each read from its event log, then the figures over all of them.

Replications are independent (replication i draws from seed·1000003 + i whoever plays
it), so `workers` processes may share them out -- each with a private Redis of its own
-- and the figures are the same as one process playing them in turn. Most of a
replication's wall time is the wait for Redis' answers (one round trip per domain step),
so two workers on two cores go nearly twice as fast.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from ..roster import load_text
from .record import Tally, read_events
from .sandbox import private_redis
from .scenario import Scenario
from .sim import Replication, drill_settings, policy_files
from .stats import summarize


def roster_text(scenario: Scenario) -> str:
    """The roster the drill plays: the scenario's file, or (`stored`) a copy of the live
    hotline's stored roster, read once -- the live hotline's keys are never written."""
    if scenario.roster == "stored":
        from ..config import Settings
        from ..services import Services

        live = Services(Settings.from_env(need_twilio=False))
        try:
            return live.roster.export()
        finally:
            live.close()
    text = Path(scenario.roster).read_text(encoding="utf-8")
    load_text(text, scenario.roster)  # RosterInvalid, with its lines, before anything runs
    return text


def run(
    scenario: Scenario,
    *,
    hours: float | None = None,
    replications: int = 1,
    seed: int | None = None,
    workers: int = 1,
    redis_url: str | None = None,
    progress: Callable[[float], None] | None = None,
    roster: str | None = None,
) -> dict:
    """Play the scenario. `redis_url` (tests, the console's runs) names a server whose
    database 0 is flushed before every replication; without it each worker starts a
    private embedded Redis. `roster`: the roster's text, already read and validated by the
    caller (the console reads it when the run is asked for); else `roster_text`."""
    if replications < 1:
        raise ValueError("--replications must be at least 1")
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    hours = scenario.hours if hours is None else hours
    if hours <= 0:
        raise ValueError("--hours must be positive")
    seed = scenario.seed if seed is None else seed
    text = roster_text(scenario) if roster is None else roster
    indices = list(range(replications))
    workers = min(workers, replications)
    wall0 = time.perf_counter()
    if workers == 1 or redis_url:
        done = play(scenario, text, hours, seed, indices, redis_url, progress)
    else:
        done = []
        shares = [indices[w::workers] for w in range(workers)]
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = [
                pool.submit(play, scenario, text, hours, seed, share, None, None)
                for share in shares
            ]
            for f in as_completed(futures):
                part = f.result()
                if progress is not None:
                    progress(hours * 3600.0 * len(part))
                done += part
    done.sort(key=lambda x: x[0])
    wall = time.perf_counter() - wall0  # elapsed: workers overlap
    tallies, runs = [t for _, t, _ in done], [o for _, _, o in done]
    return summarize(tallies, runs, scenario, hours, seed, wall_s=wall, workers=workers)


def play(scenario, text, hours, seed, indices, redis_url=None, progress=None) -> list:
    """Replications `indices` on one Redis: [(i, Tally, run summary)] (picklable)."""
    out = []
    with (
        tempfile.TemporaryDirectory(prefix="hl-drill-") as work,
        private_redis(redis_url) as client,
    ):
        files = policy_files(scenario, Path(work))
        settings = drill_settings(redis_url or _url_of(client), files, scenario)
        for i in indices:
            rep = Replication(
                scenario,
                text,
                client,
                settings,
                hours=hours,
                seed=seed * 1_000_003 + i,
                progress=progress,
            )
            try:
                res = rep.run()
            finally:
                rep.svc.scripts.close()
            tally = Tally(
                rep.start, rep.end, scenario.interval_s, scenario.target_s, res["skills_of"]
            )
            tally.consume(read_events(client, rep.svc.keys.events))
            tally.deflected = res["deflected"]
            out.append((i, tally.frozen(), res))
    return out


def _url_of(client) -> str:
    kw = client.connection_pool.connection_kwargs
    if "path" in kw:
        return f"unix://{kw['path']}"
    return f"redis://{kw['host']}:{kw['port']}/{kw.get('db', 0)}"
