"""`hotline roster ...`: import, export, validate and edit the roster; who is on, weekly coverage."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date, datetime
from pathlib import Path

import click

from ..errors import RosterInvalid
from ..roster import ExtraShift, Leave, Roster, Shift, Swap, load_text, parse_days, schedule
from . import pass_ctx


def register(main: click.Group) -> None:
    main.add_command(roster)


def _default_by() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container: still record something
        return "cli"


_by = click.option(
    "--by",
    default=_default_by,
    show_default="your user name",
    help="Who makes the change (kept in the event log).",
)


def _read(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise click.ClickException(f"cannot read {path}: {e.strerror}") from None


def _print_problems(e: RosterInvalid) -> None:
    for p in e.problems:
        click.echo(str(p), err=True)
    click.echo(
        f"{len(e.problems)} problem{'s' if len(e.problems) != 1 else ''}; nothing changed.",
        err=True,
    )


def _roster(ctx, file: str | None) -> Roster:
    if file:
        return load_text(_read(file), file)
    return ctx.services.roster.require()


@click.group()
def roster():
    """The roster: agents, skills, shifts, leave and swaps."""


@roster.command("validate")
@click.argument("file")
def validate(file):
    """Check FILE; print every problem as file:line: reason (exit 1 if any)."""
    try:
        r = load_text(_read(file), file)
    except RosterInvalid as e:
        _print_problems(e)
        sys.exit(1)
    click.echo(
        f"{file}: ok ({len(r.agents)} agents, {len(r.shifts)} weekly shifts, "
        f"{len(r.leaves)} leave, {len(r.extras)} extra, {len(r.swaps)} swap)"
    )


@roster.command("import")
@click.argument("file")
@_by
@pass_ctx
def import_(ctx, file, by):
    """Validate FILE and make it the roster (a file with any problem changes nothing)."""
    try:
        r = ctx.services.roster.import_text(_read(file), file, by=by)
    except RosterInvalid as e:
        _print_problems(e)
        sys.exit(1)
    click.echo(
        f"imported {file}: {len(r.agents)} agents, {len(r.shifts)} weekly shifts "
        f"(version {ctx.services.roster.version()})"
    )


@roster.command("export")
@click.argument("file", required=False)
@pass_ctx
def export(ctx, file):
    """Write the stored roster as YAML to FILE (default: standard output)."""
    text = ctx.services.roster.export()
    if file and file != "-":
        Path(file).write_text(text, encoding="utf-8")
        click.echo(f"wrote {file}", err=True)
    else:
        click.echo(text, nl=False)


# --- edits -----------------------------------------------------------------


@roster.group("edit")
def edit():
    """Change the stored roster; each change is validated and logged with --by."""


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=what) from None


def _hhmm(value: str, what: str):
    try:
        return datetime.strptime(value, "%H:%M").time()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time HH:MM", param_hint=what) from None


def _days(value: str) -> tuple[int, ...]:
    try:
        return parse_days(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--days") from None


@edit.command("add-shift")
@click.argument("agent")
@click.option("--days", help="Weekly shift: mon-fri, sat,sun, daily ...")
@click.option("--date", "on_date", help="One-off (extra) shift on this date instead, YYYY-MM-DD.")
@click.option("--start", required=True, help="HH:MM, agent's local time.")
@click.option("--end", required=True, help="HH:MM; earlier than --start means the next day.")
@click.option("--on-call", is_flag=True, help="Reached only when nobody else covers (astreinte).")
@click.option("--id", "shift_id", default="", help="Shift id (default: a free one).")
@click.option("--valid-from", default=None)
@click.option("--valid-until", default=None)
@_by
@pass_ctx
def add_shift(
    ctx, agent, days, on_date, start, end, on_call, shift_id, valid_from, valid_until, by
):
    """Add a weekly shift (--days) or a one-off shift (--date) for AGENT."""
    if bool(days) == bool(on_date):
        raise click.UsageError(
            "give exactly one of --days (weekly shift) or --date (one-off shift)"
        )
    t0, t1 = _hhmm(start, "--start"), _hhmm(end, "--end")
    if on_date:
        s = ExtraShift(shift_id, agent, _date(on_date, "--date"), t0, t1, on_call)
    else:
        s = Shift(
            shift_id,
            agent,
            _days(days),
            t0,
            t1,
            on_call,
            _date(valid_from, "--valid-from") if valid_from else None,
            _date(valid_until, "--valid-until") if valid_until else None,
        )
    _apply(lambda: ctx.services.roster.add_shift(s, by=by), "shift added")


@edit.command("remove-shift")
@click.argument("shift_id")
@_by
@pass_ctx
def remove_shift(ctx, shift_id, by):
    """Remove the weekly or one-off shift SHIFT_ID."""
    _apply(lambda: ctx.services.roster.remove_shift(shift_id, by=by), f"shift {shift_id} removed")


@edit.command("leave")
@click.argument("agent")
@click.option("--from", "start", required=True, help="First day of leave, YYYY-MM-DD.")
@click.option("--to", "end", required=True, help="Last day of leave (inclusive).")
@click.option("--reason", default=None)
@_by
@pass_ctx
def leave(ctx, agent, start, end, reason, by):
    """Put AGENT on leave: no shift starting on those dates."""
    lv = Leave(agent, _date(start, "--from"), _date(end, "--to"), reason)
    _apply(lambda: ctx.services.roster.set_leave(lv, by=by), f"leave set for {agent}")


@edit.command("swap")
@click.argument("agent")
@click.argument("other")
@click.option("--date", "on_date", required=True, help="The day whose shifts change hands.")
@click.option(
    "--shift",
    "shift_id",
    default=None,
    help="Only this shift changes hands (default: all of both agents' that day).",
)
@_by
@pass_ctx
def swap(ctx, agent, other, on_date, shift_id, by):
    """AGENT and OTHER swap the shifts that start on --date."""
    sw = Swap(_date(on_date, "--date"), agent, other, shift_id)
    _apply(lambda: ctx.services.roster.swap(sw, by=by), f"{agent} and {other} swap on {on_date}")


@edit.command("cancel-leave")
@click.argument("agent")
@click.option("--from", "start", required=True, help="First day of the leave, YYYY-MM-DD.")
@click.option("--to", "end", required=True, help="Last day of the leave (inclusive).")
@_by
@pass_ctx
def cancel_leave(ctx, agent, start, end, by):
    """Take back AGENT's leave from --from to --to: their shifts on those dates return."""
    lv = Leave(agent, _date(start, "--from"), _date(end, "--to"))
    _apply(lambda: ctx.services.roster.cancel_leave(lv, by=by), f"leave of {agent} cancelled")


