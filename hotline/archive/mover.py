"""One archive run: finished calls older than the retention, and the events before the
first one still needed, move from Redis to the archive database.

Every batch is copy, verify, delete, in that order, so that a process killed at any
line loses nothing and the next run finishes the job without duplicating anything:

1. calls: the `calls` index up to the cutoff, oldest first; each finished call's row is
   upserted, its sid read back from SQL, and only then `archive_calls.lua` deletes the
   hash and the index entry -- re-checking in the same step that the call is finished
   (a live call never moves, however old) -- and gives its caller key an expiry;
   The row carries the call's record (hotline.history.records_of: the call folded from
   its events, which are still in Redis), so reports read one row per archived call;
2. events: the log from its start -- its packed segments, then the stream -- up to the
   first entry that must stay: one newer than the cutoff, or about a call that is still
   live (its hash exists, not finished). Everything before that entry is inserted
   (nothing happens for a stream id already there), the ids are read back from SQL, and
   only then leaves Redis: a segment wholly moved is dropped, one moved in part is
   replaced by its rest (events_pack.lua), the stream is trimmed by id (`XTRIM MINID`) to
   exactly the entry after the last one verified. Events not about a call (agent_state,
   shift_started...) older than the cutoff move with the rest;
3. packing: the stream's entries older than events.PACK_AFTER_S (two days), up to the
   first about a live call, move into compressed segments (events.pack, one step per
   segment of events.PACK_SEGMENT entries): what keeps 35 days of history in Redis small.

Two runs at once would also be safe (each deletes only what it verified); `archive:lock`
only keeps them from doing the work twice. A live call older than the cutoff keeps its
events, and every later one, in Redis: the run says so (`pinned_by`).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING

from .. import events as eventlog
from .. import history
from ..errors import ArchiveBusy, ArchiveError
from ..queue.calls import ANONYMOUS, CALLER_TTL_S
from ..states import FINAL_STATES
from . import schema

if TYPE_CHECKING:
    from ..services import Services


log = logging.getLogger(__name__)

DAY_S = 86400.0
LOCK_TTL_MS = 60_000  # renewed every batch: a killed run blocks the next for a minute at most
CALLS_BATCH = 500
EVENTS_BATCH = 2000
_FINAL = ",".join(sorted(FINAL_STATES))


def run(
    svc: Services,
    *,
    older_than_days: float | None = None,
    calls_batch: int = CALLS_BATCH,
    events_batch: int = EVENTS_BATCH,
    max_seconds: float | None = None,
    pack: bool = True,
) -> dict:
    """Archive what is older than `older_than_days` (default HOTLINE_RETENTION_DAYS).

    `max_seconds` stops between batches once spent (the daily job continues later);
    the result's `more` says whether anything movable was left. `pack=False` leaves the
    stream as it is (a benchmark's comparison). ArchiveError if another run holds the lock."""
    days = svc.settings.retention_days if older_than_days is None else older_than_days
    if not days > 0:
        raise ValueError(f"--older-than: {days!r} days: give a number of days above 0")
    now = svc.clock.now()
    cutoff = now - days * DAY_S
    token = uuid.uuid4().hex
    lock = svc.keys.archive_lock
    if not svc.redis.set(lock, token, nx=True, px=LOCK_TTL_MS):
        raise ArchiveBusy("another archive run is in progress (archive:lock is held)")
    started = time.monotonic()
    deadline = None if max_seconds is None else started + max_seconds
    archive = svc.archive
    out = {
        "cutoff": cutoff,
        "calls": 0,
        "calls_gone": 0,
        "calls_live": 0,
        "events": 0,
        "packed": 0,
    }
    try:
        more_calls = _move_calls(svc, archive, cutoff, calls_batch, deadline, lock, token, out)
        more_events = more_packing = False
        if not more_calls:
            more_events = _move_events(
                svc, archive, cutoff, events_batch, deadline, lock, token, out
            )
        if pack and not (more_calls or more_events):
            more_packing = _pack_events(
                svc, now - eventlog.PACK_AFTER_S, deadline, lock, token, out
            )
        out["more"] = more_calls or more_events or more_packing
        out["seconds"] = round(time.monotonic() - started, 3)
        if out["calls"] or out["events"]:
            archive.record_run(
                at=now,
                cutoff=cutoff,
                calls=out["calls"],
                events=out["events"],
                seconds=out["seconds"],
            )
        return out
    finally:
        svc.scripts.lock_release(keys=[lock], args=[token])


def _renew(svc: Services, lock: str, token: str) -> None:
    if not svc.scripts.lock_extend(keys=[lock], args=[token, LOCK_TTL_MS]):
        # Safe to go on (every delete is of verified copies), but someone else now runs too.
        log.warning("archive: the lock expired during the run; another run may be working")


def _move_calls(svc, archive, cutoff, batch, deadline, lock, token, out) -> bool:
    """Step 1; True when stopped by the deadline with calls left to look at."""
    r, k = svc.redis, svc.keys
    skipped = 0  # live calls older than the cutoff stay in the index: page past them
    while True:
        sids = r.zrangebyscore(k.calls, "-inf", f"({cutoff!r}", start=skipped, num=batch)
        if not sids:
            return False
        p = r.pipeline(transaction=False)
        for sid in sids:
            p.hgetall(k.call(sid))
        hashes = p.execute()
        finished = [
            {**h, "sid": sid} for sid, h in zip(sids, hashes) if h.get("state") in FINAL_STATES
        ]
        records = history.records_of(svc, {h["sid"]: schema.created_at(h) for h in finished})
        archive.put_calls([schema.call_row(h, records.get(h["sid"])) for h in finished])
        missing = {h["sid"] for h in finished} - archive.calls_present(h["sid"] for h in finished)
        if missing:
            raise ArchiveError(
                f"{len(missing)} call(s) not in the archive after the copy (e.g. "
                f"{sorted(missing)[0]}); nothing deleted from Redis"
            )
        log.info("archive: %d calls copied and verified", len(finished))
        keys = [k.calls]
        for sid, h in zip(sids, hashes):
            number = (h.get("from_number") or "").strip() if h else ""
            number = number if number.lower() not in ANONYMOUS else "anonymous"
            keys += [k.call(sid), k.caller(number), k.caller_calls(number)]
        deleted, gone, live = svc.scripts.archive_calls(
            keys=keys, args=[repr(svc.clock.now()), CALLER_TTL_S, _FINAL, *sids]
        )
        log.info("archive: %d calls deleted from Redis", deleted)
        out["calls"] += deleted
        out["calls_gone"] += gone
        out["calls_live"] += live
        skipped += live
        _renew(svc, lock, token)
        if len(sids) < batch:
            return False
        if deadline is not None and time.monotonic() >= deadline:
            return True


def _live(svc: Services, entries) -> set[str]:
    """The calls these entries are about that are live now (hash there, not finished)."""
    r, k = svc.redis, svc.keys
    sids = list({f["call_sid"] for _, f in entries if f.get("call_sid")})
    p = r.pipeline(transaction=False)
    for sid in sids:
        p.hget(k.call(sid), "state")
    return {sid for sid, st in zip(sids, p.execute()) if st is not None and st not in FINAL_STATES}


def _movable(svc: Services, entries, bound: float):
    """The longest prefix of `entries` older than `bound` and about no live call, and the
    entry that ends it (None: all of them)."""
    live = _live(svc, entries)
    for n, (_, f) in enumerate(entries):
        if float(f.get("ts") or 0) >= bound or f.get("call_sid") in live:
            return entries[:n], entries[n]
    return entries, None


def _copy_events(svc, archive, entries) -> None:
    """Insert and verify; each row says whether its call has a record (`folded`)."""
    sids = {f["call_sid"] for _, f in entries if f.get("call_sid")}
    recorded = archive.recorded(sids)
    rows = [
        schema.event_row(eid, f, folded=not f.get("call_sid") or f["call_sid"] in recorded)
        for eid, f in entries
    ]
    archive.put_events(rows)
    missing = {m["stream_id"] for m in rows} - archive.events_present(
        rows[0]["stream_id"], rows[-1]["stream_id"]
    )
    if missing:
        raise ArchiveError(
            f"{len(missing)} event(s) not in the archive after the copy (e.g. "
            f"{sorted(missing)[0]}); nothing deleted from Redis"
        )
    log.info("archive: %d events copied and verified", len(rows))


def _move_events(svc, archive, cutoff, batch, deadline, lock, token, out) -> bool:
    """Step 2; True when stopped by the deadline with movable events left."""
    r, k = svc.redis, svc.keys
    # The packed part first: its entries come before the stream's.
    for seg in eventlog.segments(r, k):
        entries = list(eventlog.segment_entries(r, k, [seg]))
        if not entries:
            continue  # gone meanwhile
        movable, pin = _movable(svc, entries, cutoff)
        if movable:
            _copy_events(svc, archive, movable)
            eventlog.replace_segment(svc.scripts, k, seg, entries[len(movable) :])
            log.info("archive: segment %s moved (%d of its events)", seg.first_id, len(movable))
            out["events"] += len(movable)
            _renew(svc, lock, token)
        if pin is not None:
            _pinned(archive, pin, cutoff, out)
            return False
        if deadline is not None and time.monotonic() >= deadline:
            return True
    while True:
        entries = r.xrange(k.events, "-", "+", count=batch)
        if not entries:
            _stream_starts(archive, None, svc.clock.now())
            return False
        movable, pin = _movable(svc, entries, cutoff)
        if movable:
            _copy_events(svc, archive, movable)
            # Exactly the verified prefix: entries appended meanwhile have larger ids.
            after = pin[0] if pin else eventlog.next_id(movable[-1][0])
            r.xtrim(k.events, minid=after, approximate=False)
            log.info("archive: stream trimmed before %s", after)
            out["events"] += len(movable)
            _renew(svc, lock, token)
        if pin is not None:
            _pinned(archive, pin, cutoff, out)
            return False
        if deadline is not None and time.monotonic() >= deadline:
            return True


def _pinned(archive, pin, cutoff, out) -> None:
    f = pin[1]
    if float(f.get("ts") or 0) < cutoff:
        out["pinned_by"] = f.get("call_sid")
    _stream_starts(archive, pin, None)


def _pack_events(svc, bound, deadline, lock, token, out) -> bool:
    """Step 3; True when stopped by the deadline with entries left to pack."""
    r, k = svc.redis, svc.keys
    while True:
        entries = r.xrange(k.events, "-", "+", count=eventlog.PACK_SEGMENT)
        movable, pin = _movable(svc, entries, bound) if entries else ([], None)
        if movable:
            if not eventlog.pack(svc.scripts, k, movable):
                log.warning("archive: the stream's head changed while packing; left for later")
                return False
            log.info("archive: %d events packed from %s", len(movable), movable[0][0])
            out["packed"] += len(movable)
            _renew(svc, lock, token)
        if pin is not None or len(entries) < eventlog.PACK_SEGMENT:
            return False
        if deadline is not None and time.monotonic() >= deadline:
            return True


def _stream_starts(archive, entry, now: float | None) -> None:
    """Where Redis's part of the history begins now (Archive.oldest_live_ts): its first
    entry; with the stream emptied, now (whatever is appended next is newer)."""
    if entry is None:
        archive.set_meta(redis_first_id=None, redis_first_ts=repr(now))
    else:
        archive.set_meta(redis_first_id=entry[0], redis_first_ts=entry[1].get("ts"))
