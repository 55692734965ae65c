"""Checking a roster given as plain data (YAML read by `yamllines`, or the JSON kept in
Redis): every problem is collected as `file:line: reason`, then raised together
(`RosterInvalid`), so that a manager fixes a file in one pass."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml

from ..errors import RosterInvalid
from .model import (
    DAYS,
    WEEK_MIN,
    AgentSpec,
    ExtraShift,
    HolidayRule,
    Leave,
    Problem,
    Roster,
    Shift,
    Swap,
    holiday_calendar,
    minutes_of,
)
from .schedule import occurrences
from .yamllines import LineLoader, LineMap, LineSeq

_FR_DAYS = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_LANG = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_CLIENT = re.compile(r"^[A-Za-z0-9_.@-]+$")

# --- reading and validating ------------------------------------------------


class _Check:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def err(self, line: int | None, reason: str) -> None:
        self.problems.append(Problem(self.file, line, reason))


def from_data(data, filename: str = "<roster>") -> Roster:
    """Validate a roster given as plain data (YAML-loaded or the stored JSON)."""
    c = _Check(filename)
    if not isinstance(data, dict):
        c.err(1, "the roster must be a mapping with timezone, skills, agents and shifts")
        raise RosterInvalid(c.problems)
    _no_duplicates(c, data)
    _unknown_keys(c, data, {"timezone", "holidays", "skills", "agents", "shifts", "exceptions"})
    line = _line_of(data)

    tz_name = data.get("timezone")
    if tz_name is None:
        c.err(line, "timezone: missing (the centre's time zone, e.g. Europe/Paris)")
    elif not _valid_zone(tz_name):
        c.err(_kl(data, "timezone"), f"timezone: unknown time zone {tz_name!r}")

    hol = _holidays(c, data.get("holidays"), _kl(data, "holidays"))
    skills = _skills(c, data.get("skills"), _kl(data, "skills") or line)
    agents = _agents(c, data.get("agents"), skills, _kl(data, "agents") or line)
    known = {a.id for a in agents}
    shifts = _shifts(c, data.get("shifts"), known, _kl(data, "shifts") or line)
    leaves, extras, swaps = _exceptions(c, data.get("exceptions"), known, _kl(data, "exceptions"))

    _unique_ids(c, shifts, extras)
    _overlaps(c, shifts, extras)
    for sw in swaps:
        if sw[0].shift is not None:
            owner = next((s.agent for s, _ in [*shifts, *extras] if s.id == sw[0].shift), None)
            if owner is None:
                c.err(sw[1], f"swap: unknown shift {sw[0].shift!r}")
            elif owner not in (sw[0].agent, sw[0].other):
                c.err(
                    sw[1],
                    f"swap: shift {sw[0].shift!r} belongs to {owner!r}, "
                    f"not to {sw[0].agent!r} or {sw[0].other!r}",
                )

    if c.problems:
        raise RosterInvalid(c.problems)
    roster = Roster(
        timezone=tz_name,
        skills=tuple(skills),
        agents=tuple(agents),
        shifts=tuple(s for s, _ in shifts),
        holidays=hol,
        leaves=tuple(leaves),
        extras=tuple(s for s, _ in extras),
        swaps=tuple(s for s, _ in swaps),
    )
    _swap_overlaps(c, roster, swaps)
    if c.problems:
        raise RosterInvalid(c.problems)
    return roster


def _swap_overlaps(c: _Check, roster: Roster, swaps) -> None:
    """A swap must not give someone two shifts at once (checked on the real instants)."""
    for sw, ln in swaps:
        noon = datetime.combine(sw.date, time(12), tzinfo=roster.tz)
        covers = occurrences(roster, noon - timedelta(days=2), noon + timedelta(days=2))
        for who in (sw.agent, sw.other):
            mine = [x for x in covers if x.agent_id == who]
            clash = next(
                (
                    (a, b)
                    for i, a in enumerate(mine)
                    for b in mine[i + 1 :]
                    if a.start < b.end and b.start < a.end
                ),
                None,
            )
            if clash:
                c.err(
                    ln,
                    f"swap on {sw.date}: {who} would work {clash[0].shift_id} and "
                    f"{clash[1].shift_id} at the same time",
                )


def _line_of(obj) -> int | None:
    return getattr(obj, "line", None)


def _kl(m, key) -> int | None:
    return m.key_line(key) if isinstance(m, LineMap) else None


def _no_duplicates(c: _Check, m) -> None:
    for key, line in getattr(m, "duplicates", ()):
        c.err(line, f"{key}: written twice in the same block")


def _unknown_keys(c: _Check, m: dict, allowed: set[str], where: str = "") -> None:
    for k in m:
        if k not in allowed:
            c.err(
                _kl(m, k),
                f"{where}unknown key {k!r} (expected one of {', '.join(sorted(allowed))})",
            )


def _valid_zone(name) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _day(value) -> int | None:
    v = str(value).strip().lower()[:3]
    if v in DAYS:
        return DAYS.index(v)
    if v in _FR_DAYS:
        return _FR_DAYS.index(v)
    return None


def _days(c: _Check, value, line) -> tuple[int, ...] | None:
    """`[mon, tue]`, `mon-fri`, `sat,sun`, `daily`."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
    elif isinstance(value, list):
        parts = [str(p) for p in value]
    else:
        c.err(line, "days: expected a list of days (mon..sun) or a range like mon-fri")
        return None
    out: set[int] = set()
    ok = bool(parts)
    for p in parts:
        if p.lower() in ("daily", "all", "every day"):
            out.update(range(7))
        elif "-" in p:
            a, _, b = p.partition("-")
            da, db = _day(a), _day(b)
            if da is None or db is None:
                ok = False
                continue
            i = da
            out.add(i)
            while i != db:
                i = (i + 1) % 7
                out.add(i)
        elif (d := _day(p)) is not None and len(p.strip()) >= 3:
            out.add(d)
        else:
            ok = False
    if not ok:
        c.err(
            line,
            f"days: cannot read {value!r} (use mon, tue, wed, thu, fri, sat, sun or a range mon-fri)",
        )
        return None
    return tuple(sorted(out))


