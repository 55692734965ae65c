"""`hotline events [--since T] [--json]`: print the event log."""

from __future__ import annotations

import json
from datetime import datetime

import click

from ..events import TYPES, parse_since
from . import pass_ctx


def register(main: click.Group) -> None:
    main.add_command(events)


@click.command()
@click.option(
    "--since",
    "since",
    default=None,
    help="ISO 8601 time (naive = centre's zone) or a duration ago: 15m, 2h, 1d.",
)
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable).")
@click.option("--call", "call_sid", default=None, help="Only events of this call.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--list-types", is_flag=True, help="List the event types and what each means.")
@pass_ctx
def events(ctx, since, types, call_sid, as_json, list_types):
    """Print the event log (every step of every call)."""
    if list_types:
        for t, meaning in TYPES.items():
            click.echo(f"{t:28} {meaning}")
        return
    svc = ctx.services
    tz = svc.settings.tz
    t0 = parse_since(since, svc.clock.now(), tz) if since else None
    for ev in svc.events.read(t0, types=set(types) or None, call_sid=call_sid):
        if as_json:
            click.echo(json.dumps(ev.to_json(tz), ensure_ascii=False))
        else:
            when = datetime.fromtimestamp(ev.ts, tz).strftime("%Y-%m-%d %H:%M:%S")
            who = " ".join(x for x in (ev.call_sid, ev.agent_id and f"agent={ev.agent_id}") if x)
            extra = " ".join(f"{k}={v}" for k, v in ev.fields.items())
            click.echo(f"{when}  {ev.type:22} {who} {extra}".rstrip())
