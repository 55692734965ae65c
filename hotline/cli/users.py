"""`hotline users create|list|disable|reset-password`: the web console's accounts.

A password is typed twice at a hidden prompt, or read from the first line of standard
input with `--password-stdin` (scripts, provisioning). It never appears in an argument,
an event or an output line.
"""

from __future__ import annotations

import json
import sys

import click

from ..accounts.users import ROLES, UserError, check_password, normalise_email
from . import pass_ctx

BY_HELP = "Who does this, for the event log (default: cli)."


def register(main: click.Group) -> None:
    main.add_command(users)


@click.group()
def users():
    """Console users: agents, supervisors and managers who sign in to the web console."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.UsageError("--password-stdin: standard input is empty")
        password = line.rstrip("\r\n")
    else:
        password = click.prompt(
            "Password", hide_input=True, confirmation_prompt=True, show_default=False
        )
    check_password(password)
    return password


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option(
    "--agent", "agent_id", default=None, help="The roster agent id (agent role: required)."
)
@click.option("--name", default=None, help="The name shown in the console.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--by", default="cli", show_default=True, help=BY_HELP)
@pass_ctx
def create(ctx, email, role, agent_id, name, password_stdin, by):
    """Create a console user EMAIL (refused: duplicate, bad email, unknown agent id)."""
    store = ctx.services.users
    store.check_new(email, role=role, agent_id=agent_id)  # refuse before asking for a password
    password = _password(password_stdin)
    u = store.create(email, role=role, password=password, name=name, agent_id=agent_id, by=by)
    click.echo(f"created {u.email} ({u.role}" + (f", agent {u.agent_id})" if u.agent_id else ")"))


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (a list of users).")
@pass_ctx
def list_(ctx, as_json):
    """Every console user, by email."""
    rows = ctx.services.users.list()
    if as_json:
        click.echo(json.dumps([u.to_json() for u in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no users (hotline users create EMAIL --role manager)")
        return
    width = max(len(u.email) for u in rows)
    for u in rows:
        status = "disabled" if u.disabled else "active"
        agent = f"agent={u.agent_id}" if u.agent_id else ""
        click.echo(f"{u.email:{width}}  {u.role:10} {status:8} {agent:16} {u.name or ''}".rstrip())


@users.command("disable")
@click.argument("email")
@click.option("--by", default="cli", show_default=True, help=BY_HELP)
@pass_ctx
def disable(ctx, email, by):
    """Disable EMAIL: they can no longer sign in, and their open sessions end."""
    u = ctx.services.users.disable(email, by=by)
    click.echo(f"{u.email}: disabled")


@users.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--by", default="cli", show_default=True, help=BY_HELP)
@pass_ctx
def reset_password(ctx, email, password_stdin, by):
    """Give EMAIL a new password; their open sessions end."""
    store = ctx.services.users
    if store.get(email) is None:  # refuse before asking for a password
        raise UserError(f"no user {normalise_email(email)!r}")
    password = _password(password_stdin)
    u = store.reset_password(email, password, by=by)
    click.echo(f"{u.email}: password reset")
