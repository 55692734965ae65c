"""The archive's tables (SQLAlchemy Core, one definition for SQLite and PostgreSQL), and how
a call hash and a stream entry become rows.

* `calls`: one row per call, keyed by its sid: the fields reports need as columns, the
  whole `call:{sid}` hash as JSON (`call_hash`), so nothing the hash held is lost, and
  `record`: the call as hotline/history.py folds it from its events (what reports read;
  null for rows archived before records existed, whose events are folded instead).
* `events`: one row per stream entry, keyed by its stream id (unique: a copy repeated after
  a crash adds nothing); `id_ms`/`id_seq` order rows as the stream did (the id as text
  does not sort), `ts` and `call_sid` are indexed for time ranges and one call's history,
  (`type`, `ts`) for one kind of event over a period; `folded` is true when the call the
  event is about has its `record` (or it is about no call): a report never reads it to
  fold a call, and (`folded`, `ts`) finds the few that are not.
* `archive_runs`: one row per run that moved something (when, cutoff, counts): the audit
  trail the event log would otherwise have needed an event type for.
* `archive_meta`: name -> value; `redis_first_id`/`redis_first_ts` say where the stream
  left in Redis begins after the last trim (`Archive.oldest_live_ts`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import false

from ..states import CALLBACK

metadata = MetaData()
# JSONB on PostgreSQL (smaller, indexable); JSON (text) on SQLite.
_JSON = JSON().with_variant(JSONB(), "postgresql")

calls = Table(
    "calls",
    metadata,
    Column("sid", String(64), primary_key=True),
    Column("from_number", String(64)),
    Column("language", String(16)),
    Column("category", String(32)),
    Column("skill", String(32)),
    Column("state", String(32)),
    Column("created_at", Float, nullable=False),
    Column("enqueued_at", Float),
    Column("answered_at", Float),
    Column("ended_at", Float),
    Column("wait_s", Float),
    Column("talk_s", Float),
    Column("wrapup_s", Float),
    Column("agent", String(64)),
    Column("repeat", Boolean, nullable=False, default=False),
    Column("selfhelp_resolved", Boolean, nullable=False, default=False),
    Column("callback_requested", Boolean, nullable=False, default=False),
    Column("callback_completed", Boolean, nullable=False, default=False),
    Column("disposition", String(64)),
    Column("notes", Text),
    Column("call_hash", _JSON, nullable=False),
    Column("record", _JSON, nullable=True),
    Index("ix_calls_created_at", "created_at"),
    Index("ix_calls_from_number", "from_number", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column("stream_id", String(48), primary_key=True),
    Column("id_ms", BigInteger, nullable=False),
    Column("id_seq", BigInteger, nullable=False),
    Column("ts", Float, nullable=False),
    Column("type", String(48), nullable=False),
    Column("call_sid", String(64)),
    Column("agent", String(64)),
    Column("fields", _JSON, nullable=False),
    Column("folded", Boolean, nullable=False, server_default=false()),
    Index("ix_events_order", "id_ms", "id_seq"),
    Index("ix_events_ts", "ts"),
    Index("ix_events_call_sid", "call_sid"),
    Index("ix_events_type_ts", "type", "ts"),
    Index("ix_events_folded_ts", "folded", "ts"),
)

# What an archive made by an earlier version lacks: added when it is opened (store.py).
ADDED_COLUMNS = (("calls", "record"), ("events", "folded"))
ADDED_INDEXES = ("ix_events_type_ts", "ix_events_folded_ts")

runs = Table(
    "archive_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("cutoff", Float, nullable=False),
    Column("calls", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
)

meta = Table(
    "archive_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text),
)


def _f(v) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def created_at(h: dict) -> float:
    """A call hash's creation time (0 when it has none)."""
    return _f(h.get("created_at")) or 0.0


def call_row(h: dict, record: dict | None = None) -> dict:
    """The `calls` row of one `call:{sid}` hash (as Redis returns it: every value a string)
    and its record (hotline.history.records_of), if its events were found. The record's
    disposition and notes are the hash's: the last ones recorded, however late (the fold
    stops reading soon after the call is over)."""
    state = h.get("state") or ""
    if record is not None:
        record = dict(record)
        if h.get("disposition"):
            record["disposition"] = h["disposition"]
            record["notes"] = h.get("notes", record.get("notes"))
            record["agent"] = record.get("agent") or h.get("disposition_agent") or None
    return {
        "sid": h["sid"],
        "from_number": h.get("from_number") or None,
        "language": h.get("lang") or None,
        "category": h.get("category") or None,
        "skill": h.get("skill") or None,
        "state": state or None,
        "created_at": created_at(h),
        "enqueued_at": _f(h.get("enqueued_at")),
        # when the caller reached the agent; answered_at is the agent leg picking up
        "answered_at": _f(h.get("bridged_at")) or _f(h.get("answered_at")),
        "ended_at": _f(h.get("ended_at")) or _f(h.get("completed_at")),
        "wait_s": _f(h.get("wait_s")),
        "talk_s": _f(h.get("talk_s")),
        "wrapup_s": _f(h.get("wrapup_s")),
        "agent": h.get("agent") or None,
        "repeat": h.get("repeat") == "1",
        "selfhelp_resolved": state == "resolved",
        # callback_request.lua stamps callback_at; the state moves on afterwards
        "callback_requested": bool(h.get("callback_at")) or state == CALLBACK,
        "callback_completed": h.get("leg_kind") == "callback" and state == "completed",
        "disposition": h.get("disposition") or None,
        "notes": h.get("notes") or None,
        "call_hash": dict(h),
        "record": record,
    }


def split_id(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def event_row(stream_id: str, raw: dict, folded: bool = False) -> dict:
    """The `events` row of one stream entry (field -> string, as Redis returns it);
    `folded`: its call has a record in `calls` (or it is about no call)."""
    fields = dict(raw)
    ts = _f(fields.pop("ts", None)) or 0.0
    ms, seq = split_id(stream_id)
    return {
        "stream_id": stream_id,
        "id_ms": ms,
        "id_seq": seq,
        "ts": ts,
        "type": fields.pop("type", "?"),
        "call_sid": fields.pop("call_sid", None) or None,
        "agent": fields.pop("agent_id", None) or None,
        "fields": fields,
        "folded": folded,
    }


def event_dict(row) -> dict:
    """An `events` row as hotline.reports.normalize gives events: id, float ts, type,
    call_sid / agent_id when present, then the event's own fields (strings)."""
    d = {"id": row.stream_id, "ts": row.ts, "type": row.type}
    if row.call_sid:
        d["call_sid"] = row.call_sid
    if row.agent:
        d["agent_id"] = row.agent
    d.update(row.fields or {})
    return d
