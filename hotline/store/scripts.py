"""Lua scripts, kept as files in store/lua/ and run with EVALSHA.

Every script opens with a comment block listing its KEYS and ARGV. Scripts take
`now` as an argument: they never read the Redis server's clock.

`scripts.enqueue(keys=[...], args=[...])` runs store/lua/enqueue.lua. Every IVR
webhook is one such call, so the call path is kept short: each thread runs its
scripts on a connection of its own (made from the client's settings: same server,
timeouts, decoding and health check), sends EVALSHA and reads the reply. Going
through `redis.Redis.evalsha` instead would take and return a pool connection and
run redis-py's retry and metrics wrappers on every call -- about 45 us of CPU per
webhook on a small VM, a third of everything Redis costs us there.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import redis
from redis.exceptions import NoScriptError

LUA_DIR = Path(__file__).parent / "lua"


class LuaScript:
    """One Lua file. Call it with `keys=` and `args=`; returns the script's reply."""

    __slots__ = ("name", "source", "sha", "_runner")

    def __init__(self, runner: Scripts, name: str, source: str):
        self.name, self.source, self._runner = name, source, runner
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()

    def __call__(self, keys=(), args=()):
        return self._runner.run(self, keys, args)

    def __repr__(self) -> str:
        return f"<LuaScript {self.name} {self.sha[:8]}>"


class Scripts:
    def __init__(self, client: redis.Redis):
        self._client = client
        self._loaded: dict[str, LuaScript] = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list = []

    def __getattr__(self, name: str) -> LuaScript:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._loaded[name]
        except KeyError:
            path = LUA_DIR / f"{name}.lua"
            if not path.exists():
                raise AttributeError(f"no Lua script {path.name} in {LUA_DIR}") from None
            script = self._loaded[name] = LuaScript(self, name, path.read_text())
            return script

    def run(self, script: LuaScript, keys, args):
        conn = self._connection()
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            conn.send_command(*command)
            return conn.read_response()
        except NoScriptError:
            # A server that never saw it, restarted, or had SCRIPT FLUSH: load, run again.
            conn.send_command("SCRIPT", "LOAD", script.source)
            conn.read_response()
        except redis.ConnectionError:
            # A connection the server closed while idle (restart, timeout): one fresh try.
            # The script did not run: the server only closes between commands.
            conn.disconnect()
        except BaseException:
            # Anything else (a timeout, an interrupt) may leave a reply unread on the
            # socket; the next command must not read it as its own.
            conn.disconnect()
            raise
        conn.send_command(*command)
        return conn.read_response()

    def _connection(self):
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            # New thread, or a forked child (gunicorn, RQ work horse): never share a socket.
            pool = self._client.connection_pool
            conn = pool.connection_class(**pool.connection_kwargs)
            local.conn, local.pid = conn, os.getpid()
            with self._lock:
                self._conns.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.disconnect()
            except Exception:  # closing is best effort: the process is leaving
                pass
        self._local = threading.local()
