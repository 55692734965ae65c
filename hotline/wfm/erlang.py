"""Staffing maths: Erlang C (M/M/N) and Erlang A (M/M/N+M), exact, pure functions.

Inputs are the interval's offered calls, its length, the average handle time (talk +
wrap-up) and, for Erlang A, the callers' mean patience (exponential). Everything is
computed in log space or by stable recursions, so it stays finite and inside [0, 1] to
N = 1,000 agents and beyond: no factorial is ever formed.

Erlang A follows Garnett, Mandelbaum and Reiman (2002). With x = N·patience/AHT and
y = arrival rate·patience, the queue-length weights are y^j / ((x+1)…(x+j)), whose sum is
A(x, y) = x·e^y·y^-x·γ(x, y) (γ the lower incomplete gamma function). From it:

* P(wait > 0) = A·E / (1 + (A − 1)·E), E the Erlang B blocking probability;
* given a wait, P(answered) = x·P(x+1, y) / (y·P(x, y)) (P the regularised γ);
* given a wait, P(answered within t) = x·[P(x+1, y) − P(x+1, y·e^(−t/patience))] / (y·P(x, y)).

Service level convention (Erlang A): calls answered within t ÷ all offered calls, so a
caller who abandons counts against it whenever they hang up. That is the definition
that reproduces the published check (100 calls in 30 min, AHT 180 s, 14 agents, 300 s
patience: SL 0.916792, abandonment 0.013984); the alternatives give 0.9187 (offered
wait ≤ t, abandons ignored), 0.9240 (1 − P(wait > t), early abandons counted as met)
and 0.9298 (within t ÷ answered). It is also the convention of hotline.reports
(abandons stay in the denominator).

ASA is the mean wait of answered calls (the reports' definition). In Erlang C it is
the classic C·AHT/(N − load); in Erlang A it is summed over the queue-length weights.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

MODELS = ("erlang_c", "erlang_a")
MAX_AGENTS = 100_000  # required_agents gives up beyond this (a typo in --calls, not a centre)
_EPS = 1e-12  # tolerance when comparing a computed level with its target
_TAIL = 45.0  # queue-length weights below e^-45 of the largest are dropped (≈ 3e-20)


@dataclass(frozen=True)
class Staffing:
    """One staffing level evaluated. `asa_s` is None when the queue is unstable (infinite)."""

    model: str
    agents: int
    positions: int  # heads to roster: agents / (1 − shrinkage), rounded up
    service_level: float
    asa_s: float | None
    p_wait: float
    occupancy: float
    abandon_rate: float | None = None
    note: str | None = None

    @property
    def stable(self) -> bool:
        return self.asa_s is not None

    def to_json(self) -> dict:
        d = asdict(self)
        if d["abandon_rate"] is None:
            del d["abandon_rate"]
        if d["note"] is None:
            del d["note"]
        return d


# --- checks ------------------------------------------------------------------


def _check_load(calls: float, interval_s: float, aht_s: float) -> None:
    for name, v in (("calls", calls), ("interval_s", interval_s), ("aht_s", aht_s)):
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, not {v!r}")
    if calls < 0:
        raise ValueError(f"calls must be 0 or more, not {calls:g}")
    if interval_s <= 0:
        raise ValueError(f"interval_s must be more than 0 seconds, not {interval_s:g}")
    if aht_s <= 0:
        raise ValueError(f"aht_s (average handle time) must be more than 0 seconds, not {aht_s:g}")


def _check_agents(agents: int) -> None:
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 1:
        raise ValueError(f"agents must be a whole number, at least 1, not {agents!r}")


def _check_target_s(target_s: float) -> None:
    if not isinstance(target_s, (int, float)) or not math.isfinite(target_s) or target_s < 0:
        raise ValueError(
            f"target_s (answer time target) must be 0 seconds or more, not {target_s!r}"
        )


def _check_patience(patience_s: float) -> None:
    if not isinstance(patience_s, (int, float)) or not math.isfinite(patience_s) or patience_s <= 0:
        raise ValueError(f"patience_s must be more than 0 seconds, not {patience_s!r}")


def _check_shrinkage(shrinkage: float) -> None:
    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage must be in [0, 1) (a share of paid time), not {shrinkage:g}")


def positions(agents: int, shrinkage: float) -> int:
    """Heads to roster so that `agents` are on the phones after shrinkage (breaks, training…).
    Rounded up once, here: rounding each interval's agents and again its heads would add two."""
    _check_shrinkage(shrinkage)
    return math.ceil(agents / (1 - shrinkage) - 1e-9)


# --- the special functions -------------------------------------------------------


def erlang_b(agents: int, load: float) -> float:
    """Erlang B blocking probability by the stable recursion B(n) = aB(n-1) / (n + aB(n-1))."""
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


