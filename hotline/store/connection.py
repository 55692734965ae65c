"""The Redis connection: REDIS_URL when set, else the embedded server."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..config import Settings
from .embedded import client_name, ensure_embedded


def redis_url(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    return ensure_embedded(settings.data_dir).url


def connect(settings: Settings, *, decode: bool = True, url: str | None = None) -> redis.Redis:
    """A client for our data (decode=True) or for RQ (decode=False: RQ stores bytes).

    No retries: redis-py's default (three, with backoff) made every command against a
    server that is down take 3.6 s -- a webhook held that long before its fallback
    TwiML, a CLI command 8 s. An idle connection the server closed is replaced when it
    is taken from the pool (redis-py checks it), so a restarted Redis costs nothing; a
    command whose reply is lost is not sent again (it may have run). The callers that
    must outlast an outage -- the worker loop, the timer pump -- retry on their own."""
    return redis.Redis.from_url(
        url or redis_url(settings),
        decode_responses=decode,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
        client_name=client_name(),  # tells this process's connections apart (embedded.stop_if_alone)
    )
