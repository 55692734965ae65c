"""The agent's wrap-up: disposition and notes on the call, Ready, the choices as data files
(dispositions, away reasons) and what `hotline calls show` / `hotline agents state` do
with them."""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner
from day_support import answered_call, offer, queue, team
from routing_support import sid

from hotline.cli import main
from hotline.config import Settings
from hotline.errors import ConfigError, DispositionRequired, NotEligible, UnknownCall
from hotline.legs import wrapup
from hotline.legs.disposition import NOTES_MAX, dispositions
from hotline.legs.disposition import record as record_disposition
from hotline.legs.wrapup import ready
from hotline.routing.away_reasons import away_reasons

CALL = sid(1)


def events(svc, *types):
    return [e for e in svc.events.read() if e.type in types]


@pytest.fixture
def wrapping(svc, clock):
    """ana answered CALL and is in wrap-up."""
    team(svc)
    agent = answered_call(svc, clock, CALL)
    assert agent == "ana" and svc.agents.get("ana").state == "wrapup"
    return agent


# The choices -------------------------------------------------------------------
def test_the_shipped_dispositions_with_french_and_english_labels(settings):
    got = dispositions(settings)
    assert [d["id"] for d in got] == [
        "resolved_remotely",
        "escalated_l2",
        "onsite_visit",
        "callback_promised",
        "other",
    ]
    assert got[0]["label"] == {"fr": "Résolu à distance", "en": "Resolved remotely"}
    assert all(set(d["label"]) == {"fr", "en"} for d in got)


def test_a_managers_file_relabels_and_adds_dispositions(tmp_path, monkeypatch):
    f = tmp_path / "dispositions.yaml"
    f.write_text(
        "dispositions:\n"
        "  - id: other\n    label: {fr: Divers, en: Miscellaneous}\n"
        "  - id: hardware_swap\n    label: {fr: Matériel échangé, en: Hardware swapped}\n"
    )
    s = Settings.from_env({"HOTLINE_MODE": "test", "HOTLINE_DISPOSITIONS_FILE": str(f)})
    got = {d["id"]: d["label"] for d in dispositions(s)}
    assert list(got)[-1] == "hardware_swap" and len(got) == 6
    assert got["other"] == {"fr": "Divers", "en": "Miscellaneous"}


@pytest.mark.parametrize(
    "text, problem",
    [
        ("dispositions:\n  - id: Bad Id\n    label: {fr: a, en: b}\n", "is not a lower-case word"),
        ("dispositions:\n  - id: swap\n    label: {fr: Échange}\n", "no label for en"),
        ("nothing: here\n", "expected `dispositions:`"),
        ("dispositions: [\n", "cannot read it"),
    ],
)
def test_a_broken_managers_file_is_one_error_naming_the_variable(tmp_path, text, problem):
    f = tmp_path / "d.yaml"
    f.write_text(text)
    s = Settings.from_env({"HOTLINE_MODE": "test", "HOTLINE_DISPOSITIONS_FILE": str(f)})
    with pytest.raises(ConfigError) as e:
        dispositions(s)
    assert "HOTLINE_DISPOSITIONS_FILE" in str(e.value) and problem in str(e.value)


def test_the_away_reasons_agents_may_choose_exclude_routings_missed(settings, tmp_path):
    assert [r["id"] for r in away_reasons(settings)] == [
        "break",
        "lunch",
        "training",
        "meeting",
        "other",
    ]
    assert away_reasons(settings)[1]["label"] == {"fr": "Déjeuner", "en": "Lunch"}
    f = tmp_path / "away.yaml"
    f.write_text("away_reasons:\n  - id: missed\n    label: {fr: Manqué, en: Missed}\n")
    s = Settings.from_env({"HOTLINE_MODE": "test", "HOTLINE_AWAY_REASONS_FILE": str(f)})
    with pytest.raises(ConfigError, match=r"HOTLINE_AWAY_REASONS_FILE.*'missed' is internal"):
        away_reasons(s)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"HOTLINE_REQUIRE_DISPOSITION": "maybe"}, "HOTLINE_REQUIRE_DISPOSITION: 'maybe'"),
        ({"HOTLINE_SL_TARGET": "1.5"}, "HOTLINE_SL_TARGET: 1.5 is outside 0..1"),
        ({"HOTLINE_DISPOSITIONS_FILE": "/nonexistent.yaml"}, "HOTLINE_DISPOSITIONS_FILE: no file"),
    ],
)
def test_settings_are_checked_naming_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"HOTLINE_MODE": "test", **env})


