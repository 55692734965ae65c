"""`hotline demo`: the hotline on one machine with simulated callers (issue 2 level).

Starts a private embedded Redis under HOTLINE_DATA_DIR/demo (emptied first, so
every run starts clean; with REDIS_URL set, the demo uses its own key prefix
`hotline-demo:` and RQ queue, and deletes only those), the web app over real
HTTP on a loopback port, and the carrier simulator; RQ jobs run in a burst
worker as simulated time moves. The scripted callers (carrier/intake_demo.yaml)
call at their times, concurrently, in virtual time; then each transcript and
the waiting lines (as `hotline queue` shows them) are printed.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from ..carrier.scenario import Scenario, load_scenario
from . import pass_ctx

DEMO_PREFIX = "hotline-demo:"


def register(main: click.Group) -> None:
    main.add_command(demo)


@click.command()
@click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False), default=None,
              help="A scenario YAML (default: the built-in intake demo).")
@click.option("--json", "as_json", is_flag=True, help="Calls, transcripts and the queue as one JSON object.")
@pass_ctx
def demo(ctx, scenario_path, as_json):
    """Run simulated calls through the IVR and print their transcripts and the queue."""
    from ..carrier.local import LocalHotline, offline_settings
    from .call import summary

    scenario = load_scenario(scenario_path)
    settings, server = _isolated(offline_settings())
    try:
        with LocalHotline(settings) as hotline:
            t0 = hotline.clock.now()
            sessions = [(c, hotline.spawn(c.party(), at=t0 + c.at, from_=c.from_)) for c in scenario.callers]
            hotline.run(until=t0 + scenario.horizon_s if scenario.horizon_s else None)
            ctx._services = hotline.services
            if as_json:
                click.echo(json.dumps(_as_json(scenario, sessions, hotline), ensure_ascii=False))
            else:
                _print(scenario, sessions, summary)
                click.echo(f"\n=== Waiting lines {_after(hotline.clock.now() - t0)} ===")
                _print_queue()
                click.echo("\n" + _tally(hotline.services, len(sessions)))
                n = len(hotline.services.events)
                where = (f"HOTLINE_DATA_DIR={settings.data_dir} " if server else
                         f"HOTLINE_KEY_PREFIX={settings.key_prefix} ")
                click.echo(f"\n{n} events logged; see them with: {where}HOTLINE_MODE=demo hotline events")
    finally:
        if server is not None:
            server.stop()


def _isolated(settings):
    """(settings for a clean demo store, the embedded server we started or None)."""
    if settings.redis_url:
        import redis

        r = redis.Redis.from_url(settings.redis_url)
        try:
            for key in r.scan_iter(match=DEMO_PREFIX + "*", count=500):
                r.delete(key)
            r.delete("rq:queue:hotline-demo")
        finally:
            r.close()
        return settings.with_(key_prefix=DEMO_PREFIX, rq_queue="hotline-demo"), None
    from ..errors import StoreUnavailable
    from ..store.embedded import EmbeddedRedis

    data_dir = Path(settings.data_dir) / "demo"
    try:
        server = EmbeddedRedis(data_dir)
    except StoreUnavailable:  # the data dir's path is too long for a unix socket
        data_dir = Path(tempfile.mkdtemp(prefix="hotline-demo-", dir="/tmp"))
        server = EmbeddedRedis(data_dir)
    started = server.ensure()
    import redis

    r = redis.Redis(unix_socket_path=str(server.socket))
    try:
        r.flushdb()  # our private demo server: start every run from nothing
    finally:
        r.close()
    return settings.with_(data_dir=data_dir, redis_url=server.url), (server if started else None)


def _after(seconds: float) -> str:
    s = round(seconds)
    return f"after {s // 60}m{s % 60:02d}s of simulated time"


def _print(scenario: Scenario, sessions, summary) -> None:
    for caller, session in sessions:
        click.echo(f"\n=== {caller.name} ({caller.from_}), calls at +{caller.at:g}s ===")
        click.echo(session.result.transcript.render(compact=True))
        if session.result.status == "in-progress":
            click.echo(f"-- call {session.result.sid}: still on the line when the demo stopped")
        else:
            click.echo(summary(session.result))


def _tally(svc, placed: int) -> str:
    """What became of the calls, from the event log (the source every report uses)."""
    counts: dict[str, int] = {}
    for ev in svc.events.read(types={"selfhelp_resolved", "abandoned", "enqueued"}):
        counts[ev.type] = counts.get(ev.type, 0) + 1
    return (f"{placed} calls placed: {counts.get('selfhelp_resolved', 0)} resolved by self-help, "
            f"{counts.get('enqueued', 0)} queued, of which {counts.get('abandoned', 0)} abandoned")


def _print_queue() -> None:
    try:
        from .calls import queue as queue_cmd
    except ImportError:  # the queue command is not in this checkout
        click.echo("(hotline queue is not available)")
        return
    click.get_current_context().invoke(queue_cmd, as_json=False)


def _as_json(scenario: Scenario, sessions, hotline) -> dict:
    svc = hotline.services
    lines = [lv.to_dict() for lv in svc.waiting.snapshot()]
    return {
        "scenario": scenario.name,
        "calls": [{"name": c.name, **s.result.to_json()} for c, s in sessions],
        "queue": lines,
        "events": len(svc.events),
    }
