"""A job for the timer tests' worker subprocesses: note when it ran (and who ran it)."""

from __future__ import annotations

import os
import time

import redis


def mark(url: str, key: str, tag: str = "") -> None:
    r = redis.Redis.from_url(url, decode_responses=True)
    try:
        r.rpush(key, f"{time.time()!r} {tag} {os.getpid()}")
    finally:
        r.close()


def hang_first(url: str, key: str, tag: str = "") -> None:
    """Hang for a minute the first time (the test kills that worker), then mark."""
    r = redis.Redis.from_url(url, decode_responses=True)
    try:
        if r.incr(f"{key}:attempts") == 1:
            time.sleep(60)
        r.rpush(key, f"{time.time()!r} {tag} {os.getpid()}")
    finally:
        r.close()
