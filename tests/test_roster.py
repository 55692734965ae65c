"""The roster document: parsing, every validation problem with its line, lossless export."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from hotline.errors import RosterInvalid
from hotline.roster import dump, from_data, load_text, parse_days, to_data

GOOD = """\
timezone: Europe/Paris
holidays: {country: FR, holiday_as: sun}
skills: [connection, software, general]
agents:
  - id: alice
    name: Alice Martin
    phone: +33612345678
    skills: {connection: 4, general: 2}
    languages: [fr, en]
  - id: bob
    name: Bob Tremblay
    client: bob.softphone
    skills: {software: 5}
    languages: [fr]
    timezone: America/Toronto
shifts:
  - agent: alice
    days: mon-fri
    start: 08:00
    end: 16:00
  - id: alice-night
    agent: alice
    days: [sat]
    start: 22:00
    end: 06:00
    on_call: true
  - agent: bob
    days: [lun, mar]
    start: '09:30'
    end: '17:30'
    valid_from: 2026-01-05
    valid_until: 2026-12-31
exceptions:
  leave:
    - {agent: alice, from: 2026-08-03, to: 2026-08-14, reason: congés}
  extra:
    - {agent: bob, date: 2026-12-26, start: '10:00', end: '12:00'}
  swap:
    - {date: 2026-07-13, agent: alice, with: bob}