def test_settings_defaults_and_values():
    s = Settings.from_env({"HOTLINE_MODE": "test"})
    assert (s.require_disposition, s.wallboard_sl_target) == (False, 0.8)
    s = Settings.from_env(
        {"HOTLINE_MODE": "test", "HOTLINE_REQUIRE_DISPOSITION": "true", "HOTLINE_SL_TARGET": "0.9"}
    )
    assert (s.require_disposition, s.wallboard_sl_target) == (True, 0.9)


# Recording ------------------------------------------------------------------------
def test_a_disposition_and_notes_are_stored_on_the_call_and_logged(svc, wrapping):
    out = record_disposition(
        svc,
        CALL,
        agent_id="ana",
        disposition="escalated_l2",
        notes="  VPN down for the whole floor; ticket 4411  \n",
        by="console:ana",
    )
    assert (out.disposition, out.notes, out.replaced) == (
        "escalated_l2",
        "VPN down for the whole floor; ticket 4411",
        False,
    )
    call = svc.calls.get(CALL)
    assert (call.disposition, call.notes) == (
        "escalated_l2",
        "VPN down for the whole floor; ticket 4411",
    )
    assert call.extra["disposition_by"] == "console:ana"
    (ev,) = events(svc, "call_disposition")
    assert ev.call_sid == CALL and ev.agent_id == "ana"
    assert ev.fields == {
        "disposition": "escalated_l2",
        "notes": "VPN down for the whole floor; ticket 4411",
        "by": "console:ana",
    }


def test_recording_again_replaces_the_values_and_logs_again(svc, wrapping):
    record_disposition(svc, CALL, agent_id="ana", disposition="other", notes="first", by="a")
    out = record_disposition(
        svc, CALL, agent_id="ana", disposition="resolved_remotely", notes="", by="a"
    )
    assert out.replaced
    call = svc.calls.get(CALL)
    assert (call.disposition, call.notes) == ("resolved_remotely", None)
    assert [e.fields["disposition"] for e in events(svc, "call_disposition")] == [
        "other",
        "resolved_remotely",
    ]


