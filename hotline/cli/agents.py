"""`hotline agents list [--json]`, `state AGENT STATE [--reason R]`, `why AGENT CALL_SID`, `reindex`."""

from __future__ import annotations

import json
import os
from datetime import datetime

import click

from ..routing.agents import STATES
from ..routing.away_reasons import check as check_away_reason
from . import pass_ctx


def register(main: click.Group) -> None:
    main.add_command(agents)


@click.group()
def agents():
    """Agents: who is logged in, in which state, with which skills."""


@agents.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (a list of agents).")
@pass_ctx
def list_(ctx, as_json):
    """Every agent with state, since when, shift status and skills."""
    svc = ctx.services
    rows = svc.agents.list()
    if as_json:
        click.echo(json.dumps([a.to_json() for a in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no agents (import a roster: hotline roster import FILE)")
        return
    tz = svc.settings.tz
    width = max(len(a.id) for a in rows)
    for a in rows:
        since = datetime.fromtimestamp(a.since, tz).strftime("%a %H:%M") if a.since else "-"
        shift = "on shift" if a.on_shift else ("on call" if a.on_call else "off shift")
        state = a.state + (f" ({a.reason})" if a.reason else "")
        skills = ",".join(f"{k}:{v}" for k, v in sorted(a.skills.items()))
        call = f" call={a.call_sid}" if a.call_sid else ""
        click.echo(
            f"{a.id:{width}}  {state:18} since {since:9} {shift:9} {'/'.join(a.languages):6} {skills}{call}"
        )


@agents.command("state")
@click.argument("agent_id")
@click.argument("state", type=click.Choice([s for s in STATES if s != "reserved"]))
@click.option(
    "--reason",
    default=None,
    help="Why (away: break, lunch, training, meeting, other, or a reason of HOTLINE_AWAY_REASONS_FILE).",
)
@pass_ctx
def state(ctx, agent_id, state, reason):
    """Move AGENT_ID to STATE (illegal transitions are refused, nothing changed)."""
    by = os.environ.get("USER") or "cli"
    if state == "away" and reason is not None:
        check_away_reason(ctx.settings, reason)  # `missed` is routing's, never chosen
    a = ctx.services.agents.set_state(agent_id, state, reason=reason, by=f"cli:{by}")
    click.echo(f"{a.id}: {a.state}" + (f" ({a.reason})" if a.reason else ""))


@agents.command("why")
@click.argument("agent_id")
@click.argument("call_sid")
@pass_ctx
def why(ctx, agent_id, call_sid):
    """Whether AGENT_ID may be offered CALL_SID now, and if not the first rule that stops it
    (routing/eligibility.py: state, shift, skill and level, language). Exit 1 if not."""
    from ..routing.eligibility import explain, explain_lines

    reason = explain(ctx.services, agent_id, call_sid)
    if reason is None:
        lines = ", ".join(explain_lines(ctx.services, agent_id, call_sid))
        click.echo(f"{agent_id} may take {call_sid} (through the line of {lines})")
        return
    click.echo(f"{agent_id} may not take {call_sid}: {reason}")
    raise SystemExit(1)


@agents.command("reindex")
@pass_ctx
def reindex(ctx):
    """Re-score every available agent in the idle pools (after changing the strategy)."""
    n = ctx.services.agents.reindex()
    click.echo(f"{n} agents re-indexed")
