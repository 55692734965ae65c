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


def _history(ctx, week: str, interval_min: int, skill: str | None) -> tuple[dict, object]:
    """The forecast of `week` from the shared history reader, and the roster (None if none)."""
    from ..history import iter_calls
    from ..wfm.forecast import forecast, history_window

    svc = ctx.services
    tz = svc.settings.tz
    roster = svc.roster.load()
    start_ts, end_ts = history_window(week, tz)
    calls = iter_calls(svc, start_ts, end_ts)
    result = forecast(
        calls,
        week,
        tz=tz,
        roster=roster,
        interval_min=interval_min,
        skill=skill,
        now=svc.clock.now(),
    )
    return result, roster


def _when(iso: str) -> str:
    from datetime import datetime

    return f"{datetime.fromisoformat(iso):%a %d %H:%M %z}"


def _num(v, fmt="{:.1f}") -> str:
    return "-" if v is None else fmt.format(v)


@click.command("forecast")
@click.option("--week", required=True, help="ISO week, YYYY-Www (e.g. 2026-W13).")
@click.option("--skill", default=None)
@click.option("--interval-min", type=int, default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def forecast_cmd(ctx, week, skill, interval_min, as_json):
    """Expected calls, AHT and patience per skill and interval of an ISO week (local time)."""
    result, _ = _history(ctx, week, interval_min, skill)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    n = result["history_weeks"]
    click.echo(
        f"forecast of {result['week']} in {result['timezone']}, {interval_min}-minute intervals, "
        f"from {n} week{'s' if n != 1 else ''} of history"
    )
    if result["message"]:
        click.echo(f"note: {result['message']}")
    skills = result["skills"]
    click.echo(
        "interval            "
        + "".join(f"{k[:14]:>16}" for k in skills)
        + "   (calls / AHT s / patience s)"
    )
    for row in result["intervals"]:
        cells = [row["skills"][k] for k in skills]
        if not any(c["calls"] for c in cells):
            continue  # a quiet interval: nothing to staff
        text = "".join(
            f"{_num(c['calls']):>6}/{_num(c['aht_s'], '{:.0f}'):>4}/{_num(c['patience_s'], '{:.0f}'):>4}"
            for c in cells
        )
        mark = f"  (as {row['counted_as']})" if "counted_as" in row else ""
        click.echo(f"{_when(row['start'])}   {text}{mark}")
    for k in skills:
        s = result["summary"][k]
        click.echo(
            f"{k}: {s['calls']:.1f} calls in the week, AHT {_num(s['aht_s'])} s, "
            f"patience {_num(s['patience_s'])} s"
        )


@click.command("plan")
@click.option("--week", required=True, help="ISO week, YYYY-Www (e.g. 2026-W13).")
@click.option(
    "--target-sl", type=float, default=0.8, show_default=True, callback=_share("--target-sl")
)
@click.option("--target-s", type=float, default=60.0, show_default=True)
@click.option("--interval-min", type=int, default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def plan_cmd(ctx, week, target_sl, target_s, interval_min, as_json):
    """Agents required (forecast, Erlang A) against agents rostered, per skill and interval."""
    from ..wfm.plan import plan

    fc, roster = _history(ctx, week, interval_min, None)
    if roster is None:
        raise ValueError("no roster imported yet (hotline roster import FILE)")
    st = ctx.settings
    result = plan(
        fc,
        roster,
        week,
        target_sl=target_sl,
        target_s=target_s,
        shrinkage=st.shrinkage,
        max_occupancy=st.max_occupancy,
    )
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(
        f"plan of {week} in {result['timezone']}: {target_sl:.0%} answered within {target_s:g} s, "
        f"shrinkage {st.shrinkage:.0%}, occupancy at most {st.max_occupancy:.0%}"
    )
    if result["message"]:
        click.echo(f"note: {result['message']}")
    click.echo(f"split: {result['split_rule']}")
    skills = result["skills"]
    click.echo(
        "interval            " + "".join(f"{k[:14]:>16}" for k in skills) + "   (needed/rostered)"
    )
    for row in result["intervals"]:
        cells = [row["skills"][k] for k in skills]
        if not any(c["positions"] or c["scheduled"] for c in cells):
            continue
        text = "".join(f"{_num(c['positions'], '{}'):>8}/{c['scheduled']:<7.2f}" for c in cells)
        click.echo(f"{_when(row['start'])}   {text}")
    for title, key in (
        ("worst under-staffed hours", "worst_under"),
        ("worst over-staffed hours", "worst_over"),
    ):
        click.echo(f"{title}:")
        if not result[key]:
            click.echo("  none")
        for h in result[key]:
            calls = f"  on call: {', '.join(h['on_call'])}" if h["on_call"] else ""
            click.echo(
                f"  {h['skill']:14} {_when(h['hour'])}  gap {h['gap']:+.2f} "
                f"(needed {h['positions']}, rostered {h['scheduled']:.2f}){calls}"
            )
