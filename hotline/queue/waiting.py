"""The waiting lines: one Redis zset per skill, `waiting:{skill}`, and the `skills` set.

A line holds call sids scored by *effective arrival*: the time the call entered
the line minus its priority boost (flow.boost_for). The lowest score is served
first, so a priority call overtakes recent arrivals but never someone who has
waited longer than the boost: priority cannot starve the others. Equal effective
arrivals would be ordered by member (the sid) in a zset, so enqueue.lua adds a
sub-millisecond sequence to the score: ties are strictly FIFO.

The call hash field `lines` lists (comma-separated) every line holding the call.
Today a call waits in its own skill's line; the routing engine adds lines when a
call overflows, and removes the call from all of them when it matches, in its own
Lua scripts, with the key names from store/keys.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..errors import UnknownCall
from ..states import BOOST_PER_PRIORITY_S
from .calls import Call, valid_sid

if TYPE_CHECKING:
    from ..services import Services


@dataclass(frozen=True)
class Enqueued:
    status: Literal["enqueued", "already_waiting", "refused"]
    effective_at: float | None = None
    state: str | None = None  # when refused: the call's state ("" for an unknown call)
    priority: int = 0
    repeat: bool = False
    turn: int | None = None  # the call's IVR turn: the Enqueue action URL carries it


@dataclass(frozen=True)
class Abandon:
    abandoned: bool  # this call of the script is the one that abandoned it
    state_before: str  # "" for an unknown call
    ended: bool  # this call recorded the end of the call (status callback, once)


@dataclass(frozen=True)
class Tick:
    """One turn of a caller's wait loop (wait_tick.lua): where the call stands now."""

    state: str  # "" for a call we do not know
    position: int  # 0: not in its line
    size: int
    estimate_s: float | None
    callback_offered: bool


@dataclass(frozen=True)
class WaitingCall:
    sid: str
    position: int
    effective_at: float
    waited_s: float | None
    priority: int = 0
    repeat: bool = False
    lang: str | None = None
    from_number: str | None = None


@dataclass(frozen=True)
class LineView:
    skill: str
    waiting: int
    oldest_wait_s: float | None
    calls: tuple[WaitingCall, ...]

    def to_dict(self) -> dict:
        return {
            "skill": self.skill,
            "waiting": self.waiting,
            "oldest_wait_s": self.oldest_wait_s,
            "calls": [c.__dict__ for c in self.calls],
        }


