"""RQ entry points: thin functions that build the process's Services once and call the domain.

Jobs are enqueued by dotted path (`"hotline.jobs.route_call"`), so nothing here
builds an app at import time. Exceptions propagate to RQ's failed registry.
"""

from __future__ import annotations

from functools import lru_cache

from .services import Services


@lru_cache(maxsize=1)
def services() -> Services:
    return Services.from_env()


def use_services(svc: Services | None) -> None:
    """Tests and the in-process demo hand their own Services to the jobs."""
    services.cache_clear()
    if svc is not None:
        _override[0] = svc


_override: list[Services | None] = [None]


def current() -> Services:
    return _override[0] or services()