"""


def problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(RosterInvalid) as e:
        load_text(text, "r.yaml")
    assert all(p.file == "r.yaml" for p in e.value.problems)
    return [(p.line, p.reason) for p in e.value.problems]


def line_of(text: str, fragment: str) -> int:
    lines = text.splitlines()
    exact = [i for i, ln in enumerate(lines, 1) if ln.strip() == fragment.strip()]
    return (exact or [i for i, ln in enumerate(lines, 1) if fragment in ln])[-1]


def has(probs, line, words):
    return any(ln == line and all(w in reason for w in words) for ln, reason in probs)


def test_parses_every_part_of_the_format():
    r = load_text(GOOD, "r.yaml")
    assert r.timezone == "Europe/Paris" and r.skills == ("connection", "software", "general")
    alice, bob = r.agents
    assert alice.phone == "+33612345678" and alice.client_identity is None
    assert alice.skills == {"connection": 4, "general": 2} and alice.languages == ("fr", "en")
    assert bob.client_identity == "bob.softphone" and bob.timezone == "America/Toronto"
    day, night, bob_day = r.shifts
    assert day.id == "alice-1" and day.days == (0, 1, 2, 3, 4)
    assert (day.start, day.end, day.overnight) == (time(8), time(16), False)  # 16:00 is not 960
    assert night.overnight and night.on_call and night.minutes() == 8 * 60
    assert bob_day.days == (0, 1) and bob_day.valid_from == date(2026, 1, 5)
    assert r.holidays.country == "FR" and r.holidays.as_day == 6
    assert r.leaves[0].reason == "congés" and r.extras[0].id == "bob-x1"
    assert r.swaps[0].other == "bob" and r.effective_weekday(date(2026, 12, 25)) == 6


def test_export_reads_back_to_an_equal_roster():
    r = load_text(GOOD, "r.yaml")
    text = dump(r)
    assert load_text(text, "exported.yaml") == r
    assert "'16:00'" in text and "'+33612345678'" in text
    assert from_data(to_data(r)) == r  # the JSON form kept in Redis


def test_example_roster_is_valid_and_round_trips():
    text = Path("examples/roster.yaml").read_text(encoding="utf-8")
    r = load_text(text, "examples/roster.yaml")
    assert len(r.agents) == 12 and any(a.timezone for a in r.agents)
    assert load_text(dump(r)) == r


def test_days_shorthands():
    assert parse_days("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_days("fri-mon") == (0, 4, 5, 6)
    assert parse_days("sat,sun") == (5, 6)
    assert parse_days("daily") == tuple(range(7))
    with pytest.raises(ValueError):
        parse_days("weekdays")


@pytest.mark.parametrize(
    "old,new,words",
    [
        ("    phone: +33612345678", "    phone: '06 12 34 56 78'", ["phone", "E.164"]),
        ("    phone: +33612345678", "    phone: '+3361234'", ["phone", "E.164"]),
        (
            "    skills: {connection: 4, general: 2}",
            "    skills: {connection: 4, printers: 2}",
            ["unknown skill", "printers"],
        ),
        (
            "    skills: {connection: 4, general: 2}",
            "    skills: {connection: 6, general: 2}",
            ["bad level", "6"],
        ),
        (
            "    skills: {connection: 4, general: 2}",
            "    skills: {connection: 0, general: 2}",
            ["bad level"],
        ),
        (
            "    skills: {connection: 4, general: 2}",
            "    skills: {connection: high, general: 2}",
            ["bad level"],
        ),
        (
            "    timezone: America/Toronto",
            "    timezone: America/Rennes",
            ["unknown time zone", "America/Rennes"],
        ),
        ("  - id: bob", "  - id: alice", ["duplicate id", "alice"]),
        ("    start: 08:00", "    start: 8h00", ["bad time", "8h00"]),
        ("    end: 16:00", "    end: 24:30", ["bad time"]),
        ("    end: 16:00", "    end: 08:00", ["zero-length"]),
        ("  - agent: bob", "  - agent: robert", ["unknown agent", "robert"]),
        ("    days: mon-fri", "    days: weekdays", ["days", "weekdays"]),
        ("    valid_until: 2026-12-31", "    valid_until: 2025-12-31", ["valid_until", "before"]),
        ("    languages: [fr]", "    languages: [French]", ["bad language"]),
        ("    on_call: true", "    on_call: yes please", ["true or false"]),
        (
            "    - {agent: alice, from: 2026-08-03, to: 2026-08-14, reason: congés}",
            "    - {agent: alice, from: 2026-08-14, to: 2026-08-03}",
            ["before"],
        ),
        (
            "    - {date: 2026-07-13, agent: alice, with: bob}",
            "    - {date: 2026-07-13, agent: alice, with: alice}",
            ["themself"],
        ),
        (
            "    - {date: 2026-07-13, agent: alice, with: bob}",
            "    - {date: 2026-07-13, agent: alice, with: bob, shift: nope}",
            ["unknown shift", "nope"],
        ),
        (
            "    - {agent: bob, date: 2026-12-26, start: '10:00', end: '12:00'}",
            "    - {agent: bob, date: 2026-12-26, start: '10:00', end: '10:00'}",
            ["zero-length"],
        ),
        (
            "    - {agent: bob, date: 2026-12-26, start: '10:00', end: '12:00'}",
            "    - {agent: bob, date: 2026-12-28, start: '10:00', end: '12:00'}",
            ["extra", "overlaps shift bob-1"],
        ),
        (
            "    - {agent: bob, date: 2026-12-26, start: '10:00', end: '12:00'}",
            "    - {agent: bob, date: 2026-12-32, start: '10:00', end: '12:00'}",
            ["bad date"],
        ),
        ("    name: Alice Martin", "    nickname: Alice", ["unknown key", "nickname"]),
    ],
)
def test_each_problem_is_reported_on_its_line(old, new, words):
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    probs = problems(text)
    line = line_of(text, new.splitlines()[-1].strip())
    assert has(probs, line, words), probs


def test_an_agent_has_a_phone_or_a_client_identity_not_both():
    text = GOOD.replace(
        "    client: bob.softphone", "    phone: '+33612345679'\n    client: bob.softphone"
    )
    assert has(problems(text), line_of(text, "- id: bob"), ["exactly one of phone"])
    text = GOOD.replace("    client: bob.softphone\n", "")
    assert has(problems(text), line_of(text, "- id: bob"), ["exactly one of phone"])


def test_a_swap_that_gives_someone_two_shifts_at_once():
    # on Monday 2026-07-13 alice takes bob's 09:30-17:30 while keeping her own 08:00-16:00
    text = GOOD.replace(
        "{date: 2026-07-13, agent: alice, with: bob}",
        "{date: 2026-07-13, agent: alice, with: bob, shift: bob-1}",
    )
    assert has(
        problems(text), line_of(text, "shift: bob-1"), ["alice would work", "at the same time"]
    )


def test_centre_zone_unknown_or_missing():
    assert has(problems(GOOD.replace("Europe/Paris", "Europe/Rennes")), 1, ["unknown time zone"])
    probs = problems(GOOD.replace("timezone: Europe/Paris\n", ""))
    assert any("timezone: missing" in reason for _, reason in probs)


def test_unknown_holiday_country_and_day():
    assert has(problems(GOOD.replace("country: FR", "country: XX")), 2, ["unknown country"])
    assert has(problems(GOOD.replace("holiday_as: sun", "holiday_as: never")), 2, ["holiday_as"])


def test_duplicate_shift_ids():
    text = GOOD.replace(
        "  - agent: bob\n    days: [lun, mar]",
        "  - id: alice-night\n    agent: bob\n    days: [lun, mar]",
    )
    assert has(
        problems(text), line_of(text, "- id: alice-night"), ["duplicate shift id 'alice-night'"]
    )


OVERLAP = """\
timezone: Europe/Paris
skills: [general]
agents:
  - {id: a, name: A, phone: '+33612345678', skills: {general: 1}, languages: [fr]}