def log_gammainc(a: float, z: float) -> float:
    """log P(a, z), the regularised lower incomplete gamma function (a > 0, z >= 0).

    Series for z < a + 1, Lentz's continued fraction for Q = 1 − P otherwise (Numerical
    Recipes' split: each converges fast on its side). Returned as a logarithm because P is
    far below the smallest double in lightly loaded centres with many agents."""
    if z <= 0:
        return -math.inf
    if z < a + 1:
        return a * math.log(z) - z - math.lgamma(a + 1) + math.log(_series(a, z))
    return math.log1p(-math.exp(_log_gammaincc_cf(a, z)))


def _series(a: float, z: float) -> float:
    """Σ_k z^k / ((a+1)…(a+k)), k >= 0: terms only decrease while z < a + 1."""
    s = term = 1.0
    k = 0
    while term > s * 1e-17:
        k += 1
        term *= z / (a + k)
        s += term
        if k > 10_000_000:  # pragma: no cover - z < a + 1 converges long before
            raise ArithmeticError("incomplete gamma series did not converge")
    return s


def _log_gammaincc_cf(a: float, z: float) -> float:
    """log Q(a, z) by the modified Lentz continued fraction (z >= a + 1)."""
    tiny = 1e-300
    b = z + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            return -z + a * math.log(z) - math.lgamma(a) + math.log(h)
    raise ArithmeticError(
        "incomplete gamma continued fraction did not converge"
    )  # pragma: no cover


def _log_A(x: float, y: float) -> float:
    """log A(x, y) = log Σ_j y^j / ((x+1)…(x+j)) = log(x·e^y·y^-x·γ(x, y))."""
    if y < x + 1:
        return math.log(_series(x, y))  # the same sum, term by term
    return y - x * math.log(y) + math.lgamma(x + 1) + log_gammainc(x, y)


# --- the two models ------------------------------------------------------------------


def _load(calls: float, interval_s: float, aht_s: float) -> float:
    return calls * aht_s / interval_s  # Erlangs: arrival rate × handle time


def erlang_c(
    calls: float,
    interval_s: float,
    aht_s: float,
    agents: int,
    target_s: float,
    *,
    shrinkage: float = 0.0,
) -> Staffing:
    """Erlang C (no abandonment): `agents` answering `calls` per `interval_s`."""
    _check_load(calls, interval_s, aht_s)
    _check_agents(agents)
    _check_target_s(target_s)
    heads = positions(agents, shrinkage)
    a = _load(calls, interval_s, aht_s)
    if a >= agents:
        return Staffing(
            "erlang_c",
            agents,
            heads,
            0.0,
            None,
            1.0,
            1.0,
            note=f"unstable: a load of {a:.4g} Erlangs needs more than {agents} agents; "
            "without abandonment the queue grows without bound",
        )
    b = erlang_b(agents, a)
    c = agents * b / (agents - a * (1 - b))
    sl = 1 - c * math.exp(-(agents - a) * target_s / aht_s)
    asa = c * aht_s / (agents - a)
    return Staffing("erlang_c", agents, heads, _unit(sl), asa, _unit(c), a / agents)


def erlang_a(
    calls: float,
    interval_s: float,
    aht_s: float,
    agents: int,
    target_s: float,
    patience_s: float,
    *,
    shrinkage: float = 0.0,
) -> Staffing:
    """Erlang A (M/M/N+M): as Erlang C, but callers hang up after an exponential patience."""
    _check_load(calls, interval_s, aht_s)
    _check_agents(agents)
    _check_target_s(target_s)
    _check_patience(patience_s)
    heads = positions(agents, shrinkage)
    q = _QueueA(calls, interval_s, aht_s, agents, patience_s)
    if q.p_wait == 0.0:
        return Staffing("erlang_a", agents, heads, 1.0, 0.0, 0.0, q.load / agents, 0.0)
    abandon = q.p_wait * (1 - q.answered_if_wait)
    sl = 1 - q.p_wait + q.p_wait * q.answered_within_if_wait(target_s)
    answered = 1 - abandon
    asa = q.p_wait * q.answered_wait_if_wait() / answered
    occupancy = q.load * answered / agents  # abandoned calls take no agent time
    return Staffing(
        "erlang_a", agents, heads, _unit(sl), asa, _unit(q.p_wait), _unit(occupancy), _unit(abandon)
    )


