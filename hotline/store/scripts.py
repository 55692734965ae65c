"""Lua scripts, kept as files in store/lua/ and registered once per client.

Every script opens with a comment block listing its KEYS and ARGV. Scripts take
`now` as an argument: they never read the Redis server's clock.
"""

from __future__ import annotations

from pathlib import Path

import redis

LUA_DIR = Path(__file__).parent / "lua"


class Scripts:
    """`scripts.enqueue(keys=[...], args=[...])` runs store/lua/enqueue.lua."""

    def __init__(self, client: redis.Redis):
        self._client = client
        self._loaded: dict[str, object] = {}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._loaded[name]
        except KeyError:
            path = LUA_DIR / f"{name}.lua"
            if not path.exists():
                raise AttributeError(f"no Lua script {path.name} in {LUA_DIR}") from None
            script = self._client.register_script(path.read_text())
            self._loaded[name] = script
            return script
