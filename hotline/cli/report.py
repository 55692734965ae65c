"""`hotline report --day YYYY-MM-DD | --week YYYY-Www [--skill S] [--interval-min 15|30|60]
[--json | --csv]`: the interval report, from the live log and the archive (hotline/history.py).

Printing only: hotline/wfm/reading.py reads, hotline/wfm/report.py computes (docs/wfm.md).
"""

from __future__ import annotations

import csv
import json
import sys

import click

from . import pass_ctx


def register(main: click.Group) -> None:
    main.add_command(report)


@click.command()
@click.option("--day", default=None, help="A local day, YYYY-MM-DD.")
@click.option("--week", default=None, help="An ISO week, YYYY-Www (Monday to Sunday, local).")
@click.option("--skill", default=None, help="Only this skill.")
@click.option(
    "--interval-min", "interval_min", default="60", help="Interval length: 15, 30 or 60 minutes."
)
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON document.")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per skill and interval.")
@pass_ctx
def report(ctx, day, week, skill, interval_min, as_json, as_csv):
    """Offered, answered, abandoned, service levels, ASA, AHT... per skill and interval."""
    from ..wfm import reading
    from ..wfm import report as wfm

    if (day is None) == (week is None):
        raise ValueError("give one of --day YYYY-MM-DD or --week YYYY-Www")
    if as_json and as_csv:
        raise ValueError("--json and --csv: choose one")
    if interval_min not in ("15", "30", "60"):
        raise ValueError(f"--interval-min: {interval_min!r} is not one of 15, 30, 60")
    svc = ctx.services
    tz = svc.settings.tz
    start, end = wfm.day_period(day, tz) if day else wfm.week_period(week, tz)
    rep = reading.period_report(svc, start, end, interval_min=int(interval_min), skill=skill)
    if as_json:
        click.echo(json.dumps(rep, ensure_ascii=False, indent=2))
    elif as_csv:
        header, rows = wfm.csv_rows(rep)
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    else:
        _table(rep)


_COLUMNS = (
    ("offered", "offered"),
    ("answered", "answ."),
    ("abandoned", "aband."),
    ("short_abandoned", "short"),
    ("service_level", "SL"),
    ("service_level_sl2", "SL2"),
    ("asa_s", "ASA s"),
    ("aht_s", "AHT s"),
    ("longest_wait_s", "max wait"),
    ("selfhelp_resolved", "self-help"),
    ("callbacks_requested", "cb req."),
    ("callbacks_completed", "cb done"),
    ("missed_offers", "missed"),
    ("fcr_rate", "FCR"),
    ("remote_resolution_share", "remote"),
)


def _cell(key: str, v) -> str:
    if v is None:
        return "-"
    if key in ("service_level", "service_level_sl2", "fcr_rate", "remote_resolution_share"):
        return f"{v * 100:.0f} %"
    return str(v)


def _table(rep: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    p = rep["period"]
    con.print(
        f"[bold]{p['start_local']} → {p['end_local']}[/] ({p['tz']}), {p['interval_min']}-minute"
        f" intervals, service level within {rep['threshold_s']:g} s,"
        f" short abandons under {rep['short_abandon_s']:g} s apart"
    )
    for name, s in rep["skills"].items():
        t = Table(title=f"skill {name}", title_justify="left")
        t.add_column("interval (local)")
        for _, label in _COLUMNS:
            t.add_column(label, justify="right")
        quiet = 0
        for i in s["intervals"]:
            if not any(i[k] for k in ("offered", "selfhelp_resolved", "callbacks_completed")):
                quiet += 1
                continue
            t.add_row(
                i["start_local"][:16].replace("T", " "), *(_cell(k, i[k]) for k, _ in _COLUMNS)
            )
        t.add_row("[bold]total[/]", *(_cell(k, s["total"][k]) for k, _ in _COLUMNS))
        con.print(t)
        if quiet:
            con.print(f"  ({quiet} intervals without calls not shown)")
        if s["total"]["dispositions"]:
            con.print(
                "  dispositions: "
                + ", ".join(f"{d} {n}" for d, n in s["total"]["dispositions"].items())
            )
    tot = rep["total"]
    con.print(
        "[bold]all skills:[/] " + ", ".join(f"{label} {_cell(k, tot[k])}" for k, label in _COLUMNS)
    )
    if rep["agents"]:
        t = Table(title="occupancy", title_justify="left")
        for col in ("agent", "logged in", "busy", "wrap-up", "occupancy"):
            t.add_column(col, justify="left" if col == "agent" else "right")
        for agent, a in rep["agents"].items():
            t.add_row(
                agent,
                _hm(a["logged_in_s"]),
                _hm(a["busy_s"]),
                _hm(a["wrapup_s"]),
                _cell("fcr_rate", a["occupancy"]),
            )
        con.print(t)


def _hm(s: float) -> str:
    m = round(s / 60)
    return f"{m // 60} h {m % 60:02d}"
