"""`hotline roster ...` on the shipped example roster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import main
from hotline.roster import load_text

EXAMPLE = "examples/roster.yaml"


@pytest.fixture
def cli(svc, monkeypatch, redis_url, settings):
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_CLOCK", "manual:1780488000")  # Wednesday 2026-06-03 14:00 Paris

    def run(*args, ok=True):
        res = CliRunner().invoke(main, list(args))
        if ok:
            assert res.exit_code == 0, res.output
        return res

    return run


def test_validate_ok(cli):
    assert "ok (12 agents" in cli("roster", "validate", EXAMPLE).output


def test_validate_lists_every_problem_with_file_and_line(cli, tmp_path):
    text = Path(EXAMPLE).read_text(encoding="utf-8")
    bad = text.replace("'+33612345602'", "'0612345602'").replace(
        "timezone: America/Toronto", "timezone: Canada/Montreal-Nord"
    )
    f = tmp_path / "bad.yaml"
    f.write_text(bad, encoding="utf-8")
    res = cli("roster", "validate", str(f), ok=False)
    assert res.exit_code == 1
    lines = bad.splitlines()
    phone = next(i for i, ln in enumerate(lines, 1) if "0612345602" in ln)
    zone = next(i for i, ln in enumerate(lines, 1) if "Montreal-Nord" in ln)
    assert f"{f}:{phone}: agent lucas.bernard: phone" in res.output
    assert f"{f}:{zone}: agent gabriel.tremblay: unknown time zone" in res.output
    assert "2 problems; nothing changed." in res.output


def test_import_export_round_trip(cli, svc, tmp_path):
    assert "imported" in cli("roster", "import", EXAMPLE, "--by", "marie").output
    out = tmp_path / "out.yaml"
    cli("roster", "export", str(out))
    assert load_text(out.read_text(encoding="utf-8")) == load_text(
        Path(EXAMPLE).read_text(encoding="utf-8")
    )
    assert load_text(cli("roster", "export").output) == svc.roster.load()
    assert svc.events.read(types={"roster_imported"})[0].fields["by"] == "marie"


def test_rejected_import_exits_1_and_changes_nothing(cli, svc, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("timezone: Europe/Paris\nskills: [general]\nagents: []\n", encoding="utf-8")
    res = cli("roster", "import", str(f), ok=False)
    assert res.exit_code == 1 and f"{f}:3: agents" in res.output
    assert svc.redis.keys("*") == []


def test_who_json_at_an_instant(cli):
    cli("roster", "import", EXAMPLE)
    res = cli("roster", "who", "--at", "2026-06-04T01:00:00+02:00", "--json")
    data = json.loads(res.output)
    got = {(a["agent_id"], a["shift_id"], a["on_call"]) for a in data["agents"]}
    assert got == {
        ("gabriel.tremblay", "gabriel-night", False),
        ("julie.simon", "julie-astreinte", True),
    }
    gabriel = next(a for a in data["agents"] if a["agent_id"] == "gabriel.tremblay")
    assert gabriel["start"] == "2026-06-03T16:00:00-04:00"  # his own time zone


def test_who_with_skill_and_text_output(cli):
    res = cli(
        "roster",
        "who",
        "--file",
        EXAMPLE,
        "--at",
        "2026-06-03T12:00:00+02:00",
        "--skill",
        "error_message",
    )
    assert "chloe.robert" in res.output and "manon.dubois" in res.output
    assert "camille.martin" not in res.output


def test_who_refuses_nonexistent_and_ambiguous_local_times(cli):
    res = cli("roster", "who", "--file", EXAMPLE, "--at", "2026-03-29T02:30", ok=False)
    assert res.exit_code != 0 and "does not exist in Europe/Paris" in res.output
    res = cli("roster", "who", "--file", EXAMPLE, "--at", "2026-10-25T02:30", ok=False)
    assert res.exit_code != 0 and "ambiguous in Europe/Paris" in res.output
    # a naive time that exists once is read in the centre's zone
    res = cli("roster", "who", "--file", EXAMPLE, "--at", "2026-10-25T03:30", "--json")
    assert json.loads(res.output)["at"] == "2026-10-25T03:30:00+01:00"


def test_who_on_a_public_holiday(cli):
    # Ascension (Thursday 2026-05-14) runs the Sunday shifts
    res = cli("roster", "who", "--file", EXAMPLE, "--at", "2026-05-14T10:00:00+02:00", "--json")
    ids = sorted(a["agent_id"] for a in json.loads(res.output)["agents"])
    assert ids == ["antoine.moreau", "ines.leroy"]


def test_coverage_json_over_both_dst_weeks(cli):
    cli("roster", "import", EXAMPLE)
    for week, hours in (("2026-W13", 167), ("2026-W43", 169)):
        data = json.loads(cli("roster", "coverage", "--week", week, "--json").output)
        assert data["hours_in_week"] == hours == len(data["hours"])
        assert all(g["on_call"] for g in data["gaps"])  # 24/7: every gap has someone on call
    data = json.loads(
        cli("roster", "coverage", "--week", "2026-W23", "--skill", "connection", "--json").output
    )
    assert data["skills"] == ["connection"]
    assert data["hours"][10]["on_shift"] == {"connection": 1}  # Monday 10:00: Camille
    text = cli("roster", "coverage", "--week", "2026-W23").output
    assert "168 hours" in text and "gap connection" in text and "on call: julie.simon" in text


def test_coverage_bad_week(cli):
    res = cli("roster", "coverage", "--file", EXAMPLE, "--week", "2026-13", ok=False)
    assert res.exit_code == 1 and "YYYY-Www" in res.output


def test_edit_commands(cli, svc):
    cli("roster", "import", EXAMPLE, "--by", "marie")
    cli(
        "roster",
        "edit",
        "add-shift",
        "nathan.richard",
        "--days",
        "sun",
        "--start",
        "08:00",
        "--end",
        "16:00",
        "--id",
        "nathan-sunday",
        "--by",
        "paul",
    )
    cli(
        "roster",
        "edit",
        "add-shift",
        "lucas.bernard",
        "--date",
        "2026-06-06",
        "--start",
        "09:00",
        "--end",
        "12:00",
        "--by",
        "paul",
    )
    cli(
        "roster",
        "edit",
        "leave",
        "hugo.thomas",
        "--from",
        "2026-07-01",
        "--to",
        "2026-07-03",
        "--reason",
        "formation",
        "--by",
        "paul",
    )
    cli(
        "roster",
        "edit",
        "swap",
        "hugo.thomas",
        "chloe.robert",
        "--date",
        "2026-07-06",
        "--by",
        "paul",
    )
    cli("roster", "edit", "remove-shift", "nathan-sunday", "--by", "anne")
    res = cli(
        "roster", "edit", "cancel-leave", "hugo.thomas", "--from", "2026-07-01", "--to",
        "2026-07-04", ok=False,
    )  # fmt: skip
    assert res.exit_code == 1 and "no leave for 'hugo.thomas' from 2026-07-01 to 2026-07-04" in (
        res.output
    )
    assert svc.roster.load().leaves[-1].agent == "hugo.thomas"
    cli(
        "roster", "edit", "cancel-leave", "hugo.thomas", "--from", "2026-07-01", "--to",
        "2026-07-03", "--by", "anne",
    )  # fmt: skip
    cli(
        "roster", "edit", "cancel-swap", "chloe.robert", "hugo.thomas", "--date", "2026-07-06",
        "--by", "anne",
    )  # fmt: skip
    r = svc.roster.load()
    assert [lv.agent for lv in r.leaves] == ["camille.martin"]  # the example's own leave
    assert [sw.date.isoformat() for sw in r.swaps] == ["2026-12-24"]  # and its own swap
    edits = svc.events.read(types={"roster_edited"})
    assert [(e.fields["op"], e.fields["by"]) for e in edits] == [
        ("add_shift", "paul"),
        ("add_shift", "paul"),
        ("leave", "paul"),
        ("swap", "paul"),
        ("remove_shift", "anne"),
        ("cancel_leave", "anne"),
        ("cancel_swap", "anne"),
    ]
    r = svc.roster.load()
    assert r.extras[-1].agent == "lucas.bernard"

    res = cli(
        "roster",
        "edit",
        "add-shift",
        "camille.martin",
        "--days",
        "mon",
        "--start",
        "14:00",
        "--end",
        "18:00",
        ok=False,
    )
    assert res.exit_code == 1 and "overlaps" in res.output and "nothing changed" in res.output
    res = cli(
        "roster",
        "edit",
        "add-shift",
        "camille.martin",
        "--start",
        "14:00",
        "--end",
        "18:00",
        ok=False,
    )
    assert res.exit_code == 2 and "exactly one of --days" in res.output
    assert len(svc.events.read(types={"roster_edited"})) == 7


def test_who_defaults_to_the_clock_and_export_needs_a_roster(cli):
    res = cli("roster", "who", "--file", EXAMPLE, "--json")  # HOTLINE_CLOCK: Wednesday 14:00 Paris
    data = json.loads(res.output)
    assert data["at"] == "2026-06-03T14:00:00+02:00"
    assert "camille.martin" in {a["agent_id"] for a in data["agents"]}
    res = cli("roster", "export", ok=False)
    assert res.exit_code == 1 and "no roster stored yet" in res.output
