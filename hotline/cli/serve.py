"""`hotline serve`, `hotline worker`, `hotline redis`: the processes of one machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click

from ..config import Settings
from ..config import web_workers as config_web_workers
from ..store.embedded import EmbeddedRedis
from . import pass_ctx


def register(main: click.Group) -> None:
    main.add_command(serve)
    main.add_command(worker)
    main.add_command(redis_cmd)


def _wait_for_signal(children: list[subprocess.Popen]) -> int:
    """Block until SIGINT/SIGTERM or a child dies; return the exit status to use."""
    stop = {"sig": None}

    def handler(signum, frame):
        stop["sig"] = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while stop["sig"] is None:
            for c in children:
                if c.poll() is not None:
                    click.echo(f"hotline: {c.args[0]} exited with code {c.returncode}; stopping", err=True)
                    return 1
            time.sleep(0.2)
        return 0
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _stop(children: list[subprocess.Popen]) -> None:
    for c in children:
        if c.poll() is None:
            c.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for c in children:
        try:
            c.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            c.kill()
            c.wait()


def start_embedded(settings: Settings) -> tuple[EmbeddedRedis | None, str]:
    """(server we started or None, the REDIS_URL children should use)."""
    if settings.redis_url:
        return None, settings.redis_url
    server = EmbeddedRedis(settings.data_dir)
    started = server.ensure()
    return (server if started else None), server.url


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--web-workers", default=None, type=int,
              help="gunicorn worker processes [default: WEB_CONCURRENCY, else cores + 1]")
@click.option("--workers", "rq_workers", default=1, show_default=True, type=int, help="RQ worker processes")
@pass_ctx
def serve(ctx, host, port, web_workers, rq_workers):
    """Run everything one machine needs, in the foreground: Redis (embedded unless
    REDIS_URL is set), the web app (gunicorn) and RQ workers. Ctrl-C stops all."""
    settings = Settings.from_env()
    web_workers = web_workers or config_web_workers()
    server, url = start_embedded(settings)
    env = {**os.environ, "REDIS_URL": url}
    children: list[subprocess.Popen] = []
    try:
        children.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(web_workers), "--bind", f"{host}:{port}",
             "--access-logfile", "-", "hotline.app:create_app()"], env=env))
        for _ in range(rq_workers):
            children.append(subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker"], env=env))
        click.echo(f"hotline: serving on http://{host}:{port} (Redis {url}); "
                   f"Twilio calls {settings.url('/webhooks/voice/incoming')}", err=True)
        code = _wait_for_signal(children)
    finally:
        _stop(children)
        if server is not None:
            server.stop()
    sys.exit(code)


@click.command()
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then exit.")
@pass_ctx
def worker(ctx, burst):
    """Run one RQ worker with the timer pump (hotline/worker.py); it outlives Redis restarts."""
    from .. import worker as worker_loop
    from ..services import Services

    svc = Services(Settings.from_env())  # the worker places calls: it needs credentials
    sys.exit(worker_loop.run(svc, burst=burst))


@click.command("redis")
@pass_ctx
def redis_cmd(ctx):
    """Start the embedded Redis in the foreground (stopped cleanly on Ctrl-C)."""
    settings = Settings.from_env()
    if settings.redis_url:
        raise click.ClickException("REDIS_URL is set: there is no embedded Redis to start")
    server = EmbeddedRedis(settings.data_dir)
    if not server.ensure():
        raise click.ClickException(f"an embedded Redis already answers on {server.socket}")
    click.echo(f"hotline: embedded Redis on {server.url} (AOF in {server.data_dir}); Ctrl-C stops it", err=True)
    try:
        _wait_for_signal([server.proc])
    finally:
        server.stop()