@edit.command("cancel-swap")
@click.argument("agent")
@click.argument("other")
@click.option("--date", "on_date", required=True, help="The day of the swap.")
@click.option("--shift", "shift_id", default=None, help="The swap of this shift only.")
@_by
@pass_ctx
def cancel_swap(ctx, agent, other, on_date, shift_id, by):
    """Take back the swap of AGENT and OTHER on --date: each works their own shifts again."""
    sw = Swap(_date(on_date, "--date"), agent, other, shift_id)
    _apply(
        lambda: ctx.services.roster.cancel_swap(sw, by=by),
        f"swap of {agent} and {other} on {on_date} cancelled",
    )


def _apply(fn, done: str) -> None:
    try:
        r = fn()
    except RosterInvalid as e:
        _print_problems(e)
        sys.exit(1)
    click.echo(f"{done} ({len(r.shifts)} weekly shifts, {len(r.extras)} one-off)")


# --- questions -----------------------------------------------------------------


def parse_at(text: str, tz) -> datetime:
    """An instant with a UTC offset; a naive time is read in the centre's zone unless DST makes it unclear."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--at") from None
    if at.tzinfo is not None:
        return at
    kind = schedule.local_kind(at, tz)
    if kind == "nonexistent":
        raise click.BadParameter(
            f"{text} does not exist in {tz.key}: the clocks skip that hour (daylight-saving change); "
            "give a UTC offset",
            param_hint="--at",
        )
    if kind == "ambiguous":
        first, second = at.replace(tzinfo=tz, fold=0), at.replace(tzinfo=tz, fold=1)
        raise click.BadParameter(
            f"{text} is ambiguous in {tz.key}: it happens twice (daylight-saving change), "
            f"{first.isoformat()} and {second.isoformat()}; give a UTC offset",
            param_hint="--at",
        )
    return at.replace(tzinfo=tz)


@roster.command("who")
@click.option("--at", "at_text", default=None, help="ISO 8601 instant (default: now).")
@click.option("--skill", default=None)
@click.option(
    "--file", "file", default=None, help="Read this roster file instead of the stored roster."
)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def who(ctx, at_text, skill, file, as_json):
    """Agents on shift (and on call) at an instant, with the shift that covers them."""
    r = _roster(ctx, file)
    tz = r.tz
    at = (
        parse_at(at_text, tz)
        if at_text
        else schedule.fixed(datetime.fromtimestamp(ctx.services.clock.now(), tz))
    )
    if skill and skill not in r.skills:
        raise click.BadParameter(
            f"unknown skill {skill!r} (skills are: {', '.join(r.skills)})", param_hint="--skill"
        )
    covers = schedule.on_shift(r, at, skill)
    if as_json:
        out = []
        for c in covers:
            a = r.agent(c.agent_id)
            out.append(
                {**c.to_json(), "name": a.name, "skills": a.skills, "languages": list(a.languages)}
            )
        click.echo(
            json.dumps({"at": at.isoformat(), "skill": skill, "agents": out}, ensure_ascii=False)
        )
        return
    click.echo(
        f"{schedule.fixed(at, tz).isoformat()} ({r.timezone}){' skill ' + skill if skill else ''}:"
    )
    if not covers:
        click.echo("  nobody on shift or on call")
    for c in covers:
        a = r.agent(c.agent_id)
        tag = "on call " if c.on_call else "on shift"
        extra = f", covering for {c.owner}" if c.owner != c.agent_id else ""
        skills = ",".join(f"{k}:{v}" for k, v in a.skills.items())
        s0, s1 = schedule.fixed(c.start, tz), schedule.fixed(c.end, tz)
        local = f" (local {c.start:%a %H:%M}-{c.end:%a %H:%M} {a.timezone})" if a.timezone else ""
        click.echo(
            f"  {tag} {c.agent_id:20} {c.shift_id:18} {s0:%a %d %H:%M}-{s1:%a %d %H:%M}{local}"
            f"{extra}  [{skills}] {'/'.join(a.languages)}"
        )


@roster.command("coverage")
@click.option("--week", required=True, help="ISO week, YYYY-Www (e.g. 2026-W13).")
@click.option("--skill", default=None)
@click.option(
    "--file", "file", default=None, help="Read this roster file instead of the stored roster."
)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def coverage(ctx, week, skill, file, as_json):
    """For each hour of the week (centre's zone): agents on shift per skill; then the gaps."""
    r = _roster(ctx, file)
    cov = schedule.coverage(r, week, skill)
    if as_json:
        click.echo(json.dumps(cov.to_json(), ensure_ascii=False))
        return
    click.echo(
        f"week {cov.week} in {cov.timezone}: {len(cov.hours)} hours, "
        f"{cov.start.isoformat()} to {cov.end.isoformat()}"
    )
    click.echo(
        "hour                    " + " ".join(f"{k[:13]:>13}" for k in cov.skills) + "   (on call)"
    )
    for h in cov.hours:
        cells = " ".join(f"{h.on_shift[k]:>13}" for k in cov.skills)
        calls = ",".join(str(h.on_call[k]) for k in cov.skills)
        click.echo(f"{h.start:%a %d %H:%M %z}    {cells}   ({calls})")
    click.echo("")
    if not cov.gaps:
        click.echo("no gaps: every skill has someone on shift all week")
    for g in cov.gaps:
        who_ = f"on call: {', '.join(g.on_call)}" if g.on_call else "NOBODY, not even on call"
        click.echo(
            f"gap {g.skill:14} {g.start:%a %d %H:%M %z} -> {g.end:%a %d %H:%M %z} "
            f"({g.hours:g} h)  {who_}"
        )


__all__ = ["parse_at", "register", "roster"]
