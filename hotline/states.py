"""The vocabulary every layer shares: call states, skills, and what the carrier's statuses mean.

A neutral module, so that the queue, the legs and routing name the states without
importing the IVR (which decides how a call moves through them: ivr/flow.py). The
states of a call (the `state` field of `call:{sid}`, queue/calls.py):

    ivr ──(category chosen, tip played)──> selfhelp ──(pressed 1)──> resolved        [final]
     │                                        └──(anything else)──> waiting
     ├──(hung up before the queue)──> left_ivr                                        [final]
    waiting ──(hung up)──> abandoned                                                 [final]
    waiting ──> reserved ──> bridged ──> completed                                   [final]
    reserved ──(offer missed/expired)──> waiting ; bridged ──(agent left first)──> waiting
    ivr/selfhelp/waiting ──(voicemail, callback key)──> callback_requested ──> reserved ...
    any non-final ──(cannot be served)──> failed                                      [final]
"""

from __future__ import annotations

FINAL_STATES = frozenset({"resolved", "abandoned", "failed", "completed", "left_ivr"})
IN_IVR = ("ivr", "selfhelp")
WAITING = ("waiting", "reserved")
# A voicemail or an accepted callback: routed like a waiting call, the caller gone.
CALLBACK = "callback_requested"

# Categories map one to one onto skills today; kept as a table so that they may diverge.
SKILL_OF = {
    "connection": "connection",
    "software": "software",
    "error_message": "error_message",
    "general": "general",
}
SKILLS = tuple(dict.fromkeys(SKILL_OF.values()))

# Seconds of effective arrival a priority level is worth: enough to move a repeat
# caller ahead of recent arrivals, bounded so that nobody waiting longer is starved.
BOOST_PER_PRIORITY_S = 120.0

# Carrier statuses that mean the caller's leg is over.
ENDED_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def is_final(state: str | None) -> bool:
    return state in FINAL_STATES


def skill_for(category: str | None) -> str:
    return SKILL_OF.get(category or "general", "general")


def boost_for(priority: int) -> float:
    return max(0, int(priority)) * BOOST_PER_PRIORITY_S