def parse_days(value) -> tuple[int, ...]:
    """`mon-fri`, `sat,sun`, `daily` or a list of day names -> weekday indexes; ValueError if unreadable."""
    c = _Check("days")
    out = _days(c, value, None)
    if out is None:
        raise ValueError(c.problems[0].reason)
    return out


def _time(c: _Check, value, line, what: str) -> time | None:
    if isinstance(value, time):
        return value
    m = _TIME.match(str(value).strip()) if isinstance(value, str) else None
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        c.err(line, f"{what}: bad time {value!r} (expected HH:MM, 00:00 to 23:59)")
        return None
    return time(int(m.group(1)), int(m.group(2)))


def _date(c: _Check, value, line, what: str) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        c.err(line, f"{what}: bad date {value!r} (expected YYYY-MM-DD)")
        return None


def _bool(c: _Check, value, line, what: str) -> bool:
    if isinstance(value, bool):
        return value
    c.err(line, f"{what}: expected true or false, not {value!r}")
    return False


def _holidays(c: _Check, h, line) -> HolidayRule | None:
    if h is None:
        return None
    if not isinstance(h, dict):
        c.err(
            line, "holidays: expected a mapping with country, optional subdivision and holiday_as"
        )
        return None
    _no_duplicates(c, h)
    _unknown_keys(c, h, {"country", "subdivision", "holiday_as"}, "holidays: ")
    country, sub = h.get("country"), h.get("subdivision")
    if not isinstance(country, str):
        c.err(_kl(h, "country") or line, "holidays: country missing (ISO code such as FR)")
        return None
    sub = None if sub is None else str(sub)
    try:
        holiday_calendar(country, sub)
    except NotImplementedError:
        what = f"country {country!r}" if sub is None else f"country {country!r} subdivision {sub!r}"
        c.err(_kl(h, "subdivision" if sub else "country"), f"holidays: unknown {what}")
        return None
    as_day = None
    if h.get("holiday_as") is not None:
        as_day = _day(h["holiday_as"])
        if as_day is None:
            c.err(
                _kl(h, "holiday_as"),
                f"holidays: holiday_as must be a day (mon..sun), not {h['holiday_as']!r}",
            )
    return HolidayRule(country, sub, as_day)


def _skills(c: _Check, value, line) -> list[str]:
    if not isinstance(value, list) or not value:
        c.err(line, "skills: expected a non-empty list of skill names")
        return []
    out: list[str] = []
    for i, s in enumerate(value):
        ln = value.item_line(i) if isinstance(value, LineSeq) else line
        if not isinstance(s, str) or not _ID.match(s):
            c.err(ln, f"skills: bad skill name {s!r}")
        elif s in out:
            c.err(ln, f"skills: duplicate skill {s!r}")
        else:
            out.append(s)
    return out


