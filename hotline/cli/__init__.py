"""The `hotline` command: one click group; each family of subcommands in its own module.

Errors are one clear line on stderr and a non-zero exit (HotlineError -> exit 1).
"""

from __future__ import annotations

import importlib
import sys

import click

from ..errors import ConfigError, HotlineError

# Modules that add commands to `main` (each defines `register(main)`).
COMMAND_MODULES = (
    "serve",
    "events",
    "calls",
    "call",
    "roster",
    "agents",
    "demo",
    "simulator",
    "report",
    "users",
    "staffing",
    "archive",
    "drill",
)


class Context:
    """Builds Services on first use, so `hotline --help` needs no Redis."""

    def __init__(self):
        self._services = None

    @property
    def services(self):
        if self._services is None:
            from ..config import Settings
            from ..services import Services

            # Commands here only talk to Redis: no Twilio credentials needed.
            self._services = Services(Settings.from_env(need_twilio=False))
        return self._services

    @property
    def settings(self):
        return self.services.settings


pass_ctx = click.make_pass_decorator(Context, ensure=True)


class HotlineGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (HotlineError, ValueError) as e:
            if isinstance(e, click.ClickException):
                raise
            prefix = "configuration error" if isinstance(e, ConfigError) else "error"
            click.echo(f"hotline: {prefix}: {e}", err=True)
            sys.exit(1)


@click.group(cls=HotlineGroup)
@click.version_option(package_name="hotline")
@click.pass_context
def main(ctx):
    """Hotline: the telephone hotline of an IT helpdesk."""
    ctx.ensure_object(Context)


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(main)
