"""What one replication did, read from its event log alone (as reports.py reads a day).

Sums, never ratios, so that replications add up (stats.py turns them into rates):

* per interval (by the call's first `enqueued`) and skill: offered, answered, answered
  within the target (`caller_bridged` of the caller), total wait of the answered,
  abandoned, callback requests;
* per interval and skill, in time: calls waiting on the line × seconds (a callback
  request is not a caller on the line), and the seconds the agents holding the skill
  spent working (reserved, busy, wrap-up) and staffed (those or available);
* per agent: calls completed, working and staffed seconds; per interval, agent-seconds
  in each state (the plot's "agents by state").

Occupancy is working ÷ staffed: away and offline time are not offered work.
"""

from __future__ import annotations

import math
from collections import defaultdict

WORKING = frozenset({"reserved", "busy", "wrapup"})
STAFFED = WORKING | {"available"}
STATES = ("available", "reserved", "busy", "wrapup", "away", "offline")
# Counter layout per (interval, skill) and per skill: see `Tally.cell`.
FIELDS = (
    "offered",
    "answered",
    "within",
    "wait_s",
    "abandoned",
    "callbacks",
    "queue_s",
    "working_s",
    "staffed_s",
)
IDX = {f: i for i, f in enumerate(FIELDS)}


class Tally:
    def __init__(self, start: float, end: float, interval_s: float, target_s: float, skills_of):
        self.start, self.end, self.step, self.target = start, end, interval_s, target_s
        self.n = max(1, math.ceil((end - start) / interval_s - 1e-9))
        self.skills_of = skills_of
        self.cells: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0] * len(FIELDS))
        self.overall = [0.0, 0.0]  # working, staffed seconds of all agents (each counted once)
        self.agents: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        self.states = [[0.0] * len(STATES) for _ in range(self.n)]
        self.deflected = 0

    def frozen(self) -> Tally:
        """Plain dicts instead of defaultdicts (their factories do not pickle: workers)."""
        self.cells = dict(self.cells)
        self.agents = dict(self.agents)
        return self

    def interval(self, t: float) -> int | None:
        if t < self.start or t >= self.end:
            return None
        return min(int((t - self.start) // self.step), self.n - 1)

    def spread(self, t0: float, t1: float):
        """(interval, seconds) of [t0, t1) within the drill."""
        t0, t1 = max(t0, self.start), min(t1, self.end)
        while t0 < t1:
            i = min(int((t0 - self.start) // self.step), self.n - 1)
            edge = min(t1, self.start + (i + 1) * self.step)
            if edge <= t0:  # float edge case at the very end
                edge = t1
            yield i, edge - t0
            t0 = edge

    # reading the log ---------------------------------------------------------------
    def consume(self, events) -> None:
        calls: dict[str, list] = {}  # sid -> [skill, enqueued_at, status]
        queue: dict[str, int] = defaultdict(int)
        q_since: dict[str, float] = {}
        agent: dict[str, list] = {}  # id -> [state, since]
        cells, target = self.cells, self.target
        f_off, f_ans, f_in, f_wait = IDX["offered"], IDX["answered"], IDX["within"], IDX["wait_s"]
        f_ab, f_cb, f_q = IDX["abandoned"], IDX["callbacks"], IDX["queue_s"]

        def move_queue(skill: str, ts: float, d: int) -> None:
            n = queue[skill]
            if n:
                for i, s in self.spread(q_since.get(skill, ts), ts):
                    cells[(i, skill)][f_q] += n * s
            q_since[skill] = ts
            queue[skill] = n + d

        def cell_of(c):
            i = self.interval(c[1])
            return None if i is None else cells[(i, c[0])]

        for _eid, e in events:
            typ = e["type"]
            ts = float(e["ts"])
            if typ == "agent_state":
                self._agent_time(agent, e["agent_id"], e.get("from", "offline"), e["to"], ts)
                continue
            if typ == "call_completed" and e.get("agent_id"):
                self.agents[e["agent_id"]][0] += 1
            sid = e.get("call_sid")
            if not sid:
                continue
            c = calls.get(sid)
            if typ == "enqueued":
                if c is None:
                    c = calls[sid] = [e["skill"], ts, "waiting"]
                    cell = cell_of(c)
                    if cell is not None:
                        cell[f_off] += 1
                    move_queue(c[0], ts, +1)
                continue
            if c is None:
                continue
            st = c[2]
            if typ == "reserved":
                if st == "waiting":
                    move_queue(c[0], ts, -1)
                    c[2] = "reserved"
                elif st == "callback":
                    c[2] = "reserved_cb"
            elif typ in ("reservation_missed", "reservation_expired", "reservation_released"):
                if st == "reserved":
                    move_queue(c[0], ts, +1)
                    c[2] = "waiting"
                elif st == "reserved_cb":
                    c[2] = "callback"
            elif typ == "caller_bridged":
                if e.get("who", "caller") == "caller" and st in ("reserved", "waiting"):
                    if st == "waiting":
                        move_queue(c[0], ts, -1)
                    c[2] = "answered"
                    cell = cell_of(c)
                    if cell is not None:
                        wait = ts - c[1]
                        cell[f_ans] += 1
                        cell[f_wait] += wait
                        cell[f_in] += wait <= target
            elif typ == "callback_requested":
                if st == "waiting":
                    move_queue(c[0], ts, -1)
                if st in ("waiting", "reserved"):
                    c[2] = "callback"
                    cell = cell_of(c)
                    if cell is not None:
                        cell[f_cb] += 1
            elif typ in ("abandoned", "call_failed"):
                if st == "waiting":
                    move_queue(c[0], ts, -1)
                if st in ("waiting", "reserved") and typ == "abandoned":
                    cell = cell_of(c)
                    if cell is not None:
                        cell[f_ab] += 1
                c[2] = "gone"
            elif typ == "call_requeued" and st == "answered":
                move_queue(c[0], ts, +1)
                c[2] = "waiting"
        for skill in list(queue):
            move_queue(skill, self.end, 0)
        for a, (state, since) in agent.items():
            self._spend(a, state, since, self.end)

    def _agent_time(self, agent, a, frm, to, ts) -> None:
        cur = agent.get(a)
        if cur is None:
            cur = agent[a] = [frm, self.start]
        self._spend(a, cur[0], cur[1], ts)
        cur[0], cur[1] = to, ts

    def _spend(self, a, state, t0, t1) -> None:
        if t1 <= t0:
            return
        working, staffed = state in WORKING, state in STAFFED
        si = STATES.index(state) if state in STATES else None
        skills = self.skills_of.get(a, ())
        f_w, f_s = IDX["working_s"], IDX["staffed_s"]
        row = self.agents[a]
        for i, s in self.spread(t0, t1):
            if si is not None:
                self.states[i][si] += s
            if not staffed:
                continue
            row[2] += s
            self.overall[1] += s
            if working:
                row[1] += s
                self.overall[0] += s
            for sk in skills:
                cell = self.cells[(i, sk)]
                cell[f_s] += s
                if working:
                    cell[f_w] += s


def read_events(client, key: str, count: int = 20_000):
    """Every entry of the replication's event log, in order (XRANGE pages)."""
    start = "-"
    while True:
        batch = client.xrange(key, min=start, max="+", count=count)
        yield from batch
        if len(batch) < count:
            return
        start = "(" + batch[-1][0]