def _agents(c: _Check, value, skills: list[str], line) -> list[AgentSpec]:
    if not isinstance(value, list) or not value:
        c.err(line, "agents: expected a non-empty list of agents")
        return []
    out: list[AgentSpec] = []
    seen: set[str] = set()
    for raw in value:
        ln = _line_of(raw) or line
        if not isinstance(raw, dict):
            c.err(
                ln, "agents: each agent is a mapping (id, name, phone or client, skills, languages)"
            )
            continue
        _no_duplicates(c, raw)
        _unknown_keys(
            c, raw, {"id", "name", "phone", "client", "skills", "languages", "timezone"}, "agent: "
        )
        aid = raw.get("id")
        ok = True
        if not isinstance(aid, str) or not _ID.match(aid):
            c.err(_kl(raw, "id") or ln, f"agent: bad or missing id {aid!r}")
            ok = False
        elif aid in seen:
            c.err(_kl(raw, "id"), f"agent: duplicate id {aid!r}")
            ok = False
        else:
            seen.add(aid)
        who = f"agent {aid}: " if isinstance(aid, str) else "agent: "
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            c.err(_kl(raw, "name") or ln, f"{who}name missing")
            ok = False
        phone, client = raw.get("phone"), raw.get("client")
        if (phone is None) == (client is None):
            c.err(
                ln, f"{who}give exactly one of phone (E.164) or client (a Twilio Client identity)"
            )
            ok = False
        elif phone is not None and not _is_e164(phone):
            c.err(
                _kl(raw, "phone"),
                f"{who}phone {phone!r} is not a valid E.164 number (like +33612345678)",
            )
            ok = False
        elif client is not None and (not isinstance(client, str) or not _CLIENT.match(client)):
            c.err(
                _kl(raw, "client"),
                f"{who}client identity {client!r}: letters, digits, _ . @ - only",
            )
            ok = False
        agent_skills: dict[str, int] = {}
        sk = raw.get("skills")
        if not isinstance(sk, dict) or not sk:
            c.err(_kl(raw, "skills") or ln, f"{who}skills: expected a mapping skill: level (1-5)")
            ok = False
        else:
            _no_duplicates(c, sk)
            for s, lvl in sk.items():
                sl = _kl(sk, s)
                if s not in skills:
                    c.err(sl, f"{who}unknown skill {s!r} (skills are: {', '.join(skills)})")
                    ok = False
                elif isinstance(lvl, bool) or not isinstance(lvl, int) or not 1 <= lvl <= 5:
                    c.err(sl, f"{who}skill {s}: bad level {lvl!r} (an integer 1 to 5)")
                    ok = False
                else:
                    agent_skills[s] = lvl
        langs = raw.get("languages")
        if not isinstance(langs, list) or not langs:
            c.err(_kl(raw, "languages") or ln, f"{who}languages: expected a list such as [fr, en]")
            ok = False
            langs = []
        for lang in langs:
            if not isinstance(lang, str) or not _LANG.match(lang):
                c.err(
                    _kl(raw, "languages"),
                    f"{who}bad language {lang!r} (two letters, like fr or en)",
                )
                ok = False
        if len(set(langs)) != len(langs):
            c.err(_kl(raw, "languages"), f"{who}a language is listed twice")
            ok = False
        tz = raw.get("timezone")
        if tz is not None and not _valid_zone(tz):
            c.err(_kl(raw, "timezone"), f"{who}unknown time zone {tz!r}")
            ok = False
        if ok:
            out.append(
                AgentSpec(
                    id=aid,
                    name=name.strip(),
                    phone=phone,
                    client_identity=client,
                    skills=agent_skills,
                    languages=tuple(langs),
                    timezone=tz,
                )
            )
        elif isinstance(aid, str) and aid in seen:
            # keep its id known so its shifts are checked without a second "unknown agent"
            out.append(
                AgentSpec(
                    id=aid,
                    name=str(name),
                    phone=None,
                    client_identity=None,
                    skills={},
                    languages=(),
                )
            )
    return out


def _is_e164(phone) -> bool:
    if not isinstance(phone, str) or not phone.startswith("+"):
        return False
    try:
        n = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return (
        phonenumbers.is_valid_number(n)
        and phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164) == phone
    )


