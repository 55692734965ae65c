"""The roster in Redis: whole-file imports, logged edits, and the on-shift / on-call sets."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.errors import RosterInvalid
from hotline.roster import ExtraShift, Leave, Shift, Swap, load_text

PARIS = ZoneInfo("Europe/Paris")
EXAMPLE = Path("examples/roster.yaml").read_text(encoding="utf-8")


def paris(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).timestamp()


def snapshot(r) -> dict:
    read = {
        "hash": r.hgetall,
        "set": r.smembers,
        "string": r.get,
        "stream": r.xrange,
        "zset": lambda k: r.zrange(k, 0, -1, withscores=True),
        "list": lambda k: r.lrange(k, 0, -1),
    }
    return {k: read[r.type(k)](k) for k in sorted(r.keys("*"))}


def types(svc) -> list[str]:
    return [e.type for e in svc.events.read()]


def test_import_stores_the_validated_roster(svc, clock):
    clock.set(paris("2026-06-03T12:00"))
    r = svc.roster.import_text(EXAMPLE, "examples/roster.yaml", by="marie")
    assert svc.roster.load() == r == load_text(EXAMPLE)
    assert svc.roster.version() == 1
    assert load_text(svc.roster.export()) == r
    ev = svc.events.read(types={"roster_imported"})[0]
    assert ev.fields["by"] == "marie" and ev.fields["file"] == "examples/roster.yaml"
    assert ev.fields["agents"] == "12"
    # the sets reflect Wednesday noon at once
    assert svc.roster.on_shift_now() == {
        "camille.martin",
        "hugo.thomas",
        "chloe.robert",
        "lucas.bernard",
        "manon.dubois",
        "nathan.richard",
    }
    assert svc.roster.on_call_now() == set()


def test_a_fresh_store_reads_the_same_roster(svc):
    svc.roster.import_text(EXAMPLE, "examples/roster.yaml", by="marie")
    from hotline.roster.store import RosterStore

    assert RosterStore(svc).load() == svc.roster.load()


def test_rejected_import_changes_nothing(svc):
    svc.roster.import_text(EXAMPLE, "examples/roster.yaml", by="marie")
    before = snapshot(svc.redis)
    bad = EXAMPLE.replace("'+33612345602'", "'0612345602'").replace(
        "end: '19:00'}", "end: '11:00'}"
    )
    with pytest.raises(RosterInvalid) as e:
        svc.roster.import_text(bad, "bad.yaml", by="marie")
    assert len(e.value.problems) >= 2 and all(p.file == "bad.yaml" for p in e.value.problems)
    assert snapshot(svc.redis) == before


def test_rejected_first_import_leaves_redis_empty(svc):
    with pytest.raises(RosterInvalid):
        svc.roster.import_text("timezone: Nowhere/Land\n", "bad.yaml")
    assert svc.redis.keys("*") == [] and svc.roster.load() is None


def test_edits_are_validated_and_logged_with_who_made_them(svc, clock):
    clock.set(paris("2026-06-03T12:00"))
    svc.roster.import_text(EXAMPLE, "examples/roster.yaml", by="marie")
    r = svc.roster.add_shift(Shift("", "nathan.richard", (6,), time(8), time(16)), by="paul")
    assert r.shift("nathan.richard-1").days == (6,)
    r = svc.roster.add_shift(
        ExtraShift("", "lucas.bernard", date(2026, 6, 6), time(9), time(12)), by="paul"
    )
    assert r.shift("lucas.bernard-x1").date == date(2026, 6, 6)
    r = svc.roster.set_leave(
        Leave("hugo.thomas", date(2026, 7, 1), date(2026, 7, 3), "formation"), by="paul"
    )
    assert r.leaves[-1].reason == "formation"
    r = svc.roster.swap(Swap(date(2026, 7, 6), "hugo.thomas", "chloe.robert"), by="paul")
    r = svc.roster.remove_shift("nathan.richard-1", by="anne")
    with pytest.raises(KeyError):
        r.shift("nathan.richard-1")
    assert svc.roster.version() == 6 and svc.roster.load() == r
    edits = svc.events.read(types={"roster_edited"})
    assert [(e.fields["op"], e.fields["by"]) for e in edits] == [
        ("add_shift", "paul"),
        ("add_shift", "paul"),
        ("leave", "paul"),
        ("swap", "paul"),
        ("remove_shift", "anne"),
    ]
    assert (
        edits[2].fields["agent"] == "hugo.thomas" and edits[4].fields["shift"] == "nathan.richard-1"
    )


def test_an_edit_that_breaks_a_rule_changes_nothing(svc):
    svc.roster.import_text(EXAMPLE, "examples/roster.yaml", by="marie")
    before = snapshot(svc.redis)
    with pytest.raises(RosterInvalid, match="overlaps") as e:
        svc.roster.add_shift(Shift("", "camille.martin", (0,), time(14), time(18)), by="paul")
    assert str(e.value.problems[0]).startswith(
        "roster after add-shift: shift camille.martin-1: overlaps"
    )
    with pytest.raises(RosterInvalid, match="unknown agent"):
        svc.roster.set_leave(Leave("nobody", date(2026, 7, 1), date(2026, 7, 3)), by="paul")
    with pytest.raises(RosterInvalid, match="no shift"):
        svc.roster.remove_shift("nope", by="paul")
    assert snapshot(svc.redis) == before


def test_edit_before_any_import_is_refused(svc):
    with pytest.raises(RosterInvalid, match="no roster stored"):
        svc.roster.remove_shift("x")


def test_refresh_shift_sets_at_boundaries(svc, clock):
    clock.set(paris("2026-06-03T12:00"))  # Wednesday noon
    svc.roster.import_text(EXAMPLE, "examples/roster.yaml", by="marie")
    n = len(svc.events)
    assert svc.roster.refresh_shift_sets() == ([], [])  # nothing moved: nothing logged
    assert len(svc.events) == n

    clock.set(paris("2026-06-03T15:00"))
    started, ended = svc.roster.refresh_shift_sets()
    assert sorted(started) == ["lea.petit", "theo.durand"]
    assert sorted(ended) == ["camille.martin", "chloe.robert", "hugo.thomas"]
    evs = svc.events.read(since=clock.now(), types={"shift_started", "shift_ended"})
    assert {(e.type, e.agent_id) for e in evs} >= {
        ("shift_started", "lea.petit"),
        ("shift_ended", "hugo.thomas"),
    }
    lea = next(e for e in evs if e.agent_id == "lea.petit")
    assert lea.fields == {"shift": "lea-evening", "on_call": "0"} and lea.ts == clock.now()

    clock.set(paris("2026-06-04T05:00"))  # the night: Montréal on shift, Julie on call
    svc.roster.refresh_shift_sets()
    assert svc.roster.on_shift_now() == set()  # Montréal's 16:00-22:00 ended at 04:00 Paris
    assert svc.roster.on_call_now() == {"julie.simon"}


def test_refresh_without_a_roster_empties_the_sets(svc):
    svc.redis.sadd(svc.keys.onshift, "ghost")
    assert svc.roster.refresh_shift_sets() == ([], ["ghost"])
    assert svc.redis.smembers(svc.keys.onshift) == set()


@pytest.mark.skipif(
    importlib.util.find_spec("hotline.routing.agents") is None, reason="no agents module yet"
)
def test_import_loads_agents_profiles(svc):
    svc.roster.import_text(EXAMPLE, "examples/roster.yaml", by="marie")
    agents = {a.id: a for a in svc.agents.list()}
    assert len(agents) == 12 and agents["chloe.robert"].skills == {
        "error_message": 5,
        "software": 3,
    }


def test_the_sweep_puts_right_the_shift_sets_a_lost_boundary_job_left_wrong(svc, clock):
    from hotline import sweep

    clock.set(paris("2026-06-03T12:00"))
    svc.roster.import_text(EXAMPLE, "examples/roster.yaml", by="marie")
    svc.roster.refresh_shift_sets()
    clock.set(paris("2026-06-03T15:00"))  # a boundary passed; its job was lost
    assert "lea.petit" not in svc.roster.on_shift_now()
    out = sweep.run(svc, reschedule=False)
    assert out["shift_changes"] == 5
    assert {"lea.petit", "theo.durand"} <= svc.roster.on_shift_now()
    assert "hugo.thomas" not in svc.roster.on_shift_now()
    assert sweep.run(svc, reschedule=False)["shift_changes"] == 0  # nothing more to do
