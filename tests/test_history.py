"""The history reader: a period's events from the archive and the live stream, and its calls.

The live stream's ids are the Redis server's time while `ts` is the injected clock's, so
both ways of finding a period are pinned: ids that agree with `ts` (the system clock) and
ids that have nothing to do with it (a manual clock, as here and in the simulator).
"""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pytest

from hotline import history

DAY = 86400.0
T = 1_796_112_000.0  # 2026-12-01T08:00:00Z


class CountingRedis:
    """The real client, counting the stream entries it hands back (how much was read)."""

    def __init__(self, client):
        self.client = client
        self.entries = 0
        self.calls = 0

    def xrange(self, *a, **kw):
        got = self.client.xrange(*a, **kw)
        self.entries += len(got)
        self.calls += 1
        return got

    def xrevrange(self, *a, **kw):
        got = self.client.xrevrange(*a, **kw)
        self.entries += len(got)
        self.calls += 1
        return got

    def __getattr__(self, name):
        # anything else (the packed part's HKEYS, here always empty) goes straight through
        return getattr(self.client, name)


def reader(svc, archive=None, client=None):
    ns = SimpleNamespace(redis=client or svc.redis, keys=svc.keys)
    if archive is not None:
        ns.archive = archive
    return ns


def fill(svc, clock, n: int, start: float, step: float) -> None:
    pipe = svc.redis.pipeline(transaction=False)
    for i in range(n):
        svc.events.append("routing_swept", pipeline=pipe, ts=start + i * step, n=i)
    pipe.execute()


def test_a_period_is_read_alone_when_stream_ids_have_nothing_to_do_with_ts(svc, clock):
    # 20 000 events, one a minute over ~2 weeks of clock time, all written within a few
    # real milliseconds: the stream ids say nothing about the clock's time.
    fill(svc, clock, 20_000, T, 60.0)
    counting = CountingRedis(svc.redis)
    got = list(history.iter_events(reader(svc, client=counting), T + 600 * 60, T + 660 * 60))
    assert [int(e["n"]) for e in got] == list(range(600, 660))
    assert all(isinstance(e["ts"], float) and e["id"] for e in got)
    # The bisection and the period (with its skew margin either side), not 20 000 entries.
    assert counting.entries < 200, counting.entries


def test_a_period_is_found_from_its_timestamps_when_ids_are_the_clock(svc, rclient):
    key = svc.keys.events
    for i in range(5000):
        ts = T + i * 10.0
        rclient.xadd(
            key, {"type": "routing_swept", "ts": repr(ts), "n": i}, id=f"{int(ts * 1000)}-0"
        )
    counting = CountingRedis(rclient)
    got = list(history.iter_events(reader(svc, client=counting), T + 1000.0, T + 1100.0))
    assert [int(e["n"]) for e in got] == list(range(100, 110))
    # Guessed and checked: the last entry, the guess, the one before it; then the scan.
    assert counting.calls <= 5


def test_the_ends_of_the_stream(svc, clock):
    assert list(history.iter_events(reader(svc), T, T + 100)) == []
    fill(svc, clock, 10, T, 10.0)
    assert [int(e["n"]) for e in history.iter_events(reader(svc), T - 1000, T + 35)] == [0, 1, 2, 3]
    assert [int(e["n"]) for e in history.iter_events(reader(svc), T + 85, T + 1000)] == [9]
    assert list(history.iter_events(reader(svc), T + 95, T + 1000)) == []
    assert list(history.iter_events(reader(svc), T - 1000, T)) == []


class SqliteArchive:
    """A real (SQLite) archive with the archive's reading interface, for the merge: holds
    copies of some live events, as the archiver leaves them between copy and trim."""

    def __init__(self):
        self.db = sqlite3.connect(":memory:")
        self.db.execute("create table ev (id text, ms int, seq int, ts real, type text, n text)")

    def copy(self, events: list[dict]) -> None:
        for e in events:
            ms, seq = e["id"].split("-")
            self.db.execute(
                "insert into ev values (?, ?, ?, ?, ?, ?)",
                (e["id"], int(ms), int(seq), e["ts"], e["type"], e["n"]),
            )

    def events_between(self, start_ts, end_ts):
        rows = self.db.execute(
            "select id, ts, type, n from ev where ts >= ? and ts < ? order by ms, seq",
            (start_ts, end_ts),
        )
        for eid, ts, type_, n in rows:
            yield {"id": eid, "ts": ts, "type": type_, "n": n}


def test_archive_and_live_stream_merge_in_stream_order_each_event_once(svc, clock):
    fill(svc, clock, 100, T, 1.0)
    live = list(history.iter_events(reader(svc), T, T + 100))
    archive = SqliteArchive()
    archive.copy(live[:60])  # archived, and 40..59 not trimmed yet
    for e in live[:40]:
        svc.redis.xdel(svc.keys.events, e["id"])  # ... 0..39 trimmed
    archive.copy([live[95]])  # an event archived out of order (its call finished early)
    got = list(history.iter_events(reader(svc, archive), T + 10, T + 100))
    assert [int(e["n"]) for e in got] == list(range(10, 100))
    assert len({e["id"] for e in got}) == len(got)


