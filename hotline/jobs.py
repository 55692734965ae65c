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


# Routing triggers (hotline/routing/engine.py) ---------------------------------------
def call_waiting(sid: str):
    """A call entered a waiting line (enqueued by the queue/IVR code)."""
    from .routing import engine

    return _summary(engine.call_waiting(current(), sid))


def agent_available(agent_id: str):
    from .routing import engine

    return _summary(engine.agent_available(current(), agent_id))


def overflow_due(sid: str, step: int):
    from .routing import engine

    return _summary(engine.overflow_due(current(), sid, step))


def reservation_due(sid: str):
    from .routing import engine

    return _summary(engine.reservation_due(current(), sid))


def shift_boundary():
    from .routing import engine

    return engine.shift_boundary(current())


def sweep():
    from .routing import engine

    rep = engine.sweep(current())
    return rep.as_dict() if rep is not None else None


def _summary(res):
    # Job results are stored by RQ: keep them plain.
    return None if res is None else {"call_sid": res.call_sid, "agent_id": res.agent_id, "skill": res.skill}
