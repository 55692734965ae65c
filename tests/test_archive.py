"""The archive: finished calls older than the retention and the events before the first one
still needed move from Redis to SQL (SQLite always, PostgreSQL when one answers on
127.0.0.1:5432), copy-verify-delete, so that repeating a run -- or finishing one killed
with SIGKILL at any point -- loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from hotline import events
from hotline.archive import Archive, mover, synthetic
from hotline.archive.schema import split_id
from hotline.archive.store import sqlite_url
from hotline.config import ConfigError, Settings
from hotline.services import Services

DAY = 86400.0
PG = "postgresql://127.0.0.1:5432/test"


def _pg_available() -> str | None:
    try:
        import psycopg

        psycopg.connect(PG, connect_timeout=2).close()
        return None
    except Exception as e:  # any failure means "no PostgreSQL here"
        return f"no PostgreSQL on 127.0.0.1:5432 (database test): {e.__class__.__name__}"


@pytest.fixture(scope="module")
def pg_missing():
    return _pg_available()


@pytest.fixture
def pg_schema(pg_missing):
    """A schema of its own for this test, dropped afterwards; the URL puts it first on the
    search path, so the archive creates and reads its tables there."""
    if pg_missing:
        pytest.skip(pg_missing)
    import psycopg

    name = "hl_archive_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {name}")
    yield f"{PG}?options=-csearch_path%3D{name}"
    with psycopg.connect(PG, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def asvc(request, settings, clock, rclient):
    """Services whose archive is SQLite in the data dir, or a PostgreSQL schema."""
    if request.param == "postgresql":
        settings = settings.with_(archive_url=request.getfixturevalue("pg_schema"))
    s = Services(settings, clock=clock, client=rclient)
    yield s
    s.close()


def days_of_calls(svc, first_day: float, days: int, per_day: int, seed: int = 1) -> list[str]:
    sids = []
    for d in range(days):
        sids += synthetic.write_day(
            svc.redis, svc.keys, first_day + d * DAY, per_day, seed=seed * 1000 + d
        )
    return sids


def redis_events(svc) -> list[tuple[str, dict]]:
    """Every entry Redis holds, (id, fields): the packed part of the log, then the stream."""
    return list(svc.events.entries())


# Moving ---------------------------------------------------------------------------------
def test_finished_calls_older_than_the_retention_and_their_events_move_to_the_archive(asvc):
    now = asvc.clock.now()
    first = now - 40 * DAY
    sids = days_of_calls(asvc, first, 40, 6)
    written = redis_events(asvc)
    old_calls = {
        s for s in sids if float(asvc.redis.hget(asvc.keys.call(s), "created_at")) < now - 35 * DAY
    }
    a_hash = asvc.redis.hgetall(asvc.keys.call(sorted(old_calls)[0]))
    cutoff = now - 35 * DAY

    out = mover.run(asvc)

    assert out["calls"] == len(old_calls) and out["calls_live"] == 0
    # Redis keeps the newer calls only; their index and hashes agree
    left = set(asvc.redis.zrange(asvc.keys.calls, 0, -1))
    assert left == set(sids) - old_calls
    assert not any(asvc.redis.exists(asvc.keys.call(s)) for s in old_calls)
    # every event is in exactly one place: SQL before the cutoff, Redis after
    kept = redis_events(asvc)
    assert all(float(f["ts"]) >= cutoff for _, f in kept)
    archived = list(asvc.archive.events_between(0, now + DAY))
    assert [e["id"] for e in archived] + [i for i, _ in kept] == [i for i, _ in written]
    assert all(e["ts"] < cutoff for e in archived) and out["events"] == len(archived)
    # the row keeps the whole hash, and the report fields
    (row,) = [c for c in asvc.archive.calls_between(0, now) if c["sid"] == a_hash["sid"]]
    assert row["call_hash"] == a_hash
    assert row["created_at"] == float(a_hash["created_at"]) and row["state"] == a_hash["state"]
    assert row["from_number"] == a_hash["from_number"] and row["language"] == a_hash["lang"]


def test_archived_events_read_back_as_reports_normalize_gives_them(asvc):
    from hotline import reports

    now = asvc.clock.now()
    days_of_calls(asvc, now - 37 * DAY, 1, 5)
    # normalize's dicts, with ts as stored (the ISO text of `hotline events` stops at ms)
    before = [{**ev.to_json(), "ts": ev.ts} for ev in asvc.events.read()]
    mover.run(asvc)
    assert redis_events(asvc) == []
    assert list(asvc.archive.events_between(0, now)) == reports.normalize(before)
    assert reports.summary(asvc.archive.events_between(0, now)) == reports.summary(before)


def test_a_live_call_never_moves_and_keeps_every_later_event_in_redis(asvc):
    now = asvc.clock.now()
    days_of_calls(asvc, now - 50 * DAY, 2, 4, seed=2)
    live = synthetic.live_call(asvc.redis, asvc.keys, now - 45 * DAY)
    days_of_calls(asvc, now - 44 * DAY, 2, 4, seed=3)
    first_live = next(i for i, f in redis_events(asvc) if f.get("call_sid") == live)

    out = mover.run(asvc)

    assert out["pinned_by"] == live and out["calls_live"] == 1
    assert asvc.redis.hget(asvc.keys.call(live), "state") == "waiting"
    assert asvc.redis.zscore(asvc.keys.calls, live) is not None
    # the stream now starts at the live call's first event: everything after it stays
    assert redis_events(asvc)[0][0] == first_live
    assert all(  # stream order: ids as (ms, seq), not as text ("…-10" < "…-9")
        split_id(e["id"]) < split_id(first_live) for e in asvc.archive.events_between(0, now)
    )
    assert asvc.archive.oldest_live_ts() == pytest.approx(now - 45 * DAY)

    # once it is finished, the next run moves it and everything it held back
    asvc.redis.hset(asvc.keys.call(live), "state", "abandoned")
    again = mover.run(asvc)
    assert again["calls"] == 1 and "pinned_by" not in again
    assert redis_events(asvc) == [] and asvc.redis.zcard(asvc.keys.calls) == 0


def test_events_not_about_a_call_move_with_the_rest_and_newer_ones_stay(asvc):
    now = asvc.clock.now()
    asvc.events.append("agent_state", agent_id="ana", ts=now - 40 * DAY, to="available")
    asvc.events.append("shift_started", agent_id="ana", ts=now - 39 * DAY, shift="early")
    asvc.events.append("agent_state", agent_id="ana", ts=now - 1 * DAY, to="away")
    out = mover.run(asvc)
    assert out["events"] == 2
    assert [e["type"] for e in asvc.archive.events_between(0, now)] == [
        "agent_state",
        "shift_started",
    ]
    (kept,) = redis_events(asvc)
    assert kept[1]["to"] == "away"


def test_older_than_overrides_the_retention(asvc):
    now = asvc.clock.now()
    days_of_calls(asvc, now - 10 * DAY, 1, 3)
    assert mover.run(asvc)["calls"] == 0
    assert mover.run(asvc, older_than_days=7)["calls"] == 3
    with pytest.raises(ValueError, match="older-than"):
        mover.run(asvc, older_than_days=0)


def test_caller_keys_written_without_a_ttl_get_one_or_go(asvc, rclient):
    now = asvc.clock.now()
    synthetic.write_day(rclient, asvc.keys, now - 40 * DAY, 4, caller_ttl_s=None)
    numbers = {
        h["from_number"] for h in (rclient.hgetall(k) for k in rclient.scan_iter("hotline:call:*"))
    }
    # a caller of 40 days ago who called again yesterday: their key must live on
    recent = sorted(numbers)[0]
    rclient.hset(asvc.keys.caller(recent), "last_at", repr(now - DAY))
    for n in numbers:  # as the call card's index was before it had a TTL
        for s in rclient.zrange(asvc.keys.calls, 0, -1):
            if rclient.hget(asvc.keys.call(s), "from_number") == n:
                rclient.zadd(asvc.keys.caller_calls(n), {s: 1.0})
    rclient.zadd(asvc.keys.caller_calls(recent), {"CAyesterday": now - DAY})
    mover.run(asvc)
    for n in numbers - {recent}:
        assert not rclient.exists(asvc.keys.caller(n))
        assert not rclient.exists(asvc.keys.caller_calls(n))
    assert 0 < rclient.ttl(asvc.keys.caller(recent)) <= 6 * DAY
    # the archived calls leave the call card's list; yesterday's stays, and expires
    assert rclient.zrange(asvc.keys.caller_calls(recent), 0, -1) == ["CAyesterday"]
    assert 0 < rclient.ttl(asvc.keys.caller_calls(recent)) <= 6 * DAY


# Safe to repeat, safe to kill -----------------------------------------------------------
def test_a_second_run_moves_nothing_and_duplicates_nothing(asvc):
    now = asvc.clock.now()
    days_of_calls(asvc, now - 38 * DAY, 3, 5)
    first = mover.run(asvc)
    s1 = asvc.archive.stats()
    second = mover.run(asvc)
    assert (second["calls"], second["events"]) == (0, 0)
    s2 = asvc.archive.stats()
    assert (
        (s1["calls"], s1["events"])
        == (s2["calls"], s2["events"])
        == (
            first["calls"],
            first["events"],
        )
    )


def test_a_run_killed_after_copying_is_finished_by_the_next_without_duplicates(asvc):
    """What a run killed between its copy and its delete left: rows in SQL, keys in Redis."""
    from hotline.archive import schema

    now = asvc.clock.now()
    days_of_calls(asvc, now - 38 * DAY, 2, 5)
    hashes = [
        asvc.redis.hgetall(asvc.keys.call(s)) for s in asvc.redis.zrange(asvc.keys.calls, 0, 3)
    ]
    asvc.archive.put_calls([schema.call_row(h) for h in hashes])
    asvc.archive.put_events([schema.event_row(i, f) for i, f in redis_events(asvc)[:30]])
    total_events = len(redis_events(asvc))

    out = mover.run(asvc)

    st = asvc.archive.stats()
    assert st["calls"] == 10 and st["events"] == total_events
    assert out["calls"] == 10 and out["events"] == total_events  # counted as moved by this run
    assert redis_events(asvc) == [] and asvc.redis.zcard(asvc.keys.calls) == 0


def test_a_run_refuses_while_another_holds_the_lock(asvc):
    from hotline.errors import ArchiveBusy

    asvc.redis.set(asvc.keys.archive_lock, "someone", px=60_000)
    with pytest.raises(ArchiveBusy):
        mover.run(asvc)


def _archive_cmd(svc, *args) -> tuple[list[str], dict]:
    env = {
        **os.environ,
        "REDIS_URL": svc.settings.redis_url,
        "HOTLINE_DATA_DIR": str(svc.settings.data_dir),
        "HOTLINE_MODE": "test",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("HOTLINE_ARCHIVE_URL", None)
    if svc.settings.archive_url:
        env["HOTLINE_ARCHIVE_URL"] = svc.settings.archive_url
    return [sys.executable, "-m", "hotline", "archive", *args], env


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkilled_archive_processes_lose_and_duplicate_nothing(
    backend, settings, rclient, request
):
    """A real `hotline archive` killed with SIGKILL at several points -- right after a batch
    was copied and verified (before its delete), right after a delete or a trim, and at
    arbitrary instants -- then run again until done: SQL holds each old call and event
    once, Redis none of them, and nothing newer moved."""
    if backend == "postgresql":
        settings = settings.with_(archive_url=request.getfixturevalue("pg_schema"))
    svc = Services(settings, client=rclient)  # the system clock: the subprocess's own
    try:
        now = time.time()
        sids = days_of_calls(svc, now - 45 * DAY, 12, 25)
        written = redis_events(svc)
        cutoff = now - 35 * DAY
        old_ids = [i for i, f in written if float(f["ts"]) < cutoff]
        old_calls = {
            s for s in sids if float(rclient.hget(svc.keys.call(s), "created_at")) < cutoff
        }
        cmd, env = _archive_cmd(svc, "--batch", "40", "-v")
        kills = 0
        for when in ("copied", "deleted", "trimmed", "copied", 0.3, "copied", 0.15, "trimmed"):
            p = subprocess.Popen(
                cmd, env=env, stderr=subprocess.PIPE, text=True, stdout=subprocess.DEVNULL
            )
            if isinstance(when, float):
                time.sleep(when)
            else:
                for line in p.stderr:
                    if when in line:
                        break
            p.send_signal(signal.SIGKILL)
            p.wait()
            kills += p.returncode == -signal.SIGKILL
            rclient.delete(svc.keys.archive_lock)  # a killed run's lock lapses (its TTL)
        assert kills >= 6  # most kills landed mid-run (a slow start may finish one early)
        done = subprocess.run(
            [*cmd[:-3], "--json"], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        st = json.loads(done.stdout)["archive"]

        archive = Archive(settings.archive_url or sqlite_url(settings.data_dir))
        try:
            ids = [e["id"] for e in archive.events_between(0, now + DAY)]
            calls = {c["sid"] for c in archive.calls_between(0, now + DAY)}
        finally:
            archive.close()
        assert ids == old_ids  # each once, in stream order
        assert st["events"] == len(old_ids) and st["calls"] == len(old_calls) == len(calls)
        assert calls == old_calls
        assert [i for i, _ in redis_events(svc)] == [i for i, _ in written if i not in set(old_ids)]
        assert set(rclient.zrange(svc.keys.calls, 0, -1)) == set(sids) - old_calls
        assert not any(rclient.exists(svc.keys.call(s)) for s in old_calls)
    finally:
        svc.close()


# The archive's reads and file ------------------------------------------------------------
def test_calls_between_and_from_number_read_the_archive(asvc):
    now = asvc.clock.now()
    sids = days_of_calls(asvc, now - 40 * DAY, 2, 6)
    hashes = {s: asvc.redis.hgetall(asvc.keys.call(s)) for s in sids}
    mover.run(asvc)
    day2 = now - 39 * DAY
    got = list(asvc.archive.calls_between(day2, day2 + DAY))
    want = sorted(
        (float(h["created_at"]), s)
        for s, h in hashes.items()
        if day2 <= float(h["created_at"]) < day2 + DAY
    )
    assert [(c["created_at"], c["sid"]) for c in got] == want
    number = hashes[sids[0]]["from_number"]
    mine = asvc.archive.calls_from_number(number, now - 40 * DAY)
    assert {c["sid"] for c in mine} == {s for s, h in hashes.items() if h["from_number"] == number}
    assert asvc.archive.calls_from_number(number, now) == []
    st = asvc.archive.stats()
    assert st["calls"] == len(sids) and st["runs"] == 1 and st["last_run"]["calls"] == len(sids)


def test_the_sqlite_archive_is_created_in_the_data_dir_private_and_in_wal_mode(settings):
    a = Archive.from_settings(settings)
    try:
        path = Path(settings.data_dir) / "archive.sqlite3"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with a.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert a.stats()["calls"] == 0
    finally:
        a.close()


@pytest.mark.parametrize(
    "raw, url",
    [
        ("postgresql://u@db/hl", "postgresql+psycopg://u@db/hl"),
        ("postgres://u@db/hl", "postgresql+psycopg://u@db/hl"),
        ("sqlite:////var/lib/hl.sqlite3", "sqlite:////var/lib/hl.sqlite3"),
        ("", None),
    ],
)
def test_archive_url_maps_plain_postgresql_to_psycopg(raw, url):
    env = {"HOTLINE_MODE": "test", "HOTLINE_DATA_DIR": "/tmp/hl-cfg", "HOTLINE_ARCHIVE_URL": raw}
    assert Settings.from_env(env, load_dotenv=False).archive_url == url


@pytest.mark.parametrize(
    "name, raw",
    [
        ("HOTLINE_ARCHIVE_URL", "mysql://db/x"),
        ("HOTLINE_ARCHIVE_URL", "db.example"),
        ("HOTLINE_RETENTION_DAYS", "0"),
        ("HOTLINE_RETENTION_DAYS", "soon"),
    ],
)
def test_bad_archive_settings_name_the_variable(name, raw):
    env = {"HOTLINE_MODE": "test", "HOTLINE_DATA_DIR": "/tmp/hl-cfg", name: raw}
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(env, load_dotenv=False)


def test_retention_days_defaults_to_35():
    s = Settings.from_env(
        {"HOTLINE_MODE": "test", "HOTLINE_DATA_DIR": "/tmp/hl-cfg"}, load_dotenv=False
    )
    assert s.retention_days == 35


# Reads that do not grow with what Redis keeps ------------------------------------------
def test_events_since_reads_from_the_position_of_its_timestamp(svc, clock, rclient):
    for i in range(3000):
        svc.events.append("agent_state", agent_id="ana", to="available", n=i)
        clock.advance(1.0)
    since = clock.now() - 600  # the last ten minutes
    everything = svc.events.read()
    start = svc.events.position(since)
    read_from_there = rclient.xrange(svc.keys.events, min=start)
    # from a little before (the slack for writers' clocks, and the rest of the millisecond
    # of Redis time the search stops in), not from the start of the log
    assert 600 < len(read_from_there) <= 600 + events.SINCE_SLACK_S + 50
    assert svc.events.read(since) == [e for e in everything if e.ts >= since]
    assert svc.events.position(0) == "-"
    assert svc.events.read(clock.now() + 10) == []


def test_calls_list_reads_only_the_calls_it_shows(svc, rclient):
    p = rclient.pipeline()
    for i in range(1000):
        p.hset(svc.keys.call(f"CA{i:04d}"), mapping={"sid": f"CA{i:04d}", "state": "completed"})
        p.zadd(svc.keys.calls, {f"CA{i:04d}": 1000.0 + i})
    p.hset(svc.keys.call("CA0003"), "state", "waiting")
    p.execute()
    rclient.config_resetstat()
    got = svc.calls.list(limit=20)
    assert [c.sid for c in got] == [f"CA{i:04d}" for i in range(980, 1000)]  # oldest first
    assert rclient.info("commandstats")["cmdstat_hgetall"]["calls"] == 20
    # a state filter pages back until it has enough (or the index ends)
    assert [c.sid for c in svc.calls.list("waiting", limit=5)] == ["CA0003"]
    assert len(svc.calls.list()) == 1000
