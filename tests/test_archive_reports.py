"""Reports over the archive read one row per call: each archived call carries its record
(the history fold, made when it moved), so a period in the archive folds no events -- and
gives exactly the report it gave while the calls were in Redis. Calls without a record
(archived before records existed, or events without a hash) are folded from their events
as before; first-contact resolution looks for later calls by number, not by folding them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import Column, Index, MetaData, Table, create_engine, inspect
from test_wfm_report import N1, N2, B, Script, morning

from hotline import history
from hotline.archive import Archive, mover, schema, synthetic
from hotline.archive.store import sqlite_url
from hotline.reports import SERVICE_LEVEL_S
from hotline.wfm import reading
from hotline.wfm import report as wfm

DAY = 86400.0


def as_before(svc, start: float, end: float) -> dict:
    """The report as `hotline report` read it before records: every call of the period and
    of the 7 days after it folded from its events (the archive's included)."""

    class EventsOnly:
        events_between = svc.archive.events_between

    old = SimpleNamespace(redis=svc.redis, keys=svc.keys, archive=EventsOnly())
    calls = history.iter_calls(old, start, end + wfm.FCR_WINDOW_S)
    agents = [
        e
        for e in history.iter_events(old, start - reading.AGENT_LOOKBACK_S, end)
        if e["type"] == "agent_state"
    ]
    return wfm.report(
        calls,
        agents,
        start_ts=start,
        end_ts=end,
        tz=svc.settings.tz,
        interval_min=60,
        threshold_s=SERVICE_LEVEL_S,
    )


def days(svc, first: float, n: int, per_day: int) -> None:
    for d in range(n):
        synthetic.write_day(svc.redis, svc.keys, first + d * DAY, per_day, seed=100 + d)


def local_days(svc, first: float, n: int) -> list[tuple[float, float]]:
    out = []
    for d in range(n):
        text = datetime.fromtimestamp(first + d * DAY + 12 * 3600, UTC).date().isoformat()
        out.append(wfm.day_period(text, svc.settings.tz))
    return out


def test_archived_calls_report_as_they_did_in_redis_from_their_rows(svc, clock):
    now = clock.now()
    first = now - 45 * DAY
    days(svc, first, 12, 30)  # 45 to 33 days ago: the retention's cutoff falls in it
    periods = local_days(svc, first, 12)
    week = (periods[0][0], periods[7][0])
    before = [reading.period_report(svc, *p) for p in periods]
    before_week = reading.period_report(svc, *week, interval_min=30)
    calls_before = [list(history.iter_calls(svc, *p)) for p in periods]
    assert any(r["total"]["first_contact_resolved"] for r in before)
    assert [as_before(svc, *p) for p in periods] == before  # the reading changed, not the report

    out = mover.run(svc)
    assert out["calls"] > 0 and out["events"] > 0

    rows = list(svc.archive.calls_between(0, now))
    assert rows and all(r["record"] is not None for r in rows)
    # the archived days need none of their events to be folded
    assert list(svc.archive.events_to_fold(first - DAY, now - 35 * DAY - DAY)) == []
    assert [list(history.iter_calls(svc, *p)) for p in periods] == calls_before
    assert [reading.period_report(svc, *p) for p in periods] == before
    assert reading.period_report(svc, *week, interval_min=30) == before_week
    assert [as_before(svc, *p) for p in periods] == before


def test_a_disposition_recorded_long_after_the_call_is_in_its_record(svc, clock):
    now = clock.now()
    synthetic.write_day(svc.redis, svc.keys, now - 40 * DAY, 20, seed=5)
    sid = next(
        s
        for s in svc.redis.zrange(svc.keys.calls, 0, -1)
        if svc.redis.hget(svc.keys.call(s), "state") == "completed"
    )
    # a correction the next day: the hash has it, the fold stops soon after the call
    svc.redis.hset(svc.keys.call(sid), mapping={"disposition": "escalated", "notes": "rappel"})
    mover.run(svc)
    (row,) = [r for r in svc.archive.calls_between(0, now) if r["sid"] == sid]
    assert (row["record"]["disposition"], row["record"]["notes"]) == ("escalated", "rappel")
    assert row["record"]["call_sid"] == sid and row["record"]["state"] == "completed"


def test_calls_without_hashes_are_folded_from_their_archived_events(svc, clock, cli_env):
    """The scripted morning is events only (no call hashes): archived, its events are not
    `folded`, and the report folds them as it did from Redis; a number that calls again
    3 days later, past the archive's cutoff, is still seen by first-contact resolution."""
    script = morning()
    script.write(svc, clock)
    start, end = wfm.day_period("2026-12-01", svc.settings.tz)
    before = reading.period_report(svc, start, end)
    assert before == as_before(svc, start, end)
    assert before["total"]["first_contact_resolved"] == 1  # CA2 only: N1 called again

    clock.set(B + 36 * DAY + 2 * DAY + 600)  # CA9 (3 days later) stays in Redis
    mover.run(svc, older_than_days=36)
    assert svc.archive.stats()["events"] > 0
    assert any(f.get("call_sid") == "CA9" for _, f in svc.events.entries())

    assert reading.period_report(svc, start, end) == before
    res = cli_env("report", "--day", "2026-12-01", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == before


def test_first_contact_looks_for_later_calls_by_number_only(svc, clock):
    s = Script()
    s.answered("CA1", "ana", 0, 20, 300, 60, N1, "resolved_remotely")
    s.answered("CA2", "ben", 100, 20, 300, 60, N2, "resolved_remotely")
    s(2 * DAY, "call_created", "CA3", from_number=N1)  # again within 7 days
    s(2 * DAY + 10, "call_created", "CA4", from_number="+33699999999")  # someone else
    s.write(svc, clock)
    start, end = wfm.day_period("2026-12-01", svc.settings.tz)
    got = history.contacts(svc, end - history.CALL_LOOKBACK_S, end + wfm.FCR_WINDOW_S, {N1, N2})
    assert [(c["call_sid"], c["number"], c["skill"]) for c in got] == [("CA3", N1, None)]
    rep = reading.period_report(svc, start, end)
    assert rep["total"]["first_contact_resolved"] == 1 and rep == as_before(svc, start, end)
    assert history.contacts(svc, start, end, set()) == []


def test_an_archive_from_before_records_is_upgraded_in_place_and_still_reads(svc, clock, tmp_path):
    """The tables as the first archive made them (no record, no folded, no new indexes),
    with a call and its events in them: opening the archive adds what is missing; the old
    rows read as calls to fold from their events, and the report is the one Redis gave."""
    script = Script()
    script.answered("CA1", "ana", 0, 20, 300, 60, N1, "resolved_remotely")
    script.queued("CA2", 500)
    script(530, "abandoned", "CA2", skill="software")
    script.write(svc, clock)
    start, end = wfm.day_period("2026-12-01", svc.settings.tz)
    before = reading.period_report(svc, start, end)

    url = sqlite_url(tmp_path)
    engine = create_engine(url)
    old = MetaData()
    for t in schema.metadata.tables.values():
        cols = [
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in t.columns
            if (t.name, c.name) not in schema.ADDED_COLUMNS
        ]
        idx = [
            Index(i.name, *(c.name for c in i.columns))
            for i in t.indexes
            if i.name not in schema.ADDED_INDEXES
        ]
        Table(t.name, old, *cols, *idx)
    old.create_all(engine)
    rows = []
    for eid, f in svc.events.entries():
        row = schema.event_row(eid, f)
        del row["folded"]
        rows.append(row)
    with engine.begin() as c:
        c.execute(old.tables["events"].insert(), rows)
    engine.dispose()

    archive = Archive(url)
    svc.__dict__["archive"] = archive  # Services.archive is a cached_property: this one
    try:
        insp = inspect(archive.engine)
        assert {"record"} <= {c["name"] for c in insp.get_columns("calls")}
        assert {"folded"} <= {c["name"] for c in insp.get_columns("events")}
        assert set(schema.ADDED_INDEXES) <= {i["name"] for i in insp.get_indexes("events")}
        svc.redis.delete(svc.keys.events)  # as if the old version had trimmed them
        assert len(list(archive.events_to_fold(start - DAY, end + DAY))) == len(rows)
        assert reading.period_report(svc, start, end) == before
        Archive(url).close()  # opening it again changes nothing
    finally:
        archive.close()


@pytest.fixture
def cli_env(svc, monkeypatch, redis_url, settings):
    from click.testing import CliRunner

    from hotline.cli import main

    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_TIMEZONE", "Europe/Paris")
    # the command's own clock is the system's: its report is of a day long past
    return lambda *args: CliRunner().invoke(main, list(args))
