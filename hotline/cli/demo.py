"""`hotline demo`: a simulated morning at the hotline, on one machine, without a Twilio account.

Everything runs in this process, over real HTTP: the embedded Redis of the data
dir (or REDIS_URL), the web app on a loopback port, an RQ burst worker, and the
carrier simulator (its REST API on a second loopback port; the app's jobs reach
it with the real twilio client). The scenario (carrier/morning_peak.yaml by
default) imports examples/roster.yaml, logs the simulated agents in at their
shift start and lets the callers in.

Time is simulated (virtual: the clock jumps from one event to the next, see
carrier/timing.py), shown live at `--speed` simulated seconds per real second
(default 60: the hour in about a minute); `--headless` runs as fast as it goes
(a few seconds for the default hour). Only our key prefix and our RQ queue are
reset at the start, and the demo writes to the data dir's store: `hotline events`
shows the whole day afterwards.
"""

from __future__ import annotations

import json
import sys

import click

from . import pass_ctx


def register(main: click.Group) -> None:
    main.add_command(demo)


@click.command()
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="A day scenario YAML (default: the morning peak, hotline/carrier/morning_peak.yaml).",
)
@click.option(
    "--calls",
    type=int,
    default=None,
    help="Number of generated callers (default: the scenario's, 60).",
)
@click.option(
    "--agents",
    type=int,
    default=None,
    help="Number of simulated agents (default: the scenario's, 5).",
)
@click.option("--headless", is_flag=True, help="No live view; run as fast as possible.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option(
    "--speed",
    type=float,
    default=None,
    help="Simulated seconds per real second for the live view (default 60; headless: unpaced).",
)
@click.option("--transcripts", is_flag=True, help="Also print what every caller heard.")
@click.option(
    "--console",
    "with_console",
    is_flag=True,
    help="Serve the web console during the morning (demo accounts printed) and after it, "
    "until Ctrl-C; paced at --speed, default 5.",
)
@click.option("--console-port", default=5001, show_default=True, type=int)
@pass_ctx
def demo(
    ctx,
    scenario_path,
    calls,
    agents,
    headless,
    as_json,
    speed,
    transcripts,
    with_console,
    console_port,
):
    """Play a simulated morning at the hotline (live view, then the summary)."""
    from ..carrier.day import Day, load_day, reset_store
    from ..carrier.local import LocalHotline, SimulatedClock, offline_settings
    from ..errors import HotlineError
    from ..services import Services

    scenario = load_day(scenario_path).with_counts(calls, agents)
    if speed is not None and speed <= 0:
        raise HotlineError("--speed must be positive")
    live = not headless and not as_json and sys.stdout.isatty() and not with_console
    pace = speed if speed is not None else (60.0 if live else 5.0 if with_console else None)
    settings = offline_settings()
    svc = Services(settings, clock=SimulatedClock(scenario.start))
    ctx._services = svc
    reset_store(svc)
    with LocalHotline(services=svc) as hotline:
        day = Day(hotline, scenario)
        day.prepare()
        console = _start_console(hotline, day, console_port) if with_console else None
        if live:
            from rich.live import Live

            from ..carrier.live import LiveView

            view = LiveView(svc, scenario.name, [p.id for p in day.plans], pace)
            with Live(get_renderable=view.render, refresh_per_second=4, screen=False):
                result = day.play(pace=pace)
        else:
            result = day.play(pace=pace)
        summary = result.summary
        if as_json:
            click.echo(json.dumps(summary))
        else:
            if transcripts:
                _print_transcripts(result)
            _print_summary(result, settings)
        if console is not None:
            _keep_serving(console)
    if summary["unfinished"] or result.violations:
        for v in result.violations[:20]:
            click.echo(f"hotline: invariant violated: {v}", err=True)
        sys.exit(1)


DEMO_MANAGER = "manager@demo.hotline"


def _start_console(hotline, day, port: int):
    """The console on a loopback port, on the demo's own services (its simulated clock),
    with a manager account and one per simulated agent, all with one generated password."""
    import secrets

    from ..carrier.loopback import LoopbackServer
    from ..console import create_app

    svc = hotline.services
    password = "demo-" + secrets.token_urlsafe(8)
    svc.users.create(
        DEMO_MANAGER, role="manager", password=password, name="Demo manager", by="demo"
    )
    logins = [DEMO_MANAGER]
    for plan in day.plans:
        email = f"{plan.id}@demo.hotline"
        svc.users.create(email, role="agent", password=password, agent_id=plan.id, by="demo")
        logins.append(email)
    server = LoopbackServer(create_app(svc), port=port)
    click.echo(f"console: {server.url}/console/")
    click.echo(f"  password for every demo account: {password}")
    click.echo(f"  manager: {DEMO_MANAGER}; agents: {', '.join(logins[1:])}")
    return server


def _keep_serving(server) -> None:
    import time

    click.echo(f"console: still serving on {server.url}/console/ -- Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _print_transcripts(result) -> None:
    from .call import summary as one_line

    for plan, session in result.callers:
        click.echo(f"\n=== {plan.name} {plan.from_}, calls at +{plan.at:g}s ===")
        click.echo(session.result.transcript.render(compact=True))
        click.echo(one_line(session.result))


def _print_summary(result, settings) -> None:
    s = result.summary
    sc = result.scenario
    sl = "-" if s["service_level"] is None else f"{s['service_level'] * 100:.1f} %"
    asa = (
        "-" if s["average_speed_of_answer_s"] is None else f"{s['average_speed_of_answer_s']:.0f} s"
    )
    click.echo(
        f"\n{sc.name}: {s['calls']} calls, {len(result.agents)} agents "
        f"({', '.join(result.agents)}), {result.simulated_seconds / 60:.0f} simulated minutes "
        f"in {result.real_seconds:.1f} s"
    )
    rows = [
        ("offered to agents", s["offered"]),
        ("answered", s["answered"]),
        ("abandoned", s["abandoned"]),
        ("solved by self-help", s["self_service_resolved"]),
        ("callbacks requested", s["callbacks_requested"]),
        ("callbacks completed", s["callbacks_completed"]),
        ("missed offers", s["missed_offers"]),
        ("service level (answered within 60 s)", sl),
        ("average speed of answer", asa),
        ("longest wait", f"{s['max_wait_s']:.0f} s"),
        ("unfinished calls", s["unfinished"]),
        ("invariant violations", len(result.violations)),
    ]
    for label, value in rows:
        click.echo(f"  {label:40} {value}")
    where = f"REDIS_URL={settings.redis_url} " if settings.redis_url else ""
    click.echo(f"\nThe whole day is in the event log: {where}hotline events  (or --json)")
