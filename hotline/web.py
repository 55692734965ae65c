"""How the web process runs: gunicorn's settings, in one place.

`gunicorn.conf.py` (the Procfile's `web`) and `hotline serve` both take them from here,
and `benchmarks/webhooks.py` and `tests/test_slow_clients.py` start gunicorn with them,
so what is measured is what is shipped.

Worker class: **gevent**. A sync worker reads the request line and headers itself, one
connection at a time: a client that sends one header byte every few seconds keeps it
busy for as long as it likes, and as many such connections as there are workers (3 on
two cores) stop every webhook. gunicorn's gthread worker (27.x) waits at most 5 s in a
pool thread for a connection's *first* byte, then reads the rest of the head in that
thread, blocking: one byte is enough to take a thread. The gevent worker reads every
connection in a greenlet of its own (about 10 KB each), so a slow client holds a
greenlet and a file descriptor, never the worker; requests whose heads are complete
run meanwhile. Measured in docs/benchmarks.md ("Slow clients") and asserted by
tests/test_slow_clients.py: with 50 slow connections open, signed webhooks are still
answered in milliseconds; with sync workers they are not answered at all. The price,
measured in the same runs: ~0.08 ms more CPU per new connection, about 20 % less peak
throughput when every request opens a connection (none when connections are reused),
against a capacity of ~3,000 webhooks/s on two cores.

With the gevent worker, `keepalive` is also the time a client has to send a complete
request line and headers (each request, the first one included, is read under a
`gevent.Timeout(keepalive)`); past it the connection is closed. A value of 0 would
turn keep-alive *and that timeout* off, so it must stay above 0. Twilio's requests
are a few KB that arrive in one or two packets: 5 s is ample. Behind a load balancer
that keeps idle connections to the backends longer than that, raise it with
`GUNICORN_CMD_ARGS="--keep-alive 75"` (gunicorn reads that variable after the config
file): an idle kept-alive connection costs a greenlet, not a worker.

gunicorn's control socket (on by default since 25.1, at $XDG_RUNTIME_DIR/gunicorn.ctl or
~/.gunicorn/gunicorn.ctl, the same path for every gunicorn the user runs) is turned off.

The app is loaded in each worker after gevent has patched the standard library (no
`preload_app`): redis-py, RQ and the script runner's free list of connections
(hotline/store/scripts.py) then wait on Redis cooperatively, one connection per
request in flight.
"""

from __future__ import annotations

import sys

from .config import web_workers

APP = "hotline.app:create_app()"
# The console runs in a gunicorn of its own (Procfile `console`, `hotline serve`): its live
# pages each hold a connection open (server-sent events), which must never take a webhook
# worker's time. One gevent worker holds thousands of them, and one process means one
# wallboard computation a second for every page (hotline/console/live.py).
CONSOLE_APP = "hotline.console:create_app()"
CONSOLE_WORKERS = 1
WORKER_CLASS = "gevent"

# One greenlet per open connection; a worker accepts no more than this many at once
# (slow or idle clients included). Mind `ulimit -n`: each is a file descriptor.
WORKER_CONNECTIONS = 1000
# Seconds: idle time of a kept-alive connection, and (gevent worker) the time a client
# has to send its whole request head. See the module's docstring.
KEEPALIVE = 5
# Seconds a worker may stay silent (blocked) before the arbiter restarts it.
TIMEOUT = 30
GRACEFUL_TIMEOUT = 20
# Request limits fitting Twilio's webhooks: a request line of our own URLs (path and a
# short query: under 200 bytes), about 15 headers (Host, Content-Type, Content-Length,
# X-Twilio-Signature, I-Twilio-Idempotency-Token, User-Agent, ...) plus what a load
# balancer adds, none longer than a few hundred bytes. Beyond them gunicorn answers 414
# (request line) or 431 (headers) itself, before the app runs.
LIMIT_REQUEST_LINE = 2048
LIMIT_REQUEST_FIELDS = 50
LIMIT_REQUEST_FIELD_SIZE = 4096


def gunicorn_options(
    host: str = "127.0.0.1",
    port: int = 5000,
    workers: int | None = None,
    *,
    worker_class: str = WORKER_CLASS,
    access_log: bool = False,
) -> dict:
    """gunicorn settings by their config-file names (`bind`, `workers`, ...).

    `workers` defaults to hotline.config.web_workers(): WEB_CONCURRENCY, else cores + 1.
    `worker_class` is for the benchmarks' before/after comparison (`sync`); what we ship
    is WORKER_CLASS."""
    opts = {
        "bind": f"{host}:{port}" if ":" not in host else f"[{host}]:{port}",
        "workers": workers or web_workers(),
        "worker_class": worker_class,
        "keepalive": KEEPALIVE,
        "timeout": TIMEOUT,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_fields": LIMIT_REQUEST_FIELDS,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        "control_socket_disable": True,
    }
    if worker_class in ("gevent", "eventlet", "gthread"):
        opts["worker_connections"] = WORKER_CONNECTIONS
    if access_log:
        opts["accesslog"] = "-"
    return opts


def gunicorn_argv(
    *args,
    app: str = APP,
    python: str | None = None,
    extra: tuple[str, ...] | list[str] = (),
    **options,
) -> list[str]:
    """The command line that starts gunicorn with gunicorn_options(*args, **options) (host,
    port, workers, worker_class, access_log), for subprocess.Popen:
    [python, "-m", "gunicorn", "--bind", "HOST:PORT", "--workers", "N", "--worker-class",
    "gevent", ..., "--no-control-socket", *extra, app].

    Every setting is given as a flag, so a gunicorn.conf.py that gunicorn finds in the
    current directory (it looks there by default) cannot change them."""
    return [
        python or sys.executable,
        "-m",
        "gunicorn",
        *options_to_flags(gunicorn_options(*args, **options)),
        *extra,
        app,
    ]


def options_to_flags(opts: dict) -> list[str]:
    """gunicorn settings -> command-line flags, spelled as gunicorn itself declares them."""
    from gunicorn.config import KNOWN_SETTINGS

    by_name = {s.name: s for s in KNOWN_SETTINGS}
    flags: list[str] = []
    for name, value in opts.items():
        setting = by_name[name]  # a KeyError here is a misspelt setting
        flag = setting.cli[-1] if setting.cli else None
        if flag is None:
            raise ValueError(f"gunicorn setting {name!r} has no command-line flag")
        if getattr(setting, "action", None) == "store_true":
            if value:
                flags.append(flag)
        else:
            flags += [flag, str(value)]
    return flags
