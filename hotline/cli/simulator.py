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

To load a staging hotline with a scenario and read the outcome:

    hotline simulator --url https://staging.example --calls 40 --exit-when-done --json

stops once every generated caller's call has ended (or after --deadline-s real
seconds: the callers still on the line are then hung up, as a network going away
would) and prints one JSON object as the last line of stdout (see `summary_json`).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import TYPE_CHECKING

import click

from . import pass_ctx

if TYPE_CHECKING:
    from ..services import Services


def register(main: click.Group) -> None:
    main.add_command(simulator)


EXIT_DEADLINE = 3  # the deadline came before every generated caller's call had ended
SETTLE_S = (
    30.0  # after the last call: how long (real s) to wait for the log to show every call final
)
HANGUP_WAIT_S = 5.0  # after the deadline: how long to wait for the hung-up calls to report


@click.command()
@click.option(
    "--port", default=5050, show_default=True, type=int, help="Port of the simulator's REST API."
)
@click.option(
    "--url", default="http://127.0.0.1:5000", show_default=True, help="Base URL of `hotline serve`."
)
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Day scenario (agents and callers; default: the morning peak).",
)
@click.option(
    "--calls", type=int, default=0, show_default=True, help="Generated callers to let in (0: none)."
)
@click.option("--agents", type=int, default=None, help="How many of the scenario's agents answer.")
@click.option("--no-login", is_flag=True, help="Do not set the simulated agents available.")
@click.option(
    "--exit-when-done",
    is_flag=True,
    help="Stop once every generated caller's call has ended, or at --deadline-s.",
)
@click.option(
    "--deadline-s",
    type=float,
    default=600.0,
    show_default=True,
    help="With --exit-when-done: stop after this many real seconds at the latest "
    "(callers still on the line are hung up).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a summary as one JSON object, the last line of stdout (messages go to stderr).",
)
@pass_ctx
def simulator(
    ctx, port, url, scenario_path, calls, agents, no_login, exit_when_done, deadline_s, as_json
):
    """Run the carrier simulator (REST API + simulated phones) for a running `hotline serve`.

    \b
    --json prints: placed, ended (callers whose call ended), failed_webhooks
    (requests to the app that got no answer, a non-2xx status or no TwiML),
    heard_apology (callers who heard the hotline's fallback apology),
    deadline_reached, and the event-log figures of `hotline demo --json` for
    this run's calls (null if Redis cannot be read).

    \b
    Exit status: 0 when the run finished (every generated caller's call ended;
    also on Ctrl-C); 3 when --deadline-s came first with callers unfinished;
    1 on an error.
    """
    import redis

    from ..carrier.day import agents_come_back, load_day
    from ..carrier.local import offline_settings
    from ..carrier.server import SimulatorServer
    from ..carrier.simulator import Carrier, CarrierConfig
    from ..carrier.timing import RealTimeline
    from ..clock import ManualClock, clock_from_spec
    from ..errors import HotlineError
    from ..roster import load_text
    from ..services import Services

    if deadline_s <= 0:
        raise HotlineError("--deadline-s must be positive")
    settings = offline_settings()
    clock = clock_from_spec(settings.clock)
    if isinstance(clock, ManualClock):
        raise HotlineError(
            "HOTLINE_CLOCK=manual cannot be shared between processes: use scaled:… or system"
        )
    scenario = load_day(scenario_path).with_counts(calls, agents)
    roster = load_text(
        scenario.roster_path().read_text(encoding="utf-8"), str(scenario.roster_path())
    )
    base = url.rstrip("/")
    cfg = CarrierConfig.from_settings(settings.with_(public_url=base))
    carrier = Carrier(cfg, RealTimeline(clock))
    plans = [p for p in scenario.agents if not p.id.startswith("+extra")]
    for i, plan in enumerate(plans):
        spec = roster.agent(plan.id)
        client = getattr(spec, "client_identity", None)
        address = (
            (client if client.startswith("client:") else f"client:{client}")
            if client
            else spec.phone
        )
        carrier.network.add(plan.phone(address, scenario.seed * 1000 + i))
    server = SimulatorServer(carrier, port=port)
    deadline_at = time.monotonic() + deadline_s if exit_when_done else None
    click.echo(
        f"hotline simulator: REST on {server.url} (set HOTLINE_SIMULATOR_URL to it for serve/worker); "
        f"{len(plans)} agents' phones; calls to {base}",
        err=True,
    )
    svc = Services(settings, clock=clock)
    if not no_login:
        for plan in plans:
            try:
                svc.agents.set_state(plan.id, "available", by="simulator")
            except (HotlineError, redis.RedisError) as e:
                click.echo(f"hotline simulator: {plan.id} not logged in: {e}", err=True)
    sessions: list = []
    finished: list[threading.Event] = []
    deadline_reached = interrupted = False
    stop_agents = threading.Event()
    if not no_login:
        # As in `hotline demo`: an agent the hotline set away after a missed offer makes
        # themselves available again a little later (back_after_missed_s of their plan).
        threading.Thread(
            target=agents_come_back,
            args=(svc, plans, clock, stop_agents),
            daemon=True,
            name="sim-agents",
        ).start()
    try:
        callers = scenario.caller_plans()
        if callers:
            t0 = clock.now()
            for p in callers:
                delay = clock.real_delay(max(0.0, t0 + p.at - clock.now()))
                if deadline_at is not None and time.monotonic() + delay >= deadline_at:
                    time.sleep(max(0.0, deadline_at - time.monotonic()))
                    deadline_reached = True  # the rest never call
                    break
                time.sleep(delay)
                session = carrier.new_call(p.party(), from_=p.from_)
                over = threading.Event()
                session.on_end.append(over.set)  # after its final status callback
                carrier._start(session)
                sessions.append(session)
                finished.append(over)
            if deadline_at is None:
                for th in carrier.call_threads():
                    th.join()
            elif not deadline_reached:
                deadline_reached = not _wait_all(finished, deadline_at)
            done = sum(1 for s in sessions if s.ended)
            click.echo(
                f"hotline simulator: {done}/{len(sessions)} calls over"
                f"{' when the deadline came' if deadline_reached else ''}; "
                f"{carrier.failed_webhooks} failed webhooks; see `hotline events`",
                err=True,
            )
        elif deadline_at is None:
            click.echo("hotline simulator: Ctrl-C stops it", err=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        interrupted = True
    try:
        out = None
        if as_json:
            settle_until = (
                None
                if deadline_reached or interrupted
                else min(
                    deadline_at if deadline_at is not None else float("inf"),
                    time.monotonic() + SETTLE_S,
                )
            )
            out = summary_json(
                carrier, sessions, svc, deadline_reached=deadline_reached, settle_until=settle_until
            )
        if deadline_reached:
            left = [s for s in sessions if not s.ended]
            if left:
                click.echo(
                    f"hotline simulator: deadline ({deadline_s:g} s) reached: hanging up "
                    f"{len(left)} calls still on the line",
                    err=True,
                )
            for s in left:
                s.hangup()
            _wait_all(finished, time.monotonic() + HANGUP_WAIT_S)
    finally:
        stop_agents.set()
        server.close()
        carrier.close()
        svc.close()
    if out is not None:
        click.echo(json.dumps(out, ensure_ascii=False))
    sys.exit(EXIT_DEADLINE if deadline_reached else 0)


def _wait_all(events: list[threading.Event], until: float) -> bool:
    """True once every event is set; False if `until` (time.monotonic()) comes first."""
    return all(ev.wait(max(0.0, until - time.monotonic())) for ev in events)


def heard_apology(transcript) -> bool:
    """Whether the caller heard the hotline's fallback apology (ivr/fallback.py)."""
    from ..ivr.fallback import APOLOGY

    said = [" ".join(text.split()) for text in transcript.texts("Say")]
    return any(a in text for text in said for a in APOLOGY.values())


def summary_json(
    carrier, sessions: list, svc: Services, *, deadline_reached: bool, settle_until: float | None
) -> dict:
    """What --json prints. The report fields are reports.summary() of the event log,
    restricted to this run's calls (an event log on staging has other days in it);
    with `settle_until`, first wait (until then at most) for the log to show every
    one of them in a final state. Redis unreadable: those fields are None."""
    import redis

    from .. import reports
    from ..errors import HotlineError

    out = {
        "placed": len(sessions),
        "ended": sum(1 for s in sessions if s.ended),
        "failed_webhooks": carrier.failed_webhooks,
        "heard_apology": sum(1 for s in sessions if heard_apology(s.result.transcript)),
        "deadline_reached": deadline_reached,
    }
    sids = carrier.call_sids()
    try:
        while True:
            log = [e for e in reports.read_log(svc) if e.get("call_sid") in sids]
            if (
                settle_until is None
                or not reports.unfinished_calls(log)
                or time.monotonic() >= settle_until
            ):
                break
            time.sleep(0.25)
        out.update(reports.summary(log))
    except (
        HotlineError,
        redis.RedisError,
        OSError,
    ) as e:  # Redis down: the run's own figures still count
        click.echo(
            f"hotline simulator: cannot read the event log ({type(e).__name__}: {e}); "
            "its figures are null",
            err=True,
        )
        out.update(dict.fromkeys(reports.summary([]), None))
    return out
