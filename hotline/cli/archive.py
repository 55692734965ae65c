"""`hotline archive [--older-than DAYS] [--json]`: move finished calls and old events to the
archive database now (the daily timer does the same at 03:40)."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import click

from . import pass_ctx


def register(main: click.Group) -> None:
    main.add_command(archive)


@click.command()
@click.option(
    "--older-than",
    "older_than",
    type=float,
    default=None,
    help="Days: archive finished calls (and events) older than this "
    "(default HOTLINE_RETENTION_DAYS, 35).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: this run and the archive.")
@click.option("--batch", type=click.IntRange(1, 100_000), default=None, hidden=True)
@click.option("-v", "--verbose", is_flag=True, help="Say each step (copied, verified, deleted).")
@pass_ctx
def archive(ctx, older_than, as_json, batch, verbose):
    """Move finished calls older than the retention, and their events, to the archive."""
    from ..archive import mover

    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    if older_than is not None and not older_than > 0:
        raise ValueError(f"--older-than: {older_than:g} days: give a number of days above 0")
    svc = ctx.services
    kw = {"calls_batch": batch, "events_batch": batch} if batch else {}
    out = mover.run(svc, older_than_days=older_than, **kw)
    stats = svc.archive.stats()
    if as_json:
        click.echo(json.dumps({"run": out, "archive": stats}, ensure_ascii=False, default=str))
        return
    tz = svc.settings.tz
    cutoff = datetime.fromtimestamp(out["cutoff"], tz).strftime("%Y-%m-%d %H:%M")
    click.echo(f"archived {out['calls']} calls and {out['events']} events older than {cutoff}")
    if out["calls_live"]:
        click.echo(f"kept {out['calls_live']} calls older than that: still live")
    if out.get("pinned_by"):
        click.echo(
            f"the event log is kept from call {out['pinned_by']} on (live, older than the cutoff)"
        )
    click.echo(f"archive {stats['url']}: {stats['calls']} calls, {stats['events']} events")