def _shifts(c: _Check, value, known: set[str], line) -> list[tuple[Shift, int | None]]:
    if value is None:
        return []
    if not isinstance(value, list):
        c.err(line, "shifts: expected a list of shifts")
        return []
    out: list[tuple[Shift, int | None]] = []
    counters: dict[str, int] = {}
    for raw in value:
        ln = _line_of(raw) or line
        if not isinstance(raw, dict):
            c.err(ln, "shifts: each shift is a mapping (agent, days, start, end)")
            continue
        _no_duplicates(c, raw)
        _unknown_keys(
            c,
            raw,
            {"id", "agent", "days", "start", "end", "on_call", "valid_from", "valid_until"},
            "shift: ",
        )
        agent = raw.get("agent")
        ok = _known_agent(c, agent, known, _kl(raw, "agent") or ln, "shift")
        days = _days(c, raw.get("days"), _kl(raw, "days") or ln)
        start = _time(c, raw.get("start"), _kl(raw, "start") or ln, "start")
        end = _time(c, raw.get("end"), _kl(raw, "end") or ln, "end")
        if start is not None and start == end:
            c.err(
                _kl(raw, "end"), f"shift: zero-length shift (start and end are both {start:%H:%M})"
            )
            ok = False
        on_call = _bool(c, raw.get("on_call", False), _kl(raw, "on_call"), "on_call")
        vf = vu = None
        if raw.get("valid_from") is not None:
            vf = _date(c, raw["valid_from"], _kl(raw, "valid_from"), "valid_from")
        if raw.get("valid_until") is not None:
            vu = _date(c, raw["valid_until"], _kl(raw, "valid_until"), "valid_until")
        if vf and vu and vu < vf:
            c.err(_kl(raw, "valid_until"), f"shift: valid_until {vu} is before valid_from {vf}")
            ok = False
        if isinstance(agent, str):
            counters[agent] = counters.get(agent, 0) + 1
        sid = raw.get("id")
        if sid is None and isinstance(agent, str):
            sid = f"{agent}-{counters[agent]}"
        elif sid is not None and (not isinstance(sid, str) or not _ID.match(sid)):
            c.err(_kl(raw, "id") or ln, f"shift: bad id {sid!r}")
            ok = False
        if ok and None not in (days, start, end):
            out.append((Shift(sid, agent, days, start, end, on_call, vf, vu), ln))
    return out


def _known_agent(c: _Check, agent, known: set[str], line, what: str) -> bool:
    if not isinstance(agent, str):
        c.err(line, f"{what}: agent missing")
        return False
    if agent not in known:
        c.err(line, f"{what}: unknown agent {agent!r}")
        return False
    return True


def _exceptions(c: _Check, value, known: set[str], line):
    leaves: list[Leave] = []
    extras: list[tuple[ExtraShift, int | None]] = []
    swaps: list[tuple[Swap, int | None]] = []
    if value is None:
        return leaves, extras, swaps
    if not isinstance(value, dict):
        c.err(line, "exceptions: expected a mapping with leave, extra and swap lists")
        return leaves, extras, swaps
    _no_duplicates(c, value)
    _unknown_keys(c, value, {"leave", "extra", "swap"}, "exceptions: ")
    for kind in ("leave", "extra", "swap"):
        items = value.get(kind)
        if items is None:
            continue
        if not isinstance(items, list):
            c.err(_kl(value, kind), f"exceptions: {kind} must be a list")
            continue
        counters: dict[str, int] = {}
        for raw in items:
            ln = _line_of(raw) or _kl(value, kind)
            if not isinstance(raw, dict):
                c.err(ln, f"{kind}: each entry is a mapping")
                continue
            _no_duplicates(c, raw)
            if kind == "leave":
                _unknown_keys(c, raw, {"agent", "from", "to", "reason"}, "leave: ")
                ok = _known_agent(c, raw.get("agent"), known, _kl(raw, "agent") or ln, "leave")
                d0 = _date(c, raw.get("from"), _kl(raw, "from") or ln, "leave: from")
                d1 = _date(c, raw.get("to"), _kl(raw, "to") or ln, "leave: to")
                if d0 and d1 and d1 < d0:
                    c.err(_kl(raw, "to"), f"leave: to {d1} is before from {d0}")
                    ok = False
                reason = raw.get("reason")
                if ok and d0 and d1:
                    leaves.append(
                        Leave(raw["agent"], d0, d1, None if reason is None else str(reason))
                    )
            elif kind == "extra":
                _unknown_keys(c, raw, {"id", "agent", "date", "start", "end", "on_call"}, "extra: ")
                agent = raw.get("agent")
                ok = _known_agent(c, agent, known, _kl(raw, "agent") or ln, "extra")
                d = _date(c, raw.get("date"), _kl(raw, "date") or ln, "extra: date")
                start = _time(c, raw.get("start"), _kl(raw, "start") or ln, "start")
                end = _time(c, raw.get("end"), _kl(raw, "end") or ln, "end")
                if start is not None and start == end:
                    c.err(
                        _kl(raw, "end"),
                        f"extra: zero-length shift (start and end are both {start:%H:%M})",
                    )
                    ok = False
                on_call = _bool(c, raw.get("on_call", False), _kl(raw, "on_call"), "on_call")
                if isinstance(agent, str):
                    counters[agent] = counters.get(agent, 0) + 1
                sid = raw.get("id")
                if sid is None and isinstance(agent, str):
                    sid = f"{agent}-x{counters[agent]}"
                elif sid is not None and (not isinstance(sid, str) or not _ID.match(sid)):
                    c.err(_kl(raw, "id") or ln, f"extra: bad id {sid!r}")
                    ok = False
                if ok and None not in (d, start, end):
                    extras.append((ExtraShift(sid, agent, d, start, end, on_call), ln))
            else:
                _unknown_keys(c, raw, {"date", "agent", "with", "shift"}, "swap: ")
                a, b = raw.get("agent"), raw.get("with")
                ok = _known_agent(c, a, known, _kl(raw, "agent") or ln, "swap")
                ok = _known_agent(c, b, known, _kl(raw, "with") or ln, "swap") and ok
                if ok and a == b:
                    c.err(_kl(raw, "with"), f"swap: an agent cannot swap with themself ({a!r})")
                    ok = False
                d = _date(c, raw.get("date"), _kl(raw, "date") or ln, "swap: date")
                sh = raw.get("shift")
                if ok and d:
                    swaps.append((Swap(d, a, b, None if sh is None else str(sh)), ln))
    return leaves, extras, swaps


