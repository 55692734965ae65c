"""Lua scripts, kept as files in store/lua/ and run with EVALSHA.

Every script opens with a comment block listing its KEYS and ARGV. Scripts take
`now` as an argument: they never read the Redis server's clock.

`scripts.enqueue(keys=[...], args=[...])` runs store/lua/enqueue.lua. Every IVR
webhook is one such call, so the call path is kept short: a connection is taken
from this object's own free list (made from the client's settings: same server,
timeouts, decoding and health check), EVALSHA is sent, the reply read and the
connection put back. Going through `redis.Redis.evalsha` instead would take and
return a redis-py pool connection and run its retry and metrics wrappers on every
call -- about 45 us of CPU per webhook on a small VM, a third of everything Redis
costs us there. The free list holds as many connections as calls ever ran at once
(a thread-per-request server must not open one per thread), and a forked child
(gunicorn worker, RQ work horse) starts a list of its own.
"""

from __future__ import annotations

import hashlib
import os
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
        self._free: list = []
        self._pid = os.getpid()

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
        conn = self._take()
        try:
            return self._evalsha(conn, script, ("EVALSHA", script.sha, len(keys), *keys, *args))
        finally:
            self._free.append(conn)  # list.append/pop are atomic: no lock on this path

    @staticmethod
    def _evalsha(conn, script: LuaScript, command: tuple):
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

    def _take(self):
        if self._pid != os.getpid():
            # A forked child: never write on the parent's sockets (dropping the list only
            # closes the child's copies; redis-py shuts a socket down in its own process only).
            self._free, self._pid = [], os.getpid()
        try:
            return self._free.pop()
        except IndexError:
            pool = self._client.connection_pool
            return pool.connection_class(**pool.connection_kwargs)

    def close(self) -> None:
        free, self._free = self._free, []
        for conn in free:
            try:
                conn.disconnect()
            except Exception:  # closing is best effort: the process is leaving
                pass
