"""`hotline queue`, `hotline calls show|list`, `hotline announce`: calls and lines from a shell."""

from __future__ import annotations

import json
from datetime import datetime

import click

from ..errors import UnknownCall
from ..legs.disposition import label as disposition_label
from ..queue.calls import valid_sid
from . import pass_ctx


def register(main: click.Group) -> None:
    main.add_command(queue)
    main.add_command(calls)
    main.add_command(announce)


def _when(t: float | None, tz) -> str:
    return datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _dur(s: float | None) -> str:
    if s is None:
        return "-"
    s = round(s)
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def _iso(d: dict, tz) -> dict:
    out = dict(d)
    for k in ("created_at", "enqueued_at", "ended_at", "previous_call_at"):
        if out.get(k) is not None:
            out[k] = datetime.fromtimestamp(out[k], tz).isoformat(timespec="seconds")
    return out


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the lines, in order.")
@pass_ctx
def queue(ctx, as_json):
    """Show each waiting line: count, oldest wait, the calls in order."""
    svc = ctx.services
    lines = svc.waiting.snapshot()
    if as_json:
        click.echo(
            json.dumps(
                {"at": svc.clock.now(), "lines": [lv.to_dict() for lv in lines]}, ensure_ascii=False
            )
        )
        return
    if not lines:
        click.echo("no waiting lines yet")
        return
    for lv in lines:
        click.echo(f"{lv.skill:14} waiting {lv.waiting:3}   oldest {_dur(lv.oldest_wait_s)}")
        for c in lv.calls:
            flag = " repeat" if c.repeat else ""
            click.echo(
                f"  {c.position:3}. {c.sid}  {c.from_number or '-':16} {c.lang or '-':2}  "
                f"waited {_dur(c.waited_s)}{flag}"
            )


@click.group()
def calls():
    """Stored calls."""


@calls.command("show")
@click.argument("call_sid")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show(ctx, call_sid, as_json):
    """Show one call: sid, from, language, category, skill, state, priority, error code,
    the agent's disposition and notes, times."""
    if not valid_sid(call_sid):
        raise UnknownCall(f"{call_sid!r} is not a call SID")
    svc = ctx.services
    call = svc.calls.get(call_sid)
    if call is None:
        raise UnknownCall(f"no call {call_sid}")
    tz = svc.settings.tz
    if as_json:
        click.echo(json.dumps(_iso(call.to_dict(), tz), ensure_ascii=False))
        return
    d = call.to_dict()
    order = [
        "sid",
        "from_number",
        "lang",
        "state",
        "category",
        "skill",
        "priority",
        "repeat",
        "error_code",
        "disposition",
        "notes",
        "created_at",
        "enqueued_at",
        "ended_at",
        "wait_s",
        "queue_sid",
        "lines",
    ]
    for k in order + sorted(set(d) - set(order)):
        v = d.get(k)
        if k.endswith("_at") and isinstance(v, float):
            v = _when(v, tz)
        if k == "disposition" and v:
            v = f"{v} ({disposition_label(svc.settings, v)})"
        if v in (None, "", [], ()):
            v = "-"
        click.echo(f"{k:18} {v}")


STATES = (
    "ivr",
    "selfhelp",
    "waiting",
    "reserved",
    "bridged",
    "resolved",
    "abandoned",
    "failed",
    "completed",
    "left_ivr",
)


@calls.command("list")
@click.option("--state", default=None, help=f"Only calls in this state ({', '.join(STATES)}, ...).")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Only the most recent N (0: every call Redis keeps).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def list_(ctx, state, limit, as_json):
    """List the most recent calls, oldest first."""
    if state is not None and not state.replace("_", "").isalpha():
        raise ValueError(f"--state: {state!r} is not a state name")
    svc = ctx.services
    tz = svc.settings.tz
    for c in svc.calls.list(state, limit=limit or None):
        if as_json:
            click.echo(json.dumps(_iso(c.to_dict(), tz), ensure_ascii=False))
        else:
            click.echo(
                f"{_when(c.created_at, tz)}  {c.sid}  {c.from_number or '-':16} {c.lang:2} "
                f"{c.state:10} {c.skill or '-':14} prio={c.priority} wait={_dur(c.wait_s)}"
            )


@click.command()
@click.argument("text", required=False)
@click.option(
    "--lang",
    type=click.Choice(["fr", "en"]),
    default=None,
    help="Only this language (default: every language the hotline speaks).",
)
@click.option("--by", default="manager", show_default=True, help="Who sets it (logged).")
@click.option("--clear", is_flag=True, help="Remove the current announcement.")
@click.option("--show", is_flag=True, help="Print the current announcements.")
@pass_ctx
def announce(ctx, text, lang, by, clear, show):
    """Set the incident announcement played after the greeting, or --clear it."""
    svc = ctx.services
    if show:
        for lg, h in svc.announcements.all().items():
            click.echo(
                f"{lg}: {h.get('text')}  (by {h.get('by', '?')}, {_when(float(h.get('at', 0)), svc.settings.tz)})"
            )
        return
    if clear:
        if text:
            raise click.UsageError("give either TEXT or --clear, not both")
        had = svc.announcements.clear(lang, by=by)
        click.echo(
            f"announcement cleared ({', '.join(had)})" if had else "there was no announcement"
        )
        return
    if not text:
        raise click.UsageError("give the TEXT to announce, or --clear")
    langs = svc.announcements.set(text, lang, by=by)
    click.echo(f"announcement set for {', '.join(langs)}")
