"""A drill from end to end: the scenario's roster, R replications on a private Redis,
each read from its event log, then the figures over all of them."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
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
    redis_url: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict:
    """Play the scenario; `redis_url` (tests) names a server whose database 0 is flushed
    before every replication -- without it the drill starts a private embedded Redis."""
    if replications < 1:
        raise ValueError("--replications must be at least 1")
    hours = scenario.hours if hours is None else hours
    if hours <= 0:
        raise ValueError("--hours must be positive")
    seed = scenario.seed if seed is None else seed
    text = roster_text(scenario)
    tallies, runs = [], []
    with (
        tempfile.TemporaryDirectory(prefix="hl-drill-") as work,
        private_redis(redis_url) as client,
    ):
        files = policy_files(scenario, Path(work))
        url = redis_url or _url_of(client)
        settings = drill_settings(url, files, scenario)
        for i in range(replications):
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
                out = rep.run()
            finally:
                rep.svc.scripts.close()
            tally = Tally(
                rep.start, rep.end, scenario.interval_s, scenario.target_s, out["skills_of"]
            )
            tally.consume(read_events(client, rep.svc.keys.events))
            tally.deflected = out["deflected"]
            tallies.append(tally)
            runs.append(out)
    return summarize(tallies, runs, scenario, hours, seed)


def _url_of(client) -> str:
    kw = client.connection_pool.connection_kwargs
    return (
        f"unix://{kw['path']}"
        if "path" in kw
        else f"redis://{kw['host']}:{kw['port']}/{kw.get('db', 0)}"
    )
