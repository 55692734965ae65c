"""The hotline's summary figures, computed from the event log alone.

Input: the events as `hotline events --json` prints them (one dict per event, `ts`
ISO 8601 with offset, `type`, `call_sid`, `agent_id`, fields as strings), or the
EventLog itself (`summary_of(svc)` reads it and converts it the same way). Nothing
else is read: not the call records, not the agents, not the simulator. That is
what makes the figures checkable by anyone with a copy of the log.

Definitions (a "call" is a caller's CallSid, the id every event of it carries):

* offered -- calls that asked for a person: entered a waiting line (`enqueued`)
  or left a callback request (`callback_requested`, e.g. a voicemail after hours).
* answered -- calls whose caller reached an agent (`caller_bridged`, who=caller).
  Callbacks that reached the customer count in `callbacks_completed`, not here.
* abandoned -- calls with an `abandoned` event (hung up while waiting, or before
  reaching the agent who had just taken the call).
* self_service_resolved -- `selfhelp_resolved`.
* callbacks_requested / callbacks_completed -- `callback_requested` / `callback_completed`.
* missed_offers -- offers (reservations, `reserved`) that ended without the agent
  taking the call for a reason on the agent's side: `reservation_missed` (no
  answer, busy, declined...), `reservation_expired` (nobody answered in time), or
  `reservation_released` with reason `missed` or `offer_failed` (not `call_gone`:
  the caller hung up while the phone rang, which is nobody's miss).
* service_level -- answered within SERVICE_LEVEL_S (60 s) of entering the queue,
  divided by the calls that entered a waiting line (`enqueued`). Abandoned calls
  and callback requests made from the queue count in the denominator (the strict
  form: every caller who waited counts). None when nobody waited.
* average_speed_of_answer_s -- mean of (bridged - first enqueued) over answered calls.
* max_wait_s -- the longest time any call spent waiting, from its first `enqueued`
  to the first of: bridged, abandoned, callback requested, its final event; a call
  still waiting counts until the last event of the log.
* unfinished -- calls (`call_created`) not in a final state: no FINAL event (see
  FINAL_TYPES) and not ended in the IVR (`call_ended` with state `left_ivr`).
  After a finished simulation this must be 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .services import Services


SERVICE_LEVEL_S = 60.0
# Events that put a call in its final state; each call gets exactly one (invariants.py).
FINAL_TYPES = frozenset(
    {"call_completed", "callback_completed", "abandoned", "selfhelp_resolved", "call_failed"}
)
MISSED_RELEASE_REASONS = frozenset({"missed", "offer_failed"})


def normalize(events: Iterable) -> list[dict]:
    """Events as dicts with a float `ts` (epoch seconds), in log order.

    Accepts dicts as printed by `hotline events --json` (ts ISO 8601), JSON lines,
    or hotline.events.Event objects."""
    out = []
    for ev in events:
        if isinstance(ev, str):
            ev = ev.strip()
            if not ev:
                continue
            ev = json.loads(ev)
        elif not isinstance(ev, dict):
            ev = ev.to_json()
        ev = dict(ev)
        ts = ev.get("ts")
        if isinstance(ts, str):
            try:
                ev["ts"] = float(ts)
            except ValueError:
                ev["ts"] = datetime.fromisoformat(ts).timestamp()
        out.append(ev)
    return out


def read_log(svc: Services) -> list[dict]:
    """The whole event log as `hotline events --json` prints it."""
    return normalize(ev.to_json() for ev in svc.events.read())


def _f(v, default=None):
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def summary(events: Iterable, *, service_level_s: float = SERVICE_LEVEL_S) -> dict:
    evs = normalize(events)
    created: list[str] = []
    seen_created: set[str] = set()
    enqueued_at: dict[str, float] = {}
    offered: set[str] = set()
    bridged_at: dict[str, float] = {}
    wait_end: dict[str, float] = {}
    abandoned: set[str] = set()
    resolved: set[str] = set()
    cb_requested: set[str] = set()
    cb_completed: set[str] = set()
    final: set[str] = set()
    left_ivr: set[str] = set()
    failed: set[str] = set()
    open_res: dict[str, str] = {}  # call -> agent of its open reservation
    missed = 0
    last_ts = evs[-1]["ts"] if evs else 0.0

    for ev in evs:
        t, kind, sid = ev["ts"], ev.get("type"), ev.get("call_sid")
        if kind == "call_created" and sid and sid not in seen_created:
            seen_created.add(sid)
            created.append(sid)
        if not sid:
            continue
        if kind == "enqueued":
            offered.add(sid)
            enqueued_at.setdefault(sid, t)
        elif kind == "callback_requested":
            offered.add(sid)
            cb_requested.add(sid)
            if sid in enqueued_at:
                wait_end.setdefault(sid, t)
        elif kind == "caller_bridged" and ev.get("who", "caller") != "customer":
            bridged_at.setdefault(sid, t)
            wait_end.setdefault(sid, t)
        elif kind == "reserved":
            open_res[sid] = ev.get("agent_id", "")
        elif kind in (
            "reservation_expired",
            "reservation_missed",
            "reservation_released",
            "reservation_accepted",
        ):
            ended = open_res.pop(sid, None) is not None
            if ended and (
                kind in ("reservation_expired", "reservation_missed")
                or (kind == "reservation_released" and ev.get("reason") in MISSED_RELEASE_REASONS)
            ):
                missed += 1
        elif kind == "call_ended" and ev.get("state") == "left_ivr":
            left_ivr.add(sid)
        if kind in FINAL_TYPES:
            final.add(sid)
            if sid in enqueued_at:
                wait_end.setdefault(sid, t)
            if kind == "abandoned":
                abandoned.add(sid)
            elif kind == "selfhelp_resolved":
                resolved.add(sid)
            elif kind == "callback_completed":
                cb_completed.add(sid)
            elif kind == "call_failed":
                failed.add(sid)

    answered = [s for s in bridged_at if s in enqueued_at]
    speeds = [bridged_at[s] - enqueued_at[s] for s in answered]
    waits = [wait_end.get(s, last_ts) - t0 for s, t0 in enqueued_at.items()]
    in_sl = sum(1 for x in speeds if x <= service_level_s)
    unfinished = [s for s in created if s not in final and s not in left_ivr]
    return {
        "offered": len(offered),
        "answered": len(answered),
        "abandoned": len(abandoned),
        "self_service_resolved": len(resolved),
        "callbacks_requested": len(cb_requested),
        "callbacks_completed": len(cb_completed),
        "missed_offers": missed,
        "service_level": round(in_sl / len(enqueued_at), 3) if enqueued_at else None,
        "average_speed_of_answer_s": round(sum(speeds) / len(speeds), 1) if speeds else None,
        "max_wait_s": round(max(waits), 1) if waits else 0.0,
        "unfinished": len(unfinished),
        # Context for the figures above (also from the log alone):
        "calls": len(created),
        "left_in_ivr": len(left_ivr),
        "failed": len(failed),
        "service_level_threshold_s": service_level_s,
    }


def unfinished_calls(events: Iterable) -> list[str]:
    evs = normalize(events)
    created = list(
        dict.fromkeys(
            e["call_sid"] for e in evs if e.get("type") == "call_created" and e.get("call_sid")
        )
    )
    done = {
        e["call_sid"]
        for e in evs
        if e.get("call_sid")
        and (
            e.get("type") in FINAL_TYPES
            or (e.get("type") == "call_ended" and e.get("state") == "left_ivr")
        )
    }
    return [s for s in created if s not in done]


def summary_of(svc: Services) -> dict:
    return summary(read_log(svc))


def main(argv: list[str] | None = None) -> int:
    """`python -m hotline.reports < events.jsonl` (the output of `hotline events --json`)."""
    import sys

    print(json.dumps(summary(sys.stdin.read().splitlines()), ensure_ascii=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
