"""Drills started from the console (/console/drills): each run in a child process of its
own, its record in Redis, one run at a time for the whole hotline.

A drill is seconds to minutes of CPU and a private Redis (sandbox.py, run.py). The console
is one gevent worker: a drill inside a request would stop every other page, the live
wallboard included. RQ would not do either: `hotline worker` runs the routing and the
agents' legs one job at a time, and every caller's offer would wait behind a drill. So
`start` writes the run's record and claim (drill_run_start.lua, with the `drill_started`
event), then spawns `python -m hotline.drill.runs RUN_ID` in a session of its own
(start_new_session: a console restart, a Ctrl-C on its terminal or a gunicorn worker
recycled does not reach it), at nice NICE so that calls keep the cores first, with a
private embedded Redis in a directory of its own under /tmp. The child plays the drill
(run.run on that server, one worker), renders the PNG (report.plot) and records the
result (drill_run_finish.lua); the record outlives both processes.

**Liveness.** The child renews a lease (`drill:lease`, a Redis key that expires LEASE_S
after its last renewal: real time, whatever the hotline's clock) every BEAT_S with its
progress (drill_run_beat.lua). A run whose lease ran out -- its process was killed with
SIGKILL, the machine restarted, it stalled -- is recorded as failed by the next reader
(`reap`, drill_run_reap.lua: every page, every progress poll, every start) and its
leftovers are cleaned up when they are on this machine: the child's process group and its
sandbox redis-server (which runs in a session of its own, store/embedded.py) are killed,
the sandbox directory removed. A child that learns it was given up on (its beat answers 0)
stops. A child stops itself after WALL_MAX_S (SIGALRM).

**Bounds.** One active run at a time (`drill:active`: a second start is refused, naming
the running one), at most HOURS_MAX simulated hours, REPLICATIONS_MAX replications and
SIM_HOURS_MAX hours × replications (about a minute of one core); the last KEEP runs kept.

**Keys** (this module owns them; named here while issue 12's pages are built in
parallel -- they belong in store/keys.py's list): `drill:runs` zset (run id -> created
at), `drill:run:{id}` hash (id, state queued|running|done|failed, progress 0..1, scenario,
source, hours, replications, by, created_at, started_at, beat_at, ended_at, error, pid,
host, sandbox, result: the run.run JSON zlib-compressed and base64, plot: the PNG in
base64), `drill:active` string (the unfinished run's id), `drill:lease` string (the same
id, with its expiry).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pickle
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

import yaml

from ..errors import ConfigError, HotlineError, RosterInvalid
from .scenario import HERE, Scenario, ScenarioInvalid, parse, shipped

if TYPE_CHECKING:
    from ..clock import Clock
    from ..services import Services

KEEP = 12  # past runs kept (a run's record with its plot is ~150 KB)
HOURS_MAX = 168.0  # a week of simulated time
REPLICATIONS_MAX = 20
SIM_HOURS_MAX = 240.0  # hours x replications: 10 days, about a minute of one core
UPLOAD_MAX_BYTES = 64 * 1024  # the shipped scenarios are 2-3 KB
LEASE_S = 10.0  # a run whose process was silent this long is failed
STARTUP_LEASE_S = 60.0  # from the start to the child's first beat (Python's start, loaded)
BEAT_S = 1.0
WALL_MAX_S = 1800  # the child stops itself then
NICE = 10  # the webhooks and the routing workers first
SANDBOX_PREFIX = "hl-drill-run-"
RUN_ID = re.compile(r"^[0-9a-f]{16}$")
ACTIVE_STATES = ("queued", "running")

_children: list[subprocess.Popen] = []  # this process's children, for wait_children()


class RunKeys:
    def __init__(self, prefix: str):
        self.p = prefix

    @property
    def runs(self) -> str:
        return self.p + "drill:runs"

    @property
    def active(self) -> str:
        return self.p + "drill:active"

    @property
    def lease(self) -> str:
        return self.p + "drill:lease"

    def run(self, run_id: str) -> str:
        return f"{self.p}drill:run:{run_id}"


def keys(svc: Services) -> RunKeys:
    return RunKeys(svc.keys.prefix)


# --- what a start needs -----------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One reason a start was refused, for the field it belongs beside: `code` names the
    sentence (the console's `drills_err_<code>`), `params` fill it in."""

    code: str
    params: dict = field(default_factory=dict)


class DrillInvalid(HotlineError):
    """A start refused before anything ran: `issues` by form field (scenario, file,
    hours, replications)."""

    def __init__(self, issues: dict[str, list[Issue]]):
        self.issues = issues
        super().__init__(
            "; ".join(f"{k}: {i.code} {i.params}" for k, v in issues.items() for i in v)
        )


