"""hotline drill: scenarios read with their lines, the real routing code under a manual
clock, figures as ratios of totals -- and the simulation agrees with Erlang C and A."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import main
from hotline.drill import ScenarioInvalid, load, run
from hotline.drill.scenario import parse, shipped
from hotline.drill.stats import ratio
from hotline.wfm.erlang import erlang_a, erlang_c

SCENARIOS = Path(__file__).parent.parent / "hotline" / "drill" / "scenarios"


def roster(tmp_path: Path, agents: int) -> Path:
    """`agents` general agents on shift around the clock (two 12-hour shifts a day)."""
    lines = ["timezone: Europe/Paris", "skills: [general]", "agents:"]
    for i in range(agents):
        lines.append(
            f"  - {{id: a{i}, name: A{i}, phone: '+336123456{i:02d}', "
            "skills: {general: 3}, languages: [fr]}"
        )
    lines.append("shifts:")
    for i in range(agents):
        lines.append(f"  - {{agent: a{i}, days: daily, start: '00:00', end: '12:00'}}")
        lines.append(f"  - {{agent: a{i}, days: daily, start: '12:00', end: '00:00'}}")
    p = tmp_path / "roster.yaml"
    p.write_text("\n".join(lines) + "\n")
    return p


def queue_scenario(tmp_path, *, agents, per_hour, aht, patience=None, hours=10, seed=5):
    """One skill, exponential talk, no wrap-up, no misses, no overflow, instant answers:
    the M/M/N(+M) queue of the textbooks, played by the real code."""
    roster(tmp_path, agents)
    p = tmp_path / "queue.yaml"
    pat = f"{{dist: exponential, mean: {patience}}}" if patience else "never"
    p.write_text(
        textwrap.dedent(
            f"""\
            name: textbook queue
            start: 2026-12-07T00:00:00+01:00
            hours: {hours}
            seed: {seed}
            target_s: 60
            roster: roster.yaml
            wrapup: {{default: 0}}
            overflow: {{categories: {{"*": []}}}}
            agents: {{answer_delay: 0, miss_probability: 0, talk: {{dist: exponential, mean: {aht}}}}}
            callers:
              arrivals: {{per_hour: {per_hour}}}
              categories: {{general: 1}}
              patience: {pat}
            """
        )
    )
    return load(p)


# --- the scenario file ---------------------------------------------------------------
def test_every_problem_of_a_scenario_is_reported_with_its_line(tmp_path):
    roster(tmp_path, 1)
    text = textwrap.dedent(
        """\
        name: broken
        start: 2026-12-07T00:00:00+01:00
        roster: roster.yaml
        colour: blue
        agents:
          talk: {dist: gamma, mean: 300}
          miss_probability: 1.5
        callers:
          arrivals: {per_hour: 10}
          categories: {printers: 1}
        incidents:
          - {type: surge, from: '09:00', to: '08:00', category: software, factor: 3}
          - {type: meteor, at: '10:00'}
        """
    )
    with pytest.raises(ScenarioInvalid) as e:
        parse(text, "broken.yaml", base=tmp_path)
    msg = str(e.value)
    assert "broken.yaml:4: unknown key 'colour'" in msg
    assert "broken.yaml:6: talk: dist must be one of fixed, exponential, lognormal" in msg
    assert "broken.yaml:7: miss_probability must be a number from 0 to 1" in msg
    assert "broken.yaml:10: categories: unknown 'printers'" in msg
    assert "broken.yaml:12: surge incident: 'to' must come after 'from'" in msg
    assert "broken.yaml:13: incident type must be one of" in msg
    assert len(e.value.problems) == 6


def test_the_cli_refuses_a_bad_scenario_in_one_line_and_exit_1(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nstart: not a date\nroster: stored\ncallers: {arrivals: {per_hour: 1}}\n")
    res = CliRunner().invoke(main, ["drill", str(p)])
    assert res.exit_code == 1
    assert res.output.startswith(f"hotline: error: {p}:2: start must be a date-time")


def test_the_three_shipped_scenarios_read():
    names = {load(p).name for p in shipped()}
    assert names == {
        "Monday after a software update",
        "Network outage at a site",
        "Night with one on-call agent",
    }


# --- figures ---------------------------------------------------------------------------
def test_service_level_over_replications_is_a_ratio_of_totals_not_a_mean_of_ratios():
    # 3 of 3 within target in one replication, 30 of 300 in the other: 33/303, not 55 %.
    sl, ci = ratio([3, 30], [3, 300])
    assert sl == pytest.approx(33 / 303)
    assert ci[0] < sl < ci[1]
    assert ratio([5], [10]) == (0.5, None)  # one replication: no interval
    assert ratio([0, 0], [0, 0]) == (None, None)


# --- the real code under the manual clock ----------------------------------------------
def test_a_light_queue_answers_everyone_and_the_log_accounts_for_every_call(
    tmp_path, redis_url, rclient
):
    s = queue_scenario(tmp_path, agents=4, per_hour=40, aht=180, hours=3)
    out = run(s, redis_url=redis_url)
    t = out["total"]
    assert out["unfinished"] == 0
    assert t["offered"] == t["answered"] == out["calls_simulated"] > 80
    assert t["abandon_rate"] == 0
    # Occupancy is the offered load per agent (2 Erlangs on 4 agents), within noise.
    assert t["occupancy"] == pytest.approx(0.5, abs=0.1)
    assert sum(a["calls"] for a in out["agents"]) == t["answered"]
    # What ran is the hotline: its own event log says every call completed.
    types = [e["type"] for _, e in rclient.xrange("hotline:events")]
    assert types.count("call_completed") == t["answered"]
    assert "match" not in types and types.count("reserved") >= t["answered"]


def test_the_same_seed_plays_the_same_day(tmp_path, redis_url, rclient):
    s = queue_scenario(tmp_path, agents=3, per_hour=40, aht=240, hours=2)
    a, b = run(s, redis_url=redis_url), run(s, redis_url=redis_url)
    assert a["intervals"] == b["intervals"]
    assert run(s, redis_url=redis_url, seed=99)["intervals"] != a["intervals"]


def test_two_workers_with_private_redis_give_the_figures_of_one(tmp_path):
    # Each worker starts its own embedded Redis; replication i has its own seed wherever
    # it runs, so sharing them out changes nothing but the time it takes.
    s = queue_scenario(tmp_path, agents=3, per_hour=40, aht=240, hours=1)
    one = run(s, replications=3)
    two = run(s, replications=3, workers=2)
    assert two["workers"] == 2
    for key in ("total", "skills", "intervals", "agents", "agents_by_state"):
        assert one[key] == two[key]
    assert one["total"]["service_level_ci95"] is not None


def test_a_stored_roster_is_copied_and_the_live_hotline_is_left_alone(
    tmp_path, svc, redis_url, rclient, monkeypatch
):
    svc.roster.import_text(roster(tmp_path, 2).read_text(), "live.yaml")
    before = {k: rclient.type(k) for k in rclient.keys("*")}
    events = rclient.xlen("hotline:events")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_MODE", "test")
    s = queue_scenario(tmp_path, agents=9, per_hour=30, aht=240, hours=1)
    s = parse(Path(s.source).read_text().replace("roster.yaml", "stored"), "stored.yaml")
    out = run(s)  # a private Redis of its own: the live one is only read
    assert {a["id"] for a in out["agents"]} == {"a0", "a1"}
    assert out["total"]["answered"] > 0
    assert {k: rclient.type(k) for k in rclient.keys("*")} == before
    assert rclient.xlen("hotline:events") == events


def test_incidents_surge_announcement_and_site_visit(redis_url, rclient):
    s = load(SCENARIOS / "network-outage-site.yaml")
    out = run(s, hours=3, redis_url=redis_url)
    assert out["deflected"] > 0  # the 10:15 announcement sends some connection callers away
    by = {r["start"][11:16]: r for r in out["intervals"] if r["skill"] == "connection"}
    assert by["10:30"]["offered"] > 2 * by["08:30"]["offered"]  # the connection surge
    events = [e for _, e in rclient.xrange("hotline:events")]
    away = [e for e in events if e["type"] == "agent_state" and e.get("reason") == "site_visit"]
    assert len({e["agent_id"] for e in away}) == 2
    assert all(float(e["ts"]) >= s.start + 2 * 3600 for e in away)
    assert any(e["type"] == "announcement_set" for e in events)


def test_the_on_call_agent_who_does_not_answer_misses_every_offer(redis_url, rclient):
    s = load(SCENARIOS / "night-on-call.yaml")
    run(s, hours=8, seed=4, redis_url=redis_url)
    events = [e for _, e in rclient.xrange("hotline:events")]
    silent_from, silent_to = s.start + 3 * 3600, s.start + 4 * 3600
    reserved = [
        e for e in events if e["type"] == "reserved" and silent_from <= float(e["ts"]) < silent_to
    ]
    accepted = {
        e["call_sid"]
        for e in events
        if e["type"] == "reservation_accepted" and silent_from <= float(e["ts"]) < silent_to
    }
    assert all(e["agent_id"] == "julie.simon" for e in reserved)
    assert not accepted
    # Only on call: nobody is offered a call before its on-call overflow step (600 s).
    waits = [float(e["wait_s"]) for e in events if e["type"] == "reserved" and "wait_s" in e]
    assert waits and min(waits) >= 600


def test_drill_cli_prints_json_and_writes_the_plot(tmp_path, monkeypatch, redis_url, rclient):
    s = queue_scenario(tmp_path, agents=3, per_hour=30, aht=240, hours=2)
    png = tmp_path / "day.png"
    from hotline.drill import run as real_run

    monkeypatch.setattr(
        "hotline.drill.run", lambda *a, **kw: real_run(*a, redis_url=redis_url, **kw)
    )
    res = CliRunner().invoke(
        main,
        ["drill", s.source, "--hours", "2", "--replications", "2", "--json", "--plot", str(png)],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["replications"] == 2 and out["scenario"]["hours"] == 2
    assert set(out["total"]) >= {
        "service_level",
        "service_level_ci95",
        "asa_s",
        "abandon_rate",
        "queue_length",
        "occupancy",
    }
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- validation against the maths ------------------------------------------------------
@pytest.mark.slow
def test_service_level_and_asa_agree_with_erlang_c_over_100_hours(
    tmp_path, redis_url, rclient, report_figure
):
    s = queue_scenario(tmp_path, agents=6, per_hour=60, aht=240, hours=100)
    out = run(s, redis_url=redis_url)
    want = erlang_c(60, 3600, 240, 6, 60)
    got = out["total"]
    report_figure(
        f"drill vs Erlang C, 100 h: SL {got['service_level']:.3f} vs {want.service_level:.3f}, "
        f"ASA {got['asa_s']:.1f} vs {want.asa_s:.1f} s, {out['calls_per_wall_s']} calls/s"
    )
    assert got["service_level"] == pytest.approx(want.service_level, abs=0.03)
    assert got["asa_s"] == pytest.approx(want.asa_s, rel=0.25)
    assert got["occupancy"] == pytest.approx(want.occupancy, abs=0.03)


@pytest.mark.slow
def test_abandonment_agrees_with_erlang_a_with_exponential_patience(
    tmp_path, redis_url, rclient, report_figure
):
    s = queue_scenario(tmp_path, agents=5, per_hour=75, aht=240, patience=180, hours=100)
    out = run(s, redis_url=redis_url)
    want = erlang_a(75, 3600, 240, 5, 60, 180)
    got = out["total"]["abandon_rate"]
    report_figure(f"drill vs Erlang A, 100 h: abandonment {got:.4f} vs {want.abandon_rate:.4f}")
    assert got == pytest.approx(want.abandon_rate, rel=0.10)
