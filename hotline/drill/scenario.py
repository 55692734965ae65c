"""A drill scenario: YAML read with line numbers (roster/yamllines.py), every problem
reported as `file:line: reason` at once (`ScenarioInvalid`), then frozen dataclasses.

The format is documented in docs/wfm.md ("Drills") and in the header of each shipped
scenario (hotline/drill/scenarios/). Times of day ("09:15") are wall-clock times in the
scenario's time zone on the day the drill starts (incidents), or every day (the curve).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ..errors import HotlineError
from ..roster.model import Problem
from ..roster.yamllines import LineLoader, LineMap
from ..states import SKILL_OF
from .dists import KINDS, NEVER, Dist

HERE = Path(__file__).parent / "scenarios"
ANSWER_DELAY = Dist("fixed", 4.0)
TALK = Dist("exponential", 300.0)
INCIDENT_TYPES = ("surge", "away", "announcement", "no_answer")


class ScenarioInvalid(HotlineError):
    """A drill scenario failed validation; `problems` lists every one with its line."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class AgentModel:
    """How a simulated agent behaves when offered a call."""

    answer_delay: Dist = ANSWER_DELAY
    miss_probability: float = 0.0
    talk: Dist = TALK
    back_after_missed_s: float = 60.0


@dataclass(frozen=True)
class Incident:
    type: str  # surge | away | announcement | no_answer
    start: float  # epoch s
    end: float  # epoch s (math.inf: until the end of the drill)
    category: str | None = None
    factor: float = 1.0  # surge: arrivals of `category` multiplied
    deflects: float = 0.0  # announcement: share of `category` callers who hang up after it
    text: str = ""
    agents: tuple[str, ...] = ()  # away / no_answer: these agents...
    count: int = 0  # ...or this many of those on shift at `start` (away)
    on_call: bool = False  # no_answer: whoever is on call
    reason: str = "site_visit"


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str
    start: float
    hours: float
    interval_s: float
    tz: str
    seed: int
    target_s: float
    roster: str  # a file path (resolved) or "stored"
    arrivals: (
        tuple  # ("per_hour", r) | ("curve", ((minute_of_day, r), ...)) | ("per_interval", (...))
    )
    categories: dict[str, float]
    languages: dict[str, float]
    patience: Dist
    callback_accept: float
    callback_answer: float
    agents: AgentModel
    overrides: dict[str, AgentModel] = field(default_factory=dict)
    only_agents: tuple[str, ...] = ()
    incidents: tuple[Incident, ...] = ()
    settings: dict = field(default_factory=dict)
    wrapup: dict | None = None
    overflow: dict | None = None
    description: str = ""

    def model_for(self, agent_id: str) -> AgentModel:
        return self.overrides.get(agent_id, self.agents)


def shipped() -> list[Path]:
    return sorted(p for p in HERE.glob("*.yaml") if not p.name.startswith("roster"))


