"""RQ entry points: thin functions that build the process's Services once and call the domain.

Jobs are enqueued by dotted path (the names are in job_names.py), so nothing here
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
    _override[0] = svc


_override: list[Services | None] = [None]


def current() -> Services:
    return _override[0] or services()


# Routing triggers (hotline/routing/engine.py) ---------------------------------------
def call_waiting(sid: str):
    """A call entered a waiting line (enqueued by the queue/IVR code)."""
    from .routing import engine

    svc = current()
    engine.ensure_timers(svc)
    return _summary(engine.call_waiting(svc, sid))


def agent_available(agent_id: str):
    from .routing import engine

    svc = current()
    engine.ensure_timers(svc)
    return _summary(engine.agent_available(svc, agent_id))


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
    """The periodic repair sweep (hotline/sweep.py)."""
    from . import sweep as sweeping

    return sweeping.run(current())


def archive():
    """The daily archive run (hotline/archive/daily.py): its chain, then the mover."""
    from .archive import daily

    return daily.job(current())


def archive_more():
    """An archive run that stopped with work left, continued (hotline/archive/daily.py)."""
    from .archive import daily

    return daily.more(current())


def reconcile(sid: str):
    """Ask the carrier about a call the store believes live (hotline/reconcile.py)."""
    from . import reconcile as rec
    from .legs.common import job_context

    return rec.call(current(), sid, last_attempt=job_context()[1])


def _summary(res):
    # Job results are stored by RQ: keep them plain.
    return (
        None
        if res is None
        else {"call_sid": res.call_sid, "agent_id": res.agent_id, "skill": res.skill}
    )


# Agent and callback legs (hotline/legs/, hotline/legs/callbacks.py) ---------------
# Jobs that call the carrier are enqueued with rq.Retry (legs/common.py): a transient
# error is raised for RQ to retry; on the last attempt it is handled (offer released...).
def offer(sid: str, agent_id: str):
    """Ring the agent the matcher reserved for `sid`."""
    from .legs import offers
    from .legs.common import job_context

    token, last = job_context()
    return offers.place(current(), sid, agent_id, token=token, last_attempt=last)


def bridge(sid: str):
    """Move the caller out of its Twilio queue into the agent's conference."""
    from .legs import conversation
    from .legs.common import job_context

    return conversation.bridge(current(), sid, last_attempt=job_context()[1])


def agent_notice(sid: str, agent_id: str, what: str):
    """Tell the agent on the line something (caller_gone, customer_no_answer), then hang up."""
    from .legs import conversation

    conversation.notify_agent(current(), sid, agent_id, what)


def rematch(sid: str):
    """A call went back to its place (missed offer, callback retry): offer it again."""
    from .routing import overflow

    svc = current()
    overflow.apply_due(svc, sid)
    return _summary(svc.matcher.match_call(sid))


def wrapup_done(agent_id: str, sid: str | None = None):
    from .legs import wrapup

    return wrapup.done(current(), agent_id, sid, via="timer")


def callback_dial(sid: str):
    from .legs import callbacks
    from .legs.common import job_context

    return callbacks.dial(current(), sid, last_attempt=job_context()[1])


def callback_cancel(leg_sid: str):
    """Stop the customer's phone ringing when the agent hung up first."""
    from .legs.common import cancel_leg

    return cancel_leg(current(), leg_sid)


def callback_retry(sid: str):
    from .legs import callbacks

    return callbacks.retry(current(), sid)


def caller_ended(sid: str):
    """The caller's leg of a bridged call ended (for the voice status webhook to enqueue)."""
    from .legs import conversation

    return conversation.caller_leg_ended(current(), sid)
