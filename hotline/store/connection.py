"""The Redis connection: REDIS_URL when set, else the embedded server."""

from __future__ import annotations

import redis

from ..config import Settings
from .embedded import ensure_embedded


def redis_url(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    return ensure_embedded(settings.data_dir).url


def connect(settings: Settings, *, decode: bool = True, url: str | None = None) -> redis.Redis:
    """A client for our data (decode=True) or for RQ (decode=False: RQ stores bytes)."""
    return redis.Redis.from_url(
        url or redis_url(settings),
        decode_responses=decode,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=30,
    )
