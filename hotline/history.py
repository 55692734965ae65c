"""The shared history reader: events and calls of a period, from the archive and the live log.

Finished calls older than the retention move from the Redis stream to the SQL archive
(hotline/archive/); reports, forecasts and the console read a period through this module
so that they never care where an event lives.

* `iter_events(svc, start_ts, end_ts, types=None)` -- the events with `ts` in [start, end),
  archive then Redis (the log's packed segments the period overlaps, then its stream)
  merged by stream id, each once (an event copied to the archive but not yet removed from
  Redis has the same id in both), normalised like `hotline.reports.normalize` (a float
  `ts`, the stream `id`, fields as strings); `types` chooses in SQL for the archive.
* `iter_calls(svc, start_ts, end_ts)` -- one dict per call that entered a waiting line,
  requested a callback or (never offered) reached the IVR in [start, end), derived from
  the events, so that a live call and an archived one are computed the same way: an
  archived call's dict was folded from its events when it moved (`records_of`, stored as
  the row's `record`), the others are folded now (`calls_from_events` does it for any list
  of events, for tests and tools).
* `contacts(svc, start_ts, end_ts, numbers)` -- those numbers' calls that reached the IVR
  then: what first-contact resolution looks for, without folding those days.

Locating a period in the live stream. Stream ids are the Redis server's time, `ts` is the
injected clock's: with the system clock they agree (up to the clock skew between hosts), so
the first id is guessed from the timestamp and checked with two one-entry reads; with a
manual or scaled clock (tests, the simulator, the demo) they do not, and the first entry is
found by bisection over the stream ids, one XRANGE COUNT 1 per probe. Either way only the
period (plus `SKEW_S` either side) is read, never the whole stream. This relies on `ts`
never going backwards along the stream by more than `SKEW_S`.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from .events import _event, segment_entries, segments
from .reports import MISSED_RELEASE_REASONS, normalize

if TYPE_CHECKING:
    from .services import Services

# How far `ts` may disagree with stream order (processes on hosts whose clocks differ):
# the live scan starts this much before `start_ts` and goes on this much past `end_ts`.
SKEW_S = 60.0
# Entries per XRANGE while scanning: a small first page (a short period reads little
# past its end), doubling up to PAGE.
FIRST_PAGE, PAGE = 64, 1024

# A call belongs to the period in which it was offered (or reached the IVR); its IVR may
# have begun a little earlier (`call_created` before `enqueued`), and its end comes later.
CALL_LOOKBACK_S = 3600.0  # an IVR never lasts an hour
# A callback requested on Friday evening may be completed on Monday morning.
CALL_LOOKAHEAD_S = 4 * 86400.0
# After the last of its calls ended, keep reading a little for what follows an end: the
# wrap-up's end, a disposition typed during or just after it.
CLOSE_GRACE_S = 1800.0
SHORT_ABANDON_S = 5.0  # an abandon before this is a wrong number or a misdial

_MAX_SEQ = (1 << 64) - 1


# ---------------------------------------------------------------- events


def iter_events(
    svc: Services, start_ts: float, end_ts: float, *, types: Iterable[str] | None = None
) -> Iterator[dict]:
    """Events with start_ts <= ts < end_ts, archive and live log merged by stream id;
    `types`: only those (chosen in SQL for the archive's part)."""
    types = frozenset(types) if types is not None else None
    archive = _archive(svc)
    live = _live_events(svc, start_ts, end_ts, types)
    if archive is None:
        yield from live
        return
    found = (
        archive.events_between(start_ts, end_ts, types=types)
        if types is not None
        else archive.events_between(start_ts, end_ts)
    )
    yield from merge_by_id(_normalized(found), live)


def _normalized(events: Iterable[dict]) -> Iterator[dict]:
    # The archive's dicts are normalize()'s already (a float ts): no copy per event.
    for ev in events:
        yield ev if isinstance(ev["ts"], float) else normalize([ev])[0]


def _archive(svc):
    """The SQL archive, or None where there is none (a stand-in without one; a checkout
    without hotline/archive/)."""
    try:
        return getattr(svc, "archive", None)
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("hotline.archive"):
            return None
        raise


def merge_by_id(*sources: Iterable[dict]) -> Iterator[dict]:
    """Merge event iterables each ordered by stream id; an id seen twice is given once."""
    last = None
    for ev in heapq.merge(*sources, key=lambda e: _id_key(e["id"])):
        k = _id_key(ev["id"])
        if k == last:
            continue
        last = k
        yield ev


def _id_key(eid: str) -> tuple[int, int]:
    ms, _, seq = str(eid).partition("-")
    return int(ms), int(seq or 0)


def _as_dict(eid, raw: dict) -> dict:
    """A stream entry as normalize() gives events: id, float ts, the fields as strings
    (built directly: this runs once per event of every period read)."""
    if isinstance(eid, bytes):  # a client without decode_responses
        ev = _event(eid, raw).to_json()
        ev["ts"] = float(_ts(raw))
        return ev
    d = {"id": eid, **raw}
    d["ts"] = float(d.get("ts") or 0)
    d.setdefault("type", "?")
    return d


def _live_events(
    svc: Services, start_ts: float, end_ts: float, types: frozenset[str] | None = None
) -> Iterator[dict]:
    """The period's events in Redis: the packed segments it overlaps (a segment's name says
    its lowest and highest ts), then the stream from the period's first entry."""
    client, keys = svc.redis, svc.keys
    # One HKEYS even for today's period: which process packed what, by whose clock, is not
    # this reader's to assume (a command run with the system clock reads a log a manual
    # clock wrote).
    segs = [s for s in segments(client, keys) if s.max_ts >= start_ts and s.min_ts < end_ts]
    for eid, raw in segment_entries(client, keys, segs):
        ev = _as_dict(eid, raw)
        if start_ts <= ev["ts"] < end_ts and (types is None or ev["type"] in types):
            yield ev
    key = keys.events
    lo = _first_id_at_or_after(client, key, start_ts - SKEW_S)
    if lo is None:
        return
    cursor, page = lo, FIRST_PAGE
    while True:
        batch = client.xrange(key, min=cursor, max="+", count=page)
        for eid, raw in batch:
            ev = _as_dict(eid, raw)
            if ev["ts"] >= end_ts + SKEW_S:
                return
            if start_ts <= ev["ts"] < end_ts and (types is None or ev["type"] in types):
                yield ev
        if len(batch) < page:
            return
        cursor, page = "(" + _str(batch[-1][0]), min(PAGE, page * 2)


def _str(v) -> str:
    return v.decode() if isinstance(v, bytes) else v


def _probe(client, key: str, at: tuple[int, int]):
    """(id key, ts) of the first entry at or after stream id `at`, or None."""
    got = client.xrange(key, min=f"{at[0]}-{at[1]}", max="+", count=1)
    if not got:
        return None
    eid, raw = got[0]
    return _id_key(_str(eid)), _ts(raw)


def _ts(raw: dict) -> float:
    v = raw.get("ts", raw.get(b"ts", 0))
    return float(_str(v) or 0)


def _first_id_at_or_after(client, key: str, target: float) -> str | None:
    """The stream id of the first entry whose ts >= target (None: there is none)."""
    last = client.xrevrange(key, max="+", min="-", count=1)
    if not last or _ts(last[0][1]) < target:
        return None
    # The guess: with the system clock the id is the timestamp (checked, not trusted).
    guess = _probe(client, key, (max(0, int(target * 1000)), 0))
    if guess is not None and guess[1] >= target:
        before = client.xrevrange(key, max=f"({guess[0][0]}-{guess[0][1]}", min="-", count=1)
        if not before or _ts(before[0][1]) < target:
            return f"{guess[0][0]}-{guess[0][1]}"
    # Bisection over the id space (ms and sequence as one integer). The answer is `best`
    # or lies in [lo, up); each probe reads the first entry at or after the midpoint, so
    # the empty stretches between entries cost nothing.
    first = _probe(client, key, (0, 0))
    if first is None or first[1] >= target:
        return "-"
    lo = _pack(first[0]) + 1
    best = up = _pack(_id_key(_str(last[0][0])))
    while lo < up:
        mid = (lo + up) // 2
        p = _probe(client, key, _unpack(mid))
        if p is None or _pack(p[0]) >= up:
            up = mid  # nothing in [mid, up)
        elif p[1] >= target:
            best, up = _pack(p[0]), mid  # nothing in [mid, p): the answer is p or before mid
        else:
            lo = _pack(p[0]) + 1
    a = _unpack(best)
    return f"{a[0]}-{a[1]}"


def _pack(k: tuple[int, int]) -> int:
    return (k[0] << 64) | k[1]


def _unpack(n: int) -> tuple[int, int]:
    return n >> 64, n & _MAX_SEQ


# ---------------------------------------------------------------- calls


def iter_calls(svc: Services, start_ts: float, end_ts: float) -> Iterator[dict]:
    """One dict per call offered (or, never offered, created) in [start_ts, end_ts).

    Archived calls come as the archive recorded them (`calls.record`: this same fold, made
    when the call moved, see `records_of`), so a period in the archive reads one row per
    call, not its ~23 events. Every other call is folded from its events: the live log's,
    and the archive's that belong to no recorded call (`Archive.events_to_fold`: calls
    archived before records existed, events of calls without a hash). Those are read from
    an hour before the period (the IVR of a call offered at its start) and past its end
    until every call of the period is over (its end, wrap-up and disposition, plus
    CLOSE_GRACE_S), at most CALL_LOOKAHEAD_S."""
    archive = _archive(svc)
    recorded = getattr(archive, "records_between", None)
    records = []
    if recorded is not None:
        # anchored within an hour of creation (an IVR never lasts an hour): by created_at
        for r in recorded(start_ts - CALL_LOOKBACK_S, end_ts):
            if _belongs(r, start_ts, end_ts):
                records.append(r)
    acc = _Calls()
    lo, hi = start_ts - CALL_LOOKBACK_S, end_ts + CALL_LOOKAHEAD_S
    if recorded is not None:
        events = merge_by_id(_normalized(archive.events_to_fold(lo, hi)), _live_events(svc, lo, hi))
    else:
        events = iter_events(svc, lo, hi)
    try:
        _fold_period(acc, events, end_ts, lambda c: _belongs(c, start_ts, end_ts))
    finally:
        events.close()  # stopped early: the archive's cursor is released now, not at GC
    folded = [acc.finish(c) for c in acc.ordered() if _belongs(c, start_ts, end_ts)]
    if records or (recorded is not None and folded):
        # A recorded call whose last events are still in Redis (copied, not yet trimmed, or
        # the cutoff fell within it) folds partially from those: its record stands.
        have = {r["call_sid"] for r in records}
        have |= archive.recorded({c["call_sid"] for c in folded} - have)
        folded = [c for c in folded if c["call_sid"] not in have]
        records.sort(key=_anchor)
        yield from heapq.merge(records, folded, key=_anchor)
    else:
        yield from folded


def records_of(svc: Services, created: dict[str, float]) -> dict[str, dict]:
    """The records (iter_calls' dicts) of these calls, sid -> created_at: their events from
    the first creation on, folded as iter_calls folds a period that ends at the last one
    (every call followed until it is over, plus CLOSE_GRACE_S). What the archive stores
    with a call it moves; a call none of whose events is found is left out."""
    if not created:
        return {}
    acc = _Calls()
    wanted = set(created)
    last = max(created.values())
    events = iter_events(svc, min(created.values()), last + CALL_LOOKAHEAD_S)
    try:
        _fold_period(acc, events, last + 1e-6, lambda c: c["call_sid"] in wanted)
    finally:
        events.close()
    return {s: acc.finish(acc.calls[s]) for s in created if s in acc.calls}


def _fold_period(acc: _Calls, events: Iterator[dict], end_ts: float, belongs) -> None:
    """Fold every event before end_ts, then only what the calls that `belongs` picks still
    need, until each is over (plus CLOSE_GRACE_S)."""
    stop_after = end_ts + CLOSE_GRACE_S
    pending: set[str] | None = None  # past the period: its calls not over yet
    for ev in events:
        t = ev["ts"]
        if t >= end_ts:
            if pending is None:
                pending = {s for s, c in acc.calls.items() if belongs(c) and not acc.closed(c)}
            if not pending and t >= stop_after:
                break
            # Past the period only its own calls matter (none is new), and the agents'
            # events that end their wrap-ups.
            sid = ev.get("call_sid")
            if sid not in pending and ev.get("type") not in ("agent_state", "wrapup_ended"):
                continue
        acc.add(ev)
        if pending:
            for s in [s for s in pending if acc.closed(acc.calls[s])]:
                pending.discard(s)
                stop_after = max(stop_after, t + CLOSE_GRACE_S)
            for s in [s for s in pending if not belongs(acc.calls[s])]:
                pending.discard(s)  # offered only after the period: another period's call


def contacts(svc: Services, start_ts: float, end_ts: float, numbers: Iterable[str]) -> list[dict]:
    """The calls from these numbers that reached the IVR in [start, end), as small dicts
    (call_sid, number, created_at; no skill, so a report counts them nowhere): what
    first-contact resolution looks for after a call, without folding those days. From the
    archive's call rows (indexed by number) and the live log's `call_created` events."""
    numbers = {n for n in numbers if n}
    if not numbers:
        return []
    seen: dict[str, dict] = {}
    archive = _archive(svc)
    if archive is not None and hasattr(archive, "contacts"):
        for sid, number, at in archive.contacts(numbers, start_ts, end_ts):
            seen[sid] = _contact(sid, number, at)
    for ev in _live_events(svc, start_ts, end_ts, frozenset({"call_created"})):
        sid, number = ev.get("call_sid"), ev.get("from_number")
        if sid and number in numbers and sid not in seen:
            seen[sid] = _contact(sid, number, ev["ts"])
    return sorted(seen.values(), key=lambda c: c["created_at"])


def _contact(sid: str, number: str, at: float) -> dict:
    return {"call_sid": sid, "number": number, "created_at": at, "offered_at": None, "skill": None}


def calls_from_events(events: Iterable) -> list[dict]:
    """Every call of a list of events (ts ascending), computed as iter_calls does."""
    acc = _Calls()
    for ev in normalize(events):
        acc.add(ev)
    return [acc.finish(c) for c in acc.ordered()]


def _anchor(c: dict) -> float | None:
    return c["offered_at"] if c["offered_at"] is not None else c["created_at"]


def _belongs(c: dict, start_ts: float, end_ts: float) -> bool:
    a = _anchor(c)
    return a is not None and start_ts <= a < end_ts


FINAL = {"call_completed", "callback_completed", "abandoned", "selfhelp_resolved", "call_failed"}


class _Calls:
    """Folds events into per-call records (the fields iter_calls documents)."""

    def __init__(self):
        self.calls: dict[str, dict] = {}
        self.wrapping: dict[str, str] = {}  # agent -> call whose wrap-up is running

    def _call(self, sid: str, t: float) -> dict:
        c = self.calls.get(sid)
        if c is None:
            c = self.calls[sid] = {
                "call_sid": sid,
                "number": None,
                "lang": None,
                "skill": None,
                "category": None,
                "created_at": None,
                "offered_at": None,
                "enqueued": False,
                "answered": False,
                "answered_at": None,
                "wait_s": None,
                "talk_s": None,
                "wrapup_s": None,
                "abandoned": False,
                "short_abandon": False,
                "selfhelp_resolved": False,
                "callback_requested": False,
                "callback_completed": False,
                "failed": False,
                "agent": None,
                "disposition": None,
                "notes": None,
                "state": "ivr",
                "ended_at": None,
                "missed_offers": 0,
                # working fields, dropped by finish()
                "_first_ts": t,
                "_wait_end": None,
                "_res": None,
                "_final": False,
                "_wrap_from": None,
                "_wrap_planned": None,
                "_wrap_done": False,
            }
        return c

    def add(self, ev: dict) -> None:
        kind, t = ev.get("type"), ev["ts"]
        if kind in ("agent_state", "wrapup_ended") and not ev.get("call_sid"):
            self._agent_event(ev)
            return
        sid = ev.get("call_sid")
        if not sid:
            return
        if kind == "agent_state":
            self._agent_event(ev)
            return
        c = self._call(sid, t)
        if kind == "call_created":
            c["created_at"] = t if c["created_at"] is None else c["created_at"]
            c["number"] = ev.get("from_number") or c["number"]
            c["lang"] = ev.get("lang") or c["lang"]
        elif kind == "language_chosen":
            c["lang"] = ev.get("lang") or c["lang"]
        elif kind == "classified":
            c["category"] = ev.get("category") or c["category"]
            c["skill"] = ev.get("skill") or c["skill"]
        elif kind == "selfhelp_offered":
            self._state(c, "selfhelp")
        elif kind == "enqueued":
            if not c["enqueued"]:
                c["enqueued"] = True
                c["offered_at"] = t
            c["skill"] = ev.get("skill") or c["skill"]
            self._state(c, "waiting")
        elif kind == "callback_requested":
            c["callback_requested"] = True
            if c["offered_at"] is None:
                c["offered_at"] = t
            c["skill"] = c["skill"] or ev.get("skill")
            self._wait_end(c, t)
            self._state(c, "callback_requested")
        elif kind == "reserved":
            c["_res"] = ev.get("agent_id", "")
            self._state(c, "reserved")
        elif kind in (
            "reservation_expired",
            "reservation_missed",
            "reservation_released",
            "reservation_accepted",
        ):
            # The summary's rule (reports.py): a miss on the agent's side, once per offer.
            ended, c["_res"] = c["_res"] is not None, None
            if ended and (
                kind in ("reservation_expired", "reservation_missed")
                or (kind == "reservation_released" and ev.get("reason") in MISSED_RELEASE_REASONS)
            ):
                c["missed_offers"] += 1
            if kind != "reservation_accepted":
                self._state(c, "callback_requested" if c["callback_requested"] else "waiting")
        elif kind == "caller_bridged":
            c["agent"] = ev.get("agent_id") or c["agent"]
            if ev.get("who", "caller") != "customer" and not c["answered"]:
                c["answered"] = True
                c["answered_at"] = t
                self._wait_end(c, t)
            self._state(c, "bridged")
        elif kind == "call_disposition":
            c["disposition"] = ev.get("disposition") or c["disposition"]
            c["notes"] = ev.get("notes", c["notes"])
            c["agent"] = c["agent"] or ev.get("agent") or ev.get("agent_id")
        elif kind == "wrapup_started":
            c["_wrap_from"] = t
            c["_wrap_planned"] = _f(ev.get("wrapup_s"))
            if c["_wrap_planned"] == 0:
                c["wrapup_s"], c["_wrap_done"] = 0.0, True
            elif ev.get("agent_id"):
                self.wrapping[ev["agent_id"]] = sid
        elif kind == "wrapup_ended":
            self._end_wrapup(c, t)
        elif kind == "call_ended" and ev.get("state") == "left_ivr":
            c["state"] = "left_ivr"
            c["ended_at"] = c["ended_at"] or t
        if kind in FINAL and not c["_final"]:
            self._final(c, kind, ev, t)

    def _final(self, c: dict, kind: str, ev: dict, t: float) -> None:
        c["_final"] = True
        c["ended_at"] = t
        self._wait_end(c, t)
        if kind in ("call_completed", "callback_completed"):
            c["state"] = "completed"
            c["talk_s"] = _f(ev.get("talk_s"))
            c["agent"] = ev.get("agent_id") or c["agent"]
            c["callback_completed"] = kind == "callback_completed"
        elif kind == "abandoned":
            c["state"] = "abandoned"
            c["abandoned"] = True
        elif kind == "selfhelp_resolved":
            c["state"] = "resolved"
            c["selfhelp_resolved"] = True
        else:
            c["state"] = "failed"
            c["failed"] = True

    def _agent_event(self, ev: dict) -> None:
        agent = ev.get("agent_id")
        sid = self.wrapping.get(agent) if agent else None
        if sid is None:
            return
        leaves_wrapup = ev.get("type") == "wrapup_ended" or (
            ev.get("type") == "agent_state" and ev.get("from") == "wrapup"
        )
        if leaves_wrapup:
            self._end_wrapup(self.calls[sid], ev["ts"])

    def _end_wrapup(self, c: dict, t: float) -> None:
        if c["_wrap_done"] or c["_wrap_from"] is None:
            return
        c["wrapup_s"] = round(max(0.0, t - c["_wrap_from"]), 3)
        c["_wrap_done"] = True
        for a, s in list(self.wrapping.items()):
            if s == c["call_sid"]:
                del self.wrapping[a]

    @staticmethod
    def _wait_end(c: dict, t: float) -> None:
        if c["enqueued"] and c["_wait_end"] is None:
            c["_wait_end"] = t

    @staticmethod
    def _state(c: dict, state: str) -> None:
        if not c["_final"] and c["state"] != "left_ivr":
            c["state"] = state

    def closed(self, c: dict) -> bool:
        if c["state"] == "left_ivr":
            return True
        if not c["_final"]:
            return False
        return c["state"] != "completed" or c["_wrap_done"]

    def ordered(self) -> list[dict]:
        return sorted(self.calls.values(), key=lambda c: _anchor(c) or c["_first_ts"])

    @staticmethod
    def finish(c: dict) -> dict:
        out = {k: v for k, v in c.items() if not k.startswith("_")}
        if c["_wait_end"] is not None and c["offered_at"] is not None:
            out["wait_s"] = round(c["_wait_end"] - c["offered_at"], 3)
        if out["wrapup_s"] is None and c["_wrap_planned"] is not None:
            out["wrapup_s"] = c["_wrap_planned"]  # still wrapping up: the planned time
        out["short_abandon"] = bool(
            out["abandoned"] and out["wait_s"] is not None and out["wait_s"] < SHORT_ABANDON_S
        )
        return out


def _f(v, default=None):
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


__all__ = [
    "CALL_LOOKAHEAD_S",
    "CALL_LOOKBACK_S",
    "SHORT_ABANDON_S",
    "calls_from_events",
    "contacts",
    "iter_calls",
    "iter_events",
    "merge_by_id",
    "records_of",
]
