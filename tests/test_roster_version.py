"""The roster's version check: a write based on an older version is refused, atomically.

The race test runs two real threads, each with its own store and Redis connections, held
at a barrier once both have checked the version and before either writes: with the check
read under the WATCH that guards the write, exactly one saves; with a read-then-compare
in Python, both would."""

from __future__ import annotations

import threading
from datetime import date, time
from pathlib import Path

import pytest

from hotline.errors import RosterInvalid
from hotline.roster import ExtraShift, Leave, Shift, Swap, load_text
from hotline.roster.store import RosterConflict, RosterStore

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "roster.yaml"


@pytest.fixture
def stored(svc):
    svc.roster.import_text(EXAMPLE.read_text(), "examples/roster.yaml", by="marie")
    return svc


def test_each_write_names_the_version_it_was_based_on(stored):
    svc = stored
    store = svc.roster
    assert store.snapshot() == (store.load(), 1)
    store.add_shift(
        Shift("", "nathan.richard", (6,), time(8), time(16)), by="paul", expected_version=1
    )
    store.set_leave(
        Leave("hugo.thomas", date(2026, 7, 1), date(2026, 7, 3)), by="paul", expected_version=2
    )
    store.swap(Swap(date(2026, 7, 6), "hugo.thomas", "chloe.robert"), by="paul", expected_version=3)
    store.change_shift(
        "nathan.richard-1",
        Shift("", "nathan.richard", (6,), time(17), time(20)),
        by="paul",
        expected_version=4,
    )
    store.remove_shift("nathan.richard-1", by="paul", expected_version=5)
    store.import_text(store.export(), "again.yaml", by="paul", expected_version=6)
    assert store.version() == 7
    versions = [
        e.fields["version"] for e in svc.events.read(types={"roster_edited", "roster_imported"})
    ]
    assert versions == ["1", "2", "3", "4", "5", "6", "7"]


@pytest.mark.parametrize(
    "write",
    [
        lambda s, v: s.add_shift(
            Shift("", "nathan.richard", (6,), time(8), time(16)), expected_version=v
        ),
        lambda s, v: s.change_shift(
            "lea-evening", Shift("", "lea.petit", (0,), time(14), time(22)), expected_version=v
        ),
        lambda s, v: s.remove_shift("lea-evening", expected_version=v),
        lambda s, v: s.set_leave(
            Leave("hugo.thomas", date(2026, 7, 1), date(2026, 7, 3)), expected_version=v
        ),
        lambda s, v: s.swap(
            Swap(date(2026, 7, 6), "hugo.thomas", "chloe.robert"), expected_version=v
        ),
        lambda s, v: s.import_text(EXAMPLE.read_text(), expected_version=v),
    ],
    ids=["add", "change", "remove", "leave", "swap", "import"],
)
def test_a_write_based_on_an_older_version_changes_nothing(stored, write):
    svc = stored
    svc.roster.add_shift(Shift("", "nathan.richard", (6,), time(8), time(16)), by="anne")
    before, n = svc.roster.export(), len(svc.events)
    with pytest.raises(RosterConflict) as e:
        write(svc.roster, 1)
    assert (e.value.expected, e.value.current) == (1, 2)
    assert "now at version 2, not 1" in str(e.value)
    assert svc.roster.export() == before and svc.roster.version() == 2 and len(svc.events) == n


def test_without_an_expected_version_edits_apply_to_the_current_roster_as_before(stored):
    stored.roster.add_shift(Shift("", "nathan.richard", (6,), time(8), time(16)))
    stored.roster.add_shift(ExtraShift("", "lucas.bernard", date(2026, 6, 6), time(9), time(12)))
    assert stored.roster.version() == 3


def test_the_version_is_checked_before_the_rules(stored):
    # a stale form whose content is also wrong: the conflict is what the manager must see
    with pytest.raises(RosterConflict):
        stored.roster.add_shift(
            Shift("", "camille.martin", (0,), time(14), time(18)), expected_version=0
        )
    with pytest.raises(RosterInvalid, match="overlaps"):
        stored.roster.add_shift(
            Shift("", "camille.martin", (0,), time(14), time(18)), expected_version=1
        )