class _QueueA:
    """The pieces of M/M/N+M shared by its measures (see the module docstring)."""

    def __init__(self, calls, interval_s, aht_s, agents, patience_s):
        self.load = _load(calls, interval_s, aht_s)
        self.patience_s = patience_s
        self.x = agents * patience_s / aht_s
        self.y = calls / interval_s * patience_s
        self.p_wait = 0.0
        if self.y == 0:
            return
        e = erlang_b(agents, self.load)
        if e == 0.0:  # blocking below the smallest double: nobody waits
            return
        # P(wait) = 1 / (1 + (1 − E) / (A·E)), the ratio in logs: A overflows when y >> x
        log_r = math.log1p(-e) - _log_A(self.x, self.y) - math.log(e)
        self.p_wait = 1 / (1 + math.exp(log_r)) if log_r < 700 else math.exp(-log_r)
        self._lp = log_gammainc(self.x, self.y)
        self.answered_if_wait = min(1.0, self._within(math.inf))

    def _within(self, t: float) -> float:
        """x·[P(x+1, y) − P(x+1, y·e^(−t/patience))] / (y·P(x, y))."""
        x, y = self.x, self.y
        full = math.exp(log_gammainc(x + 1, y) - self._lp)
        part = (
            0.0
            if t == math.inf
            else math.exp(log_gammainc(x + 1, y * math.exp(-t / self.patience_s)) - self._lp)
        )
        return max(0.0, x / y * (full - part))

    def answered_within_if_wait(self, t: float) -> float:
        return min(self.answered_if_wait, self._within(t))

    def answered_wait_if_wait(self) -> float:
        """E[wait · 1(answered) | wait > 0], summed over j, the callers found waiting.

        With j ahead the offered wait is a sum of exponentials of rates (x+m)/patience,
        m = 0..j, so E[V·e^(−V/patience)] = patience · x/(x+j+1) · Σ_m 1/(x+m+1)."""
        x, y = self.x, self.y
        log_w = 0.0  # log y^j / ((x+1)…(x+j))
        harmonic = 0.0
        best = 0.0
        num = den = 0.0
        scale = 0.0  # weights are kept relative to e^scale to stay in range
        j = 0
        while True:
            harmonic += 1 / (x + j + 1)
            if log_w > scale + 600:  # rescale what was summed so far
                num *= math.exp(scale - log_w)
                den *= math.exp(scale - log_w)
                scale = log_w
            w = math.exp(log_w - scale)
            num += w * x / (x + j + 1) * harmonic
            den += w
            best = max(best, log_w)
            j += 1
            log_w += math.log(y) - math.log(x + j)
            if j > y - x and log_w < best - _TAIL:  # past the mode and negligible
                break
        return self.patience_s * num / den


def _unit(p: float) -> float:
    """A probability computed with rounding error, clamped into [0, 1]."""
    return min(1.0, max(0.0, p))


# --- the question a planner asks ---------------------------------------------------------


def required_agents(
    calls: float,
    interval_s: float,
    aht_s: float,
    target_sl: float,
    target_s: float,
    *,
    patience_s: float | None = None,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
) -> Staffing:
    """The fewest agents whose service level reaches `target_sl` within `target_s` (and,
    when given, whose occupancy stays at or under `max_occupancy`); Erlang A when a
    patience is given, else Erlang C. No calls: no agents."""
    _check_load(calls, interval_s, aht_s)
    _check_target_s(target_s)
    if not isinstance(target_sl, (int, float)) or not 0 <= target_sl < 1:
        raise ValueError(
            f"target_sl must be a share in [0, 1) (1 would need infinitely many agents), not {target_sl!r}"
        )
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError(f"max_occupancy must be in (0, 1], not {max_occupancy:g}")
    if patience_s is not None:
        _check_patience(patience_s)
    _check_shrinkage(shrinkage)
    model = "erlang_c" if patience_s is None else "erlang_a"
    if calls == 0:
        return Staffing(model, 0, 0, 1.0, 0.0, 0.0, 0.0, None if patience_s is None else 0.0)

    def evaluate(n: int) -> Staffing:
        if patience_s is None:
            return erlang_c(calls, interval_s, aht_s, n, target_s, shrinkage=shrinkage)
        return erlang_a(calls, interval_s, aht_s, n, target_s, patience_s, shrinkage=shrinkage)

    def meets(n: int) -> bool:
        # Both levels are monotone in n (SL up, occupancy down): a bisection finds the edge.
        s = _level(calls, interval_s, aht_s, n, target_s, patience_s)
        if s is None:
            return False
        sl, occupancy = s
        return sl >= target_sl - _EPS and (
            max_occupancy is None or occupancy <= max_occupancy + _EPS
        )

    lo = max(1, math.floor(_load(calls, interval_s, aht_s)) + 1) if patience_s is None else 1
    if meets(lo):
        return evaluate(lo)
    hi = lo
    while not meets(hi):
        lo = hi  # invariant: lo fails
        hi *= 2
        if hi > MAX_AGENTS:
            raise ValueError(f"no staffing up to {MAX_AGENTS} agents meets the target")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return evaluate(hi)


def _level(calls, interval_s, aht_s, n, target_s, patience_s) -> tuple[float, float] | None:
    """(service level, occupancy) without the ASA sum; None when unstable."""
    if patience_s is None:
        a = _load(calls, interval_s, aht_s)
        if a >= n:
            return None
        b = erlang_b(n, a)
        c = n * b / (n - a * (1 - b))
        return 1 - c * math.exp(-(n - a) * target_s / aht_s), a / n
    q = _QueueA(calls, interval_s, aht_s, n, patience_s)
    if q.p_wait == 0.0:
        return 1.0, q.load / n
    sl = 1 - q.p_wait + q.p_wait * q.answered_within_if_wait(target_s)
    return sl, q.load * (1 - q.p_wait * (1 - q.answered_if_wait)) / n


__all__ = [
    "MODELS",
    "Staffing",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "log_gammainc",
    "positions",
    "required_agents",
]
