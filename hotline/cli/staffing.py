"""`hotline staffing`, `hotline forecast`, `hotline plan`: workforce management (hotline/wfm/)."""

from __future__ import annotations

import json
import math

import click

from . import pass_ctx


def register(main: click.Group) -> None:
    main.add_command(staffing)
    main.add_command(forecast_cmd)
    main.add_command(plan_cmd)


def _share(name: str):
    # A ValueError (not click's BadParameter, three lines of usage) is the group's one line.
    def check(ctx, param, value):
        if value is not None and not 0 <= value <= 1:
            raise ValueError(f"{name}: {value:g} is not a share between 0 and 1")
        return value

    return check


@click.command()
@click.option("--calls", type=float, required=True, help="Calls offered in the interval.")
@click.option("--interval-s", type=float, required=True, help="Length of the interval, seconds.")
@click.option("--aht-s", type=float, required=True, help="Average handle time (talk + wrap-up).")
@click.option("--target-sl", type=float, required=True, callback=_share("--target-sl"))
@click.option("--target-s", type=float, required=True, help="Answer within this many seconds.")
@click.option("--agents", type=int, default=None, help="Evaluate this staffing instead.")
@click.option("--patience-s", type=float, default=None, help="Mean patience: Erlang A.")
@click.option("--max-occupancy", type=float, default=None, callback=_share("--max-occupancy"))
@click.option(
    "--shrinkage",
    type=float,
    default=None,
    callback=_share("--shrinkage"),
    help="Share of paid time off the phones (default HOTLINE_SHRINKAGE).",
)
@click.option("--json", "as_json", is_flag=True)
def staffing(
    calls,
    interval_s,
    aht_s,
    target_sl,
    target_s,
    agents,
    patience_s,
    max_occupancy,
    shrinkage,
    as_json,
):
    """Agents needed for a service level (Erlang C, or Erlang A with --patience-s)."""
    from ..wfm import erlang

    if shrinkage is None:
        shrinkage = _settings_value("shrinkage", 0.3)
    if agents is None:
        s = erlang.required_agents(
            calls,
            interval_s,
            aht_s,
            target_sl,
            target_s,
            patience_s=patience_s,
            max_occupancy=max_occupancy,
            shrinkage=shrinkage,
        )
    elif patience_s is None:
        s = erlang.erlang_c(calls, interval_s, aht_s, agents, target_s, shrinkage=shrinkage)
    else:
        s = erlang.erlang_a(
            calls, interval_s, aht_s, agents, target_s, patience_s, shrinkage=shrinkage
        )
    if as_json:
        click.echo(json.dumps(s.to_json()))
        return
    load = calls * aht_s / interval_s
    click.echo(
        f"{s.model}: {calls:g} calls in {interval_s:g} s, AHT {aht_s:g} s = {load:.3f} Erlangs"
    )
    click.echo(f"agents        {s.agents}")
    click.echo(f"positions     {s.positions}  (shrinkage {shrinkage:.0%})")
    click.echo(
        f"service level {s.service_level:.2%} within {target_s:g} s (target {target_sl:.0%})"
    )
    click.echo(f"ASA           {_fmt_s(s.asa_s)}")
    click.echo(f"P(wait)       {s.p_wait:.2%}")
    click.echo(f"occupancy     {s.occupancy:.2%}")
    if s.abandon_rate is not None:
        click.echo(f"abandonment   {s.abandon_rate:.2%}")
    if s.note:
        click.echo(f"note: {s.note}")


def _fmt_s(v: float | None) -> str:
    return "infinite (unstable)" if v is None or math.isinf(v) else f"{v:.1f} s"


def _settings_value(name: str, default):
    """A WFM setting from the environment without building Services (staffing needs no Redis)."""
    from ..config import Settings

    return getattr(Settings.from_env(need_twilio=False), name, default)


@click.command("forecast")
@pass_ctx
def forecast_cmd(ctx):
    """Expected calls, AHT and patience per skill and interval of an ISO week."""
    raise click.ClickException("not yet")


@click.command("plan")
@pass_ctx
def plan_cmd(ctx):
    """Required against scheduled agents per skill and interval of an ISO week."""
    raise click.ClickException("not yet")