class DrillBusy(HotlineError):
    """A run is under way (one at a time): `run_id` is that run's."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        super().__init__(f"drill {run_id} is running; one drill at a time")


@dataclass(frozen=True)
class Request:
    """A validated start: the scenario's text (parsed again by the child), its roster's."""

    name: str
    source: str  # the shipped file's name, or "upload:" + the browser's file name
    text: str
    filename: str
    roster: str
    hours: float
    replications: int


@dataclass(frozen=True)
class ShippedScenario:
    file: str
    name: str
    hours: float
    description: str


def shipped_scenarios() -> list[ShippedScenario]:
    return [_shipped(p.name, p.stat().st_mtime) for p in shipped()]


@lru_cache(maxsize=16)
def _shipped(name: str, mtime: float) -> ShippedScenario:
    sc = parse((HERE / name).read_text(encoding="utf-8"), name, base=HERE)
    return ShippedScenario(name, sc.name, sc.hours, sc.description)


def upload_name(browser_name: str | None) -> str:
    """Only a label: the browser's file name without any folder."""
    name = PureWindowsPath(PurePosixPath(browser_name or "").name).name[:100]
    return name or "scenario.yaml"


def prepare(
    svc: Services,
    *,
    shipped_file: str | None = None,
    upload: tuple[str, bytes] | None = None,
    hours: str = "",
    replications: str = "1",
) -> Request:
    """Validate a start whole (every problem at once, nothing started): the scenario (a
    shipped file by name, or an upload: size, UTF-8, the loader's line and reason for each
    problem, its roster, its policies), the hours and the replications and their product."""
    issues: dict[str, list[Issue]] = {}

    def add(where: str, code: str, **params) -> None:
        issues.setdefault(where, []).append(Issue(code, params))

    h = _number(hours, float) if hours.strip() else None
    if hours.strip() and (h is None or not 0 < h <= HOURS_MAX):
        add("hours", "hours", max=f"{HOURS_MAX:g}")
        h = None
    r = _number(replications or "1", int)
    if r is None or not 1 <= r <= REPLICATIONS_MAX:
        add("replications", "replications", max=REPLICATIONS_MAX)
        r = None

    text = filename = source = None
    where = "file" if upload is not None else "scenario"
    if upload is not None:
        filename = upload_name(upload[0])
        data = upload[1]
        if len(data) > UPLOAD_MAX_BYTES:
            add("file", "too_big", kb=UPLOAD_MAX_BYTES // 1024)
        else:
            try:
                text = data.decode("utf-8-sig")
                source = "upload:" + filename
            except UnicodeDecodeError:
                add("file", "not_utf8")
    elif shipped_file in {p.name for p in shipped()}:
        text, filename, source = (
            (HERE / shipped_file).read_text(encoding="utf-8"),
            shipped_file,
            shipped_file,
        )
    else:
        add("scenario", "unknown_scenario")

    scenario = roster = None
    # An upload may name no file of this server but the shipped roster: said before the
    # loader looks for it, so that whether some other file exists is never told either.
    elsewhere = upload is not None and text is not None and _roster_elsewhere(text)
    if elsewhere:
        add(where, "roster_elsewhere")
    if text is not None:
        try:
            scenario = parse(text, filename, base=HERE)
        except ScenarioInvalid as e:
            for p in e.problems:
                if not (elsewhere and p.reason.startswith("roster")):
                    _problem(add, where, p)
    if scenario is not None and not elsewhere:
        roster = _roster(svc, scenario, where, add, uploaded=upload is not None)
        _policies(scenario, where, add)
    if scenario is not None and h is None and "hours" not in issues:
        h = scenario.hours
        if h > HOURS_MAX:
            add("hours", "hours", max=f"{HOURS_MAX:g}")
            h = None
    if h is not None and r is not None and h * r > SIM_HOURS_MAX:
        add("replications", "too_long", max=f"{SIM_HOURS_MAX:g}", asked=f"{h * r:g}")
    if issues:
        raise DrillInvalid(issues)
    return Request(scenario.name, source, text, filename, roster, h, r)


def _number(text: str, kind):
    try:
        v = kind(text.strip().replace(",", ".")) if kind is float else kind(text.strip())
    except ValueError:
        return None
    return v if v == v and v not in (float("inf"), float("-inf")) else None  # no NaN, no inf


def _problem(add, where: str, p) -> None:
    if p.line:
        add(where, "problem", file=p.file, line=p.line, reason=p.reason)
    else:
        add(where, "problem_noline", file=p.file, reason=p.reason)


def _roster_elsewhere(text: str) -> bool:
    """The document's `roster` is a file outside the shipped scenarios' folder."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return False  # the loader says why, with its line
    v = doc.get("roster") if isinstance(doc, dict) else None
    return (
        isinstance(v, str)
        and v != "stored"
        and not (HERE / v).resolve().is_relative_to(HERE.resolve())
    )


def _roster(svc: Services, scenario: Scenario, where: str, add, *, uploaded: bool) -> str | None:
    """The roster's text, read now: the stored one, or a file beside the shipped scenarios.
    An upload may not name any other file of this machine (it would be read and quoted)."""
    from ..roster import load_text

    if scenario.roster == "stored":
        if svc.roster.load() is None:
            add(where, "no_roster")
            return None
        return svc.roster.export()
    path = Path(scenario.roster).resolve()
    if uploaded and not path.is_relative_to(HERE.resolve()):
        add(where, "roster_elsewhere")
        return None
    text = path.read_text(encoding="utf-8")
    try:
        load_text(text, path.name)
    except RosterInvalid as e:
        for p in e.problems:
            _problem(add, where, p)
        return None
    return text


def _policies(scenario: Scenario, where: str, add) -> None:
    """The scenario's own wrap-up and overflow, checked as the drill will load them."""
    from .sim import policy_files

    with tempfile.TemporaryDirectory(prefix="hl-drill-check-") as d:
        try:
            policy_files(scenario, Path(d))
        except ConfigError as e:
            add(where, "problem_noline", file=scenario.source, reason=str(e).replace(d + "/", ""))


# --- the record ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    id: str
    state: str
    progress: float
    scenario: str
    source: str
    hours: float
    replications: int
    by: str
    created_at: float
    started_at: float | None
    ended_at: float | None
    error: str
    pid: int | None
    host: str
    sandbox: str
    has_result: bool
    has_plot: bool

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def uploaded(self) -> bool:
        return self.source.startswith("upload:")


LIGHT = (
    *("id", "state", "progress", "scenario", "source", "hours", "replications", "by"),
    *("created_at", "started_at", "ended_at", "error", "pid", "host", "sandbox"),
)


def _run(values: list, has_result: bool, has_plot: bool) -> Run | None:
    d = dict(zip(LIGHT, values, strict=True))
    if not d["id"]:
        return None

    def num(k, kind=float):
        return kind(float(d[k])) if d.get(k) not in (None, "") else None

    return Run(
        id=d["id"],
        state=d["state"] or "failed",
        progress=num("progress") or 0.0,
        scenario=d["scenario"] or "",
        source=d["source"] or "",
        hours=num("hours") or 0.0,
        replications=num("replications", int) or 0,
        by=d["by"] or "",
        created_at=num("created_at") or 0.0,
        started_at=num("started_at"),
        ended_at=num("ended_at"),
        error=d["error"] or "",
        pid=num("pid", int),
        host=d["host"] or "",
        sandbox=d["sandbox"] or "",
        has_result=has_result,
        has_plot=has_plot,
    )


def get(svc: Services, run_id: str) -> Run | None:
    if not RUN_ID.match(run_id or ""):
        return None
    k = keys(svc).run(run_id)
    p = svc.redis.pipeline(transaction=False)
    p.hmget(k, LIGHT)
    p.hstrlen(k, "result")
    p.hstrlen(k, "plot")
    values, result_len, plot_len = p.execute()
    return _run(values, result_len > 0, plot_len > 0)


def list_runs(svc: Services) -> list[Run]:
    """The runs kept, newest first (without their results)."""
    k = keys(svc)
    ids = svc.redis.zrevrange(k.runs, 0, KEEP - 1)
    p = svc.redis.pipeline(transaction=False)
    for i in ids:
        p.hmget(k.run(i), LIGHT)
        p.hstrlen(k.run(i), "result")
        p.hstrlen(k.run(i), "plot")
    out = p.execute()
    runs = (_run(out[j], out[j + 1] > 0, out[j + 2] > 0) for j in range(0, len(out), 3))
    return [r for r in runs if r is not None]


def active(svc: Services) -> Run | None:
    run_id = svc.redis.get(keys(svc).active)
    return get(svc, run_id) if run_id else None


def result(svc: Services, run_id: str) -> dict | None:
    """The figures of a finished run (run.run's JSON), or None."""
    if not RUN_ID.match(run_id or ""):
        return None
    doc = svc.redis.hget(keys(svc).run(run_id), "result")
    return json.loads(zlib.decompress(base64.b64decode(doc))) if doc else None


def plot(svc: Services, run_id: str) -> bytes | None:
    if not RUN_ID.match(run_id or ""):
        return None
    doc = svc.redis.hget(keys(svc).run(run_id), "plot")
    return base64.b64decode(doc) if doc else None


# --- start, reap ---------------------------------------------------------------------


def start(svc: Services, req: Request, by: str, *, lease_s: float = LEASE_S) -> str:
    """Record the run, claim the one drill slot, log `drill_started` (one script) and spawn
    the child. DrillBusy while another run is alive; a dead one is reaped first."""
    k = keys(svc)
    run_id = secrets.token_hex(8)
    for _ in range(2):
        status, other = svc.scripts.drill_run_start(
            keys=[k.runs, k.active, k.lease, k.run(run_id), svc.keys.events],
            args=[
                repr(svc.clock.now()),
                run_id,
                int(STARTUP_LEASE_S * 1000),
                by,
                req.name,
                req.source,
                repr(req.hours),
                req.replications,
            ],
        )
        if int(status) == 1:
            break
        if int(status) == 0 or not reap(svc):
            raise DrillBusy(other)
    else:
        raise DrillBusy(other)
    _trim(svc)
    try:
        _spawn(svc, run_id, req, lease_s)
    except OSError as e:
        _finish(svc, run_id, "failed", error=f"the drill process could not start: {e}")
    return run_id


def reap(svc: Services) -> str | None:
    """If the active run's process stopped beating: record it failed, free the slot, kill
    what it left on this machine. The reaped run's id, else None."""
    k = keys(svc)
    p = svc.redis.pipeline(transaction=False)
    p.get(k.active)
    p.exists(k.lease)
    run_id, alive = p.execute()
    if not run_id or alive:
        return None
    run = get(svc, run_id)
    reason = "the drill process stopped without finishing (killed, or the machine restarted)"
    if run is not None and run.state == "queued":
        reason = "the drill process never started"
    done = svc.scripts.drill_run_reap(
        keys=[k.active, k.lease, k.run(run_id), svc.keys.events],
        args=[run_id, repr(svc.clock.now()), reason],
    )
    if int(done) and run is not None:
        cleanup(run)
    return run_id if int(done) else None


def cleanup(run: Run) -> None:
    """Kill a failed run's process group and its sandbox redis-server, remove the sandbox,
    when they are on this machine; each checked to be the run's before it is touched."""
    if run.host != socket.gethostname():
        return
    if run.pid and _cmdline_has(run.pid, b"hotline.drill.runs", run.id.encode()):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)  # its own session: the group is the run's
    sandbox = Path(run.sandbox) if run.sandbox else None
    if (
        sandbox is None
        or sandbox.parent != Path("/tmp")
        or not sandbox.name.startswith(SANDBOX_PREFIX)
    ):
        return
    try:
        pid = int((sandbox / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        pid = None
    if pid and _cmdline_has(pid, b"redis-server", str(sandbox).encode()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(sandbox, ignore_errors=True)


def _cmdline_has(pid: int, *words: bytes) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return all(w in cmd for w in words)


def _trim(svc: Services) -> None:
    k = keys(svc)
    old = svc.redis.zrevrange(k.runs, KEEP, -1)
    if old:
        svc.scripts.drill_run_trim(
            keys=[k.runs, k.active, *[k.run(i) for i in old]], args=[KEEP, *old]
        )


def _finish(svc: Services, run_id: str, state: str, *, error: str = "", out=None, png=None) -> bool:
    k = keys(svc)
    doc = base64.b64encode(zlib.compress(json.dumps(out).encode(), 6)).decode() if out else ""
    return bool(
        svc.scripts.drill_run_finish(
            keys=[k.active, k.lease, k.run(run_id), svc.keys.events],
            args=[
                run_id,
                repr(svc.clock.now()),
                state,
                error[:500],
                doc,
                base64.b64encode(png).decode() if png else "",
            ],
        )
    )


def _beat(svc: Services, run_id: str, lease_s: float, progress: float, **fields) -> bool:
    k = keys(svc)
    extra = [x for kv in fields.items() for x in kv]
    return bool(
        svc.scripts.drill_run_beat(
            keys=[k.active, k.lease, k.run(run_id)],
            args=[run_id, int(lease_s * 1000), f"{progress:.4f}", repr(svc.clock.now()), *extra],
        )
    )


# --- the child process --------------------------------------------------------------


def child_clock(clock: Clock) -> str:
    """The clock the child reads, as a spec: the console's own; a ManualClock (tests)
    stands still in the console, so the child's goes on from it at the real pace."""
    spec = clock.spec()
    if spec.startswith("manual:"):
        return f"scaled:{time.time()!r}:{clock.now()!r}:1.0"
    return spec


def _spawn(svc: Services, run_id: str, req: Request, lease_s: float) -> None:
    # The settings go over stdin (they hold secrets: not in argv or the environment).
    payload = pickle.dumps(
        {
            "settings": svc.settings,
            "clock": child_clock(svc.clock),
            "request": req,
            "lease_s": lease_s,
        }
    )
    root = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotline.drill.runs", run_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        close_fds=True,
        start_new_session=True,  # not ended with the console, nor by its terminal's Ctrl-C
    )
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except OSError:
        proc.kill()
        proc.wait()
        raise
    _children[:] = [c for c in _children if c.poll() is None] + [proc]
    # Reap it when it ends (under gevent, a greenlet: Popen.wait is cooperative there).
    threading.Thread(target=proc.wait, name="drill-child", daemon=True).start()


def wait_children(timeout: float = 120.0) -> None:
    """Wait for the children this process started (tests: none outlives its test)."""
    deadline = time.monotonic() + timeout
    for c in list(_children):
        try:
            c.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(c.pid, signal.SIGKILL)
            c.wait()
    _children.clear()


class Stopped(BaseException):
    """The child was told to stop (SIGTERM, its time is up, or it was given up on)."""


def _stop(signum, frame):
    reason = {
        signal.SIGALRM: f"the drill ran longer than {WALL_MAX_S // 60} minutes",
        signal.SIGUSR1: "the drill process was given up on (silent longer than its lease)",
    }.get(signum, "the drill process was stopped")
    raise Stopped(reason)


def child(svc: Services, run_id: str, req: Request, lease_s: float) -> int:
    import redis

    from ..store.embedded import EmbeddedRedis
    from . import report
    from .run import run as play

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGUSR1):
        signal.signal(s, _stop)
    signal.alarm(WALL_MAX_S)
    total = req.hours * 3600.0 * req.replications
    done = [0.0]
    sandbox = Path(tempfile.mkdtemp(prefix=SANDBOX_PREFIX, dir="/tmp"))
    # Every temporary file of the drill (run.py's policy files) inside the sandbox: a
    # killed child leaves one directory, which `cleanup` removes.
    tempfile.tempdir = str(sandbox)
    server = EmbeddedRedis(sandbox)
    quit_beating = threading.Event()
    beater = None
    try:
        first = _beat(
            svc,
            run_id,
            lease_s,
            0.0,
            pid=os.getpid(),
            host=socket.gethostname(),
            sandbox=str(sandbox),
        )
        if not first:
            return 1

        def beat():
            while not quit_beating.wait(BEAT_S):
                if not _beat(svc, run_id, lease_s, min(0.99, done[0] / total)):
                    os.kill(os.getpid(), signal.SIGUSR1)
                    return

        beater = threading.Thread(target=beat, name="drill-beat", daemon=True)
        beater.start()
        server.ensure()
        client = redis.Redis.from_url(server.url)
        try:
            client.config_set("appendonly", "no")  # nothing of a drill outlives it
        finally:
            client.close()
        scenario = parse(req.text, req.filename, base=HERE)

        def advance(seconds: float) -> None:
            done[0] += seconds

        out = play(
            scenario,
            hours=req.hours,
            replications=req.replications,
            redis_url=server.url,
            progress=advance,
            roster=req.roster,
        )
        png_path = sandbox / "plot.png"
        report.plot(out, png_path)
        quit_beating.set()
        beater.join()
        _finish(svc, run_id, "done", out=out, png=png_path.read_bytes())
        return 0
    except Stopped as e:
        quit_beating.set()
        _finish(svc, run_id, "failed", error=str(e))
        return 1
    except Exception as e:  # recorded on the run, for the manager who started it
        quit_beating.set()
        _finish(svc, run_id, "failed", error=f"{type(e).__name__}: {e}")
        raise
    finally:
        signal.alarm(0)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            signal.signal(s, signal.SIG_IGN)  # the clean-up below runs to its end
        quit_beating.set()
        server.stop()
        shutil.rmtree(sandbox, ignore_errors=True)


def main() -> int:
    from ..clock import clock_from_spec
    from ..services import Services

    run_id = sys.argv[1]
    job = pickle.load(sys.stdin.buffer)
    os.nice(NICE)
    svc = Services(job["settings"], clock=clock_from_spec(job["clock"]))
    try:
        return child(svc, run_id, job["request"], job["lease_s"])
    finally:
        svc.close()


if __name__ == "__main__":
    sys.exit(main())
