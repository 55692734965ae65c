"""A simulated day (or hour) at the hotline: a scenario of callers and agents, played
on the offline hotline (LocalHotline) in virtual time.

The scenario is data (morning_peak.yaml is the default; its header documents the
format). Playing it:

1. the store is reset (our key prefix and our RQ queue only), the roster imported,
   and every simulated agent given a phone on the simulator's network;
   with more agents asked for than the roster has on shift, the others get a
   one-off extra shift for the day (a logged roster edit, as a manager calling in
   reinforcements would make);
2. callers are generated from the scenario's mix with its seed (the same scenario
   plays the same way every time: virtual time and seeded draws);
3. three kinds of parties share the timeline: callers (carrier calls into the IVR),
   agents (they log in at their shift start; after a missed offer they make
   themselves available again a little later: the hotline sets them away/missed),
   and a supervisor that ends the run once every call is over and every call
   record is in a final state (or at the horizon);
4. the figures are computed from the event log alone (reports.py) and the
   invariants checked the same way (invariants.py).
"""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..errors import HotlineError, IllegalTransition, NotEligible
from .party import Party, Press, Silence, Speak
from .phones import AgentPhone
from .scenario import ScriptedCaller

if TYPE_CHECKING:
    from ..services import Services


HERE = Path(__file__).parent
DEFAULT_DAY = HERE / "morning_peak.yaml"
REPO = HERE.parent.parent
POLL_S = 20.0  # how often a simulated agent looks at their own state
SUPERVISE_S = 30.0  # how often the supervisor checks whether the day is over
CATEGORY_KEYS = {"connection": "1", "software": "2", "error_message": "3", "general": "0"}


@dataclass(frozen=True)
class AgentPlan:
    id: str
    answer_after: float | tuple = (3.0, 8.0)
    talk_seconds: float | tuple = (150.0, 360.0)
    offers: tuple[str, ...] = ()
    default: str = "accept"
    miss_probability: float = 0.0
    back_after_missed_s: float = 60.0

    def phone(self, address: str, seed: int) -> AgentPhone:
        return AgentPhone(
            self.id,
            address,
            answer_after=self.answer_after,
            talk_seconds=self.talk_seconds,
            offers=list(self.offers),
            default=self.default,
            miss_probability=self.miss_probability,
            seed=seed,
        )


def back_from_missed(svc: Services, plan: AgentPlan, now) -> bool:
    """Whether the agent of `plan`, set away by the hotline after a missed offer, has been
    away for their plan's back_after_missed_s by `now()` (a clock's or timeline's `now`),
    so makes themselves available again."""
    state, reason, since = svc.redis.hmget(svc.keys.agent(plan.id), "state", "reason", "since")
    return (
        state == "away"
        and reason == "missed"
        and now() - float(since or 0) >= plan.back_after_missed_s
    )


def agents_come_back(svc: Services, plans, clock, stop, poll_s: float = POLL_S) -> None:
    """For a simulator in its own process (`hotline simulator`; a Day has its agents'
    parties): every `poll_s` simulated seconds until `stop` (a threading.Event) is set,
    each agent back from a missed offer (`back_from_missed`) logs back in; Redis errors
    are waited out."""
    import redis

    while not stop.wait(clock.real_delay(poll_s)):
        for plan in plans:
            try:
                if back_from_missed(svc, plan, clock.now):
                    svc.agents.set_state(plan.id, "available", by="agent")
            except (HotlineError, redis.RedisError, OSError, ValueError):
                continue


@dataclass(frozen=True)
class CallerPlan:
    name: str
    from_: str
    at: float  # seconds after the start
    answers: tuple
    patience: float
    talk_seconds: float | None = None
    category: str = "general"
    lang: str = "fr"

    def party(self) -> Party:
        return Party(
            list(self.answers),
            patience=self.patience,
            name=self.name,
            talk_seconds=self.talk_seconds,
            max_call_seconds=4 * 3600.0,
        )


