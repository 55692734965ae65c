"""`hotline drill SCENARIO.yaml`: an incident drill through the real routing code
(hotline/drill/), on a private Redis, under a manual clock, as fast as the machine allows."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def register(main: click.Group) -> None:
    main.add_command(drill)


@click.command()
@click.argument("scenario_path", metavar="SCENARIO.yaml")
@click.option(
    "--hours", type=float, default=None, help="Simulated hours (default: the scenario's)."
)
@click.option(
    "--replications", type=int, default=1, show_default=True,
    help="Independent runs: means and 95 % intervals.",
)  # fmt: skip
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
@click.option(
    "--workers", type=int, default=1, show_default=True,
    help="Processes sharing the replications (each with its own private Redis).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option(
    "--plot", "plot_path", default=None, metavar="FILE.png", help="Write a PNG of the day."
)
def drill(scenario_path, hours, replications, seed, workers, as_json, plot_path):
    """Play SCENARIO.yaml (a roster, agents, callers, incidents) through the real queue and
    routing code; print SL, ASA, abandonment, queue and occupancy per interval and skill."""
    from ..drill import load, report, run

    if plot_path is not None and not plot_path.lower().endswith(".png"):
        raise click.BadParameter("the plot is a PNG file: FILE.png", param_hint="--plot")
    if plot_path is not None and not Path(plot_path).resolve().parent.is_dir():
        raise click.BadParameter(f"no directory for {plot_path}", param_hint="--plot")
    scenario = load(scenario_path)
    hours = scenario.hours if hours is None else hours
    if hours <= 0:
        raise ValueError("--hours must be positive")
    if replications < 1:
        raise ValueError("--replications must be at least 1")
    with _progress(hours * replications) as advance:
        out = run(
            scenario,
            hours=hours,
            replications=replications,
            seed=seed,
            workers=workers,
            progress=advance,
        )
    if plot_path:
        report.plot(out, plot_path)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(report.text(out))
        if plot_path:
            click.echo(f"\nplot: {plot_path}")


class _progress:
    """A rich progress bar on stderr, in simulated hours, only when stderr is a terminal."""

    def __init__(self, total_h: float):
        self.total = total_h
        self.bar = None

    def __enter__(self):
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("drill"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} simulated h"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("drill", total=self.total)
        return lambda seconds: self.bar.advance(task, seconds / 3600.0)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