def test_the_merge_takes_the_archive_iso_timestamps_too():
    a = [{"id": "5-0", "ts": "2026-12-01T08:00:00+00:00", "type": "x"}]
    b = [{"id": "5-0", "ts": T, "type": "x"}, {"id": "6-0", "ts": T + 1, "type": "y"}]
    from hotline.reports import normalize

    got = list(history.merge_by_id(normalize(a), b))
    assert [(e["id"], e["ts"]) for e in got] == [("5-0", T), ("6-0", T + 1)]


# ---------------------------------------------------------------- calls


class Script:
    """Events at clock times (seconds after T), appended in time order on `write()` (the
    order the domain writes them: the clock never goes back)."""

    def __init__(self, svc, clock):
        self.svc, self.clock, self.pending = svc, clock, []

    def __call__(self, t, type_, call=None, agent=None, **fields):
        self.pending.append((t, type_, call, agent, fields))

    def write(self):
        for t, type_, call, agent, fields in sorted(self.pending, key=lambda e: e[0]):
            self.clock.set(T + t)
            self.svc.events.append(type_, call_sid=call, agent_id=agent, **fields)
        self.pending = []


def answered_call(at, sid, agent, t0, wait, talk, wrap, number="+33611111111", disposition=None):
    at(t0 - 40, "call_created", sid, from_number=number, lang="fr-FR")
    at(t0 - 20, "classified", sid, category="software", skill="software")
    at(t0, "enqueued", sid, skill="software", priority=0)
    b = t0 + wait
    at(b - 8, "reserved", sid, agent, skill="software")
    at(b - 2, "reservation_accepted", sid, agent)
    at(b, "caller_bridged", sid, agent, who="caller")
    at(b + talk, "call_completed", sid, agent, skill="software", talk_s=talk, wait_s=wait)
    at(b + talk, "agent_state", sid, agent, **{"from": "busy", "to": "wrapup"})
    at(b + talk, "wrapup_started", sid, agent, wrapup_s=wrap)
    if disposition:
        at(b + talk + 10, "call_disposition", sid, agent=agent, disposition=disposition, notes="ok")
    at(b + talk + wrap, "wrapup_ended", sid, agent, via="timer")


def test_a_calls_figures_come_from_its_events(svc, clock):
    at = Script(svc, clock)
    answered_call(
        at, "CA1", "ana", 100, wait=30, talk=300, wrap=60, disposition="resolved_remotely"
    )
    # missed once by ben, then answered by ana: one missed offer
    at(200, "call_created", "CA2", from_number="+33622222222", lang="en-US")
    at(230, "enqueued", "CA2", skill="software")
    at(231, "reserved", "CA2", "ben")
    at(251, "reservation_missed", "CA2", "ben", reason="no-answer")
    at(252, "abandoned", "CA2", skill="software", wait_s=22)
    # 3 s in the queue: a short abandon
    at(300, "call_created", "CA3")
    at(310, "enqueued", "CA3", skill="connection")
    at(313, "abandoned", "CA3", skill="connection")
    at(400, "call_created", "CA4")
    at(410, "classified", "CA4", category="connection", skill="connection")
    at(420, "selfhelp_offered", "CA4")
    at(450, "selfhelp_resolved", "CA4")
    at.write()
    calls = {c["call_sid"]: c for c in history.iter_calls(svc, T, T + 3600)}
    c1 = calls["CA1"]
    assert (c1["number"], c1["lang"], c1["skill"], c1["category"]) == (
        "+33611111111",
        "fr-FR",
        "software",
        "software",
    )
    assert c1["offered_at"] == T + 100 and c1["answered"] and c1["answered_at"] == T + 130
    assert (c1["wait_s"], c1["talk_s"], c1["wrapup_s"]) == (30, 300, 60)
    assert (c1["agent"], c1["disposition"], c1["notes"]) == ("ana", "resolved_remotely", "ok")
    assert c1["state"] == "completed" and c1["ended_at"] == T + 430
    c2 = calls["CA2"]
    assert c2["abandoned"] and not c2["short_abandon"] and c2["missed_offers"] == 1
    assert c2["wait_s"] == 22 and c2["lang"] == "en-US"
    c3 = calls["CA3"]
    assert c3["abandoned"] and c3["short_abandon"] and c3["wait_s"] == 3
    c4 = calls["CA4"]
    assert c4["selfhelp_resolved"] and c4["state"] == "resolved" and c4["offered_at"] is None