def test_change_shift_keeps_the_place_and_the_id_and_can_change_the_kind(stored):
    store = stored.roster
    ids = [s.id for s in store.load().shifts]
    r = store.change_shift("lea-evening", Shift("x", "lea.petit", (0, 1), time(14), time(22)))
    assert [s.id for s in r.shifts] == ids and r.shift("lea-evening").days == (0, 1)
    r = store.change_shift(
        "lea-evening", ExtraShift("", "lea.petit", date(2026, 12, 5), time(10), time(12))
    )
    assert "lea-evening" not in [s.id for s in r.shifts]
    assert r.extras[-1] == ExtraShift(
        "lea-evening", "lea.petit", date(2026, 12, 5), time(10), time(12)
    )
    with pytest.raises(RosterInvalid, match="no shift with id 'nope'"):
        store.change_shift("nope", Shift("", "lea.petit", (0,), time(14), time(22)))
    with pytest.raises(RosterInvalid, match="overlaps"):
        store.change_shift("hugo-day", Shift("", "camille.martin", (0,), time(8), time(9)))


class _HeldAtTheBarrier(RosterStore):
    """A store whose writer waits, once, after the version check and before writing, until
    the other thread's writer has checked too: the interleaving a race needs, every run."""

    def __init__(self, svc, barrier: threading.Barrier):
        super().__init__(svc)
        self.barrier = barrier
        self.held = False

    def require(self):
        roster = super().require()  # called right after the version check, under WATCH
        if not self.held:
            self.held = True
            self.barrier.wait(timeout=10)
        return roster


def _race(svc, write) -> tuple[list, list]:
    barrier = threading.Barrier(2)
    stores = [_HeldAtTheBarrier(svc, barrier), _HeldAtTheBarrier(svc, barrier)]
    done, refused = [], []

    def run(i: int) -> None:
        try:
            done.append(write(stores[i], i))
        except RosterConflict as e:
            refused.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    return done, refused


def test_two_managers_saving_the_same_version_at_once_one_wins(stored):
    svc = stored
    v = svc.roster.version()
    shifts = [
        Shift("", "nathan.richard", (6,), time(8), time(12)),
        Shift("", "lucas.bernard", (6,), time(13), time(17)),
    ]
    done, refused = _race(
        svc, lambda store, i: store.add_shift(shifts[i], by=f"m{i}", expected_version=v)
    )
    assert len(done) == 1 and len(refused) == 1
    assert (refused[0].expected, refused[0].current) == (v, v + 1)
    assert svc.roster.version() == v + 1
    r = RosterStore(svc).load()
    added = [
        s for s in r.shifts if s.days == (6,) and s.agent in ("nathan.richard", "lucas.bernard")
    ]
    assert len(added) == 1
    assert len(svc.events.read(types={"roster_edited"})) == 1


def test_an_import_racing_an_edit_of_the_same_version_one_wins(stored):
    svc = stored
    v = svc.roster.version()
    text = EXAMPLE.read_text().replace("reason: congés d'été", "reason: vacances")

    def write(store, i):
        if i == 0:
            return store.add_shift(
                Shift("", "nathan.richard", (6,), time(8), time(12)), expected_version=v
            )
        # an import validates before its WATCH: hold it at the barrier between the check
        # and the write the same way, through the version read itself
        return _import_held(store, text, v)

    done, refused = _race(svc, write)
    assert len(done) == 1 and len(refused) == 1 and svc.roster.version() == v + 1


def _import_held(store: _HeldAtTheBarrier, text: str, v: int):
    check = store._check_version

    def held(p, expected):
        current = check(p, expected)
        if not store.held:
            store.held = True
            store.barrier.wait(timeout=10)
        return current

    store._check_version = held
    return store.import_text(text, "race.yaml", expected_version=v)


def test_the_roster_that_won_is_a_valid_document(stored):
    done, _ = _race(
        stored,
        lambda store, i: store.set_leave(
            Leave("hugo.thomas", date(2026, 7, 1 + i), date(2026, 7, 3 + i)), expected_version=1
        ),
    )
    assert load_text(stored.roster.export()) == stored.roster.load() == done[0]
