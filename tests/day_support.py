"""Calls through the real domain for the wallboard, call-card and disposition tests: the
queue, the matcher, the reservation, the conference join and the end, on the manual clock,
with the store's own functions (what the webhooks and jobs call)."""

from __future__ import annotations

from routing_support import load_agents, make_available, spec

from hotline.legs import conversation
from hotline.routing import reservations

TEAM = (
    spec("ana", {"connection": 3, "general": 2}),
    spec("ben", {"software": 3, "general": 2}),
    spec("cleo", {"error_message": 3}),
)


def team(svc, *agents, available=True):
    agents = agents or TEAM
    ids = tuple(a.id for a in agents)
    load_agents(svc, agents, on_shift=ids)
    if available:
        make_available(svc, *ids)
    return ids


def arrive(svc, sid, number="+33612345678", lang="fr"):
    svc.calls.arrive(sid, number, "+33100000000", lang)


def queue(svc, sid, skill="connection", number="+33612345678", lang="fr"):
    """A caller through the IVR (classified by key) into the line of `skill`."""
    arrive(svc, sid, number, lang)
    svc.calls.step(
        sid,
        {"category": skill, "skill": skill, "classified_by": "dtmf", "state": "selfhelp"},
        [
            {
                "type": "classified",
                "category": skill,
                "skill": skill,
                "method": "dtmf",
                "digit": "1",
            },
            {"type": "selfhelp_offered", "category": skill},
        ],
    )
    res = svc.waiting.enqueue(sid, skill, category=skill)
    assert res.status == "enqueued", res


def offer(svc, sid):
    """The matcher offers the call to the best available agent: that agent's id."""
    res = svc.matcher.match_call(sid, schedule_expiry=False)
    assert res is not None, f"nobody could be offered {sid}"
    return res.agent_id


def answer(svc, sid, agent):
    assert reservations.accept(svc, sid, agent) == "accepted"
    assert conversation.join(svc, sid, "LG" + sid[2:], who="caller")


def hang_up(svc, sid, agent):
    return conversation.end(svc, sid, agent, ended_via="agent_leg")


def answered_call(
    svc, clock, sid, *, skill="connection", wait=20.0, talk=100.0, number="+33612345678"
):
    """Queued, offered after `wait` s, answered, ended after `talk` s: the agent is in wrap-up."""
    queue(svc, sid, skill, number)
    clock.advance(wait)
    agent = offer(svc, sid)
    answer(svc, sid, agent)
    clock.advance(talk)
    assert hang_up(svc, sid, agent) == "completed"
    return agent
