"""The forecast: expected calls, handle time and patience per skill and interval of a week.

A pure function over past calls (dicts as `hotline.history.iter_calls` yields them) and the
roster (for its public-holiday rule); the CLI reads the history, this decides.

* Intervals are local wall-clock intervals of the centre's zone, walked on real instants:
  a 23-hour day (spring) has no 02:00-03:00 intervals, a 25-hour day (autumn) has them
  twice, each labelled with its own UTC offset. `interval_min` divides 60, so every
  interval lies inside one UTC offset.
* Each past date is one sample of its weekday, the weekday being the roster's: a public
  holiday counts as its `holiday_as` day (a Sunday-like holiday teaches the Sunday
  forecast, not the Monday one), and a holiday in the forecast week is forecast as its
  `holiday_as` weekday. A sample gives, per wall-clock interval, the calls offered in it
  divided by the times that interval happened that day (2 for 02:00 on a 25-hour day;
  a 23-hour day is no sample of 02:00).
* Recent weeks weigh more: a date k weeks back (k = 1 for the week just before) weighs
  DECAY^(k-1), over LOOKBACK_WEEKS weeks. Expected calls = the weighted mean of the
  samples of that weekday and interval.
* Only weeks with at least one call are history (`history_weeks`), and only from the day
  of the first call on: days before the hotline ran, or a week the log lost, are not
  zeros. Fewer than MIN_HISTORY_WEEKS: `enough_history` is false and a message says so;
  what there is is still shown.
* AHT = talk + wrap-up of answered calls; patience = (waits of answered calls + waits of
  abandoned calls) / abandons, the maximum-likelihood estimate of an exponential
  patience when waits are censored by answers. Both are weighted like the counts, for
  the interval when it rests on MIN_ANSWERED answered calls / MIN_ABANDONS abandons,
  else for the skill's whole history. No abandons at all: patience None (the plan then
  uses Erlang C).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..roster.model import DAYS, Roster
from ..roster.schedule import fixed, localize, week_bounds

LOOKBACK_WEEKS = 8
DECAY = 0.7  # the weight of a week relative to the week after it
MIN_HISTORY_WEEKS = 2
MIN_ANSWERED = 10  # answered calls for an interval's own AHT
MIN_ABANDONS = 5  # abandons for an interval's own patience


def check_interval(interval_min: int) -> None:
    if isinstance(interval_min, bool) or not isinstance(interval_min, int):
        raise ValueError(f"interval_min must be a whole number of minutes, not {interval_min!r}")
    if interval_min < 1 or 60 % interval_min:
        raise ValueError(
            f"interval_min must divide an hour (5, 10, 15, 20, 30 or 60), not {interval_min}"
        )


def history_window(
    week: str, tz: ZoneInfo, lookback_weeks: int = LOOKBACK_WEEKS
) -> tuple[float, float]:
    """The epoch seconds [start, end) of the history a forecast of `week` reads."""
    w0, _ = week_bounds(week, tz)
    monday = w0.astimezone(tz).date()
    h0 = localize(
        datetime.combine(monday - timedelta(weeks=lookback_weeks), datetime.min.time()), tz
    )
    return h0.timestamp(), w0.timestamp()


def intervals(d0: datetime, d1: datetime, tz: ZoneInfo, interval_min: int):
    """The real intervals [start, end) of [d0, d1), with their local date and wall-clock slot."""
    step = timedelta(minutes=interval_min)
    t = d0.astimezone(UTC)
    end = d1.astimezone(UTC)
    while t < end:
        u = min(t + step, end)
        local = t.astimezone(tz)
        slot = (local.hour * 60 + local.minute) // interval_min
        yield fixed(t, tz), fixed(u, tz), local.date(), slot
        t = u


def _day_occurrences(d: date, tz: ZoneInfo, interval_min: int) -> dict[int, int]:
    """How many times each wall-clock slot happens on local date `d` (0, 1 or 2)."""
    d0 = localize(datetime.combine(d, datetime.min.time()), tz)
    d1 = localize(datetime.combine(d + timedelta(days=1), datetime.min.time()), tz)
    out: dict[int, int] = defaultdict(int)
    for _, _, _, slot in intervals(d0, d1, tz, interval_min):
        out[slot] += 1
    return out


class _Sums:
    """Weighted sums behind one estimate (an interval's, or a whole skill's)."""

    __slots__ = ("abandon_count", "abandons", "aht_n", "aht_sum", "answered_count", "wait_sum")

    def __init__(self):
        self.aht_sum = self.aht_n = self.wait_sum = self.abandons = 0.0
        self.answered_count = self.abandon_count = 0  # unweighted: is the estimate worth it

    def add(self, c: dict, w: float) -> None:
        if c.get("answered") and c.get("talk_s") is not None:
            self.aht_sum += w * (float(c["talk_s"]) + float(c.get("wrapup_s") or 0))
            self.aht_n += w
            self.answered_count += 1
        if (c.get("answered") or c.get("abandoned")) and c.get("wait_s") is not None:
            self.wait_sum += w * max(0.0, float(c["wait_s"]))
            if c.get("abandoned"):
                self.abandons += w
                self.abandon_count += 1

    def aht(self) -> float | None:
        return self.aht_sum / self.aht_n if self.aht_n else None

    def patience(self) -> float | None:
        return self.wait_sum / self.abandons if self.abandons else None


def forecast(
    calls: Iterable[dict],
    week: str,
    *,
    tz: ZoneInfo | str,
    roster: Roster | None = None,
    interval_min: int = 30,
    skill: str | None = None,
    lookback_weeks: int = LOOKBACK_WEEKS,
    decay: float = DECAY,
    now: float | None = None,
) -> dict:
    """The forecast of ISO `week` from past `calls`, JSON-ready (see the module docstring).

    `now` (epoch seconds) is where the history ends when it ends before the week starts:
    next week forecast on a Wednesday has seen Monday and Tuesday of this week, not the
    days still to come, which are no sample (counted, they were zeros at the highest
    weight: next Thursday got ~41 % of its calls). None: the history runs to the week."""
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    check_interval(interval_min)
    if lookback_weeks < 1:
        raise ValueError(f"lookback_weeks must be at least 1, not {lookback_weeks}")
    if not 0 < decay <= 1:
        raise ValueError(f"decay must be in (0, 1], not {decay:g}")
    if skill is not None and roster is not None and skill not in roster.skills:
        raise ValueError(f"unknown skill {skill!r} (skills are: {', '.join(roster.skills)})")
    w0, w1 = week_bounds(week, tz)
    monday = w0.astimezone(tz).date()
    h0, h1 = history_window(week, tz, lookback_weeks)
    if now is not None:
        h1 = min(h1, float(now))
    # A date is a sample only if it ended before the history did.
    last_day = datetime.fromtimestamp(h1, tz).date() if h1 < w0.timestamp() else monday

    def weekday(d: date) -> int:
        return roster.effective_weekday(d) if roster is not None else d.weekday()

    def age(d: date) -> int:  # 1 = the week just before
        return (monday - d).days // 7 + (1 if (monday - d).days % 7 else 0)

    # One pass over the history: counts per (skill, date, slot), sums per estimate.
    counts: dict[tuple[str, date, int], int] = defaultdict(int)
    slot_sums: dict[tuple[str, int, int], _Sums] = defaultdict(_Sums)
    skill_sums: dict[str, _Sums] = defaultdict(_Sums)
    seen_skills: set[str] = set()
    weeks_with_calls: set[int] = set()
    first_day: date | None = None
    for c in calls:
        t, k = c.get("offered_at"), c.get("skill")
        if t is None or not k or not h0 <= float(t) < h1:
            continue
        local = datetime.fromtimestamp(float(t), tz)
        d = local.date()
        weeks_with_calls.add(age(d))
        first_day = d if first_day is None or d < first_day else first_day
        seen_skills.add(k)
        if skill is not None and k != skill:
            continue
        slot = (local.hour * 60 + local.minute) // interval_min
        w = decay ** (age(d) - 1)
        counts[(k, d, slot)] += 1
        slot_sums[(k, weekday(d), slot)].add(c, w)
        skill_sums[k].add(c, w)

    if skill is not None:
        skills = [skill]
    elif roster is not None:
        skills = list(roster.skills) + sorted(seen_skills - set(roster.skills))
    else:
        skills = sorted(seen_skills)

    # The samples: every history date from the first call on, in weeks that had calls.
    mean_num: dict[tuple[str, int, int], float] = defaultdict(float)
    mean_den: dict[tuple[int, int], float] = defaultdict(float)
    d = monday - timedelta(weeks=lookback_weeks)
    while d < last_day:
        if first_day is not None and d >= first_day and age(d) in weeks_with_calls:
            w, ew = decay ** (age(d) - 1), weekday(d)
            for slot, times in _day_occurrences(d, tz, interval_min).items():
                mean_den[(ew, slot)] += w
                for k in skills:
                    n = counts.get((k, d, slot))
                    if n:
                        mean_num[(k, ew, slot)] += w * n / times
        d += timedelta(days=1)

    rows = []
    totals: dict[str, float] = defaultdict(float)
    for start, end, d, slot in intervals(w0, w1, tz, interval_min):
        ew = weekday(d)
        row = {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "utc_offset": start.strftime("%z")[:3] + ":" + start.strftime("%z")[3:],
            "local_date": d.isoformat(),
            "weekday": DAYS[d.weekday()],
            "time": f"{slot * interval_min // 60:02d}:{slot * interval_min % 60:02d}",
            "skills": {},
        }
        if ew != d.weekday():
            row["counted_as"] = DAYS[ew]  # a public holiday, forecast as its holiday_as day
        for k in skills:
            den = mean_den.get((ew, slot), 0.0)
            expected = mean_num.get((k, ew, slot), 0.0) / den if den else None
            own, whole = slot_sums.get((k, ew, slot)), skill_sums.get(k)
            aht = own.aht() if own and own.answered_count >= MIN_ANSWERED else None
            patience = own.patience() if own and own.abandon_count >= MIN_ABANDONS else None
            if aht is None and whole:
                aht = whole.aht()
            if patience is None and whole:
                patience = whole.patience()
            row["skills"][k] = {
                "calls": None if expected is None else round(expected, 3),
                "aht_s": _round(aht),
                "patience_s": _round(patience),
            }
            totals[k] += expected or 0.0
        rows.append(row)

    history_weeks = len(weeks_with_calls)
    enough = history_weeks >= MIN_HISTORY_WEEKS
    message = None
    if not enough:
        message = (
            f"only {history_weeks} week{'s' if history_weeks != 1 else ''} of history in the "
            f"{lookback_weeks} weeks before {week}; a forecast needs at least {MIN_HISTORY_WEEKS}. "
            "Showing what there is."
        )
    return {
        "week": week,
        "timezone": str(tz.key),
        "start": w0.isoformat(),
        "end": w1.isoformat(),
        "interval_min": interval_min,
        "history_start": datetime.fromtimestamp(h0, tz).isoformat(),
        "lookback_weeks": lookback_weeks,
        "decay": decay,
        "history_weeks": history_weeks,
        "enough_history": enough,
        "message": message,
        "skills": skills,
        "summary": {
            k: {
                "calls": round(totals[k], 3),
                "aht_s": _round(skill_sums[k].aht()) if k in skill_sums else None,
                "patience_s": _round(skill_sums[k].patience()) if k in skill_sums else None,
            }
            for k in skills
        },
        "intervals": rows,
    }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


__all__ = [
    "DECAY",
    "LOOKBACK_WEEKS",
    "MIN_HISTORY_WEEKS",
    "check_interval",
    "forecast",
    "history_window",
    "intervals",
]
