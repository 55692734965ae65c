"""Staffing maths: the published figures, the shape of the curves, N = 1,000, a brute-force
birth-death chain as an independent check, and the `hotline staffing` command."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from click.testing import CliRunner

from hotline.cli import main
from hotline.wfm.erlang import (
    erlang_a,
    erlang_b,
    erlang_c,
    log_gammainc,
    positions,
    required_agents,
)

# 100 calls per 30 min, AHT 180 s (10 Erlangs), 80 % answered within 20 s
CASE = dict(calls=100, interval_s=1800, aht_s=180)


# --- published figures --------------------------------------------------------------


def test_erlang_c_published_check():
    s = erlang_c(**CASE, agents=14, target_s=20)
    assert s.model == "erlang_c"
    assert s.service_level == pytest.approx(0.88835002, abs=1e-6)
    assert s.asa_s == pytest.approx(7.83593701, abs=1e-6)
    assert s.occupancy == pytest.approx(0.7142857, abs=1e-6)
    assert s.abandon_rate is None


def test_fourteen_agents_are_the_fewest_for_80_in_20():
    s = required_agents(**CASE, target_sl=0.8, target_s=20)
    assert s.agents == 14
    assert s.service_level == pytest.approx(0.88835002, abs=1e-6)
    assert erlang_c(**CASE, agents=13, target_s=20).service_level < 0.8


def test_erlang_a_published_check_answered_within_t_over_all_arrivals():
    s = erlang_a(**CASE, agents=14, target_s=20, patience_s=300)
    assert s.model == "erlang_a"
    assert s.service_level == pytest.approx(0.916792, abs=1e-6)
    assert s.abandon_rate == pytest.approx(0.013984, abs=1e-6)


# --- shape --------------------------------------------------------------------------------


@pytest.mark.parametrize("patience_s", [None, 60, 300])
def test_more_agents_give_a_higher_service_level_and_a_shorter_wait(patience_s):
    def at(n):
        if patience_s is None:
            return erlang_c(**CASE, agents=n, target_s=20)
        return erlang_a(**CASE, agents=n, target_s=20, patience_s=patience_s)

    runs = [at(n) for n in range(11 if patience_s is None else 1, 31)]
    for a, b in itertools.pairwise(runs):
        assert b.service_level > a.service_level
        assert b.asa_s < a.asa_s
        assert b.p_wait < a.p_wait
        assert b.occupancy < a.occupancy
        if patience_s is not None:
            assert b.abandon_rate < a.abandon_rate


def test_more_patience_means_fewer_abandons():
    rates = [
        erlang_a(**CASE, agents=12, target_s=20, patience_s=p).abandon_rate
        for p in (30, 120, 300, 1200)
    ]
    assert rates == sorted(rates, reverse=True)


@pytest.mark.parametrize("agents", [11, 14, 20])
def test_erlang_a_tends_to_erlang_c_as_patience_grows(agents):
    c = erlang_c(**CASE, agents=agents, target_s=20)
    a = erlang_a(**CASE, agents=agents, target_s=20, patience_s=1e8)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-5)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-4)
    assert a.p_wait == pytest.approx(c.p_wait, abs=1e-5)
    assert a.occupancy == pytest.approx(c.occupancy, abs=1e-5)
    assert a.abandon_rate < 1e-5


@pytest.mark.parametrize("load", [10, 500, 950, 999, 1000, 1400])
def test_a_thousand_agents_stay_finite_and_inside_zero_one(load):
    calls = load * 1800 / 180
    for s in (
        erlang_c(calls, 1800, 180, 1000, 20),
        erlang_a(calls, 1800, 180, 1000, 20, 300),
        erlang_a(calls, 1800, 180, 1000, 20, 5),
    ):
        for p in (s.service_level, s.p_wait, s.occupancy):
            assert 0 <= p <= 1 and math.isfinite(p)
        if s.abandon_rate is not None:
            assert 0 <= s.abandon_rate <= 1
        assert s.asa_s is None or (math.isfinite(s.asa_s) and s.asa_s >= 0)
    if load < 1000:
        assert erlang_c(calls, 1800, 180, 1000, 20).stable


def test_required_agents_near_a_thousand():
    s = required_agents(9500 * 1800 / 180, 1800, 180, 0.8, 20)
    assert 9500 < s.agents < 9700
    assert s.service_level >= 0.8
    assert erlang_c(9500 * 1800 / 180, 1800, 180, s.agents - 1, 20).service_level < 0.8
    a = required_agents(950 * 1800 / 180, 1800, 180, 0.8, 20, patience_s=300)
    assert a.service_level >= 0.8 > erlang_a(9500, 1800, 180, a.agents - 1, 20, 300).service_level


def test_unstable_erlang_c_is_reported_not_raised():
    s = erlang_c(**CASE, agents=10, target_s=20)  # load 10 = agents
    assert not s.stable
    assert s.service_level == 0 and s.asa_s is None and s.p_wait == 1
    assert "unstable" in s.note
    assert json.loads(json.dumps(s.to_json()))["asa_s"] is None
    # Erlang A has no instability: callers leave
    assert erlang_a(**CASE, agents=5, target_s=20, patience_s=300).stable


# --- occupancy cap, shrinkage, no calls -----------------------------------------------------


def test_occupancy_cap_adds_agents_beyond_the_service_level():
    plain = required_agents(**CASE, target_sl=0.5, target_s=20)
    capped = required_agents(**CASE, target_sl=0.5, target_s=20, max_occupancy=0.6)
    assert plain.agents == 12
    assert capped.agents == 17  # 10/17 = 0.588; 10/16 = 0.625 is over the cap
    assert capped.occupancy <= 0.6 < 10 / 16


def test_positions_round_up_once_after_shrinkage():
    assert positions(14, 0.3) == 20  # 14/0.7 is 20.000000000000004 in floating point
    assert positions(14, 0.35) == 22
    assert positions(0, 0.3) == 0
    s = required_agents(**CASE, target_sl=0.8, target_s=20, shrinkage=0.3)
    assert (s.agents, s.positions) == (14, 20)


def test_no_calls_need_no_agents():
    s = required_agents(0, 1800, 180, 0.8, 20, patience_s=300)
    assert (s.agents, s.positions, s.service_level, s.abandon_rate) == (0, 0, 1.0, 0.0)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(calls=-1), "calls"),
        (dict(aht_s=0), "aht_s"),
        (dict(interval_s=0), "interval_s"),
        (dict(target_sl=1.2), "target_sl"),
        (dict(target_sl=-0.1), "target_sl"),
        (dict(target_s=-1), "target_s"),
        (dict(patience_s=0), "patience_s"),
        (dict(shrinkage=1.0), "shrinkage"),
        (dict(max_occupancy=0), "max_occupancy"),
        (dict(calls=float("nan")), "calls"),
    ],
)
def test_bad_input_is_a_value_error_naming_it(kwargs, word):
    args = dict(CASE, target_sl=0.8, target_s=20) | kwargs
    with pytest.raises(ValueError, match=word):
        required_agents(**args)


def test_agents_below_one_is_refused():
    with pytest.raises(ValueError, match="agents"):
        erlang_c(**CASE, agents=0, target_s=20)
    with pytest.raises(ValueError, match="agents"):
        erlang_a(**CASE, agents=-2, target_s=20, patience_s=60)


# --- the special functions against closed forms ------------------------------------------


@pytest.mark.parametrize("z", [0.01, 0.5, 1.0, 3.0, 10.0, 40.0])
def test_incomplete_gamma_against_closed_forms(z):
    assert math.exp(log_gammainc(1, z)) == pytest.approx(-math.expm1(-z), rel=1e-12)
    assert math.exp(log_gammainc(0.5, z)) == pytest.approx(math.erf(math.sqrt(z)), rel=1e-12)


@pytest.mark.parametrize(
    "a, z",
    [
        (5, 2.0),
        (5, 9.0),
        (40, 30.0),
        (40, 55.0),
        (1000, 900.0),
        (1000, 1000.0),
        (1000, 1100.0),
        (1000, 50.0),
    ],
)
def test_incomplete_gamma_of_whole_a_is_a_poisson_tail(a, z):
    # P(n, z) = P(Poisson(z) >= n), summed in logs; both branches (series, fraction) are hit
    logs = [k * math.log(z) - z - math.lgamma(k + 1) for k in range(a, a + 4000)]
    top = max(logs)
    expected = top + math.log(sum(math.exp(v - top) for v in logs))
    assert log_gammainc(a, z) == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_erlang_b_recursion_against_the_formula():
    a, n = 7.5, 9
    terms = [a**k / math.factorial(k) for k in range(n + 1)]
    assert erlang_b(n, a) == pytest.approx(terms[-1] / sum(terms), rel=1e-12)


# --- an independent check: the birth-death chain solved numerically ------------------------


def _solve(matrix, rhs):
    """Gaussian elimination with partial pivoting (small dense systems)."""
    n = len(rhs)
    m = [[*row, rhs[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[piv] = m[piv], m[col]
        for r in range(n):
            if r != col and m[r][col]:
                f = m[r][col] / m[col][col]
                m[r] = [a - f * b for a, b in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def brute_force(calls, interval_s, aht_s, agents, target_s, patience_s, cap=None):
    """M/M/N+M from its generator (truncated): stationary law by a linear solve, then each
    arriving caller's fate from the tagged caller's own chain (uniformisation for 'answered
    within t', first-step equations for the mean wait of answered calls)."""
    lam, mu, th = calls / interval_s, 1 / aht_s, 1 / patience_s
    k = cap or agents + 80
    death = [min(n, agents) * mu + max(n - agents, 0) * th for n in range(k + 1)]
    gen = [[0.0] * (k + 1) for _ in range(k + 1)]  # Q^T, rows = balance equations
    for n in range(k + 1):
        up = lam if n < k else 0.0
        if n < k:
            gen[n + 1][n] += up
        if n > 0:
            gen[n - 1][n] += death[n]
        gen[n][n] -= up + death[n]
    gen[0] = [1.0] * (k + 1)  # replace one equation by the normalisation
    pi = _solve(gen, [1.0] + [0.0] * k)

    p_wait = sum(pi[agents:k])  # PASTA; the truncation state blocks, negligible by cap
    within = answered = sum(pi[:agents])  # a free agent: answered at once
    answered_wait = 0.0
    for n in range(agents, k):
        j = n - agents  # callers ahead of the tagged one
        within += pi[n] * _answered_by(j, target_s, agents * mu, th)
        # first-step equations: s_m = P(answered | m ahead), t_m = E[wait·1(answered) | m]
        s_m, t_m = 1.0, 0.0  # m = -1: in service
        for m in range(j + 1):
            rate = agents * mu + m * th + th
            move = (agents * mu + m * th) / rate
            s_m, t_m = move * s_m, move * s_m / rate + move * t_m
        answered += pi[n] * s_m
        answered_wait += pi[n] * t_m
    mean_queue = sum(max(n - agents, 0) * pi[n] for n in range(k + 1))
    return {
        "p_wait": p_wait,
        "service_level": within,
        "abandon_rate": th * mean_queue / lam,  # abandons per second / arrivals per second
        "answered": answered,
        "asa_s": answered_wait / answered,
    }


def _answered_by(j, t, n_mu, th):
    """P(the tagged caller with j ahead is answered by t), by uniformisation: states m = j..0
    ahead, m -> m-1 at rate n_mu + m·th (0 -> answered), the tagged caller leaves at th."""
    lam_u = n_mu + j * th + th
    vec = [0.0] * j + [1.0]  # vec[m]
    done = 0.0  # mass answered
    poisson = math.exp(-lam_u * t)
    total = result = 0.0
    k = 0
    while total < 1 - 1e-15 and k < 100_000:
        total += poisson
        result += poisson * done
        nxt = [0.0] * (j + 1)
        for m, v in enumerate(vec):
            move = (n_mu + m * th) / lam_u
            nxt[m] += v * (1 - move - th / lam_u)
            if m:
                nxt[m - 1] += v * move
            else:
                done += v * move
        vec = nxt
        k += 1
        poisson *= lam_u * t / k
    return result


@pytest.mark.parametrize(
    "calls, agents, patience_s, target_s",
    [(100, 14, 300, 20), (100, 11, 60, 20), (60, 3, 120, 30), (150, 12, 45, 10), (20, 1, 200, 60)],
)
def test_erlang_a_agrees_with_the_birth_death_chain(calls, agents, patience_s, target_s):
    want = brute_force(calls, 1800, 180, agents, target_s, patience_s)
    got = erlang_a(calls, 1800, 180, agents, target_s, patience_s)
    assert got.p_wait == pytest.approx(want["p_wait"], abs=1e-9)
    assert got.abandon_rate == pytest.approx(want["abandon_rate"], abs=1e-9)
    assert 1 - got.abandon_rate == pytest.approx(want["answered"], abs=1e-9)
    assert got.service_level == pytest.approx(want["service_level"], abs=1e-9)
    assert got.asa_s == pytest.approx(want["asa_s"], rel=1e-8)


def test_erlang_c_agrees_with_the_chain_of_very_patient_callers():
    want = brute_force(100, 1800, 180, 14, 20, 1e9, cap=14 + 250)
    got = erlang_c(**CASE, agents=14, target_s=20)
    assert got.p_wait == pytest.approx(want["p_wait"], abs=1e-6)
    assert got.service_level == pytest.approx(want["service_level"], abs=1e-6)
    assert got.asa_s == pytest.approx(want["asa_s"], rel=1e-5)


# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch, tmp_path):
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HOTLINE_SHRINKAGE", raising=False)

    def run(*args):
        return CliRunner().invoke(main, ["staffing", *args])

    return run


BASE = ["--calls", "100", "--interval-s", "1800", "--aht-s", "180", "--target-sl", "0.8",
        "--target-s", "20"]  # fmt: skip


def test_cli_finds_the_fewest_agents(cli):
    res = cli(*BASE, "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert set(d) == {"model", "agents", "positions", "service_level", "asa_s", "p_wait",
                      "occupancy"}  # fmt: skip
    assert (d["model"], d["agents"], d["positions"]) == ("erlang_c", 14, 20)  # 30 % shrinkage
    assert d["service_level"] == pytest.approx(0.88835002, abs=1e-6)


def test_cli_evaluates_a_staffing_with_patience(cli):
    res = cli(*BASE, "--agents", "14", "--patience-s", "300", "--shrinkage", "0", "--json")
    d = json.loads(res.output)
    assert (d["model"], d["agents"], d["positions"]) == ("erlang_a", 14, 14)
    assert d["service_level"] == pytest.approx(0.916792, abs=1e-6)
    assert d["abandon_rate"] == pytest.approx(0.013984, abs=1e-6)


def test_cli_honours_the_occupancy_cap_and_the_settings_shrinkage(cli, monkeypatch):
    monkeypatch.setenv("HOTLINE_SHRINKAGE", "0.5")
    d = json.loads(cli(*BASE, "--max-occupancy", "0.6", "--json").output)
    assert (d["agents"], d["positions"]) == (17, 34)


def test_cli_reports_an_unstable_queue(cli):
    res = cli(*BASE, "--agents", "9", "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["asa_s"] is None and d["service_level"] == 0 and "unstable" in d["note"]
    text = cli(*BASE, "--agents", "9").output
    assert "infinite (unstable)" in text


@pytest.mark.parametrize(
    "flag, value, word",
    [
        ("--calls", "-5", "calls"),
        ("--target-sl", "1.5", "--target-sl"),
        ("--aht-s", "0", "aht_s"),
        ("--agents", "0", "agents"),
        ("--patience-s", "0", "patience_s"),
        ("--interval-s", "-1800", "interval_s"),
        ("--shrinkage", "1", "shrinkage"),
    ],
)
def test_cli_bad_input_is_one_error_line(cli, flag, value, word):
    args = list(BASE)
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    res = cli(*args)
    assert res.exit_code != 0
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hotline: error: ") and word in lines[0]
