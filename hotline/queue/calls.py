"""The call record: `call:{sid}` (hash), the `calls` index, and repeat-caller detection.

Owns `call:{sid}`, `calls` (zset sid -> created_at), `caller:{number}` (hash:
last_at, last_sid, count) and `caller_calls:{number}` (zset: the number's last calls,
sid -> created_at, for the agent's call card). A number that already called within REPEAT_WINDOW_S
gets priority 1 on its new call; the call keeps `repeat` and `previous_call_at`
so that the agent sees it. The states a call goes through are documented in
hotline/states.py.

Other modules read calls through `get`/`list`, change them through `step` (one
atomic Lua call: fields + events, optionally only from given states), and the
routing engine's own Lua scripts use the hash fields directly (`state`,
`lines`, `effective_at`...), so those names are a contract.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING

from ..errors import UnknownCall

if TYPE_CHECKING:
    from ..services import Services


REPEAT_WINDOW_S = 24 * 3600
# Garbage collection of caller:{number}; the repeat decision compares timestamps.
CALLER_TTL_S = 7 * 24 * 3600
# How many of a number's calls caller_calls:{number} keeps (the call card shows 5 + this one).
CALLER_CALLS_KEPT = 10
# What carriers send for a withheld number: never a repeat caller.
ANONYMOUS = frozenset(
    {
        "",
        "anonymous",
        "restricted",
        "unknown",
        "private",
        "+266696687",
        "+7378742833",
        "+2562533",
        "+86282452253",
        "+8656696",
    }
)
SID_RE = re.compile(r"^[A-Za-z0-9_.:-]{2,64}$")


def valid_sid(sid: str | None) -> bool:
    return bool(sid) and bool(SID_RE.match(sid))


def _f(v) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None


def _i(v, default=0) -> int:
    try:
        return int(float(v)) if v not in (None, "") else default
    except ValueError:
        return default


@dataclass(frozen=True)
class Call:
    sid: str
    from_number: str = ""
    to_number: str = ""
    lang: str = "fr"
    state: str = "ivr"
    category: str | None = None
    skill: str | None = None
    priority: int = 0
    repeat: bool = False
    previous_call_at: float | None = None
    error_code: str | None = None
    created_at: float | None = None
    enqueued_at: float | None = None
    effective_at: float | None = None
    ended_at: float | None = None
    wait_s: float | None = None
    queue_sid: str | None = None
    menu_attempts: int = 0
    confidence: float | None = None
    lines: tuple[str, ...] = ()
    # The IVR's place in the conversation: `turn` counts the steps applied (every Gather
    # action URL carries it, so a repeated or replayed request is recognised), and
    # `ivr_stage` (menu | confirm | error_code | selfhelp | after_hours) says which
    # document the caller is in, so a stale request resumes exactly there.
    turn: int = 0
    ivr_stage: str = ""
    # What came of it, from the agent's wrap-up (legs/disposition.py writes them).
    disposition: str | None = None
    notes: str | None = None
    # Fields other modules add (reservation, agent, talk time...), as stored.
    extra: dict = field(default_factory=dict, compare=False)

    _FLOATS = (
        "previous_call_at",
        "created_at",
        "enqueued_at",
        "effective_at",
        "ended_at",
        "wait_s",
        "confidence",
    )

    @classmethod
    def from_hash(cls, h: dict) -> Call:
        convert = _CONVERT
        kw: dict = {}
        extra: dict = {}
        for k, v in h.items():
            conv = convert.get(k)
            if conv is None:
                extra[k] = v
            else:
                kw[k] = conv(v)
        return cls(**kw, extra=extra)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["lines"] = list(self.lines)
        extra = d.pop("extra")
        return {**d, **extra}


def _enc(v) -> str:
    cls = v.__class__
    if cls is str:
        return v
    if cls is bool:
        return "1" if v else "0"
    if cls is float:
        return repr(v)
    if cls is list or cls is tuple:
        return ",".join(v)
    return "" if v is None else str(v)


def _none_if_empty(v):
    return v or None


def _same(v):
    return v


def _as_lines(v) -> tuple[str, ...]:
    return tuple(s for s in v.split(",") if s)


def _is_one(v) -> bool:
    return v == "1"


_KNOWN = frozenset(f.name for f in fields(Call)) - {"extra"}
# How each stored field becomes a Call attribute: a table, because every webhook
# turns its script's reply into a Call.
_CONVERT = {name: _same for name in _KNOWN}
_CONVERT.update({name: _f for name in Call._FLOATS})
_CONVERT.update(
    {"priority": _i, "menu_attempts": _i, "turn": _i, "repeat": _is_one, "lines": _as_lines}
)
_CONVERT.update(
    {
        name: _none_if_empty
        for name in ("category", "skill", "error_code", "queue_sid", "disposition", "notes")
    }
)

# What the webhooks read back from a step: enough to resume any call, nothing more.
STEP_FIELDS = (
    "sid",
    "state",
    "lang",
    "skill",
    "category",
    "priority",
    "repeat",
    "error_code",
    "menu_attempts",
    "turn",
    "ivr_stage",
)
ARRIVE_FIELDS = (*STEP_FIELDS, "from_number", "to_number", "previous_call_at", "created_at")


def _values_to_call(names: tuple[str, ...], values: list) -> Call:
    convert = _CONVERT
    return Call(**{k: convert[k](v) for k, v in zip(names, values) if v is not None})


@dataclass(frozen=True)
class Arrival:
    call: Call
    created: bool
    announcement: str | None


@dataclass(frozen=True)
class Step:
    """Result of `CallStore.step`: `call` is None for an unknown call; `applied` is
    False when the call's state did not allow the step, or the request was for an
    earlier turn (`stale`): nothing changed. `call` carries STEP_FIELDS only (use `get`
    for the whole record)."""

    call: Call | None
    applied: bool
    stale: bool = False


class CallStore:
    def __init__(self, svc: Services):
        self.svc = svc
        self.r = svc.redis
        self.keys = svc.keys

    # The incoming webhook ------------------------------------------------
    def arrive(self, sid: str, from_number: str, to_number: str, lang: str) -> Arrival:
        """Create the call (or find it, on a retried webhook), detect a repeat caller and
        read the incident announcement for `lang`: one Redis round trip. The call
        carries ARRIVE_FIELDS."""
        if not valid_sid(sid):
            raise UnknownCall(f"not a call SID: {sid!r}")
        number = (from_number or "").strip()
        track = number.lower() not in ANONYMOUS
        res = self.svc.scripts.create_call(
            keys=[
                self.keys.call(sid),
                self.keys.calls,
                self.keys.caller(number if track else "anonymous"),
                self.keys.events,
                self.keys.announcement(lang),
                self.keys.caller_calls(number if track else "anonymous"),
            ],
            args=[
                sid,
                number,
                to_number or "",
                lang,
                repr(self.svc.clock.now()),
                REPEAT_WINDOW_S,
                "1" if track else "0",
                CALLER_TTL_S,
                *ARRIVE_FIELDS,
            ],
        )
        return Arrival(_values_to_call(ARRIVE_FIELDS, res[2:]), bool(int(res[0])), res[1] or None)

    # Reads ----------------------------------------------------------------
    def get(self, sid: str) -> Call | None:
        if not valid_sid(sid):
            return None
        h = self.r.hgetall(self.keys.call(sid))
        return Call.from_hash(h) if h else None

    def require(self, sid: str) -> Call:
        call = self.get(sid)
        if call is None:
            raise UnknownCall(f"no call {sid}")
        return call

    def get_many(self, sids) -> dict[str, Call]:
        """The calls that exist among `sids`, by sid: one round trip (the wallboard's agents,
        a caller's recent calls)."""
        sids = [s for s in dict.fromkeys(sids) if valid_sid(s)]
        if not sids:
            return {}
        p = self.r.pipeline(transaction=False)
        for sid in sids:
            p.hgetall(self.keys.call(sid))
        return {sid: Call.from_hash({"sid": sid, **h}) for sid, h in zip(sids, p.execute()) if h}

    def recent_for_number(self, number: str, *, limit: int = 5, exclude: str = "") -> list[Call]:
        """The number's latest calls, most recent first (`caller_calls:{number}`: the last
        CALLER_CALLS_KEPT, kept as long as caller:{number}); none for a withheld number."""
        number = (number or "").strip()
        if number.lower() in ANONYMOUS:
            return []
        sids = [
            s for s in self.r.zrevrange(self.keys.caller_calls(number), 0, limit) if s != exclude
        ]
        found = self.get_many(sids)
        return [found[s] for s in sids if s in found][:limit]

    def list(
        self, state: str | None = None, *, limit: int | None = None, page: int = 200
    ) -> list[Call]:
        """The most recent `limit` calls (all with None), optionally only those in `state`,
        oldest first. Reads the index newest first a page at a time (ZREVRANGE, then one
        pipeline for that page's hashes) and stops once `limit` are found: listing the last
        20 calls reads 20 hashes, not every call kept (a state filter reads pages until it
        has enough, or the index ends)."""
        out: list[Call] = []
        start = 0
        if limit is not None and state is None:
            page = limit
        while limit is None or len(out) < limit:
            sids = self.r.zrevrange(self.keys.calls, start, start + page - 1)
            if not sids:
                break
            start += len(sids)
            p = self.r.pipeline(transaction=False)
            for sid in sids:
                p.hgetall(self.keys.call(sid))
            for h in p.execute():
                if h and (state is None or h.get("state") == state):
                    out.append(Call.from_hash(h))
        out = out[:limit] if limit is not None else out
        out.reverse()
        return out

    # Writes ---------------------------------------------------------------
    def step(
        self,
        sid: str,
        fields: dict | None = None,
        events: list[dict] | None = None,
        states: tuple[str, ...] | list[str] = (),
        *,
        turn: int | None = None,
    ) -> Step:
        """Set `fields` and append `events` atomically, only if the call exists (and is in
        one of `states`, when given; and at `turn`, when given -- the step then moves the
        call to the next turn). Event dicts: {"type": ..., other fields...}."""
        if not valid_sid(sid):
            return Step(None, False)
        fields = fields or {}
        events = events or ()
        enc = _enc
        args: list = [
            sid,
            repr(self.svc.clock.now()),
            "" if turn is None else str(turn),
            len(fields),
        ]
        for k, v in fields.items():
            args += (k, enc(v))
        args.append(len(events))
        for ev in events:
            pairs = [x for k, v in ev.items() if v is not None for x in (k, enc(v))]
            args.append(len(pairs) // 2)
            args += pairs
        args.append(len(states))
        args += states
        args += STEP_FIELDS
        res = self.svc.scripts.call_step(keys=[self.keys.call(sid), self.keys.events], args=args)
        code = int(res[0])
        if code == 0:
            return Step(None, False)
        return Step(_values_to_call(STEP_FIELDS, res[1:]), code == 1, code == -2)

    def update(self, sid: str, **fields) -> None:
        """Set fields on an existing call (no event): UnknownCall if there is none."""
        if self.step(sid, fields).call is None:
            raise UnknownCall(f"no call {sid}")
