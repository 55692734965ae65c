"""The wallboard's live figures: per skill, per agent, totals and the incident announcement.

`figures(svc, tally)` is the JSON document the console serves as `GET /console/api/wallboard`
(and its tiles render). The day's counts come from the event log only, with the summary's
definitions (hotline/reports.py, SERVICE_LEVEL_S and MISSED_RELEASE_REASONS reused; a test
checks the totals equal `reports.summary` of the same events); what is true *now* (who waits,
each agent's state and call) from the owners' stores.

The console polls about once a second per process, so the day is not re-read each time: a
`WallboardTally` keeps running counts and reads only the events after the last stream id it
saw (XRANGE from that id). Its first read starts at the centre's local midnight
(settings.tz), located through hotline/history.py (a stream id made from the midnight
timestamp in ms, checked; found by bisection when the clock is not the Redis server's, as
with the manual and scaled clocks); when the local date changes it starts again from zero.
Keep one tally per process (it is thread safe) and pass it to every `figures` call.

The document (times ISO 8601 in the centre's zone, durations in seconds):

    generated_at      now
    day               the local date counted ("2026-12-02"); counts are since its midnight
    sl_threshold_s    the service-level threshold (reports.SERVICE_LEVEL_S)
    sl_target         settings.wallboard_sl_target (HOTLINE_SL_TARGET), a share 0..1
    skills[]          one per skill (the four of states.SKILLS, then any other line):
      skill           connection | software | error_message | general | ...
      waiting         calls in that line now (a call widened by overflow counts in each line)
      oldest_wait_s   the longest wait among them, null when nobody waits
      offered         calls that entered the line or left a callback request today
      answered        offered calls whose caller reached an agent today (caller_bridged)
      abandoned       calls that hung up before reaching an agent (`abandoned`)
      service_level   answered within sl_threshold_s / calls that entered the line (the
                      summary's strict form: abandons count); null when nobody waited
      sl_target       as above, repeated for the tile
      sl_status       green (>= target) | amber (less than 10 points below) | red | null
      asa_s           average speed of answer (enqueued -> bridged), null before the first
    agents[]          every agent of the roster, by id:
      id, name, state (offline | available | reserved | busy | wrapup | away), reason,
      since           when the agent entered that state (null if never)
      in_state_s      seconds in that state
      call_sid        the call the agent is offered, on, or wrapping up (null otherwise)
      call_skill      that call's skill
      call_s          ringing: since the offer; busy: since they took it; wrap-up: the talk
      handled_today   conversations the agent finished today (call_completed, callback_completed)
      missed_today    offers the agent let ring out or failed today (the summary's missed_offers)
      available       true only in state available: wrap-up and away are NOT available
      on_shift        on a regular shift now; on_call_only: reached only on call (astreinte)
    totals            agents, available, on_a_call (reserved or busy), wrapup, away, offline;
                      waiting (distinct calls in any line), offered, answered, abandoned,
                      service_level, sl_status, asa_s over every skill
    announcements     {language tag of HOTLINE_LANGUAGES: current incident text or null}
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from .history import iter_events
from .languages import spoken
from .reports import MISSED_RELEASE_REASONS, SERVICE_LEVEL_S
from .states import SKILLS

if TYPE_CHECKING:
    from .services import Services

AMBER_BAND = 0.10  # below the target by less than this: amber, not red
ON_A_CALL = ("reserved", "busy")
CALL_STATES = ("reserved", "busy", "wrapup")  # states in which an agent's call_sid is theirs
PAGE = 1000
_RES_END = (
    "reservation_expired",
    "reservation_missed",
    "reservation_released",
    "reservation_accepted",
)


def _day_bounds(now: float, tz) -> tuple[str, float, float]:
    """(local date, its midnight, the next midnight) for an instant, in the centre's zone;
    a 23- or 25-hour day at a DST change included."""
    d = datetime.fromtimestamp(now, tz).date()
    start = datetime.combine(d, time(0), tzinfo=tz).timestamp()
    end = datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz).timestamp()
    return d.isoformat(), start, end


def sl_status(level: float | None, target: float) -> str | None:
    if level is None:
        return None
    if level >= target:
        return "green"
    return "amber" if level >= target - AMBER_BAND - 1e-9 else "red"


class WallboardTally:
    """The day's running counts, fed with the events after the last stream id seen."""

    def __init__(self, *, service_level_s: float = SERVICE_LEVEL_S):
        self.service_level_s = service_level_s
        self._lock = threading.Lock()
        self._reset(None, 0.0)

    def _reset(self, day: str | None, midnight: float) -> None:
        self.day, self.midnight = day, midnight
        self.last_id: str | None = None
        self.skill_of: dict[str, str] = {}  # offered call -> skill of its first offering event
        self.enqueued_at: dict[str, float] = {}
        self.bridged: set[str] = set()
        self.abandoned: set[str] = set()
        self.open_res: dict[str, str] = {}  # call -> agent of its open reservation
        self.offered: dict[str, int] = defaultdict(int)
        self.entered: dict[str, int] = defaultdict(int)  # the service level's denominator
        self.answered: dict[str, int] = defaultdict(int)
        self.in_sl: dict[str, int] = defaultdict(int)
        self.speed_sum: dict[str, float] = defaultdict(float)
        self.abandons: dict[str, int] = defaultdict(int)
        self.handled: dict[str, set[str]] = defaultdict(set)
        self.missed: dict[str, int] = defaultdict(int)

    # reading -------------------------------------------------------------
    def update(self, svc: Services) -> None:
        """Read what was appended since the last call (the whole day on the first, or after
        midnight). A few round trips when little happened."""
        day, midnight, next_midnight = _day_bounds(svc.clock.now(), svc.settings.tz)
        client, key = svc.redis, svc.keys.events
        with self._lock:
            start = None
            if day != self.day:
                self._reset(day, midnight)
                # history.py finds the day's first entry (the midnight id, checked; else a
                # bisection); from there the entries are read as they are, like every poll.
                # The tail before: what is appended meanwhile is read next time.
                tail = client.xrevrange(key, max="+", min="-", count=1)
                day_events = iter_events(svc, midnight, next_midnight)
                try:
                    first = next(day_events, None)
                finally:
                    day_events.close()
                if first is None:
                    self.last_id = tail[0][0] if tail else "0-0"
                    return
                start = first["id"]
            while True:
                lo = start if start is not None else "(" + self.last_id
                start = None
                batch = client.xrange(key, min=lo, max="+", count=PAGE)
                for eid, raw in batch:
                    self._add({**raw, "id": eid, "ts": float(raw.get("ts") or 0)})
                if batch:
                    self.last_id = batch[-1][0]
                if len(batch) < PAGE:
                    return

    def _add(self, ev: dict) -> None:
        t, kind, sid = ev["ts"], ev.get("type"), ev.get("call_sid")
        if t < self.midnight:
            return  # yesterday's, written late (clock skew between hosts)
        agent = ev.get("agent_id")
        if not sid:
            return
        if kind in ("enqueued", "callback_requested"):
            if sid not in self.skill_of:
                self.skill_of[sid] = ev.get("skill") or "general"
                self.offered[self.skill_of[sid]] += 1
            if kind == "enqueued" and sid not in self.enqueued_at:
                self.enqueued_at[sid] = t
                self.entered[self.skill_of[sid]] += 1
        elif kind == "caller_bridged" and ev.get("who", "caller") != "customer":
            if sid in self.enqueued_at and sid not in self.bridged:
                self.bridged.add(sid)
                skill, speed = self.skill_of[sid], t - self.enqueued_at[sid]
                self.answered[skill] += 1
                self.speed_sum[skill] += speed
                self.in_sl[skill] += speed <= self.service_level_s
        elif kind == "abandoned":
            if sid not in self.abandoned:
                self.abandoned.add(sid)
                self.abandons[self.skill_of.get(sid) or ev.get("skill") or "general"] += 1
        elif kind == "reserved":
            self.open_res[sid] = agent or ""
        elif kind in _RES_END:
            # The summary's rule: a miss on the agent's side, once per offer.
            who = self.open_res.pop(sid, None)
            if who is not None and (
                kind in ("reservation_expired", "reservation_missed")
                or (kind == "reservation_released" and ev.get("reason") in MISSED_RELEASE_REASONS)
            ):
                self.missed[who or agent or ""] += 1
        elif kind in ("call_completed", "callback_completed") and agent:
            self.handled[agent].add(sid)

    # figures -------------------------------------------------------------
    def skill_figures(self, skill: str, target: float) -> dict:
        entered, answered = self.entered.get(skill, 0), self.answered.get(skill, 0)
        return self._rates(
            {
                "offered": self.offered.get(skill, 0),
                "answered": answered,
                "abandoned": self.abandons.get(skill, 0),
            },
            entered,
            self.in_sl.get(skill, 0),
            self.speed_sum.get(skill, 0.0),
            target,
        )

    def day_figures(self, target: float) -> dict:
        return self._rates(
            {
                "offered": sum(self.offered.values()),
                "answered": sum(self.answered.values()),
                "abandoned": sum(self.abandons.values()),
            },
            sum(self.entered.values()),
            sum(self.in_sl.values()),
            sum(self.speed_sum.values()),
            target,
        )

    @staticmethod
    def _rates(counts: dict, entered: int, in_sl: int, speed_sum: float, target: float) -> dict:
        level = round(in_sl / entered, 3) if entered else None
        answered = counts["answered"]
        return {
            **counts,
            "service_level": level,
            "sl_target": target,
            "sl_status": sl_status(level, target),
            "asa_s": round(speed_sum / answered, 1) if answered else None,
        }

    def skills_seen(self) -> set[str]:
        return set(self.offered) | set(self.abandons)


