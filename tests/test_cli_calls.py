"""`hotline queue`, `hotline calls show|list`, `hotline announce` through click, on the test Redis."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hotline.cli import main


@pytest.fixture
def cli(svc, monkeypatch, redis_url, settings):
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("HOTLINE_LANGUAGES", raising=False)

    def run(*args):
        return CliRunner().invoke(main, list(args))

    return run


def waiting(svc, sid, number, skill):
    svc.calls.arrive(sid, number, "+33100000000", "fr")
    svc.calls.update(sid, state="selfhelp", category=skill)
    svc.waiting.enqueue(sid, skill)


def test_queue_json_lists_each_line_in_order(cli, svc, clock):
    waiting(svc, "CA1", "+33611111111", "software")
    clock.advance(20)
    waiting(svc, "CA2", "+33622222222", "software")
    res = cli("queue", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    (sw,) = [lv for lv in doc["lines"] if lv["skill"] == "software"]
    assert sw["waiting"] == 2 and [c["sid"] for c in sw["calls"]] == ["CA1", "CA2"]
    assert sw["oldest_wait_s"] is not None


def test_queue_text_and_empty(cli, svc):
    assert "no waiting lines" in cli("queue").output
    waiting(svc, "CA1", "+33611111111", "connection")
    out = cli("queue").output
    assert "connection" in out and "CA1" in out


def test_calls_show_json_and_text(cli, svc):
    waiting(svc, "CA1", "+33611111111", "connection")
    svc.calls.update("CA1", error_code="4031")
    res = cli("calls", "show", "CA1", "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert (
        d["sid"],
        d["from_number"],
        d["lang"],
        d["category"],
        d["skill"],
        d["state"],
        d["priority"],
        d["error_code"],
    ) == ("CA1", "+33611111111", "fr", "connection", "connection", "waiting", 0, "4031")
    assert d["created_at"].endswith("+02:00")  # the centre's zone, with its offset
    out = cli("calls", "show", "CA1").output
    assert "waiting" in out and "4031" in out


@pytest.mark.parametrize("sid", ["CA404", "not a sid"])
def test_calls_show_unknown_is_one_line_and_exit_1(cli, svc, sid):
    res = cli("calls", "show", sid)
    assert res.exit_code == 1
    assert len(res.output.strip().splitlines()) == 1 and "error" in res.output


def test_calls_list_by_state(cli, svc):
    waiting(svc, "CA1", "+33611111111", "connection")
    svc.calls.arrive("CA2", "+33622222222", "+33100000000", "fr")
    rows = [
        json.loads(x)
        for x in cli("calls", "list", "--state", "waiting", "--json").output.splitlines()
    ]
    assert [r["sid"] for r in rows] == ["CA1"]
    assert len(cli("calls", "list").output.strip().splitlines()) == 2
    assert cli("calls", "list", "--state", "bad;state").exit_code == 1


def test_announce_set_show_and_clear(cli, svc):
    res = cli("announce", "Panne réseau à Rennes.", "--lang", "fr", "--by", "marie")
    assert res.exit_code == 0, res.output
    assert svc.announcements.current("fr") == "Panne réseau à Rennes."
    assert svc.announcements.current("en") is None
    assert "Panne réseau" in cli("announce", "--show").output
    res = cli("announce", "--clear", "--by", "marie")
    assert res.exit_code == 0 and svc.announcements.current("fr") is None
    types = [e.type for e in svc.events.read()]
    assert types == ["announcement_set", "announcement_cleared"]


@pytest.mark.parametrize(
    "args,code",
    [
        (["announce"], 2),
        (["announce", "x", "--clear"], 2),
        (["announce", "   "], 1),
        (["announce", "x", "--lang", "de"], 2),
    ],
)
def test_announce_bad_input_fails_and_changes_nothing(cli, svc, args, code):
    res = cli(*args)
    assert res.exit_code == code
    assert svc.announcements.all() == {} and len(svc.events) == 0
