"""The eligibility rule, stated once as a pure function.

An agent is eligible for a waiting call when:
  1. the agent is `available`;
  2. the agent is on shift now -- or only on call, and the call has reached its
     on-call overflow step;
  3. the agent holds one of the skills whose waiting lines hold the call (the call's
     own skill, plus the lines its overflow steps added) at `min_level` or above;
  4. the agent speaks the caller's language, unless the call's language is unknown
     or an overflow step relaxed the rule (`any_language`).

match_call.lua and match_agent.lua apply the same rule on the same fields (the idle
pools encode 1 and 2; the scripts check 3 and 4); tests/test_matcher.py checks the
two agree on random populations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..services import Services


@dataclass(frozen=True)
class AgentView:
    state: str
    skills: dict[str, int]
    languages: tuple[str, ...]
    on_shift: bool
    on_call: bool

    @classmethod
    def of(cls, agent) -> AgentView:
        """From routing/agents.py's Agent (svc.agents.get)."""
        return cls(
            agent.state, dict(agent.skills), tuple(agent.languages), agent.on_shift, agent.on_call
        )


@dataclass(frozen=True)
class CallView:
    lines: tuple[str, ...]
    lang: str = ""
    any_language: bool = False
    min_level: int = 1
    on_call_allowed: bool = False
    state: str = "waiting"

    @classmethod
    def from_hash(cls, h: dict) -> CallView:
        return cls(
            lines=tuple(x for x in (h.get("lines") or "").split(",") if x),
            lang=h.get("lang") or "",
            any_language=h.get("lang_any") == "1",
            min_level=int(h.get("min_level") or 1),
            on_call_allowed=h.get("ovf_oncall") == "1",
            state=h.get("state", ""),
        )


def why_not(agent: AgentView, call: CallView) -> str | None:
    """None when eligible, else the first rule the pair fails (for logs and the CLI)."""
    if call.state not in ("waiting", "callback_requested"):
        return f"the call is {call.state}, not waiting"
    if agent.state != "available":
        return f"the agent is {agent.state}"
    if not agent.on_shift and not (agent.on_call and call.on_call_allowed):
        return "the agent is not on shift" + (
            "" if not agent.on_call else " (on call, but the call has not overflowed to on-call)"
        )
    if not any(agent.skills.get(s, 0) >= call.min_level for s in call.lines):
        return f"the agent holds none of {', '.join(call.lines) or '(no line)'} at level {call.min_level}+"
    if call.lang and not call.any_language and call.lang not in agent.languages:
        return f"the agent does not speak {call.lang}"
    return None


def explain(svc: Services, agent_id: str, call_sid: str) -> str | None:
    """`hotline agents why AGENT CALL_SID`: why_not for an agent and a call as stored now.
    NotEligible for an unknown agent or call."""
    from ..errors import NotEligible

    h = svc.redis.hgetall(svc.keys.call(call_sid))
    if not h:
        raise NotEligible(f"no call {call_sid}")
    return why_not(AgentView.of(svc.agents.get(agent_id)), CallView.from_hash(h))


def explain_lines(svc: Services, agent_id: str, call_sid: str) -> tuple[str, ...]:
    """The call's lines through which the agent may take it now (empty: not eligible)."""
    h = svc.redis.hgetall(svc.keys.call(call_sid))
    return eligible_skills(AgentView.of(svc.agents.get(agent_id)), CallView.from_hash(h))


def eligible(agent: AgentView, call: CallView) -> bool:
    return why_not(agent, call) is None


def eligible_skills(agent: AgentView, call: CallView) -> tuple[str, ...]:
    """The call's lines through which this agent may take it."""
    if not eligible(agent, call):
        return ()
    return tuple(s for s in call.lines if agent.skills.get(s, 0) >= call.min_level)
