"""`hotline serve`, `hotline worker`, `hotline redis`: the processes of one machine."""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import nullcontext

import click

from ..config import Settings
from ..store.embedded import EmbeddedRedis
from . import pass_ctx


def register(main: click.Group) -> None:
    main.add_command(serve)
    main.add_command(worker)
    main.add_command(redis_cmd)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--web-workers",
    default=None,
    type=int,
    help="gunicorn worker processes [default: WEB_CONCURRENCY, else cores + 1]",
)
@click.option(
    "--workers", "rq_workers", default=1, show_default=True, type=int, help="RQ worker processes"
)
@click.option(
    "--console-port",
    default=5001,
    show_default=True,
    type=int,
    help="the web console's port (its own gunicorn; 0: no console)",
)
@pass_ctx
def serve(ctx, host, port, web_workers, rq_workers, console_port):
    """Run everything one machine needs, in the foreground, and keep it running: Redis
    (embedded unless REDIS_URL is set), the web app (gunicorn, gevent workers) and RQ
    workers. A child that dies is restarted (with backoff, logged); a dead embedded Redis
    is restarted from its AOF. Ctrl-C or SIGTERM stops all, cleanly."""
    from ..supervisor import Child, Supervisor
    from ..web import CONSOLE_APP, CONSOLE_WORKERS, gunicorn_argv

    settings = Settings.from_env()
    server = None if settings.redis_url else EmbeddedRedis(settings.data_dir)
    with server.supervising() if server is not None else nullcontext():
        if server is not None:
            server.ensure()
        url = settings.redis_url or server.url
        env = {**os.environ, "REDIS_URL": url}
        children = [
            Child("web (gunicorn)", gunicorn_argv(host, port, web_workers, access_log=True), env)
        ]
        if console_port:
            if settings.mode == "production":
                from ..console import secret_key

                secret_key(settings)  # a missing HOTLINE_SECRET_KEY stops serve here, clearly
            children.append(
                Child(
                    "console (gunicorn)",
                    gunicorn_argv(
                        host, console_port, CONSOLE_WORKERS, app=CONSOLE_APP, access_log=True
                    ),
                    env,
                )
            )
        children += [
            Child(f"worker {i + 1}", [sys.executable, "-m", "hotline.cli", "worker"], env)
            for i in range(rq_workers)
        ]
        click.echo(
            f"hotline: serving on http://{host}:{port} (Redis {url}); "
            f"Twilio calls {settings.url('/webhooks/voice/incoming')}",
            err=True,
        )
        if console_port:
            click.echo(f"console: http://{host}:{console_port}/console/")
        code = Supervisor(children, server).run()
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
    """Start the embedded Redis in the foreground (stopped cleanly on Ctrl-C). Exits with
    a non-zero status if the server dies under it."""
    settings = Settings.from_env()
    if settings.redis_url:
        raise click.ClickException("REDIS_URL is set: there is no embedded Redis to start")
    server = EmbeddedRedis(settings.data_dir)
    if not server.ensure():
        raise click.ClickException(f"an embedded Redis already answers on {server.socket}")
    click.echo(
        f"hotline: embedded Redis on {server.url} (AOF in {server.data_dir}); Ctrl-C stops it",
        err=True,
    )
    stop = {"sig": None}

    def handler(signum, frame):
        stop["sig"] = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while stop["sig"] is None:
            if server.proc.poll() is not None:
                click.echo(
                    f"hotline: the embedded Redis exited with code {server.proc.returncode}; "
                    f"see {server.data_dir / 'redis.log'}",
                    err=True,
                )
                sys.exit(1)
            time.sleep(0.1)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        server.stop()
