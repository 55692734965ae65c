"""The plan: per skill and interval of a week, agents required against agents rostered.

A pure function of a forecast (`forecast.forecast`'s result), the roster and the targets;
its JSON-ready result is what the console's coverage heatmap draws.

* Required: `erlang.required_agents` on the interval's forecast calls, AHT and real length
  (a DST day's intervals are real intervals), Erlang A with the forecast patience (Erlang
  C when there is none), the occupancy cap, then shrinkage: `positions` are the heads to
  roster. No forecast for an interval (no history of that weekday): required is None.
* Scheduled: who is on comes from the roster's own `schedule.occurrences` (the function
  `roster coverage` is built on: holidays, leave, swaps and extra shifts applied); the
  plan needs who, not how many, to share multi-skilled agents. The rule: an agent on
  shift counts 1/k in each of their k skills, times the share of the interval their
  shift covers (a shift starting 08:15 is half of 08:00-08:30). Simple, and it does not
  move when the forecast does (a split by forecast load would hide a gap in the quieter
  skill). On-call agents are listed apart (`on_call`) and not counted.
* Gap = scheduled − positions, in heads: negative is under-staffed. The worst hours are
  the (skill, local hour) pairs with the lowest and the highest mean gap over the hour's
  intervals; a repeated autumn hour is two hours, each with its UTC offset.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from ..roster.model import Roster
from ..roster.schedule import occurrences, week_bounds
from .erlang import required_agents

SPLIT_RULE = "each agent on shift counts 1/k in each of their k skills, pro rata of the interval"
WORST = 5


def plan(
    forecast_result: dict,
    roster: Roster,
    week: str,
    *,
    target_sl: float = 0.8,
    target_s: float = 60.0,
    shrinkage: float = 0.3,
    max_occupancy: float | None = 0.85,
    worst: int = WORST,
) -> dict:
    """Required, scheduled and the gap per skill and interval of `week` (JSON-ready)."""
    if forecast_result.get("week") != week:
        raise ValueError(f"the forecast is of {forecast_result.get('week')}, not {week}")
    tz = ZoneInfo(forecast_result["timezone"])
    w0, w1 = week_bounds(week, tz)
    skills = list(forecast_result["skills"]) or list(roster.skills)
    held = {
        a.id: [k for k in roster.skills if a.level(k) > 0] for a in roster.agents
    }  # an agent's skills, in roster order
    covers = occurrences(roster, w0, w1)

    rows, hours = [], defaultdict(list)
    totals = {
        k: {"required_hours": 0.0, "scheduled_hours": 0.0, "unknown_intervals": 0} for k in skills
    }
    memo: dict[tuple, object] = {}
    for iv in forecast_result["intervals"]:
        t0, t1 = datetime.fromisoformat(iv["start"]), datetime.fromisoformat(iv["end"])
        length = (t1 - t0).total_seconds()
        worked: dict[str, float] = defaultdict(float)  # agent -> share of the interval on shift
        on_call: dict[str, set[str]] = defaultdict(set)
        for c in covers:
            if c.start >= t1 or c.end <= t0:
                continue
            if c.on_call:
                for k in held.get(c.agent_id, ()):
                    on_call[k].add(c.agent_id)
                continue
            overlap = (min(c.end, t1) - max(c.start, t0)).total_seconds() / length
            worked[c.agent_id] = min(1.0, worked[c.agent_id] + overlap)
        scheduled: dict[str, float] = defaultdict(float)
        for agent, share in worked.items():
            mine = held.get(agent, [])
            for k in mine:
                scheduled[k] += share / len(mine)

        cells = {}
        for k in skills:
            f = iv["skills"].get(k, {})
            need = _required(f, length, target_sl, target_s, shrinkage, max_occupancy, memo)
            have = round(scheduled.get(k, 0.0), 3)
            cell = {
                "calls": f.get("calls"),
                "aht_s": f.get("aht_s"),
                "patience_s": f.get("patience_s"),
                **need,
                "scheduled": have,
                "on_call": sorted(on_call.get(k, ())),
                "gap": None if need["positions"] is None else round(have - need["positions"], 3),
            }
            cells[k] = cell
            totals[k]["scheduled_hours"] += have * length / 3600
            if need["positions"] is None:
                totals[k]["unknown_intervals"] += 1
            else:
                totals[k]["required_hours"] += need["positions"] * length / 3600
                hour = t0.replace(minute=0, second=0).isoformat()
                hours[(k, hour)].append(cell)
        row = {
            key: iv[key] for key in ("start", "end", "utc_offset", "local_date", "weekday", "time")
        }
        if "counted_as" in iv:
            row["counted_as"] = iv["counted_as"]
        row["skills"] = cells
        rows.append(row)

    by_hour = [
        {
            "skill": k,
            "hour": hour,
            "gap": round(sum(c["gap"] for c in cs) / len(cs), 3),
            "positions": max(c["positions"] for c in cs),
            "scheduled": round(min(c["scheduled"] for c in cs), 3),
            "on_call": sorted({a for c in cs for a in c["on_call"]}),
        }
        for (k, hour), cs in hours.items()
    ]
    under = sorted((h for h in by_hour if h["gap"] < 0), key=lambda h: (h["gap"], h["hour"]))
    over = sorted((h for h in by_hour if h["gap"] > 0), key=lambda h: (-h["gap"], h["hour"]))
    return {
        "week": week,
        "timezone": forecast_result["timezone"],
        "start": w0.isoformat(),
        "end": w1.isoformat(),
        "interval_min": forecast_result["interval_min"],
        "target_sl": target_sl,
        "target_s": target_s,
        "shrinkage": shrinkage,
        "max_occupancy": max_occupancy,
        "split_rule": SPLIT_RULE,
        "history_weeks": forecast_result.get("history_weeks"),
        "enough_history": forecast_result.get("enough_history"),
        "message": forecast_result.get("message"),
        "skills": skills,
        "intervals": rows,
        "worst_under": under[:worst],
        "worst_over": over[:worst],
        "totals": {
            k: {kk: round(v, 2) if isinstance(v, float) else v for kk, v in t.items()}
            for k, t in totals.items()
        },
    }


def _required(f: dict, length: float, target_sl, target_s, shrinkage, max_occupancy, memo) -> dict:
    calls, aht, patience = f.get("calls"), f.get("aht_s"), f.get("patience_s")
    none = {"model": None, "agents": None, "positions": None, "service_level": None}
    if calls is None:
        return none | {"note": "no history for this weekday and interval"}
    if calls == 0:
        return {"model": None, "agents": 0, "positions": 0, "service_level": None}
    if not aht:
        return none | {"note": "calls forecast but no handle time known"}
    key = (calls, aht, patience, length)
    if key not in memo:  # many intervals share a forecast (quiet nights, repeated weeks)
        memo[key] = required_agents(
            calls,
            length,
            aht,
            target_sl,
            target_s,
            patience_s=patience,
            max_occupancy=max_occupancy,
            shrinkage=shrinkage,
        )
    s = memo[key]
    return {
        "model": s.model,
        "agents": s.agents,
        "positions": s.positions,
        "service_level": round(s.service_level, 4),
    }


__all__ = ["SPLIT_RULE", "plan"]
