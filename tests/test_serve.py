"""`hotline serve` supervises its children; the embedded Redis is restarted and shared
with care; `hotline redis` tells when its server dies. Real processes, real signals."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from procs import HOTLINE, wait_for

from hotline.store.embedded import EmbeddedRedis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> dict[int, str]:
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            st = (d / "stat").read_text()
            ppid = int(st.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                out[int(d.name)] = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return out


def child(pid: int, needle: str) -> int | None:
    return next((p for p, cmd in children_of(pid).items() if needle in cmd), None)


@pytest.fixture
def served(tmp_path):
    """`hotline serve` on an embedded Redis of its own, with one web worker and one RQ worker."""
    data = Path("/tmp") / f"hl-serve-{os.getpid()}-{time.monotonic_ns() % 100000}"
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOTLINE_", "REDIS_URL", "TWILIO_"))
    }
    env.update(
        {
            "HOTLINE_MODE": "test",
            "HOTLINE_DATA_DIR": str(data),
            "WEB_CONCURRENCY": "1",
            "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
    )
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [str(HOTLINE), "serve", "--port", str(port)],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            return requests.get(base + "/healthz", timeout=1).json().get("ok")
        except (requests.RequestException, ValueError):
            return False

    assert wait_for(healthy, 30), log.read_text()
    server = EmbeddedRedis(data)
    yield proc, base, healthy, server, env, log
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    subprocess.run(["pkill", "-9", "-f", str(data)], check=False)
    import shutil

    shutil.rmtree(data, ignore_errors=True)


@pytest.mark.slow
def test_serve_restarts_a_dead_worker_and_a_dead_web_process(served):
    proc, _base, healthy, _server, _env, log = served
    w = wait_for(lambda: child(proc.pid, "hotline.cli worker"), 10)
    os.kill(w, signal.SIGKILL)
    again = wait_for(lambda: (p := child(proc.pid, "hotline.cli worker")) and p != w and p, 10)
    assert again, log.read_text()
    assert proc.poll() is None and healthy()
    web = child(proc.pid, "gunicorn")
    os.kill(web, signal.SIGKILL)
    t0 = time.monotonic()
    assert wait_for(lambda: (p := child(proc.pid, "gunicorn")) and p != web and healthy(), 20), (
        log.read_text()
    )
    assert proc.poll() is None
    text = log.read_text()
    assert "worker 1" in text and "exited with code -9" in text and "restarted" in text
    assert time.monotonic() - t0 < 20


@pytest.mark.slow
def test_a_dead_embedded_redis_is_restarted_from_its_aof_within_2_s(served, report_figure):
    import redis

    proc, _base, healthy, server, _env, log = served
    r = redis.Redis(unix_socket_path=str(server.socket))
    r.set("hotline:before-the-crash", "kept")
    time.sleep(1.2)  # appendfsync everysec
    pid = int((server.data_dir / "redis.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    assert wait_for(server.ping, 5)
    back = time.monotonic() - t0
    assert back < 2.0, log.read_text()
    assert (
        redis.Redis(unix_socket_path=str(server.socket)).get("hotline:before-the-crash") == b"kept"
    )
    assert wait_for(healthy, 5)  # the web app reconnected by itself
    assert proc.poll() is None
    report_figure(
        f"hotline serve: embedded Redis SIGKILLed, restarted from its AOF and answering in {back:.2f} s"
    )


@pytest.mark.slow
def test_a_cli_command_during_a_redis_outage_is_quick_and_never_stops_the_servers_redis(served):
    _proc, _base, healthy, server, env, _log = served
    pid = int((server.data_dir / "redis.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    out = subprocess.run(
        [str(HOTLINE), "queue", "--json"], env=env, capture_output=True, text=True, timeout=30
    )
    took = time.monotonic() - t0
    assert took < 6.0, (took, out.stderr)
    assert server.ping(), "the CLI must not take down the Redis that serve restarted"
    time.sleep(0.5)
    assert server.ping() and healthy()
    if out.returncode == 0:
        json.loads(out.stdout.splitlines()[-1] if out.stdout.strip() else "[]")


@pytest.mark.slow
def test_serve_stops_only_on_a_signal_and_then_stops_everything(served):
    proc, _base, _healthy, server, _env, log = served
    kids = children_of(proc.pid)
    t0 = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, log.read_text()
    assert time.monotonic() - t0 < 10, "every child stops on SIGTERM (an idle worker at once)"
    assert "did not stop" not in log.read_text()
    assert not server.ping()
    for pid in kids:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
        )


@pytest.mark.slow
def test_the_data_dir_and_the_aof_are_private(served):
    _proc, _base, _healthy, server, _env, _log = served
    d = server.data_dir
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for f in d.iterdir():
        if f.is_file() and f.suffix != ".sock":
            mode = stat.S_IMODE(f.stat().st_mode)
            assert mode & 0o077 == 0, (f.name, oct(mode))


@pytest.mark.slow
def test_hotline_redis_exits_non_zero_when_its_server_dies(tmp_path):
    data = Path("/tmp") / f"hl-r-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "REDIS_URL"))}
    env.update({"HOTLINE_MODE": "test", "HOTLINE_DATA_DIR": str(data)})
    proc = subprocess.Popen([str(HOTLINE), "redis"], env=env, stderr=subprocess.PIPE, text=True)
    server = EmbeddedRedis(data)
    try:
        assert wait_for(server.ping, 10)
        os.kill(int((data / "redis.pid").read_text()), signal.SIGKILL)
        assert proc.wait(timeout=10) != 0
        assert "exited" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        import shutil

        shutil.rmtree(data, ignore_errors=True)


def test_a_socket_left_by_a_dead_server_reads_as_down_at_once(tmp_path):
    d = Path("/tmp") / f"hl-s-{os.getpid()}"
    d.mkdir(exist_ok=True)
    try:
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(d / "redis.sock"))  # a socket file nobody listens on
        s.close()
        t0 = time.monotonic()
        assert EmbeddedRedis(d).ping() is False
        assert time.monotonic() - t0 < 0.5
    finally:
        import shutil

        shutil.rmtree(d, ignore_errors=True)


def test_an_on_demand_redis_is_left_running_when_another_process_uses_it(tmp_path):
    import redis

    d = Path("/tmp") / f"hl-o-{os.getpid()}"
    server = EmbeddedRedis(d)
    try:
        assert server.ensure(on_demand=True)
        other = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import redis,time,sys; r=redis.Redis(unix_socket_path=sys.argv[1]);"
                "r.ping(); time.sleep(30)",
                str(server.socket),
            ]
        )
        assert wait_for(lambda: server.others_connected() > 0, 10)
        assert server.stop_if_alone() is False and server.ping()
        other.kill()
        other.wait()
        assert wait_for(lambda: server.others_connected() == 0, 5)
        assert server.stop_if_alone() is True and not server.ping()
    finally:
        if server.alive():
            server.stop()
        with contextlib.suppress(Exception):
            redis.Redis(unix_socket_path=str(server.socket)).shutdown()
        import shutil

        shutil.rmtree(d, ignore_errors=True)