def load(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioInvalid([Problem(str(path), None, f"cannot read: {e.strerror}")]) from None
    return parse(text, str(path), base=path.parent)


def parse(text: str, filename: str = "<scenario>", base: Path | None = None) -> Scenario:
    try:
        data = yaml.load(text, Loader=LineLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        what = getattr(e, "problem", None) or str(e)
        raise ScenarioInvalid(
            [Problem(filename, mark.line + 1 if mark else None, f"not valid YAML: {what}")]
        ) from None
    return _Reader(filename, base or Path(".")).scenario(data)


TOP = {
    "name",
    "description",
    "start",
    "hours",
    "interval_minutes",
    "timezone",
    "seed",
    "target_s",
    "roster",
    "agents",
    "callers",
    "incidents",
    "settings",
    "wrapup",
    "overflow",
}
SHIPPED_POLICY = {"wrapup": "legs/wrapup.yaml", "overflow": "routing/overflow.yaml"}
SETTINGS = {"routing_strategy", "offer_timeout_s", "agent_ring_timeout_s"}


class _Reader:
    def __init__(self, filename: str, base: Path):
        self.file = filename
        self.base = base
        self.problems: list[Problem] = []
        self.tz = ZoneInfo("Europe/Paris")
        self.start: datetime | None = None

    # helpers -------------------------------------------------------------------
    def err(self, line, reason: str) -> None:
        self.problems.append(Problem(self.file, line, reason))

    @staticmethod
    def line(m, key=None):
        if isinstance(m, LineMap):
            return m.key_line(key) if key is not None else m.line
        return getattr(m, "line", None)

    def mapping(self, m, key, allowed: set[str], line) -> LineMap:
        v = m.get(key) if isinstance(m, dict) else None
        if v is None:
            return LineMap()
        if not isinstance(v, dict):
            self.err(self.line(m, key) or line, f"{key} must be a mapping")
            return LineMap()
        for k in v:
            if k not in allowed:
                self.err(
                    self.line(v, k), f"{key}: unknown key {k!r} ({', '.join(sorted(allowed))})"
                )
        return v

    def number(self, m, key, default, lo=0.0, hi=math.inf, *, integer=False, what=None):
        v = m.get(key, default) if isinstance(m, dict) else default
        what = what or key
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        if ok and integer and not float(v).is_integer():
            ok = False
        if not ok or not lo <= v <= hi:
            kind = "an integer" if integer else "a number"
            bound = f" from {lo:g}" + (f" to {hi:g}" if hi != math.inf else "")
            self.err(self.line(m, key), f"{what} must be {kind}{bound}, not {v!r}")
            return default
        return int(v) if integer else float(v)

    def dist(self, m, key, default: Dist, *, allow_never=False) -> Dist:
        v = m.get(key) if isinstance(m, dict) else None
        line = self.line(m, key)
        if v is None:
            if key in (m or {}) and allow_never:
                return NEVER
            return default
        if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0:
            return Dist("fixed", float(v))
        if v == "never" and allow_never:
            return NEVER
        if not isinstance(v, dict):
            self.err(line, f"{key}: a number of seconds or {{dist: {'|'.join(KINDS)}, mean: S}}")
            return default
        for k in v:
            if k not in ("dist", "mean", "sd", "value"):
                self.err(self.line(v, k), f"{key}: unknown key {k!r} (dist, mean, sd, value)")
        kind = v.get("dist")
        if kind not in KINDS:
            self.err(self.line(v, "dist") or line, f"{key}: dist must be one of {', '.join(KINDS)}")
            return default
        mean = v.get("value" if kind == "fixed" and "value" in v else "mean")
        if not isinstance(mean, int | float) or isinstance(mean, bool) or mean < 0:
            self.err(line, f"{key}: {kind} needs a mean (seconds, >= 0)")
            return default
        sd = 0.0
        if kind == "lognormal":
            sd = v.get("sd")
            if not isinstance(sd, int | float) or isinstance(sd, bool) or sd <= 0 or mean <= 0:
                self.err(line, f"{key}: lognormal needs mean > 0 and sd > 0 (seconds)")
                return default
        return Dist(kind, float(mean), float(sd))

    def share(self, m, key, allowed: tuple[str, ...] | None, default: dict) -> dict[str, float]:
        v = m.get(key) if isinstance(m, dict) else None
        if v is None:
            return default
        line = self.line(m, key)
        if not isinstance(v, dict) or not v:
            self.err(line, f"{key} must be a mapping of name -> share")
            return default
        out = {}
        for k, w in v.items():
            if allowed is not None and k not in allowed:
                self.err(self.line(v, k), f"{key}: unknown {k!r} ({', '.join(allowed)})")
            elif not isinstance(w, int | float) or isinstance(w, bool) or w < 0:
                self.err(self.line(v, k), f"{key}: the share of {k} must be a number >= 0")
            else:
                out[str(k)] = float(w)
        total = sum(out.values())
        if out and total <= 0:
            self.err(line, f"{key}: the shares add up to nothing")
            return default
        return {k: w / total for k, w in out.items()} if out else default

    def probability(self, m, key, default: float) -> float:
        return self.number(m, key, default, 0.0, 1.0)

    def when(self, m, key, line) -> float | None:
        """An instant: "HH:MM" on the start day (scenario time zone) or an ISO date-time."""
        v = m.get(key)
        ln = self.line(m, key) or line
        if isinstance(v, datetime):
            return (v if v.tzinfo else v.replace(tzinfo=self.tz)).timestamp()
        if isinstance(v, str):
            t = _hhmm(v)
            if t is not None:
                if self.start is None:
                    return None
                day = self.start.astimezone(self.tz).date()
                return datetime.combine(day, t, tzinfo=self.tz).timestamp()
            try:
                d = datetime.fromisoformat(v)
                return (d if d.tzinfo else d.replace(tzinfo=self.tz)).timestamp()
            except ValueError:
                pass
        self.err(ln, f"{key} must be a time of day 'HH:MM' or a date-time, not {v!r}")
        return None

    # the document --------------------------------------------------------------
    def scenario(self, d) -> Scenario:
        if not isinstance(d, dict):
            self.err(1, "a scenario must be a mapping (name, start, roster, agents, callers...)")
            raise ScenarioInvalid(self.problems)
        for k, ln in getattr(d, "duplicates", []):
            self.err(ln, f"{k!r} given twice")
        for k in d:
            if k not in TOP:
                self.err(self.line(d, k), f"unknown key {k!r} ({', '.join(sorted(TOP))})")
        for k in ("name", "start", "roster", "callers"):
            if k not in d:
                self.err(1, f"missing {k!r}")
        tzname = d.get("timezone", "Europe/Paris")
        try:
            self.tz = ZoneInfo(str(tzname))
        except (ZoneInfoNotFoundError, ValueError):
            self.err(self.line(d, "timezone"), f"unknown time zone {tzname!r}")
        start = d.get("start")
        if isinstance(start, str):
            try:
                start = datetime.fromisoformat(start)
            except ValueError:
                start = None
        if "start" in d and not isinstance(start, datetime):
            self.err(self.line(d, "start"), "start must be a date-time (2026-12-07T07:00:00+01:00)")
        elif isinstance(start, datetime):
            self.start = start if start.tzinfo else start.replace(tzinfo=self.tz)
        roster = d.get("roster")
        if roster is not None and not isinstance(roster, str):
            self.err(self.line(d, "roster"), "roster must be a file path or `stored`")
        elif isinstance(roster, str) and roster != "stored":
            p = (self.base / roster).resolve()
            if not p.is_file():
                self.err(
                    self.line(d, "roster"), f"roster file {roster} not found (from {self.base})"
                )
            roster = str(p)
        settings = self.mapping(d, "settings", SETTINGS, 1)
        strategy = settings.get("routing_strategy")
        if strategy is not None and strategy not in ("longest_idle", "most_skilled_first"):
            self.err(
                self.line(settings, "routing_strategy"),
                "routing_strategy: longest_idle or most_skilled_first",
            )
        for k in ("offer_timeout_s", "agent_ring_timeout_s"):
            if k in settings:
                self.number(settings, k, 20, 5, 300)
        agents, overrides, only = self.agents(d)
        callers = self.callers(d)
        incidents = self.incidents(d)
        for k in ("wrapup", "overflow"):
            if k in d and not isinstance(d[k], dict):
                self.err(
                    self.line(d, k),
                    f"{k} must be a mapping (the format of hotline/{SHIPPED_POLICY[k]})",
                )
        if self.problems:
            raise ScenarioInvalid(self.problems)
        return Scenario(
            name=str(d.get("name")),
            description=str(d.get("description") or ""),
            source=self.file,
            start=self.start.timestamp(),
            hours=self.number(d, "hours", 24.0, 0.01, 100_000),
            interval_s=60.0 * self.number(d, "interval_minutes", 30, 1, 1440, integer=True),
            tz=self.tz.key,
            seed=self.number(d, "seed", 1, 0, 2**63, integer=True),
            target_s=self.number(d, "target_s", 60.0, 0, 86400),
            roster=roster,
            arrivals=callers["arrivals"],
            categories=callers["categories"],
            languages=callers["languages"],
            patience=callers["patience"],
            callback_accept=callers["callback_accept"],
            callback_answer=callers["callback_answer"],
            agents=agents,
            overrides=overrides,
            only_agents=only,
            incidents=tuple(incidents),
            settings={k: settings[k] for k in settings},
            wrapup=_plain(d.get("wrapup")),
            overflow=_plain(d.get("overflow")),
        )

    def model(self, m, base: AgentModel) -> AgentModel:
        return AgentModel(
            answer_delay=self.dist(m, "answer_delay", base.answer_delay),
            miss_probability=self.probability(m, "miss_probability", base.miss_probability),
            talk=self.dist(m, "talk", base.talk),
            back_after_missed_s=self.number(m, "back_after_missed_s", base.back_after_missed_s),
        )

    def agents(self, d):
        keys = {"answer_delay", "miss_probability", "talk", "back_after_missed_s"}
        m = self.mapping(d, "agents", keys | {"overrides", "only"}, 1)
        base = self.model(m, AgentModel())
        overrides = {}
        ov = m.get("overrides") or {}
        if not isinstance(ov, dict):
            self.err(self.line(m, "overrides"), "agents.overrides must map agent id -> behaviour")
            ov = {}
        for aid, spec in ov.items():
            if not isinstance(spec, dict):
                self.err(self.line(ov, aid), f"agents.overrides.{aid} must be a mapping")
                continue
            for k in spec:
                if k not in keys:
                    self.err(self.line(spec, k), f"agents.overrides.{aid}: unknown key {k!r}")
            overrides[str(aid)] = self.model(spec, base)
        only = m.get("only") or []
        if not isinstance(only, list) or not all(isinstance(x, str) for x in only):
            self.err(self.line(m, "only"), "agents.only must be a list of agent ids")
            only = ()
        return base, overrides, tuple(only)

    def callers(self, d) -> dict:
        keys = {
            "arrivals",
            "categories",
            "languages",
            "patience",
            "callback_accept",
            "callback_answer",
        }
        m = self.mapping(d, "callers", keys, 1)
        return {
            "arrivals": self.arrivals(m),
            "categories": self.share(m, "categories", tuple(SKILL_OF), {"general": 1.0}),
            "languages": self.share(m, "languages", ("fr", "en"), {"fr": 1.0}),
            "patience": self.dist(m, "patience", NEVER, allow_never=True),
            "callback_accept": self.probability(m, "callback_accept", 0.0),
            "callback_answer": self.probability(m, "callback_answer", 1.0),
        }

    def arrivals(self, m):
        a = m.get("arrivals")
        line = self.line(m, "arrivals") or self.line(m)
        if not isinstance(a, dict) or len(a) != 1:
            self.err(
                line,
                "callers.arrivals: one of {per_hour: N}, {curve: {'HH:MM': N, ...}}, {per_interval: [N, ...]}",
            )
            return ("per_hour", 0.0)
        ((kind, v),) = a.items()
        if kind == "per_hour":
            return ("per_hour", self.number(a, "per_hour", 0.0, what="arrivals.per_hour"))
        if kind == "curve" and isinstance(v, dict) and v:
            points = []
            for k, rate in v.items():
                t = _hhmm(str(k))
                if t is None:
                    self.err(self.line(v, k), f"arrivals.curve: {k!r} is not a time 'HH:MM'")
                elif not isinstance(rate, int | float) or isinstance(rate, bool) or rate < 0:
                    self.err(self.line(v, k), f"arrivals.curve: calls per hour at {k} must be >= 0")
                else:
                    points.append((t.hour * 60 + t.minute, float(rate)))
            return ("curve", tuple(sorted(points)))
        if kind == "per_interval" and isinstance(v, list) and v:
            if not all(
                isinstance(x, int | float) and not isinstance(x, bool) and x >= 0 for x in v
            ):
                self.err(
                    self.line(a, kind), "arrivals.per_interval: calls per interval, numbers >= 0"
                )
            return ("per_interval", tuple(float(x) for x in v if isinstance(x, int | float)))
        self.err(self.line(a, kind) or line, f"callers.arrivals: cannot read {kind!r}")
        return ("per_hour", 0.0)

    def incidents(self, d) -> list[Incident]:
        v = d.get("incidents") or []
        if not isinstance(v, list):
            self.err(self.line(d, "incidents"), "incidents must be a list")
            return []
        out = []
        lines = getattr(v, "item_lines", [])
        for i, m in enumerate(v):
            ln = lines[i] if i < len(lines) else self.line(d, "incidents")
            if not isinstance(m, dict):
                self.err(ln, "an incident must be a mapping with a type")
                continue
            inc = self.incident(m, ln)
            if inc is not None:
                out.append(inc)
        return out

    def incident(self, m, ln) -> Incident | None:
        kind = m.get("type")
        allowed = {
            "surge": {"from", "to", "category", "factor"},
            "away": {"at", "minutes", "agents", "reason"},
            "announcement": {"at", "to", "category", "deflects", "text"},
            "no_answer": {"from", "to", "agents"},
        }
        if kind not in allowed:
            self.err(
                self.line(m, "type") or ln,
                f"incident type must be one of {', '.join(INCIDENT_TYPES)}",
            )
            return None
        for k in m:
            if k != "type" and k not in allowed[kind]:
                self.err(
                    self.line(m, k),
                    f"{kind} incident: unknown key {k!r} ({', '.join(sorted(allowed[kind]))})",
                )
        first = "at" if "at" in allowed[kind] else "from"
        start = (
            self.when(m, first, ln) if first in m else (None if kind != "no_answer" else -math.inf)
        )
        if start is None:
            if first not in m:
                self.err(ln, f"{kind} incident: needs {first!r}")
            return None
        end = math.inf
        if "to" in m:
            end = self.when(m, "to", ln)
            if end is None:
                return None
            if end <= start:
                self.err(self.line(m, "to"), f"{kind} incident: 'to' must come after {first!r}")
        cat = m.get("category")
        if kind in ("surge", "announcement") and cat not in SKILL_OF:
            self.err(
                self.line(m, "category") or ln,
                f"{kind} incident: category must be one of {', '.join(SKILL_OF)}",
            )
        if kind == "surge":
            return Incident(
                "surge",
                start,
                end,
                category=cat,
                factor=self.number(m, "factor", 1.0, what="factor"),
            )
        if kind == "announcement":
            return Incident(
                "announcement",
                start,
                end,
                category=cat,
                deflects=self.probability(m, "deflects", 0.0),
                text=str(m.get("text") or "Incident en cours : nos équipes sont mobilisées."),
            )
        agents = m.get("agents")
        ids, count, on_call = (), 0, False
        if (
            kind == "away"
            and isinstance(agents, int)
            and not isinstance(agents, bool)
            and agents > 0
        ):
            count = agents
        elif kind == "no_answer" and agents == "on_call":
            on_call = True
        elif isinstance(agents, list) and agents and all(isinstance(x, str) for x in agents):
            ids = tuple(agents)
        else:
            want = (
                "a number of agents or a list of ids"
                if kind == "away"
                else "`on_call` or a list of ids"
            )
            self.err(self.line(m, "agents") or ln, f"{kind} incident: agents must be {want}")
        if kind == "away":
            minutes = self.number(m, "minutes", 60.0, 1, 100_000)
            end = start + 60.0 * minutes
            return Incident(
                "away",
                start,
                end,
                agents=ids,
                count=count,
                reason=str(m.get("reason") or "site_visit"),
            )
        return Incident("no_answer", start, end, agents=ids, on_call=on_call)


def _hhmm(text: str) -> time | None:
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    h, mi = int(parts[0]), int(parts[1])
    if h == 24 and mi == 0:
        return None
    return time(h, mi) if h < 24 and mi < 60 else None


def _plain(v):
    """LineMap/LineSeq back to plain dicts and lists (written to a policy file)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


__all__ = ["AgentModel", "Incident", "Scenario", "ScenarioInvalid", "load", "parse", "shipped"]
