"""`hotline users create|list|disable|reset-password` through click, on the test Redis."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import main

ROSTER = (Path(__file__).parents[1] / "examples" / "roster.yaml").read_text()
PW = "correct horse battery"


@pytest.fixture
def cli(svc, monkeypatch, redis_url, settings):
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    svc.roster.import_text(ROSTER, "roster.yaml", by="test")

    def run(*args, input=None):
        return CliRunner().invoke(main, list(args), input=input)

    return run


def test_create_with_a_piped_password_then_list_json(cli, svc):
    res = cli(
        "users",
        "create",
        "Camille.Martin@example.fr",
        "--role",
        "agent",
        "--agent",
        "camille.martin",
        "--name",
        "Camille Martin",
        "--password-stdin",
        input=PW + "\n",
    )
    assert res.exit_code == 0, res.output
    assert res.output == "created camille.martin@example.fr (agent, agent camille.martin)\n"
    res = cli(
        "users",
        "create",
        "boss@example.fr",
        "--role",
        "manager",
        "--password-stdin",
        "--by",
        "ops@example.fr",
        input=PW,
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(cli("users", "list", "--json").output)
    assert doc == [
        {
            "email": "boss@example.fr",
            "role": "manager",
            "name": None,
            "agent_id": None,
            "disabled": False,
            "generation": 1,
            "created_at": doc[0]["created_at"],
        },
        {
            "email": "camille.martin@example.fr",
            "role": "agent",
            "name": "Camille Martin",
            "agent_id": "camille.martin",
            "disabled": False,
            "generation": 1,
            "created_at": doc[1]["created_at"],
        },
    ]
    # the CLI runs on the system clock: ISO 8601 UTC, to the second
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", u["created_at"]) for u in doc)
    assert [e.fields["by"] for e in svc.events.read(types={"user_created"})] == [
        "cli",
        "ops@example.fr",
    ]
    assert svc.users.authenticate("camille.martin@example.fr", PW).role == "agent"
    assert PW not in res.output


def test_prompted_password_is_asked_twice_and_hidden(cli, svc):
    res = cli("users", "create", "sup@example.fr", "--role", "supervisor", input=f"{PW}\n{PW}\n")
    assert res.exit_code == 0, res.output
    assert res.output.count("Password") == 1 and "Repeat for confirmation" in res.output
    assert PW not in res.output  # hidden: not echoed
    assert svc.users.authenticate("sup@example.fr", PW) is not None


def test_prompted_passwords_that_differ_store_nothing(cli, svc):
    res = cli("users", "create", "sup@example.fr", "--role", "supervisor", input=f"{PW}\n{PW}x\n")
    assert res.exit_code != 0
    assert "do not match" in res.output
    assert svc.users.get("sup@example.fr") is None


def test_short_password_refused_and_nothing_stored(cli, svc, rclient):
    res = cli(
        "users",
        "create",
        "sup@example.fr",
        "--role",
        "supervisor",
        "--password-stdin",
        input="short\n",
    )
    assert res.exit_code == 1
    assert "hotline: error: the password has 5 characters: at least 10 are needed" in res.output
    assert svc.users.list() == [] and not rclient.keys("*user*")


def test_unknown_agent_refused_before_asking_for_a_password(cli, svc):
    res = cli("users", "create", "zoe@example.fr", "--role", "agent", "--agent", "zoe.nobody")
    assert res.exit_code == 1
    assert res.output.strip() == "hotline: error: no agent 'zoe.nobody' in the roster"
    assert svc.users.get("zoe@example.fr") is None


def test_agent_role_needs_an_agent_id(cli, svc):
    res = cli("users", "create", "zoe@example.fr", "--role", "agent", "--password-stdin", input=PW)
    assert res.exit_code == 1 and "needs the roster agent id it belongs to (--agent)" in res.output


def test_bad_role_email_and_duplicate(cli, svc):
    res = cli("users", "create", "a@example.fr", "--role", "admin")
    assert res.exit_code == 2 and "'admin' is not one of" in res.output
    res = cli("users", "create", "not-an-email", "--role", "manager", "--password-stdin", input=PW)
    assert res.exit_code == 1 and "is not an email address" in res.output
    cli("users", "create", "a@example.fr", "--role", "manager", "--password-stdin", input=PW)
    res = cli("users", "create", "A@example.fr", "--role", "manager", "--password-stdin", input=PW)
    assert res.exit_code == 1
    assert res.output.strip() == "hotline: error: a user 'a@example.fr' already exists"
    assert len(svc.users.list()) == 1


def test_disable_and_reset_password_bump_the_generation(cli, svc):
    cli("users", "create", "sup@example.fr", "--role", "supervisor", "--password-stdin", input=PW)
    res = cli(
        "users",
        "reset-password",
        "sup@example.fr",
        "--password-stdin",
        input="a brand new password\n",
    )
    assert res.exit_code == 0 and res.output == "sup@example.fr: password reset\n"
    assert svc.users.get("sup@example.fr").generation == 2
    assert svc.users.authenticate("sup@example.fr", PW) is None
    assert svc.users.authenticate("sup@example.fr", "a brand new password") is not None
    res = cli("users", "reset-password", "sup@example.fr", input="typed twice!\ntyped twice!\n")
    assert res.exit_code == 0 and svc.users.get("sup@example.fr").generation == 3
    res = cli("users", "disable", "SUP@example.fr", "--by", "boss@example.fr")
    assert res.exit_code == 0 and res.output == "sup@example.fr: disabled\n"
    u = svc.users.get("sup@example.fr")
    assert (u.disabled, u.generation) == (True, 4)
    assert "disabled" in cli("users", "list").output
    (ev,) = svc.events.read(types={"user_disabled"})
    assert ev.fields["by"] == "boss@example.fr"


def test_reset_refusals(cli, svc):
    res = cli("users", "reset-password", "ghost@example.fr", "--password-stdin", input=PW)
    assert res.exit_code == 1 and "no user 'ghost@example.fr'" in res.output
    cli("users", "create", "sup@example.fr", "--role", "supervisor", "--password-stdin", input=PW)
    res = cli("users", "reset-password", "sup@example.fr", "--password-stdin", input="tiny\n")
    assert res.exit_code == 1 and "at least 10 are needed" in res.output
    assert svc.users.get("sup@example.fr").generation == 1
    res = cli("users", "disable", "ghost@example.fr")
    assert res.exit_code == 1 and "no user 'ghost@example.fr'" in res.output
    assert svc.events.read(types={"password_reset", "user_disabled"}) == []


def test_list_text_and_empty(cli):
    assert "no users" in cli("users", "list").output
    cli(
        "users",
        "create",
        "c@example.fr",
        "--role",
        "agent",
        "--agent",
        "camille.martin",
        "--password-stdin",
        input=PW,
    )
    out = cli("users", "list").output
    assert "c@example.fr" in out and "agent" in out and "active" in out
    assert "agent=camille.martin" in out
