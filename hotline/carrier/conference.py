"""Conferences of the simulated carrier: who is in which room, and when a room ends.

A `<Dial><Conference>name</Conference></Dial>` puts the call in the room called
`name` (created on first use, per account, like Twilio's). A room *starts* when a
participant with startConferenceOnEnter="true" (the default) is in it; before
that, the others wait (they would hear the waitUrl music). It *ends* when a
participant with endConferenceOnExit="true" leaves, or when the last one does:
every other participant is then put out of the room, and each of their calls goes
on with the verb after its <Dial> (or the Dial action), as on Twilio.

The participants' threads wait inside CallSession._v_dial; this registry only
keeps the membership, thread-safe, and wakes the participants whose room changed
through the `wake` callable each participant registers (timeline.interrupt).
A private room with two participants is also how <Dial><Number>/<Client> bridges
two legs (see twiml_exec).

Every join/leave/start/end is kept in `history` (simulator-side facts the tests
check: no call in two rooms at once, no room with two agents).
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Participant:
    call_sid: str
    start_on_enter: bool = True
    end_on_exit: bool = False
    joined_at: float = 0.0
    wake: Callable[[], None] | None = None
    label: str = ""  # who is on this leg (agent id, caller number), for listings and history


@dataclass
class Conference:
    name: str
    sid: str = field(default_factory=lambda: "CF" + uuid.uuid4().hex)
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    participants: dict[str, Participant] = field(default_factory=dict)
    # Calls that were ever in the room (a room that ended is never reused: a new one is made).
    ever: list[str] = field(default_factory=list)
    end_reason: str | None = None

    @property
    def status(self) -> str:
        if self.ended_at is not None:
            return "completed"
        return "in-progress" if self.started_at is not None else "init"

    def to_json(self) -> dict:
        return {
            "sid": self.sid,
            "friendly_name": self.name,
            "status": self.status,
            "participants": [p.call_sid for p in self.participants.values()],
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "end_reason": self.end_reason,
        }


class Conferences:
    def __init__(self):
        self._lock = threading.Lock()
        self._live: dict[str, Conference] = {}
        self.all: list[Conference] = []
        self.history: list[tuple[float, str, str, str]] = []  # (t, event, room, call sid)
        self._seq = itertools.count()

    def join(self, name: str, p: Participant, now: float) -> Conference:
        with self._lock:
            conf = self._live.get(name)
            if conf is None:
                conf = Conference(name, created_at=now)
                self._live[name] = conf
                self.all.append(conf)
            p.joined_at = now
            conf.participants[p.call_sid] = p
            conf.ever.append(p.call_sid)
            self.history.append((now, "join", name, p.call_sid))
            if conf.started_at is None and p.start_on_enter:
                conf.started_at = now
                self.history.append((now, "start", name, p.call_sid))
            others = [o for o in conf.participants.values() if o is not p]
        _wake(others)
        return conf

    def leave(self, conf: Conference, call_sid: str, now: float, reason: str = "left") -> None:
        """The call leaves the room (hung up, redirected...); may end the room for everyone."""
        with self._lock:
            p = conf.participants.pop(call_sid, None)
            if p is None:
                return
            self.history.append((now, "leave", conf.name, call_sid))
            ended = conf.ended_at is None and (p.end_on_exit or not conf.participants)
            others = list(conf.participants.values())
            if ended:
                self._end_locked(
                    conf,
                    now,
                    "participant-with-end-conference-on-exit-left"
                    if p.end_on_exit
                    else "last-participant-left",
                )
        _wake(others)

    def end(self, conf: Conference, now: float, reason: str = "ended-via-api") -> None:
        with self._lock:
            if conf.ended_at is not None:
                return
            others = list(conf.participants.values())
            self._end_locked(conf, now, reason)
        _wake(others)

    def _end_locked(self, conf: Conference, now: float, reason: str) -> None:
        conf.ended_at = now
        conf.end_reason = reason
        self.history.append((now, "end", conf.name, reason))
        for sid in list(conf.participants):  # everyone still in is put out of the room
            self.history.append((now, "leave", conf.name, sid))
        conf.participants.clear()
        if self._live.get(conf.name) is conf:
            del self._live[conf.name]

    def live(self, name: str) -> Conference | None:
        with self._lock:
            return self._live.get(name)

    def find(self, sid_or_name: str) -> Conference | None:
        with self._lock:
            for conf in reversed(self.all):
                if sid_or_name in (conf.sid, conf.name):
                    return conf
        return None

    def snapshot(self) -> list[dict]:
        with self._lock:
            return [c.to_json() for c in self.all]


def _wake(participants) -> None:
    for p in participants:
        if p.wake is not None:
            p.wake()
