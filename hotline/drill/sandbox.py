"""Where a drill runs: a private embedded redis-server of its own, never a live hotline's.

The server (store/embedded.py's EmbeddedRedis, the one the tests use) lives in a fresh
temporary directory and is stopped and removed when the drill ends. Append-only
persistence is switched off: nothing of a drill needs to outlive it, and fsyncs would
cost the simulation time. Each replication runs in database 0, flushed before it starts.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import redis

from ..store.embedded import EmbeddedRedis


@contextmanager
def private_redis(url: str | None = None):
    """Yield a decoded client on a private server (or on `url`, e.g. the tests' server,
    whose database the caller hands over to be flushed)."""
    if url:
        client = redis.Redis.from_url(url, decode_responses=True)
        try:
            yield client
        finally:
            client.close()
        return
    d = Path(tempfile.mkdtemp(prefix="hl-drill-", dir="/tmp"))
    server = EmbeddedRedis(d)
    try:
        server.ensure()
        client = redis.Redis.from_url(server.url, decode_responses=True)
        try:
            client.config_set("appendonly", "no")
            yield client
        finally:
            client.close()
    finally:
        server.stop()
        shutil.rmtree(d, ignore_errors=True)