@pytest.mark.parametrize(
    "kw, error, message",
    [
        ({"disposition": "fixed_it"}, ValueError, "disposition: 'fixed_it' is not one of"),
        ({"notes": "x" * (NOTES_MAX + 1)}, ValueError, "at most 2000"),
        ({"agent_id": "ben"}, NotEligible, "was not answered by agent ben"),
        ({"call_sid": sid(99)}, UnknownCall, "no call"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(svc, wrapping, kw, error, message):
    args = {
        "call_sid": CALL,
        "agent_id": "ana",
        "disposition": "other",
        "notes": "n",
        "by": "t",
        **kw,
    }
    before = svc.redis.hgetall(svc.keys.call(CALL))
    n = len(svc.events)
    with pytest.raises(error, match=message):
        record_disposition(svc, args.pop("call_sid"), **args)
    assert svc.redis.hgetall(svc.keys.call(CALL)) == before and len(svc.events) == n


def test_notes_of_exactly_the_limit_are_kept(svc, wrapping):
    notes = "é" * NOTES_MAX
    record_disposition(svc, CALL, agent_id="ana", disposition="other", notes=notes, by="t")
    assert svc.calls.get(CALL).notes == notes


def test_a_call_still_ringing_the_agent_cannot_be_disposed(svc):
    team(svc)
    queue(svc, CALL)
    agent = offer(svc, CALL)
    with pytest.raises(NotEligible):
        record_disposition(svc, CALL, agent_id=agent, disposition="other", by="t")


# Ready --------------------------------------------------------------------------------
def test_ready_ends_the_wrapup_like_the_timer_and_is_safe_to_repeat(svc, wrapping):
    out = ready(svc, "ana", by="console:ana")
    assert (out.status, out.call_sid) == ("ended", CALL)
    a = svc.agents.get("ana")
    assert a.state == "available" and a.call_sid == ""
    (ended,) = events(svc, "wrapup_ended")
    assert ended.fields == {"via": "ready", "by": "console:ana"}
    assert events(svc, "agent_state")[-1].fields["by"] == "console:ana"
    assert svc.redis.zscore(svc.keys.wrapups, "ana") is None
    n = len(svc.events)
    again = ready(svc, "ana", by="console:ana")
    assert again.status == "not_in_wrapup" and "not in wrap-up (now available)" in again.message
    assert wrapup.done(svc, "ana", CALL) == "skipped"  # the timer, later: nothing to do
    assert len(svc.events) == n


def test_ready_for_an_unknown_agent_is_a_clear_error(svc):
    with pytest.raises(NotEligible, match="no agent 'zoe'"):
        ready(svc, "zoe", by="t")


def test_with_required_disposition_ready_waits_for_one(svc, wrapping):
    strict = svc.derive(svc.settings.with_(require_disposition=True))
    n = len(svc.events)
    with pytest.raises(DispositionRequired, match=f"disposition for call {CALL}"):
        ready(strict, "ana", by="console:ana")
    assert strict.agents.get("ana").state == "wrapup" and len(svc.events) == n
    assert svc.redis.zscore(svc.keys.wrapups, "ana") is not None  # the timer still ends it
    record_disposition(strict, CALL, agent_id="ana", disposition="other", by="console:ana")
    assert ready(strict, "ana", by="console:ana").status == "ended"


def test_the_timer_ends_a_wrapup_without_disposition_even_when_required(svc, clock, wrapping):
    strict = svc.derive(svc.settings.with_(require_disposition=True))
    clock.advance(120)
    assert wrapup.done(strict, "ana", CALL) == "ended"


def test_ready_racing_the_timer_and_itself_ends_the_wrapup_once(svc, clock, wrapping):
    clock.advance(60)  # the wrap-up (60 s for connection) is due: the timer may fire too
    start = threading.Barrier(6)
    results = []

    def click():
        start.wait()
        results.append(ready(svc, "ana", by="console:ana").status)

    def timer():
        start.wait()
        results.append(wrapup.done(svc, "ana", CALL))

    threads = [threading.Thread(target=click) for _ in range(3)]
    threads += [threading.Thread(target=timer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ended") == 1, results
    assert len(events(svc, "wrapup_ended")) == 1
    assert svc.agents.get("ana").state == "available"


# The CLI ---------------------------------------------------------------------------
@pytest.fixture
def cli(svc, monkeypatch, redis_url, settings):
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return lambda *args: CliRunner().invoke(main, list(args))


def test_calls_show_prints_the_disposition_and_notes(cli, svc, wrapping):
    record_disposition(
        svc, CALL, agent_id="ana", disposition="onsite_visit", notes="Printer on floor 2", by="t"
    )
    out = cli("calls", "show", CALL)
    assert out.exit_code == 0, out.output
    assert "disposition        onsite_visit (Intervention sur site)" in out.output
    assert "notes              Printer on floor 2" in out.output
    doc = json.loads(cli("calls", "show", CALL, "--json").output)
    assert (doc["disposition"], doc["notes"]) == ("onsite_visit", "Printer on floor 2")


def test_calls_show_without_a_disposition(cli, svc, wrapping):
    out = cli("calls", "show", CALL)
    assert "disposition        -" in out.output
    doc = json.loads(cli("calls", "show", CALL, "--json").output)
    assert doc["disposition"] is None and doc["notes"] is None


def test_agents_state_away_refuses_an_unknown_or_internal_reason(cli, svc):
    team(svc, available=False)
    for reason in ("nap", "missed"):
        out = cli("agents", "state", "ana", "away", "--reason", reason)
        assert out.exit_code == 1
        assert f"hotline: error: away reason: {reason!r} is not one of break, lunch" in out.output
    assert svc.agents.get("ana").state == "offline" and not events(svc, "agent_state")
    out = cli("agents", "state", "ana", "away", "--reason", "lunch")
    assert out.exit_code == 0 and "ana: away (lunch)" in out.output


def test_agents_state_away_takes_a_managers_reason(cli, svc, tmp_path, monkeypatch):
    f = tmp_path / "away.yaml"
    f.write_text("away_reasons:\n  - id: doctor\n    label: {fr: Médecin, en: Doctor}\n")
    monkeypatch.setenv("HOTLINE_AWAY_REASONS_FILE", str(f))
    team(svc, available=False)
    out = cli("agents", "state", "ana", "away", "--reason", "doctor")
    assert out.exit_code == 0, out.output
    assert svc.agents.get("ana").reason == "doctor"
