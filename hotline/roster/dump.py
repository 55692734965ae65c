"""Writing a roster back: `to_data` (plain data, the JSON kept in Redis) and `dump`
(YAML that reads back to an equal Roster)."""

from __future__ import annotations

from datetime import date, time

import yaml

from .model import DAYS, Roster, Shift

# --- writing ------------------------------------------------------------------


class _Clock(str):
    """A time of day: always quoted in YAML, where 16:00 would otherwise read as 960."""


def to_data(r: Roster, *, for_json: bool = True) -> dict:
    """The roster as plain data (what `dump` writes, and what Redis keeps as JSON)."""

    def iso(d: date):
        return d.isoformat() if for_json else d

    def hhmm(t: time):
        return f"{t:%H:%M}" if for_json else _Clock(f"{t:%H:%M}")

    data: dict = {"timezone": r.timezone}
    if r.holidays:
        h = {"country": r.holidays.country}
        if r.holidays.subdivision:
            h["subdivision"] = r.holidays.subdivision
        if r.holidays.as_day is not None:
            h["holiday_as"] = DAYS[r.holidays.as_day]
        data["holidays"] = h
    data["skills"] = list(r.skills)
    agents = []
    for a in r.agents:
        d = {"id": a.id, "name": a.name}
        if a.phone:
            d["phone"] = a.phone
        if a.client_identity:
            d["client"] = a.client_identity
        d["skills"] = dict(a.skills)
        d["languages"] = list(a.languages)
        if a.timezone:
            d["timezone"] = a.timezone
        agents.append(d)
    data["agents"] = agents
    data["shifts"] = [_shift_data(s, iso, hhmm) for s in r.shifts]
    exc: dict = {}
    if r.leaves:
        exc["leave"] = [
            {
                "agent": lv.agent,
                "from": iso(lv.start),
                "to": iso(lv.end),
                **({"reason": lv.reason} if lv.reason is not None else {}),
            }
            for lv in r.leaves
        ]
    if r.extras:
        exc["extra"] = [
            {
                "id": e.id,
                "agent": e.agent,
                "date": iso(e.date),
                "start": hhmm(e.start),
                "end": hhmm(e.end),
                **({"on_call": True} if e.on_call else {}),
            }
            for e in r.extras
        ]
    if r.swaps:
        exc["swap"] = [
            {
                "date": iso(s.date),
                "agent": s.agent,
                "with": s.other,
                **({"shift": s.shift} if s.shift else {}),
            }
            for s in r.swaps
        ]
    if exc:
        data["exceptions"] = exc
    return data


def _shift_data(s: Shift, iso, hhmm) -> dict:
    d = {
        "id": s.id,
        "agent": s.agent,
        "days": [DAYS[i] for i in s.days],
        "start": hhmm(s.start),
        "end": hhmm(s.end),
    }
    if s.on_call:
        d["on_call"] = True
    if s.valid_from:
        d["valid_from"] = iso(s.valid_from)
    if s.valid_until:
        d["valid_until"] = iso(s.valid_until)
    return d


class _Dumper(yaml.SafeDumper):
    pass


# Flow style for short lists (days, languages) keeps one shift on a few lines.
_Dumper.add_representer(
    list,
    lambda d, v: d.represent_sequence(
        "tag:yaml.org,2002:seq", v, flow_style=all(isinstance(x, str) for x in v) and len(v) <= 7
    ),
)
_Dumper.add_representer(
    _Clock, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style="'")
)


def dump(r: Roster) -> str:
    return yaml.dump(
        to_data(r, for_json=False),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