def test_a_call_belongs_to_the_period_it_was_offered_in_and_is_followed_past_its_end(svc, clock):
    at = Script(svc, clock)
    # created before the period, offered within it, ended after it
    answered_call(at, "CA_edge", "ana", 3590, wait=50, talk=600, wrap=120)
    # created within the period, offered only after it: the next period's call
    at(3598, "call_created", "CA_next")
    at(3605, "enqueued", "CA_next", skill="software")
    # offered before the period
    at(-50, "call_created", "CA_before")
    at(-30, "enqueued", "CA_before", skill="software")
    at(20, "abandoned", "CA_before")
    # a callback request within the period, completed the next morning
    at(1000, "call_created", "CA_cb")
    at(1030, "callback_requested", "CA_cb", skill="general")
    at(DAY - 3600, "reserved", "CA_cb", "ana")
    at(DAY - 3590, "reservation_accepted", "CA_cb", "ana")
    at(DAY - 3500, "caller_bridged", "CA_cb", "ana", who="customer")
    at(DAY - 3200, "callback_completed", "CA_cb", "ana", talk_s=300)
    at.write()
    calls = {c["call_sid"]: c for c in history.iter_calls(svc, T, T + 3600)}
    assert set(calls) == {"CA_edge", "CA_cb"}
    assert calls["CA_edge"]["talk_s"] == 600 and calls["CA_edge"]["wrapup_s"] == 120
    cb = calls["CA_cb"]
    assert cb["callback_requested"] and cb["callback_completed"] and not cb["answered"]
    assert cb["offered_at"] == T + 1030 and cb["wait_s"] is None and cb["agent"] == "ana"


def test_a_wrap_up_ended_by_hand_ends_at_the_agents_state_change(svc, clock):
    at = Script(svc, clock)
    at(0, "call_created", "CA1")
    at(10, "enqueued", "CA1", skill="general")
    at(20, "caller_bridged", "CA1", "ana", who="caller")
    at(100, "call_completed", "CA1", "ana", talk_s=80)
    at(100, "wrapup_started", "CA1", "ana", wrapup_s=90)
    at(125, "agent_state", None, "ana", **{"from": "wrapup", "to": "available", "by": "ana"})
    at.write()
    (c,) = history.iter_calls(svc, T, T + 3600)
    assert c["wrapup_s"] == 25


def test_live_and_archived_calls_are_computed_alike(svc, clock):
    at = Script(svc, clock)
    answered_call(at, "CA1", "ana", 100, wait=30, talk=300, wrap=60, disposition="escalated")
    at.write()
    live = list(history.iter_calls(svc, T, T + 3600))
    events = list(history.iter_events(reader(svc), T - 3600, T + 7200))
    assert history.calls_from_events(events) == live
    assert live[0]["disposition"] == "escalated"


@pytest.mark.parametrize("n", [1, 2, 1001, 2500])
def test_paging_loses_nothing(svc, clock, n):
    fill(svc, clock, n, T, 0.5)
    got = list(history.iter_events(reader(svc), T, T + n))
    assert [int(e["n"]) for e in got] == list(range(n))


# ---------------------------------------------------------------- with the SQL archive


@pytest.fixture
def sql_archive(svc, tmp_path):
    """The real archive (hotline/archive/, SQLite in the test's folder) on `svc`."""
    store = pytest.importorskip("hotline.archive.store", reason="hotline/archive/ not present")
    archive = store.Archive(store.sqlite_url(tmp_path))
    svc.__dict__["archive"] = archive  # Services.archive is a cached_property: this one
    yield archive


def test_calls_read_the_same_before_and_after_the_archive_run(svc, clock, sql_archive):
    from hotline.archive import mover

    at = Script(svc, clock)
    answered_call(
        at, "CA1", "ana", 100, wait=30, talk=300, wrap=60, disposition="resolved_remotely"
    )
    at(500, "call_created", "CA2")
    at(510, "enqueued", "CA2", skill="general")
    at(530, "abandoned", "CA2")
    at.write()
    before = list(history.iter_calls(svc, T, T + 3600))
    events_before = list(history.iter_events(svc, T - 3600, T + 7200))
    clock.set(T + 40 * DAY)
    out = mover.run(svc, older_than_days=30)
    assert out["events"] == len(events_before)  # all moved ...
    assert svc.redis.xlen(svc.keys.events) == 0  # ... and trimmed from Redis
    assert list(history.iter_calls(svc, T, T + 3600)) == before
    assert list(history.iter_events(svc, T - 3600, T + 7200)) == events_before


def test_an_event_copied_but_not_yet_trimmed_is_read_once(svc, clock, sql_archive):
    from hotline.archive import schema

    fill(svc, clock, 50, T, 1.0)
    raw = svc.redis.xrange(svc.keys.events, "-", "+", count=30)
    # The state a run killed between its copy and its trim leaves: 30 events in both.
    sql_archive.put_events([schema.event_row(eid, f) for eid, f in raw])
    got = list(history.iter_events(svc, T, T + 50))
    assert [int(e["n"]) for e in got] == list(range(50))
    assert len({e["id"] for e in got}) == 50


def test_calls_stop_reading_soon_after_the_last_of_them_is_over(svc, clock):
    at = Script(svc, clock)
    answered_call(at, "CA1", "ana", 3000, wait=30, talk=900, wrap=60)  # ends past the hour
    at.write()
    fill(svc, clock, 3000, T + 4 * 3600, 60.0)  # two more days of other events
    counting = CountingRedis(svc.redis)
    (c,) = history.iter_calls(reader(svc, client=counting), T, T + 3600)
    assert c["talk_s"] == 900 and c["wrapup_s"] == 60
    assert counting.entries < 300, counting.entries  # not the 3000 of the 4-day lookahead
