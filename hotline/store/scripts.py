"""Lua scripts, kept as files in store/lua/ and run with EVALSHA.

Every script opens with a comment block listing its KEYS and ARGV. Scripts take
`now` as an argument: they never read the Redis server's clock.

`scripts.enqueue(keys=[...], args=[...])` runs store/lua/enqueue.lua. Every IVR
webhook is one such call, so the call path is kept short: a connection is taken
from this object's own free list (made from the client's settings: same server,
timeouts, decoding and health check), EVALSHA is sent, the reply read and the
connection put back. A send that fails is tried once more on a fresh connection (Redis
runs nothing it did not wholly receive); a reply lost after the send is not: the
script may have run, so the error goes to the caller (a webhook's fallback TwiML, a
job's failure), and the step it attempted is repaired by the sweep if it mattered.
Going through `redis.Redis.evalsha` instead would take and
return a redis-py pool connection and run its retry and metrics wrappers on every
call -- about 45 us of CPU per webhook on a small VM, a third of everything Redis
costs us there. The free list holds as many connections as calls ever ran at once
(a thread-per-request server must not open one per thread), and a forked child
(gunicorn worker, RQ work horse) starts a list of its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import redis
from redis.exceptions import NoScriptError

LUA_DIR = Path(__file__).parent / "lua"


def source(name: str, families: dict[str, str] | None = None) -> str:
    """The text of store/lua/NAME.lua, with the libraries its first lines ask for
    (`--! use pools` prepends lib/pools.lua): one definition of shared Lua logic.

    `--! use families` prepends `local F = {waiting = '<prefix>waiting:', ...}` made from
    `families` (Keys.families): a script builds its data-dependent key names from F, the
    names stay made in store/keys.py, and no call sends or parses them (the match scripts
    are the whole cost of an assignment). The script's text, hence its SHA, depends on the
    key prefix."""
    text = (LUA_DIR / f"{name}.lua").read_text()
    libs = []
    for line in text.splitlines():
        if not line.startswith("--! use "):
            break
        for lib in line[8:].split():
            if lib == "families":
                if families is None:
                    raise ValueError(
                        f"{name}.lua uses the key families: Scripts needs Keys.families"
                    )
                libs.append(families_preamble(families))
            else:
                libs.append((LUA_DIR / "lib" / f"{lib}.lua").read_text())
    return "".join(libs) + text


def lua_string(text: str) -> str:
    """A Lua string literal for any text: every byte but letters, digits and a few safe
    characters as a decimal escape, so a prefix can never end the literal or the line."""
    safe = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-.{}")
    return "'" + "".join(chr(b) if b in safe else "\\%d" % b for b in text.encode()) + "'"


def families_preamble(families: dict[str, str]) -> str:
    fields = ", ".join(f"{name} = {lua_string(prefix)}" for name, prefix in families.items())
    return (
        "-- the key families, written in by store/scripts.py from store/keys.py (Keys.families)\n"
        f"local F = {{{fields}}}\n"
    )


class LuaScript:
    """One Lua file. Call it with `keys=` and `args=`; returns the script's reply."""

    __slots__ = ("_runner", "name", "sha", "source")

    def __init__(self, runner: Scripts, name: str, source: str):
        self.name, self.source, self._runner = name, source, runner
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()

    def __call__(self, keys=(), args=()):
        return self._runner.run(self, keys, args)

    def __repr__(self) -> str:
        return f"<LuaScript {self.name} {self.sha[:8]}>"


class Scripts:
    def __init__(self, client: redis.Redis, families: dict[str, str] | None = None):
        self._client = client
        self._families = families
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
            script = self._loaded[name] = LuaScript(self, name, source(name, self._families))
            return script

    def run(self, script: LuaScript, keys, args):
        conn = self._take()
        try:
            return self._evalsha(conn, script, ("EVALSHA", script.sha, len(keys), *keys, *args))
        finally:
            self._free.append(conn)  # list.append/pop are atomic: no lock on this path

    @classmethod
    def _evalsha(cls, conn, script: LuaScript, command: tuple):
        cls._send(conn, command)
        try:
            return cls._read(conn)
        except NoScriptError:
            # A server that never saw it, restarted, or had SCRIPT FLUSH: nothing ran. Load, run.
            cls._send(conn, ("SCRIPT", "LOAD", script.source))
            cls._read(conn)
        cls._send(conn, command)
        return cls._read(conn)

    @staticmethod
    def _send(conn, command: tuple) -> None:
        """Send, with one fresh try if the send itself failed: Redis runs nothing it did
        not wholly receive. A reply lost *after* sending is never retried (`_read`): the
        script may have run, and a second run would apply its step twice."""
        try:
            conn.send_command(*command)
        except redis.ConnectionError:
            conn.disconnect()
            conn.send_command(*command)

    @staticmethod
    def _read(conn):
        try:
            return conn.read_response()
        except redis.ResponseError:
            raise  # a whole reply: the connection is still in step
        except BaseException:
            # A lost connection, a timeout, an interrupt: a reply may be left unread on the
            # socket, and the next command must not read it as its own.
            conn.disconnect()
            raise

    def _take(self):
        if self._pid != os.getpid():
            # A forked child: never write on the parent's sockets (dropping the list only
            # closes the child's copies; redis-py shuts a socket down in its own process only).
            self._free, self._pid = [], os.getpid()
        try:
            conn = self._free.pop()
        except IndexError:
            pool = self._client.connection_pool
            return pool.connection_class(**pool.connection_kwargs)
        try:
            # An idle connection the server closed (restart, timeout) reads as readable
            # (EOF): start it afresh rather than send on it and lose the reply.
            if conn.can_read(0):
                conn.disconnect()
        except (redis.ConnectionError, OSError):
            conn.disconnect()
        return conn

    def close(self) -> None:
        free, self._free = self._free, []
        for conn in free:
            with contextlib.suppress(Exception):  # closing is best effort: the process is leaving
                conn.disconnect()
