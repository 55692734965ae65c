"""`hotline agents list|state` through click, on the test Redis."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from routing_support import load_agents, spec

from hotline.cli import main


@pytest.fixture
def cli(svc, monkeypatch, redis_url, settings):
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    load_agents(svc, [spec("ana", {"connection": 3}, ("fr", "en"))], on_shift=("ana",))
    return lambda *args: CliRunner().invoke(main, list(args))


def test_state_then_list_json(cli, svc):
    res = cli("agents", "state", "ana", "away", "--reason", "training")
    assert res.exit_code == 0, res.output
    assert "ana: away (training)" in res.output
    doc = json.loads(cli("agents", "list", "--json").output)
    assert [(a["id"], a["state"], a["reason"], a["on_shift"]) for a in doc] == [
        ("ana", "away", "training", True)
    ]
    (ev,) = svc.events.read(types={"agent_state"})
    assert ev.fields["by"].startswith("cli:")


def test_illegal_transition_is_one_clear_line_and_exit_1(cli, svc):
    res = cli("agents", "state", "ana", "wrapup")
    assert res.exit_code == 1
    assert "cannot go from offline to wrapup" in res.output
    assert svc.agents.get("ana").state == "offline"


def test_unknown_agent(cli):
    res = cli("agents", "state", "zoe", "available")
    assert res.exit_code == 1 and "no agent 'zoe'" in res.output


def test_list_text(cli):
    cli("agents", "state", "ana", "available")
    out = cli("agents", "list").output
    assert "ana" in out and "available" in out and "on shift" in out and "connection:3" in out


def test_agents_why_says_which_rule_keeps_an_agent_from_a_call(cli, svc):
    from routing_support import load_agents, make_available, spec, waiting_call

    call = "CA" + "7" * 32
    load_agents(svc, [spec("ana", {"connection": 3}, langs=("fr",))], on_shift=("ana",))
    waiting_call(svc, call, "connection", lang="en")
    out = cli("agents", "why", "ana", call)
    assert out.exit_code == 1 and "the agent is offline" in out.output
    make_available(svc, "ana")
    out = cli("agents", "why", "ana", call)
    assert out.exit_code == 1 and "does not speak en" in out.output
    svc.agents.sync_from_roster(
        __import__("types").SimpleNamespace(
            agents=(spec("ana", {"connection": 3}, langs=("fr", "en")),)
        )
    )
    out = cli("agents", "why", "ana", call)
    assert out.exit_code == 0 and "may take" in out.output
