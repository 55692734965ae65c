"""The archive database: where finished calls and old events live once they leave Redis.

SQLite (`archive.sqlite3` in the data dir: nothing to install) unless HOTLINE_ARCHIVE_URL
names a PostgreSQL database; the same SQLAlchemy Core statements run on both. Knows
nothing of Redis: the mover (mover.py) copies into it, the reports read from it. Writes
are idempotent -- a call row is an upsert on its sid, an event an insert that does
nothing when its stream id is already there -- so a copy repeated after a crash changes
nothing. Reads stream their rows (a year of events never sits in memory at once).
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import and_, create_engine, event, func, inspect, or_, select, text, tuple_
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.schema import CreateColumn
from sqlalchemy.sql import false

from . import schema

if TYPE_CHECKING:
    from ..config import Settings

SQLITE_NAME = "archive.sqlite3"
CHUNK = 500  # rows per statement: under SQLite's bound-parameter limit with room to spare


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir) / SQLITE_NAME}"


def _prepare_sqlite_file(path: Path) -> None:
    """The data dir 0700 and the file 0600 before SQLite opens it: it holds caller numbers."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL: the reports read while a run writes; NORMAL is durable at each checkpoint and
    # safe against a crash of the process (which is what the mover must survive).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Archive:
    """`Archive(url)` or `Archive.from_settings(settings)`; `schema` puts every table in
    that PostgreSQL schema (tests use one per run)."""

    def __init__(self, url: str, *, schema_name: str | None = None):
        u = make_url(url)
        self.backend = u.get_backend_name()
        opts = {}
        if self.backend == "sqlite":
            if u.database and u.database != ":memory:":
                _prepare_sqlite_file(Path(u.database))
        elif self.backend == "postgresql":
            opts["pool_pre_ping"] = True
        else:
            raise ValueError(f"archive: {self.backend} databases are not supported")
        engine = create_engine(url, **opts)
        if self.backend == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        if schema_name:
            engine = engine.execution_options(schema_translate_map={None: schema_name})
        self.engine: Engine = engine
        self.url = u.render_as_string(hide_password=True)
        self._schema = schema_name
        schema.metadata.create_all(self.engine)
        self._upgrade()

    def _upgrade(self) -> None:
        """Bring an archive made by an earlier version up to date, in place: the columns and
        indexes it lacks (schema.ADDED_COLUMNS, ADDED_INDEXES). ADD COLUMN with a constant
        default rewrites nothing on SQLite nor on PostgreSQL >= 11; old rows read as null
        records and unfolded events, which reports fold from the events as before."""
        with self.engine.begin() as c:
            insp = inspect(c)
            for table, column in schema.ADDED_COLUMNS:
                have = {col["name"] for col in insp.get_columns(table, schema=self._schema)}
                if column in have:
                    continue
                t = schema.metadata.tables[table]
                ddl = CreateColumn(t.c[column]).compile(dialect=c.dialect)
                name = c.dialect.identifier_preparer.quote(table)
                if self._schema:
                    name = c.dialect.identifier_preparer.quote_schema(self._schema) + "." + name
                c.execute(text(f"ALTER TABLE {name} ADD COLUMN {ddl}"))
            for table in schema.metadata.tables.values():
                for index in table.indexes:
                    if index.name in schema.ADDED_INDEXES:
                        index.create(c, checkfirst=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> Archive:
        return cls(settings.archive_url or sqlite_url(settings.data_dir))

    def close(self) -> None:
        self.engine.dispose()

    # Writes (the mover) -------------------------------------------------------
    def _insert(self, table):
        if self.backend == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def put_calls(self, rows: list[dict]) -> None:
        """Upsert call rows (a repeated copy takes the hash's latest values)."""
        if not rows:
            return
        stmt = self._insert(schema.calls)
        cols = {c.name: stmt.excluded[c.name] for c in schema.calls.columns if c.name != "sid"}
        stmt = stmt.on_conflict_do_update(index_elements=["sid"], set_=cols)
        with self.engine.begin() as c:
            for i in range(0, len(rows), CHUNK):
                c.execute(stmt, rows[i : i + CHUNK])

    def put_events(self, rows: list[dict]) -> None:
        """Insert event rows; one already archived (same stream id) is left as it is, but
        for `folded` (a copy repeated after its call got its record says so)."""
        if not rows:
            return
        stmt = self._insert(schema.events)
        stmt = stmt.on_conflict_do_update(
            index_elements=["stream_id"], set_={"folded": stmt.excluded.folded}
        )
        with self.engine.begin() as c:
            for i in range(0, len(rows), CHUNK):
                c.execute(stmt, rows[i : i + CHUNK])

    def calls_present(self, sids: Iterable[str]) -> set[str]:
        return self._sids(sids)

    def recorded(self, sids: Iterable[str]) -> set[str]:
        """Those of these calls that are archived with their record."""
        return self._sids(sids, schema.calls.c.record.is_not(None))

    def _sids(self, sids: Iterable[str], *where) -> set[str]:
        sids = list(sids)
        out: set[str] = set()
        with self.engine.connect() as c:
            for i in range(0, len(sids), CHUNK):
                q = select(schema.calls.c.sid).where(
                    schema.calls.c.sid.in_(sids[i : i + CHUNK]), *where
                )
                out.update(c.execute(q).scalars())
        return out

    def events_present(self, first_id: str, last_id: str) -> set[str]:
        """Stream ids archived in [first_id, last_id] (stream order): one indexed range."""
        e = schema.events.c
        order = tuple_(e.id_ms, e.id_seq)
        lo, hi = schema.split_id(first_id), schema.split_id(last_id)
        if self.backend == "sqlite":  # row values compare on SQLite >= 3.15, spelled out anyway
            cond = and_(
                or_(e.id_ms > lo[0], and_(e.id_ms == lo[0], e.id_seq >= lo[1])),
                or_(e.id_ms < hi[0], and_(e.id_ms == hi[0], e.id_seq <= hi[1])),
            )
        else:
            cond = and_(order >= tuple_(*lo), order <= tuple_(*hi))
        with self.engine.connect() as c:
            return set(c.execute(select(e.stream_id).where(cond)).scalars())

    def record_run(self, *, at: float, cutoff: float, calls: int, events: int, seconds: float):
        with self.engine.begin() as c:
            c.execute(
                schema.runs.insert().values(
                    at=at, cutoff=cutoff, calls=calls, events=events, seconds=seconds
                )
            )

    def set_meta(self, **values) -> None:
        stmt = self._insert(schema.meta)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"], set_={"value": stmt.excluded.value}
        )
        with self.engine.begin() as c:
            c.execute(
                stmt,
                [{"name": k, "value": None if v is None else str(v)} for k, v in values.items()],
            )

    def meta(self) -> dict[str, str | None]:
        with self.engine.connect() as c:
            return dict(c.execute(select(schema.meta.c.name, schema.meta.c.value)).all())

    # Reads (reports, the history reader) ------------------------------------------
    def events_between(
        self, start_ts: float, end_ts: float, *, types: Iterable[str] | None = None
    ) -> Iterator[dict]:
        """Archived events with start_ts <= ts < end_ts, in stream order, each shaped like
        hotline.reports.normalize's output (id, float ts, type, call_sid, agent_id, fields);
        `types`: only those (the (type, ts) index)."""
        e = schema.events.c
        q = self._events().where(e.ts >= start_ts, e.ts < end_ts)
        if types is not None:
            q = q.where(e.type.in_(sorted(types)))
        yield from self._stream(q)

    def events_to_fold(self, start_ts: float, end_ts: float) -> Iterator[dict]:
        """The period's events a call fold still needs: those of calls archived without a
        record (`folded` false), and, when there are such calls, the agents' events about
        no call that can end their wrap-ups. Usually nothing: one indexed probe."""
        e = schema.events.c
        period = (e.ts >= start_ts, e.ts < end_ts)
        with self.engine.connect() as c:
            some = c.execute(
                select(e.stream_id)
                .where(e.folded == false(), e.call_sid.is_not(None), *period)
                .limit(1)
            ).first()
        unfolded = self._stream(self._events().where(e.folded == false(), *period))
        if some is None:
            yield from unfolded
            return
        agents = self._stream(
            self._events().where(
                e.call_sid.is_(None), e.type.in_(("agent_state", "wrapup_ended")), *period
            )
        )
        last = None  # both in stream order; an unfolded event about no call is in both
        for ev in _merge_ordered(unfolded, list(agents)):
            if ev["id"] != last:
                last = ev["id"]
                yield ev

    def _events(self):
        e = schema.events.c
        return select(e.stream_id, e.ts, e.type, e.call_sid, e.agent, e.fields).order_by(
            e.id_ms, e.id_seq
        )

    def _stream(self, q) -> Iterator[dict]:
        with self.engine.connect() as c:
            for row in c.execution_options(yield_per=2000).execute(q):
                yield schema.event_dict(row)

    def records_between(self, start_ts: float, end_ts: float) -> Iterator[dict]:
        """The records (hotline.history's call dicts) of the archived calls created in
        [start_ts, end_ts), by creation time; rows without one are left out."""
        t = schema.calls.c
        q = (
            select(t.record)
            .where(t.created_at >= start_ts, t.created_at < end_ts, t.record.is_not(None))
            .order_by(t.created_at, t.sid)
        )
        with self.engine.connect() as c:
            yield from c.execution_options(yield_per=2000).execute(q).scalars()

    def contacts(
        self, numbers: Iterable[str], start_ts: float, end_ts: float
    ) -> list[tuple[str, str, float]]:
        """(sid, number, created_at) of the archived calls from these numbers created in
        [start_ts, end_ts): the (from_number, created_at) index, one range per number."""
        t = schema.calls.c
        numbers = sorted(set(numbers))
        out = []
        with self.engine.connect() as c:
            for i in range(0, len(numbers), CHUNK):
                q = select(t.sid, t.from_number, t.created_at).where(
                    t.from_number.in_(numbers[i : i + CHUNK]),
                    t.created_at >= start_ts,
                    t.created_at < end_ts,
                )
                out += [tuple(r) for r in c.execute(q)]
        return sorted(out, key=lambda r: (r[2], r[0]))

    def calls_between(self, start_ts: float, end_ts: float) -> Iterator[dict]:
        """Archived calls created in [start_ts, end_ts), by creation time: each its row as a
        dict (schema.calls' columns; `call_hash` is the whole Redis hash)."""
        t = schema.calls
        q = (
            select(t)
            .where(t.c.created_at >= start_ts, t.c.created_at < end_ts)
            .order_by(t.c.created_at, t.c.sid)
        )
        with self.engine.connect() as c:
            for row in c.execution_options(yield_per=1000).execute(q):
                yield dict(row._mapping)

    def calls_from_number(self, number: str, since_ts: float) -> list[dict]:
        """A caller's archived calls created at or after since_ts, oldest first."""
        t = schema.calls
        q = (
            select(t)
            .where(t.c.from_number == number, t.c.created_at >= since_ts)
            .order_by(t.c.created_at)
        )
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(q)]

    def oldest_live_ts(self) -> float | None:
        """The `ts` of the first event the last run left in Redis: events before it are
        here, events from it on are still in the stream; when the run emptied the stream,
        the run's time. None before any run."""
        v = self.meta().get("redis_first_ts")
        return float(v) if v else None

    def stats(self) -> dict:
        """Counts and ranges, for `hotline archive --json`."""
        c_, e_, r_ = schema.calls.c, schema.events.c, schema.runs.c
        with self.engine.connect() as c:
            calls, first_call, last_call = c.execute(
                select(func.count(), func.min(c_.created_at), func.max(c_.created_at))
            ).one()
            events, first_ev, last_ev = c.execute(
                select(func.count(), func.min(e_.ts), func.max(e_.ts))
            ).one()
            last = c.execute(select(schema.runs).order_by(r_.id.desc()).limit(1)).first()
            runs = c.execute(select(func.count()).select_from(schema.runs)).scalar_one()
        meta = self.meta()
        return {
            "url": self.url,
            "calls": calls,
            "events": events,
            "oldest_call_at": first_call,
            "newest_call_at": last_call,
            "oldest_event_ts": first_ev,
            "newest_event_ts": last_ev,
            "oldest_live_ts": float(meta["redis_first_ts"]) if meta.get("redis_first_ts") else None,
            "redis_first_id": meta.get("redis_first_id"),
            "runs": runs,
            "last_run": dict(last._mapping) if last else None,
        }


def _merge_ordered(a: Iterable[dict], b: Iterable[dict]) -> Iterator[dict]:
    return heapq.merge(a, b, key=lambda ev: schema.split_id(ev["id"]))