def _unique_ids(c: _Check, shifts, extras) -> None:
    seen: set[str] = set()
    for s, ln in [*shifts, *extras]:
        if s.id in seen:
            c.err(ln, f"shift: duplicate shift id {s.id!r}")
        seen.add(s.id)


def _weekly_intervals(s: Shift) -> list[tuple[int, int]]:
    """Minutes of the week the shift covers, split at the Sunday-to-Monday wrap."""
    out = []
    length = s.minutes()
    for d in s.days:
        a = d * 1440 + minutes_of(s.start)
        b = a + length
        if b <= WEEK_MIN:
            out.append((a, b))
        else:
            out += [(a, WEEK_MIN), (0, b - WEEK_MIN)]
    return out


def _dates_meet(a: Shift, b: Shift) -> bool:
    # a day of slack: an overnight shift valid until D still runs on D+1 morning
    lo = max(a.valid_from or date.min, b.valid_from or date.min)
    hi = min(a.valid_until or date.max, b.valid_until or date.max)
    return lo <= hi + timedelta(days=1) if hi < date.max else True


def _overlaps(c: _Check, shifts, extras) -> None:
    """Two shifts of one agent must not cover the same minute (wall-clock, agent's zone)."""
    by_agent: dict[str, list] = {}
    for s, ln in shifts:
        by_agent.setdefault(s.agent, []).append((s, ln))
    for agent, items in by_agent.items():
        for i, (a, _) in enumerate(items):
            ia = _weekly_intervals(a)
            for b, lnb in items[i + 1 :]:
                if not _dates_meet(a, b):
                    continue
                if any(x0 < y1 and y0 < x1 for x0, x1 in ia for y0, y1 in _weekly_intervals(b)):
                    c.err(lnb, f"shift {b.id}: overlaps shift {a.id} of agent {agent!r}")
    naive: list[tuple[str, str, datetime, datetime, int | None]] = []
    for e, ln in extras:
        t0 = datetime.combine(e.date, e.start)
        t1 = datetime.combine(e.date + timedelta(days=1 if e.overnight else 0), e.end)
        for other_id, agent, u0, u1, _ in naive:
            if agent == e.agent and t0 < u1 and u0 < t1:
                c.err(ln, f"extra {e.id}: overlaps extra {other_id} of agent {e.agent!r}")
        for s, _ in by_agent.get(e.agent, ()):
            for d in (e.date - timedelta(days=1), e.date, e.date + timedelta(days=1)):
                if d.weekday() in s.days and s.valid_on(d):
                    u0 = datetime.combine(d, s.start)
                    u1 = datetime.combine(d + timedelta(days=1 if s.overnight else 0), s.end)
                    if t0 < u1 and u0 < t1:
                        c.err(
                            ln, f"extra {e.id}: overlaps shift {s.id} of agent {e.agent!r} on {d}"
                        )
                        break
        naive.append((e.id, e.agent, t0, t1, ln))


def load_text(text: str, filename: str = "<roster>") -> Roster:
    """Parse and validate a roster file; raise RosterInvalid with every problem."""
    try:
        data = yaml.load(text, Loader=LineLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        what = getattr(e, "problem", None) or str(e)
        raise RosterInvalid(
            [Problem(filename, mark.line + 1 if mark else None, f"not valid YAML: {what}")]
        ) from None
    return from_data(data, filename)