shifts:
  - {id: first, agent: a, days: %s, start: '%s', end: '%s'}
  - {id: second, agent: a, days: %s, start: '%s', end: '%s'}
"""


@pytest.mark.parametrize(
    "first,second",
    [
        (("[mon]", "08:00", "16:00"), ("[mon]", "15:00", "20:00")),  # same day
        (("[mon]", "22:00", "06:00"), ("[tue]", "05:00", "09:00")),  # across midnight
        (("[sun]", "22:00", "06:00"), ("[mon]", "05:30", "12:00")),  # across the week wrap
        (("[mon]", "08:00", "16:00"), ("mon-fri", "08:00", "16:00")),  # same shift twice
    ],
)
def test_overlapping_shifts_of_one_agent(first, second):
    text = OVERLAP % (*first, *second)
    assert has(problems(text), 7, ["second", "overlaps shift first"])


def test_touching_shifts_and_other_weeks_do_not_overlap():
    load_text(OVERLAP % ("[mon]", "22:00", "06:00", "[tue]", "06:00", "14:00"), "r.yaml")
    load_text(OVERLAP % ("[sun]", "22:00", "06:00", "[mon]", "06:00", "12:00"), "r.yaml")
    text = OVERLAP.replace(
        "end: '%s'}\n  - {id: second", "end: '%s', valid_until: 2026-03-01}\n  - {id: second"
    )
    text = text.replace("'%s'}\n", "'%s', valid_from: 2026-03-03}\n")
    load_text(text % ("[mon]", "08:00", "16:00", "[mon]", "08:00", "16:00"), "r.yaml")


def test_every_problem_is_listed_at_once():
    text = (
        GOOD.replace("+33612345678", "'12345'")
        .replace("end: 16:00", "end: 99:00")
        .replace("  - agent: bob", "  - agent: bobby")
        .replace("America/Toronto", "Mars/Olympus")
    )
    probs = problems(text)
    assert len(probs) >= 4
    assert has(probs, 7, ["E.164"]) and has(probs, 20, ["bad time"])
    assert has(probs, line_of(text, "agent: bobby"), ["unknown agent"])
    assert has(probs, line_of(text, "Mars/Olympus"), ["unknown time zone"])


def test_yaml_syntax_error_has_a_line():
    probs = problems("timezone: Europe/Paris\nskills: [a, b\nagents: []\n")
    assert len(probs) == 1 and probs[0][0] in (2, 3) and "not valid YAML" in probs[0][1]


def test_not_a_mapping():
    assert problems("- just\n- a list\n") == [
        (1, "the roster must be a mapping with timezone, skills, agents and shifts")
    ]