class WaitingLines:
    def __init__(self, svc: Services):
        self.svc = svc
        self.r = svc.redis
        self.keys = svc.keys

    def enqueue(
        self, call: Call | str, skill: str | None = None, *, category: str | None = None
    ) -> Enqueued:
        """Put the call in `skill`'s line (state -> waiting), one Lua call; its own
        `priority` field sets the boost. A call already waiting is left where it is
        (retried webhook); a call that cannot wait (final, unknown) is refused."""
        sid = call if isinstance(call, str) else call.sid
        if isinstance(call, Call):
            skill = skill or call.skill
            category = category or call.category
        skill = skill or "general"
        res = self.svc.scripts.enqueue(
            keys=[
                self.keys.call(sid),
                self.keys.waiting(skill),
                self.keys.skills,
                self.keys.events,
                self.keys.enqueue_seq,
            ],
            args=[
                sid,
                skill,
                repr(self.svc.clock.now()),
                repr(BOOST_PER_PRIORITY_S),
                category or "",
            ],
        )
        code, value, prio, rep = int(res[0]), res[1], int(res[2] or 0), res[3] == "1"
        turn = int(res[4]) if len(res) > 4 and res[4] else None
        if code == 1:
            return Enqueued("enqueued", float(value), priority=prio, repeat=rep, turn=turn)
        if code == 2:
            return Enqueued(
                "already_waiting",
                float(value) if value else None,
                priority=prio,
                repeat=rep,
                turn=turn,
            )
        return Enqueued("refused", state=value, turn=turn)

    def position(self, sid: str, skill: str | None = None) -> tuple[int, int] | None:
        """(1-based position, line size) in the call's own line, or None if it is not in it."""
        if skill is None:
            call = self.svc.calls.get(sid)
            if call is None:
                raise UnknownCall(f"no call {sid}")
            skill = call.skill or "general"
        p = self.r.pipeline(transaction=False)
        p.zrank(self.keys.waiting(skill), sid)
        p.zcard(self.keys.waiting(skill))
        rank, size = p.execute()
        return None if rank is None else (rank + 1, size)

    def skills(self) -> list[str]:
        return sorted(self.r.smembers(self.keys.skills))

    def snapshot(self, skills: list[str] | None = None) -> list[LineView]:
        """Every line, in order: waiting count, oldest wait, the calls (two round trips)."""
        skills = skills or self.skills()
        p = self.r.pipeline(transaction=False)
        for s in skills:
            p.zrange(self.keys.waiting(s), 0, -1, withscores=True)
        members = p.execute()
        p = self.r.pipeline(transaction=False)
        for line in members:
            for sid, _ in line:
                p.hmget(
                    self.keys.call(sid), "enqueued_at", "priority", "repeat", "lang", "from_number"
                )
        details = iter(p.execute())
        now = self.svc.clock.now()
        out = []
        for skill, line in zip(skills, members):
            calls = []
            for i, (sid, score) in enumerate(line, 1):
                enq, prio, rep, lang, frm = next(details)
                waited = round(now - float(enq), 3) if enq else None
                calls.append(
                    WaitingCall(sid, i, score, waited, int(prio or 0), rep == "1", lang, frm)
                )
            waits = [c.waited_s for c in calls if c.waited_s is not None]
            out.append(LineView(skill, len(calls), max(waits) if waits else None, tuple(calls)))
        return out

    def remove(self, sid: str, skills: list[str] | tuple[str, ...] | None = None) -> int:
        """Take the sid out of lines without touching the call's state (repairs, tests)."""
        skills = skills if skills is not None else self.skills()
        p = self.r.pipeline(transaction=False)
        for s in skills:
            p.zrem(self.keys.waiting(s), sid)
        return sum(p.execute())

    def tick(self, sid: str, skill: str, *, queue_sid: str = "", queue_time: str = "") -> Tick:
        """One turn of the wait loop, one round trip: position in the call's own line, the
        estimated wait, the QueueSid kept, `position_announced` -- written once per
        QueueTime (a repeated or replayed turn changes nothing)."""
        k = self.keys
        staffed = self.svc.estimates.staffed(skill)
        state, position, size, estimate, offered = self.svc.scripts.wait_tick(
            keys=[k.call(sid), k.waiting(skill), k.handle_times(skill), k.events],
            args=[
                sid,
                repr(self.svc.clock.now()),
                queue_sid,
                "" if staffed is None else staffed,
                skill,
                queue_time,
            ],
        )
        return Tick(
            state or "",
            int(position or 0),
            int(size or 0),
            float(estimate) if estimate else None,
            offered == "1",
        )

    def abandon(self, sid: str, *, via: str, status: str = "", duration: str = "") -> Abandon:
        """The caller hung up (idempotent; see store/lua/abandon.lua)."""
        return self._end(sid, via, status, duration, "abandoned")

    def fail(self, sid: str, *, reason: str) -> Abandon:
        """The carrier cannot hold the call (queue full, repeated errors): out of every
        line, state `failed`, one `call_failed` event; nothing for a call not waiting."""
        return self._end(sid, reason, "", "", "failed")

    def _end(self, sid, via, status, duration, outcome) -> Abandon:
        if not valid_sid(sid):
            return Abandon(False, "", False)
        res = self.svc.scripts.abandon(
            keys=[self.keys.call(sid), self.keys.events],
            args=[
                sid,
                repr(self.svc.clock.now()),
                via,
                status or "",
                duration or "",
                outcome,
            ],
        )
        return Abandon(bool(int(res[0])), res[1], bool(int(res[2])))
