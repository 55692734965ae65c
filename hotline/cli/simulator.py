"""`hotline simulator`: the carrier simulator as its own process, for a running `hotline serve`.

The separate-process way to play a morning (the in-process one is `hotline demo`):

    export HOTLINE_MODE=demo HOTLINE_CLOCK=scaled:$(date +%s):1796117400:30
    HOTLINE_SIMULATOR_URL=http://127.0.0.1:5050 hotline serve &     # web + worker
    hotline simulator --port 5050 --url http://127.0.0.1:5000 --calls 20

Every process reads the same ScaledClock from HOTLINE_CLOCK (here x30 from
Tuesday 1 December 2026 10:30 Paris), so a simulated hour lasts two minutes. The
simulator serves its REST subset on --port (the app's jobs place the agents' legs
there), answers for the scenario's agents (their phones, from the roster), logs
them in (as the agents themselves would, with `hotline agents state`), and, with
--calls, lets the scenario's callers in, at their times, against --url.
"""

from __future__ import annotations

import sys
import time

import click

from . import pass_ctx


def register(main: click.Group) -> None:
    main.add_command(simulator)


@click.command()
@click.option("--port", default=5050, show_default=True, type=int, help="Port of the simulator's REST API.")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="Base URL of `hotline serve`.")
@click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Day scenario (agents and callers; default: the morning peak).")
@click.option("--calls", type=int, default=0, show_default=True, help="Generated callers to let in (0: none).")
@click.option("--agents", type=int, default=None, help="How many of the scenario's agents answer.")
@click.option("--no-login", is_flag=True, help="Do not set the simulated agents available.")
@pass_ctx
def simulator(ctx, port, url, scenario_path, calls, agents, no_login):
    """Run the carrier simulator (REST API + simulated phones) for a running `hotline serve`."""
    from ..carrier.day import load_day
    from ..carrier.local import offline_settings
    from ..carrier.server import SimulatorServer
    from ..carrier.simulator import Carrier, CarrierConfig
    from ..carrier.timing import RealTimeline
    from ..clock import ManualClock, clock_from_spec
    from ..errors import HotlineError
    from ..routing.roster import load_text
    from ..services import Services

    settings = offline_settings()
    clock = clock_from_spec(settings.clock)
    if isinstance(clock, ManualClock):
        raise HotlineError("HOTLINE_CLOCK=manual cannot be shared between processes: use scaled:… or system")
    scenario = load_day(scenario_path).with_counts(calls, agents)
    roster = load_text(scenario.roster_path().read_text(encoding="utf-8"), str(scenario.roster_path()))
    base = url.rstrip("/")
    cfg = CarrierConfig(account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
                        incoming_url=base + "/webhooks/voice/incoming",
                        status_callback_url=base + "/webhooks/voice/status", number=settings.hotline_number)
    carrier = Carrier(cfg, RealTimeline(clock))
    plans = [p for p in scenario.agents if not p.id.startswith("+extra")]
    for i, plan in enumerate(plans):
        spec = roster.agent(plan.id)
        client = getattr(spec, "client_identity", None)
        address = (client if client.startswith("client:") else f"client:{client}") if client else spec.phone
        carrier.network.add(plan.phone(address, scenario.seed * 1000 + i))
    server = SimulatorServer(carrier, port=port)
    click.echo(f"hotline simulator: REST on {server.url} (set HOTLINE_SIMULATOR_URL to it for serve/worker); "
               f"{len(plans)} agents' phones; calls to {base}", err=True)
    if not no_login:
        svc = Services(settings, clock=clock)
        for plan in plans:
            try:
                svc.agents.set_state(plan.id, "available", by="simulator")
            except HotlineError as e:
                click.echo(f"hotline simulator: {plan.id} not logged in: {e}", err=True)
    try:
        callers = scenario.caller_plans()
        if callers:
            t0 = clock.now()
            sessions = []
            for p in callers:
                delay = clock.real_delay(max(0.0, t0 + p.at - clock.now()))
                time.sleep(delay)
                session = carrier.new_call(p.party(), from_=p.from_)
                carrier._start(session)
                sessions.append(session)
            for th in carrier.call_threads():
                th.join()
            done = sum(1 for s in sessions if s.ended)
            click.echo(f"hotline simulator: {done}/{len(sessions)} calls over; see `hotline events`", err=True)
        else:
            click.echo("hotline simulator: Ctrl-C stops it", err=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        carrier.close()
    sys.exit(0)