@dataclass(frozen=True)
class DayScenario:
    name: str
    start: float
    duration_s: float
    horizon_s: float
    roster: str
    seed: int
    agents: tuple[AgentPlan, ...]
    calls: dict = field(default_factory=dict)
    phrases: dict = field(default_factory=dict)
    callers: tuple[ScriptedCaller, ...] = ()

    def with_counts(self, calls: int | None = None, agents: int | None = None) -> DayScenario:
        out = self
        if calls is not None:
            if calls < 0:
                raise HotlineError("--calls must be 0 or more")
            out = replace(out, calls={**out.calls, "count": calls})
        if agents is not None:
            if agents < 1:
                raise HotlineError("--agents must be at least 1")
            out = replace(
                out,
                agents=out.agents[:agents]
                + tuple(AgentPlan(f"+extra{i}") for i in range(max(0, agents - len(out.agents)))),
            )
        return out

    def roster_path(self) -> Path:
        p = Path(self.roster)
        for candidate in (p, REPO / p, HERE / p):
            if candidate.exists():
                return candidate
        raise HotlineError(f"scenario {self.name}: roster file {self.roster} not found")

    # Callers -------------------------------------------------------------------------
    def caller_plans(self) -> list[CallerPlan]:
        c = self.calls
        rng = random.Random(f"{self.seed}:callers")
        n = int(c.get("count", 0))
        mix = c.get("mix") or {"general": 1.0}
        cats, weights = list(mix), [float(w) for w in mix.values()]
        peak = float(c.get("peak_at", 0.5))
        out = []
        for i in range(n):
            at = round(rng.triangular(0.0, self.duration_s, peak * self.duration_s), 1)
            cat = rng.choices(cats, weights)[0]
            lang = "en" if rng.random() < float(c.get("english", 0.0)) else "fr"
            answers: list = [Press("9")] if lang == "en" else []
            phrases = (self.phrases.get(lang) or {}).get(cat) or []
            if phrases and rng.random() < float(c.get("speech", 0.0)):
                answers.append(Speak(rng.choice(phrases)))
            else:
                answers.append(Press(CATEGORY_KEYS.get(cat, "0")))
            if cat == "error_message":
                code = rng.choice(["80070005", "0x80004005", "404", "1603"]).replace("0x", "")
                answers.append(
                    Press(code + "#")
                    if rng.random() < float(c.get("error_code", 0.5))
                    else Silence()
                )
            solved = rng.random() < float(c.get("selfhelp_solved", 0.0))
            answers.append(Press("1") if solved else Silence())
            if rng.random() < float(c.get("accept_callback", 0.0)):
                answers.append(Press("1"))  # the next Gather they meet is the callback offer
            lo, hi = c.get("patience_s", (120, 600))
            talk = None
            if rng.random() < float(c.get("caller_hangs_up_first", 0.0)):
                tlo, thi = c.get("caller_talk_s", (60, 240))
                talk = round(rng.uniform(float(tlo), float(thi)), 1)
            out.append(
                CallerPlan(
                    name=f"caller {i + 1} ({cat}, {lang})",
                    from_=f"+336{20000000 + i * 7919 % 9999999:08d}",
                    at=at,
                    answers=tuple(answers),
                    patience=round(rng.uniform(float(lo), float(hi)), 1),
                    talk_seconds=talk,
                    category=cat,
                    lang=lang,
                )
            )
        for s in self.callers:
            out.append(
                CallerPlan(
                    name=s.name,
                    from_=s.from_,
                    at=s.at,
                    answers=tuple(s.party().answers),
                    patience=s.patience,
                )
            )
        return sorted(out, key=lambda p: p.at)