def _iso(t: float | None, tz) -> str | None:
    return datetime.fromtimestamp(t, tz).isoformat(timespec="seconds") if t else None


def _secs(x: float | None) -> float | None:
    return None if x is None else round(max(0.0, x), 1)


def _call_seconds(state: str, call, now: float) -> float | None:
    """Ringing: since the offer; on the call: since the agent took it; wrap-up: the talk."""
    if call is None:
        return None
    x = call.extra
    if state == "reserved":
        start = x.get("reserved_at")
        return _secs(now - float(start)) if start else None
    if state == "busy":
        start = x.get("answered_at") or x.get("bridged_at")
        return _secs(now - float(start)) if start else None
    talk = x.get("talk_s")
    return _secs(float(talk)) if talk not in (None, "") else None


def figures(svc: Services, tally: WallboardTally | None = None) -> dict:
    """The wallboard document (see the module docstring); `tally` is read up to now first
    (a fresh one reads the whole day: pass the process's own)."""
    if tally is None:
        tally = WallboardTally()
    tally.update(svc)
    settings, now = svc.settings, svc.clock.now()
    tz, target = settings.tz, settings.wallboard_sl_target

    lines = {lv.skill: lv for lv in svc.waiting.snapshot()}
    agents = svc.agents.list()
    calls = svc.calls.get_many(a.call_sid for a in agents if a.state in CALL_STATES and a.call_sid)
    texts = svc.announcements.all()

    names = list(SKILLS) + sorted((set(lines) | tally.skills_seen()) - set(SKILLS))
    skills = []
    for skill in names:
        lv = lines.get(skill)
        skills.append(
            {
                "skill": skill,
                "waiting": lv.waiting if lv else 0,
                "oldest_wait_s": _secs(lv.oldest_wait_s) if lv else None,
                **tally.skill_figures(skill, target),
            }
        )

    rows, totals = [], dict.fromkeys(("available", "on_a_call", "wrapup", "away", "offline"), 0)
    for a in agents:
        call = calls.get(a.call_sid) if a.state in CALL_STATES else None
        rows.append(
            {
                "id": a.id,
                "name": a.name or a.id,
                "state": a.state,
                "reason": a.reason or None,
                "since": _iso(a.since, tz),
                "in_state_s": _secs(now - a.since) if a.since else None,
                "call_sid": call.sid if call else None,
                "call_skill": call.skill if call else None,
                "call_s": _call_seconds(a.state, call, now),
                "handled_today": len(tally.handled.get(a.id, ())),
                "missed_today": tally.missed.get(a.id, 0),
                "available": a.state == "available",
                "on_shift": a.on_shift,
                "on_call_only": a.on_call and not a.on_shift,
            }
        )
        bucket = "on_a_call" if a.state in ON_A_CALL else a.state
        if bucket in totals:
            totals[bucket] += 1
    waiting = {c.sid for lv in lines.values() for c in lv.calls}
    return {
        "generated_at": _iso(now, tz),
        "day": tally.day,
        "sl_threshold_s": tally.service_level_s,
        "sl_target": target,
        "skills": skills,
        "agents": rows,
        "totals": {
            "agents": len(rows),
            **totals,
            "waiting": len(waiting),
            **tally.day_figures(target),
        },
        "announcements": {
            tag: (texts.get(spoken(tag, "")) or {}).get("text") or None
            for tag in settings.languages
        },
    }
