"""Replications into figures: each rate is a ratio of totals over the replications, with a
95 % interval from the spread between replications (the ratio estimator's delta method).

So the service level of R replications is (Σ answered within T) ÷ (Σ offered), not the
mean of R service levels: a replication with 3 calls does not weigh as much as one
with 300. Pure: numbers in, numbers out.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from .record import FIELDS, IDX, STATES, Tally

# Student's t, 97.5 % quantile, by degrees of freedom (1..30); beyond, the normal's 1.96.
T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t975(df: int) -> float:
    return T975[df - 1] if 1 <= df <= len(T975) else 1.96


def ratio(nums: list[float], dens: list[float]) -> tuple[float | None, list[float] | None]:
    """(Σnum/Σden, [low, high] or None with fewer than two replications or no spread)."""
    total = sum(dens)
    if total <= 0:
        return None, None
    r = sum(nums) / total
    n = len(nums)
    if n < 2:
        return r, None
    mean_den = total / n
    var = sum((a - r * b) ** 2 for a, b in zip(nums, dens)) / (n - 1)
    half = t975(n - 1) * math.sqrt(var / n) / mean_den
    return r, [r - half, r + half]


def _metrics(rows: list[list[float]], seconds: float, occupancy_rows=None) -> dict:
    """Figures of one cell (or one total) from its counters in each replication."""
    col = {f: [row[IDX[f]] for row in rows] for f in FIELDS}
    ones = [1.0] * len(rows)
    out: dict = {}

    def put(name, nums, dens, digits=4):
        v, ci = ratio(nums, dens)
        out[name] = None if v is None else round(v, digits)
        out[name + "_ci95"] = None if ci is None else [round(x, digits) for x in ci]

    put("offered", col["offered"], ones, 2)
    put("answered", col["answered"], ones, 2)
    put("service_level", col["within"], col["offered"])
    put("asa_s", col["wait_s"], col["answered"], 2)
    put("abandon_rate", col["abandoned"], col["offered"])
    put("callbacks", col["callbacks"], ones, 2)
    put("queue_length", col["queue_s"], [seconds] * len(rows), 3)
    if occupancy_rows is None:
        put("occupancy", col["working_s"], col["staffed_s"])
    else:
        put("occupancy", [w for w, _ in occupancy_rows], [s for _, s in occupancy_rows])
    return out


def summarize(
    tallies: list[Tally],
    runs: list[dict],
    scenario,
    hours: float,
    seed: int,
    *,
    wall_s: float,
    workers: int = 1,
) -> dict:
    first = tallies[0]
    n = first.n
    skills = sorted({sk for t in tallies for (_, sk) in t.cells})
    tz = ZoneInfo(scenario.tz)

    def rows(key):
        return [list(t.cells.get(key, [0.0] * len(FIELDS))) for t in tallies]

    def add(a, b):
        return [x + y for x, y in zip(a, b)]

    intervals = []
    for i in range(n):
        length = min(first.step, first.end - (first.start + i * first.step))
        for sk in skills:
            rs = rows((i, sk))
            if not any(r[IDX["offered"]] or r[IDX["staffed_s"]] for r in rs):
                continue
            start = datetime.fromtimestamp(first.start + i * first.step, tz)
            intervals.append({"start": start.isoformat(), "skill": sk, **_metrics(rs, length)})
    per_skill = {}
    total_rows = [[0.0] * len(FIELDS) for _ in tallies]
    seconds = first.end - first.start
    for sk in skills:
        srows = [[0.0] * len(FIELDS) for _ in tallies]
        for i in range(n):
            srows = [add(a, b) for a, b in zip(srows, rows((i, sk)))]
        per_skill[sk] = _metrics(srows, seconds)
        total_rows = [add(a, b) for a, b in zip(total_rows, srows)]
    total = _metrics(total_rows, seconds, occupancy_rows=[tuple(t.overall) for t in tallies])
    agents = []
    for a in sorted({a for t in tallies for a in t.agents}):
        rs = [t.agents.get(a, [0.0, 0.0, 0.0]) for t in tallies]
        calls, calls_ci = ratio([r[0] for r in rs], [1.0] * len(rs))
        occ, occ_ci = ratio([r[1] for r in rs], [r[2] for r in rs])
        agents.append(
            {
                "id": a,
                "calls": round(calls, 2),
                "calls_ci95": calls_ci and [round(x, 2) for x in calls_ci],
                "occupancy": None if occ is None else round(occ, 4),
                "occupancy_ci95": occ_ci and [round(x, 4) for x in occ_ci],
                "staffed_h": round(sum(r[2] for r in rs) / len(rs) / 3600.0, 2),
            }
        )
    by_state = []
    for i in range(n):
        length = min(first.step, first.end - (first.start + i * first.step)) or 1.0
        by_state.append(
            {
                st: round(sum(t.states[i][j] for t in tallies) / len(tallies) / length, 3)
                for j, st in enumerate(STATES)
            }
        )
    wall = wall_s
    calls = sum(r["calls"] for r in runs)
    return {
        "scenario": {
            "name": scenario.name,
            "source": scenario.source,
            "start": datetime.fromtimestamp(scenario.start, tz).isoformat(),
            "hours": hours,
            "interval_minutes": int(first.step // 60),
            "target_s": scenario.target_s,
        },
        "replications": len(tallies),
        "seed": seed,
        "calls_simulated": calls,
        "deflected": sum(t.deflected for t in tallies),
        "unfinished": sum(r["unfinished"] for r in runs),
        "workers": workers,
        "wall_s": round(wall, 3),  # elapsed, all replications (setup and reading the logs too)
        "calls_per_wall_s": round(calls / wall, 1) if wall > 0 else None,
        "total": total,
        "skills": per_skill,
        "agents": agents,
        "intervals": intervals,
        "agents_by_state": by_state,
    }