def load_day(path: Path | str | None = None) -> DayScenario:
    path = Path(path or DEFAULT_DAY)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise HotlineError(f"scenario {path}: {e}") from None
    if not isinstance(doc, dict):
        raise HotlineError(f"scenario {path}: expected a mapping")
    try:
        start = datetime.fromisoformat(str(doc["start"]))
        if start.tzinfo is None:
            raise HotlineError(
                f"scenario {path}: start needs a UTC offset, e.g. 2026-12-01T10:30:00+01:00"
            )
        agents = []
        for a in doc.get("agents") or []:
            a = dict(a)
            unknown = set(a) - {
                "id",
                "answer_after",
                "talk_seconds",
                "offers",
                "default",
                "miss_probability",
                "back_after_missed_s",
            }
            if unknown:
                raise HotlineError(
                    f"agent {a.get('id')}: unknown field(s) {', '.join(sorted(unknown))}"
                )
            for k in ("answer_after", "talk_seconds"):
                if isinstance(a.get(k), list):
                    a[k] = tuple(float(x) for x in a[k])
            a["offers"] = tuple(a.get("offers") or ())
            plan = AgentPlan(**a)
            plan.phone("+33100000001", 0)  # validates the offer behaviours now
            agents.append(plan)
        from .scenario import load_scenario

        callers = load_scenario(path).callers if doc.get("callers") else ()
        return DayScenario(
            name=str(doc.get("name", path.stem)),
            start=start.timestamp(),
            duration_s=float(doc.get("duration_s", 3600)),
            horizon_s=float(doc.get("horizon_s", 7200)),
            roster=str(doc.get("roster", "examples/roster.yaml")),
            seed=int(doc.get("seed", 0)),
            agents=tuple(agents),
            calls=dict(doc.get("calls") or {}),
            phrases=dict(doc.get("phrases") or {}),
            callers=tuple(callers),
        )
    except HotlineError as e:
        raise HotlineError(f"scenario {path}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise HotlineError(f"scenario {path}: {type(e).__name__}: {e}") from None


# Resetting the store -------------------------------------------------------------------
def reset_store(svc: Services) -> int:
    """Delete our keys (the settings' prefix) and empty our RQ queue and its registries;
    another application's keys on the same Redis are left alone. Returns keys deleted."""
    from rq.registry import (
        DeferredJobRegistry,
        FailedJobRegistry,
        FinishedJobRegistry,
        ScheduledJobRegistry,
        StartedJobRegistry,
    )

    r = svc.redis
    n = 0
    batch = []
    for key in r.scan_iter(match=svc.keys.prefix.replace("[", "\\[") + "*", count=1000):
        batch.append(key)
        if len(batch) >= 500:
            n += r.delete(*batch)
            batch = []
    if batch:
        n += r.delete(*batch)
    q = svc.rq_queue
    q.empty()
    for reg_cls in (
        ScheduledJobRegistry,
        StartedJobRegistry,
        FailedJobRegistry,
        FinishedJobRegistry,
        DeferredJobRegistry,
    ):
        reg = reg_cls(queue=q)
        for job_id in reg.get_job_ids():
            reg.remove(job_id, delete_job=True)
    return n


# Playing ---------------------------------------------------------------------------
@dataclass
class DayResult:
    scenario: DayScenario
    summary: dict
    violations: list
    callers: list  # (CallerPlan, CallSession)
    real_seconds: float
    simulated_seconds: float
    agents: list[str]


class Day:
    def __init__(self, hotline, scenario: DayScenario):
        self.h = hotline
        self.svc = hotline.services
        self.sc = scenario
        self.tl = hotline.timeline
        self.done = False
        self.agent_ids: list[str] = []
        self.callers: list = []

    # setup -------------------------------------------------------------------------
    def prepare(self) -> None:
        svc, sc = self.svc, self.sc
        self.h.clock.set(sc.start)
        path = sc.roster_path()
        roster = svc.roster.import_text(path.read_text(encoding="utf-8"), str(path), by="demo")
        plans = self._staff(roster)
        for plan, seed in zip(plans, range(len(plans))):
            a = svc.agents.get(plan.id)
            address = (
                (a.client if a.client.startswith("client:") else f"client:{a.client}")
                if a.client
                else a.phone
            )
            self.h.network.add(plan.phone(address, sc.seed * 1000 + seed))
        self.plans = plans
        self.h._start_app_timers()

    def _staff(self, roster) -> list[AgentPlan]:
        """The scenario's agents; '+extraN' placeholders become further roster agents, on an
        extra shift for the day when they are not on shift during the window."""
        from ..roster import ExtraShift, schedule

        sc = self.sc
        w0 = datetime.fromtimestamp(sc.start, UTC)
        w1 = w0 + timedelta(seconds=sc.horizon_s)
        on = {c.agent_id for c in schedule.occurrences(roster, w0, w1) if not c.on_call}
        ids = [a.id for a in roster.agents]
        known = [p.id for p in sc.agents if not p.id.startswith("+extra")]
        for pid in known:
            if pid not in ids:
                raise HotlineError(
                    f"scenario {sc.name}: agent {pid} is not in the roster {sc.roster}"
                )
        spare = sorted((a for a in ids if a not in known), key=lambda a: (a not in on, a))
        out = []
        for p in sc.agents:
            if not p.id.startswith("+extra"):
                out.append(p)
                continue
            if not spare:
                raise HotlineError(f"--agents: the roster has only {len(ids)} agents")
            agent_id = spare.pop(0)
            out.append(replace(p, id=agent_id))
            if agent_id not in on:
                spec = roster.agent(agent_id)
                from zoneinfo import ZoneInfo

                tz = ZoneInfo(spec.timezone or roster.timezone)
                s = datetime.fromtimestamp(sc.start, tz)
                e = datetime.fromtimestamp(min(sc.start + sc.horizon_s, sc.start + 12 * 3600), tz)
                self.svc.roster.add_shift(
                    ExtraShift(
                        id=f"demo-extra-{agent_id}",
                        agent=agent_id,
                        date=s.date(),
                        start=s.time().replace(second=0, microsecond=0),
                        end=e.time().replace(second=0, microsecond=0),
                    ),
                    by="demo",
                )
        return out

    def _login_at(self, agent_id: str) -> float:
        from ..roster import schedule

        roster = self.svc.roster.load()
        w0 = datetime.fromtimestamp(self.sc.start, UTC)
        w1 = w0 + timedelta(seconds=self.sc.horizon_s)
        starts = [
            c.start.timestamp()
            for c in schedule.occurrences(roster, w0, w1)
            if c.agent_id == agent_id and not c.on_call
        ]
        return max(self.sc.start, min(starts)) if starts else self.sc.start

    # parties -------------------------------------------------------------------------
    def _agent(self, plan: AgentPlan) -> None:
        svc, tl = self.svc, self.tl
        login = self._login_at(plan.id)
        if login > tl.now():
            tl.sleep(login - tl.now())
        self._set(plan.id, "available")
        while not self.done:
            tl.sleep(POLL_S)
            if back_from_missed(svc, plan, tl.now):
                self._set(plan.id, "available")

    def _set(self, agent_id: str, state: str) -> None:
        # Busy or reserved meanwhile: the hotline has the last word.
        with contextlib.suppress(IllegalTransition, NotEligible):
            self.svc.agents.set_state(agent_id, state, by="agent")

    def _supervise(self) -> None:
        from .. import reports

        tl, sc = self.tl, self.sc
        end = sc.start + sc.horizon_s
        last_arrival = sc.start + max((p.at for p, _ in self.callers), default=0.0)
        while tl.now() < end:
            tl.sleep(min(SUPERVISE_S, end - tl.now()))
            if tl.now() < last_arrival:
                continue
            if any(not s.ended for s in list(self.h.carrier.sessions.values())):
                continue
            if not reports.unfinished_calls(reports.read_log(self.svc)):
                break
        self.done = True

    def play(self, *, pace: float | None = None) -> DayResult:
        sc = self.sc
        t_real = time.monotonic()
        for plan in self.plans:
            self.tl.spawn(lambda p=plan: self._agent(p), at=sc.start)
        self.callers = [
            (p, self.h.spawn(p.party(), at=sc.start + p.at, from_=p.from_))
            for p in sc.caller_plans()
        ]
        self.tl.spawn(self._supervise, at=sc.start)
        self.tl.pace(pace)
        self.h.run(until=sc.start + sc.horizon_s + 2 * POLL_S, idle_stop=True)
        from .. import invariants, reports

        log = reports.read_log(self.svc)
        return DayResult(
            sc,
            reports.summary(log),
            invariants.check(log),
            self.callers,
            time.monotonic() - t_real,
            self.h.clock.now() - sc.start,
            [p.id for p in self.plans],
        )
