"""What must always hold, checked from the event log alone (`hotline events --json`).

1. final_once -- every call that entered a waiting line (`enqueued`) or left a
   callback request ends in exactly one final state: one event of
   reports.FINAL_TYPES (call_completed, callback_completed, abandoned,
   selfhelp_resolved, call_failed). No call of any kind gets two. (`finished=False`
   skips the "at least one" half, for a log taken while calls are still running.)
2. one_call_per_agent -- no agent is ever in two calls: from the `reserved` event
   for a call until the agent is next available/in wrap-up/away/offline
   (`agent_state`), no reservation, acceptance or bridge for another call names
   that agent.
3. one_agent_per_call -- no call is bridged to two agents: from its
   `reservation_accepted` until the conversation ends (a final event, a callback
   attempt that failed), no other agent accepts or is bridged to it; and the
   `caller_bridged` agent is the one who accepted.
4. call_id -- every event about a call carries its `call_sid`: every type except
   the agent-, roster- and system-level ones in NOT_ABOUT_A_CALL.
5. documented -- every event type is one of hotline.events.TYPES (so that the
   meaning of every line of the log is written down).
6. wrapup_before_next -- an agent whose answered call ends while they are busy with it
   goes through `wrapup_started` for that call before their next `reserved` (a zero
   wrap-up is a `wrapup_started` too; an agent a person moved out of `busy` before the
   end owes no wrap-up).

`check(events)` returns the violations (empty = all hold); `assert_holds(events)`
raises AssertionError listing them. `python -m hotline.invariants < events.jsonl`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from .reports import FINAL_TYPES, normalize

NOT_ABOUT_A_CALL = frozenset(
    {
        "announcement_set",
        "announcement_cleared",
        "agent_state",
        "agent_synced",
        "agent_retired",
        "roster_imported",
        "roster_edited",
        "shift_started",
        "shift_ended",
        "routing_swept",
        "wrapup_ended",
        # the console's accounts (hotline/accounts/, hotline/console/auth.py)
        "user_created",
        "user_disabled",
        "password_reset",
        "signin_failed",
        "signin_limited",
        "signed_in",
        "signed_out",
        "tv_token_issued",
        "tv_token_revoked",
        "calendar_token_issued",
        "calendar_token_revoked",
        # drills started from the console (hotline/drill/runs.py)
        "drill_started",
        "drill_ended",
    }
)
AGENT_FREE_STATES = frozenset({"available", "wrapup", "away", "offline"})
# A callback attempt that did not reach the customer ends that agent's part of the call.
CONVERSATION_ENDS = FINAL_TYPES | {"callback_no_answer", "callback_retry"}


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    event_id: str | None = None

    def __str__(self) -> str:
        at = f" (event {self.event_id})" if self.event_id else ""
        return f"{self.rule}: {self.message}{at}"


def check(events: Iterable, *, finished: bool = True, documented: bool = True) -> list[Violation]:
    evs = normalize(events)
    out: list[Violation] = []
    out += _final_once(evs, finished)
    out += _one_call_per_agent(evs)
    out += _one_agent_per_call(evs)
    out += _call_ids(evs)
    out += _wrapup_before_next(evs)
    if documented:
        out += _documented(evs)
    return out


def assert_holds(events: Iterable, **kw) -> None:
    bad = check(events, **kw)
    if bad:
        shown = "\n".join(f"  - {v}" for v in bad[:30])
        more = f"\n  ... and {len(bad) - 30} more" if len(bad) > 30 else ""
        raise AssertionError(f"{len(bad)} invariant violation(s):\n{shown}{more}")


def _final_once(evs: list[dict], finished: bool) -> list[Violation]:
    queued: dict[str, str] = {}
    finals: dict[str, list[dict]] = {}
    for ev in evs:
        sid = ev.get("call_sid")
        if not sid:
            continue
        if ev.get("type") in ("enqueued", "callback_requested"):
            queued.setdefault(sid, ev.get("id"))
        if ev.get("type") in FINAL_TYPES:
            finals.setdefault(sid, []).append(ev)
    out = []
    for sid, fs in finals.items():
        if len(fs) > 1:
            out.append(
                Violation(
                    "final_once",
                    f"call {sid} has {len(fs)} final events: {', '.join(f['type'] for f in fs)}",
                    fs[1].get("id"),
                )
            )
    if finished:
        for sid, first in queued.items():
            if sid not in finals:
                out.append(
                    Violation(
                        "final_once",
                        f"call {sid} entered a queue and never reached a final state",
                        first,
                    )
                )
    return out


def _one_call_per_agent(evs: list[dict]) -> list[Violation]:
    current: dict[str, str] = {}  # agent -> call they are engaged in
    out = []
    for ev in evs:
        kind, agent, sid = ev.get("type"), ev.get("agent_id"), ev.get("call_sid")
        if not agent:
            continue
        if kind == "agent_state":
            if ev.get("to") in AGENT_FREE_STATES:
                current.pop(agent, None)
            continue
        if kind in ("reserved", "reservation_accepted", "caller_bridged") and sid:
            held = current.get(agent)
            if held is not None and held != sid:
                out.append(
                    Violation(
                        "one_call_per_agent",
                        f"agent {agent} got {kind} for {sid} while engaged in {held}",
                        ev.get("id"),
                    )
                )
            current[agent] = sid
    return out


def _one_agent_per_call(evs: list[dict]) -> list[Violation]:
    current: dict[str, str] = {}  # call -> agent it is bridged to
    out = []
    for ev in evs:
        kind, agent, sid = ev.get("type"), ev.get("agent_id"), ev.get("call_sid")
        if not sid:
            continue
        if kind == "reservation_accepted" and agent:
            held = current.get(sid)
            if held is not None and held != agent:
                out.append(
                    Violation(
                        "one_agent_per_call",
                        f"call {sid} accepted by {agent} while bridged to {held}",
                        ev.get("id"),
                    )
                )
            current[sid] = agent
        elif kind == "caller_bridged" and agent:
            held = current.get(sid)
            if held is None or held != agent:
                out.append(
                    Violation(
                        "one_agent_per_call",
                        f"call {sid} bridged to {agent}, accepted by {held or 'nobody'}",
                        ev.get("id"),
                    )
                )
        elif kind in CONVERSATION_ENDS:
            current.pop(sid, None)
    return out


def _wrapup_before_next(evs: list[dict]) -> list[Violation]:
    busy: dict[str, str] = {}  # agent -> the call they are busy with (their last agent_state)
    owed: dict[str, tuple] = {}  # agent -> (call, event id) whose wrap-up has not started
    out = []
    for ev in evs:
        kind, agent, sid = ev.get("type"), ev.get("agent_id"), ev.get("call_sid")
        if not agent:
            continue
        if kind == "agent_state":
            if ev.get("to") == "busy":
                busy[agent] = sid or ""
            else:
                busy.pop(agent, None)
        elif kind in ("call_completed", "callback_completed"):
            if sid and busy.get(agent) == sid:
                owed[agent] = (sid, ev.get("id"))
        elif kind == "wrapup_started":
            if owed.get(agent, ("",))[0] == sid:
                owed.pop(agent)
        elif kind == "reserved" and agent in owed:
            call, _ = owed.pop(agent)
            out.append(
                Violation(
                    "wrapup_before_next",
                    f"agent {agent} was reserved for {sid} without a wrap-up after {call}",
                    ev.get("id"),
                )
            )
    return out


def _call_ids(evs: list[dict]) -> list[Violation]:
    return [
        Violation("call_id", f"{ev.get('type')} event without call_sid", ev.get("id"))
        for ev in evs
        if ev.get("type") not in NOT_ABOUT_A_CALL and not ev.get("call_sid")
    ]


def _documented(evs: list[dict]) -> list[Violation]:
    from .events import TYPES

    unknown: dict[str, str] = {}
    for ev in evs:
        t = ev.get("type")
        if t not in TYPES:
            unknown.setdefault(str(t), ev.get("id"))
    return [
        Violation("documented", f"event type {t!r} is not listed in hotline.events.TYPES", i)
        for t, i in unknown.items()
    ]


def main() -> int:
    """`hotline events --json | python -m hotline.invariants`: exit 1 and the list if any fails."""
    import sys

    bad = check(sys.stdin.read().splitlines())
    for v in bad:
        print(v)
    print(json.dumps({"violations": len(bad)}))
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
