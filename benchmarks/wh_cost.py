"""The app's own cost per request: each endpoint called in-process through WSGI.

One request at a time, in this process, best of three passes: what the app itself
costs, apart from gunicorn, from concurrency and (CPU time of this process only) from
most of the machine's other load. With Redis's CPU per request and gunicorn's from the
runs, the report (wh_report.py) says where a request's CPU goes.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time

from wh_common import FORM, HERE, HOST, log
from wh_procs import OWN_ENV
from wh_requests import Workload


class env_patch:
    """os.environ updated with `env` inside the block, restored after it."""

    def __init__(self, env: dict):
        self.env, self.saved = env, None

    def __enter__(self):
        self.saved = dict(os.environ)
        os.environ.update(self.env)

    def __exit__(self, *exc):
        os.environ.clear()
        os.environ.update(self.saved)


def wsgi_cost(app, passes: list[list[str]], marker: str, antimarker: str) -> dict:
    """CPU and wall time per request of the WSGI app called directly, one request at a
    time in this process: what the app itself costs, apart from gunicorn and from the
    machine's other load (CPU time is counted for this process only; the best of
    the passes is kept, noise only ever adds). Redis's own CPU is not included."""
    from werkzeug.test import EnvironBuilder

    def environs(lines):
        out = []
        for line in lines:
            path, body, sig = line.split("\t")
            out.append(
                EnvironBuilder(
                    path=path,
                    method="POST",
                    data=body.encode(),
                    content_type=FORM,
                    headers={"X-Twilio-Signature": sig},
                    base_url=f"http://{HOST}",
                ).get_environ()
            )
        return out

    status_box = []

    def start_response(status, headers, exc_info=None):
        status_box.append(status)

    best_cpu = best_wall = float("inf")
    bad = 0
    for lines in passes:
        envs = environs(lines)
        c0, w0 = time.process_time(), time.perf_counter()
        for env in envs:
            status_box.clear()
            it = app(env, start_response)
            body = b"".join(it)
            if hasattr(it, "close"):
                it.close()
            if (
                not status_box[0].startswith("200")
                or marker.encode() not in body
                or antimarker.encode() in body
            ):
                bad += 1
        c1, w1 = time.process_time(), time.perf_counter()
        best_cpu = min(best_cpu, (c1 - c0) / len(envs))
        best_wall = min(best_wall, (w1 - w0) / len(envs))
    return {
        "cpu_us": round(best_cpu * 1e6, 1),
        "wall_us": round(best_wall * 1e6, 1),
        "n": sum(map(len, passes)),
        "bad": bad,
    }


def load_apps(args, base_env: dict, app_url: str, bare_url: str):
    """(bare WSGI app, app under test), built here with the servers' settings."""
    own = {k: v for k, v in base_env.items() if k.startswith(OWN_ENV)}
    with env_patch(own | {"HOTLINE_PUBLIC_URL": bare_url}):
        sys.path.insert(0, str(HERE))
        import bare_app

        bare_wsgi = bare_app.create_app()
    with env_patch(own | {"HOTLINE_PUBLIC_URL": app_url}):
        mod, _, factory = args.app.partition(":")
        sys.path[:0] = args.pythonpath
        app_wsgi = eval(factory, vars(importlib.import_module(mod)))  # the same spec gunicorn uses
    return bare_wsgi, app_wsgi


def in_process_costs(
    args, base_env: dict, app_url: str, bare_url: str, wl: Workload, antimarker: str
) -> dict:
    """Each endpoint's cost per request (µs of CPU and of wall time), logged."""
    n_cost = 300 if args.quick else 1000
    bare_wsgi, app_wsgi = load_apps(args, base_env, app_url, bare_url)
    logging.getLogger("hotline").setLevel(logging.ERROR)
    m = wl.markers
    sets = ("a1", "a2", "a3")
    cost = {
        "bare": wsgi_cost(bare_wsgi, [wl.bare_lines[:n_cost]] * 3, m["bare"], antimarker),
        "bare+redis": wsgi_cost(
            bare_wsgi, [wl.bare_redis_lines[:n_cost]] * 3, m["bare"], antimarker
        ),
        "incoming": wsgi_cost(
            app_wsgi, [wl.incoming_lines(x, n_cost) for x in sets], m["incoming"], antimarker
        ),
        "menu": wsgi_cost(
            app_wsgi, [wl.menu_lines(x, n_cost) for x in sets], m["menu"], antimarker
        ),
        "wait": wsgi_cost(app_wsgi, [wl.wait_lines] * 3, m["wait"], antimarker),
    }
    log(
        "in-process cost per request (best of passes): "
        + ", ".join(
            f"{k} {v['cpu_us']:.0f} us CPU / {v['wall_us']:.0f} us wall" for k, v in cost.items()
        )
    )
    return cost
