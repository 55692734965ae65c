"""The callers of a drill: a Poisson process with a piecewise-constant rate, seeded.

The rate changes only at known instants (interval starts, the points of the daily
curve, surge incidents), so between two of them arrivals are exponential gaps at one
rate: exact, and memoryless across the boundary. Pure: no Redis, no clock.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .scenario import Scenario


@dataclass(frozen=True)
class Caller:
    at: float
    category: str
    lang: str
    patience: float  # seconds before hanging up while waiting (inf: never)
    deflected: bool = False  # hung up after the incident announcement, never queued


def _curve_breaks(s: Scenario, start: float, end: float) -> list[tuple[float, float]]:
    """(instant, calls per hour from then on) for every curve point between start and end."""
    tz = ZoneInfo(s.tz)
    points = s.arrivals[1]
    day = datetime.fromtimestamp(start, tz).date() - timedelta(days=1)
    last_day = datetime.fromtimestamp(end, tz).date()
    out = []
    while day <= last_day:
        for minute, rate in points:
            local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
            out.append((local.timestamp(), rate))
        day += timedelta(days=1)
    return sorted(out)


def base_rate(s: Scenario, start: float, end: float):
    """A function t -> calls per hour (before surges), and the instants where it changes."""
    kind, value = s.arrivals
    if kind == "per_hour":
        return (lambda t: value), []
    if kind == "per_interval":
        per_hour = [x * 3600.0 / s.interval_s for x in value]

        def at(t):
            i = int((t - s.start) // s.interval_s)
            return per_hour[min(max(i, 0), len(per_hour) - 1)]

        n = int((end - s.start) // s.interval_s) + 1
        return at, [s.start + i * s.interval_s for i in range(n)]
    breaks = _curve_breaks(s, start, end)
    times = [t for t, _ in breaks]

    def at(t):
        i = bisect.bisect_right(times, t) - 1
        return breaks[i][1] if i >= 0 else breaks[-1][1]

    return at, times


def generate(s: Scenario, start: float, end: float, rng: random.Random) -> list[Caller]:
    rate, changes = base_rate(s, start, end)
    surges = [i for i in s.incidents if i.type == "surge"]
    notices = [i for i in s.incidents if i.type == "announcement"]
    cuts = {start, end, *changes}
    for inc in surges:
        cuts.update(x for x in (inc.start, inc.end) if start < x < end)
    cuts = sorted(c for c in cuts if start <= c <= end)
    cats = list(s.categories)
    langs, lang_w = list(s.languages), list(s.languages.values())
    out: list[Caller] = []
    for a, b in itertools.pairwise(cuts):
        mid = (a + b) / 2.0
        weights = [
            s.categories[c]
            * _product(i.factor for i in surges if i.category == c and i.start <= mid < i.end)
            for c in cats
        ]
        per_s = rate(mid) * sum(weights) / 3600.0
        if per_s <= 0:
            continue
        t = a
        while True:
            t += rng.expovariate(per_s)
            if t >= b:
                break
            cat = rng.choices(cats, weights)[0]
            lang = rng.choices(langs, lang_w)[0] if len(langs) > 1 else langs[0]
            deflect = sum(i.deflects for i in notices if i.category == cat and i.start <= t < i.end)
            out.append(
                Caller(
                    t,
                    cat,
                    lang,
                    s.patience.draw(rng),
                    deflected=deflect > 0 and rng.random() < min(1.0, deflect),
                )
            )
    return out


def _product(xs) -> float:
    p = 1.0
    for x in xs:
        p *= x
    return p
