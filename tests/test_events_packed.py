"""The event log's packed part: entries older than two days leave the stream for compressed
segments (events:packed), in one step each, and every reader still sees one log -- the same
entries, ids and fields, in stream order -- at a fraction of the memory."""

from __future__ import annotations

import pytest
import redis

from hotline import events, history
from hotline.archive import mover, synthetic

DAY = 86400.0


def days(svc, first: float, n: int, per_day: int, seed: int = 7) -> list[str]:
    sids = []
    for d in range(n):
        sids += synthetic.write_day(svc.redis, svc.keys, first + d * DAY, per_day, seed=seed + d)
    return sids


def stream(svc) -> list[tuple[str, dict]]:
    return svc.redis.xrange(svc.keys.events)


def test_entries_older_than_two_days_are_packed_and_read_back_as_they_were(svc, clock):
    now = clock.now()
    days(svc, now - 6 * DAY, 6, 40)
    written = stream(svc)
    before = svc.events.read()
    stream_bytes = svc.redis.memory_usage(svc.keys.events, samples=0)

    out = mover.run(svc)

    bound = now - events.PACK_AFTER_S
    old = [(i, f) for i, f in written if float(f["ts"]) < bound]
    assert out["packed"] == len(old) > 0 and out["calls"] == out["events"] == 0
    # the stream keeps the last two days only; the log as a whole is unchanged
    assert stream(svc) == written[len(old) :]
    assert list(svc.events.entries()) == written
    assert svc.events.read() == before and len(svc.events) == len(written)
    segs = events.segments(svc.redis, svc.keys)
    assert sum(s.count for s in segs) == len(old)
    assert all(s.count <= events.PACK_SEGMENT for s in segs)
    assert segs[0].first_id == old[0][0] and segs[-1].last_id == old[-1][0]
    # what it is for: the packed part takes a fraction of what the stream took
    packed = svc.redis.memory_usage(svc.keys.events_packed, samples=0)
    left = svc.redis.memory_usage(svc.keys.events, samples=0)
    assert packed < (stream_bytes - left) / 4, (packed, stream_bytes, left)
    # a second run has nothing more to pack
    assert mover.run(svc)["packed"] == 0


def test_every_reader_sees_one_log_across_both_parts(svc, clock):
    now = clock.now()
    days(svc, now - 5 * DAY, 5, 30)
    before_all = svc.events.read()
    since = now - 3 * DAY - 7200  # within the packed part
    before_since = svc.events.read(since)
    span = (now - 4 * DAY, now - 0.5 * DAY)  # across both parts
    before_period = list(history.iter_events(svc, *span))
    before_typed = list(history.iter_events(svc, *span, types={"call_created", "agent_state"}))
    before_calls = list(history.iter_calls(svc, now - 4 * DAY, now - 3 * DAY))

    mover.run(svc)
    assert events.segments(svc.redis, svc.keys)

    assert svc.events.read() == before_all
    assert svc.events.read(since) == before_since
    assert svc.events.read(since, types={"enqueued"}) == [
        e for e in before_since if e.type == "enqueued"
    ]
    sid = before_all[0].call_sid
    assert svc.events.read(call_sid=sid) == [e for e in before_all if e.call_sid == sid]
    assert list(history.iter_events(svc, *span)) == before_period
    assert list(history.iter_events(svc, *span, types={"call_created", "agent_state"})) == (
        before_typed
    )
    assert {e["type"] for e in before_typed} == {"call_created", "agent_state"}
    assert list(history.iter_calls(svc, now - 4 * DAY, now - 3 * DAY)) == before_calls


def test_a_client_without_decode_responses_reads_the_packed_part(svc, clock, redis_url):
    now = clock.now()
    days(svc, now - 4 * DAY, 2, 10)
    mover.run(svc)
    raw = redis.Redis.from_url(redis_url)  # bytes
    try:
        segs = events.segments(raw, svc.keys)
        got = list(events.segment_entries(raw, svc.keys, segs))
    finally:
        raw.close()
    assert got == list(events.segment_entries(svc.redis, svc.keys, segs)) and got


def test_a_live_call_stops_packing_at_its_first_event(svc, clock):
    now = clock.now()
    days(svc, now - 6 * DAY, 1, 10)
    live = synthetic.live_call(svc.redis, svc.keys, now - 5 * DAY)
    days(svc, now - 4 * DAY, 1, 10, seed=20)
    first_live = next(i for i, f in stream(svc) if f.get("call_sid") == live)

    out = mover.run(svc)

    assert out["packed"] > 0
    assert stream(svc)[0][0] == first_live  # it, and everything after it, stay as they are
    svc.redis.hset(svc.keys.call(live), "state", "abandoned")
    assert mover.run(svc)["packed"] > 0
    assert all(float(f["ts"]) >= now - events.PACK_AFTER_S for _, f in stream(svc))


def test_packing_applies_only_to_the_head_it_read(svc, clock):
    """Two packers at once (or a trim between the read and the write): the second changes
    nothing, so no entry is ever in two places."""
    clock.set(clock.now())
    for i in range(10):
        svc.events.append("agent_state", agent_id="ana", ts=clock.now() - 5 * DAY + i, n=i)
    head = stream(svc)
    assert events.pack(svc.scripts, svc.keys, head[:4])
    assert not events.pack(svc.scripts, svc.keys, head[:4])  # already packed
    assert not events.pack(svc.scripts, svc.keys, head[5:7])  # not the head
    assert list(svc.events.entries()) == head
    (seg,) = events.segments(svc.redis, svc.keys)
    assert events.replace_segment(svc.scripts, svc.keys, seg, head[2:4])
    assert not events.replace_segment(svc.scripts, svc.keys, seg, head[2:4])  # gone already
    assert list(svc.events.entries()) == head[2:]


def test_segments_move_to_the_archive_in_part_and_nothing_is_lost_or_doubled(svc, clock):
    now = clock.now()
    sids = days(svc, now - 12 * DAY, 12, 30)
    written = stream(svc)
    mover.run(svc)  # nothing is 35 days old: it packs the first ten days
    assert len(events.segments(svc.redis, svc.keys)) > 1

    cutoff = now - 7.3 * DAY  # within a segment
    out = mover.run(svc, older_than_days=7.3)

    kept = list(svc.events.entries())
    archived = list(svc.archive.events_between(0, now + DAY))
    assert [e["id"] for e in archived] + [i for i, _ in kept] == [i for i, _ in written]
    assert all(e["ts"] < cutoff for e in archived) and out["events"] == len(archived)
    assert all(float(f["ts"]) >= cutoff for _, f in kept)
    assert kept[0][0] == events.segments(svc.redis, svc.keys)[0].first_id  # the rest, packed
    # the calls moved with their records; the newer ones stay
    moved = {c["sid"] for c in svc.archive.calls_between(0, now)}
    assert moved and moved < set(sids)
    assert set(svc.redis.zrange(svc.keys.calls, 0, -1)) == set(sids) - moved


def test_a_segment_name_says_what_it_holds():
    entries = [("5-0", {"ts": "12.5", "type": "x"}), ("5-1", {"ts": "11.0"}), ("9-3", {"ts": "13"})]
    name, blob = events.encode_segment(entries)
    seg = events.Segment.parse(name)
    assert (seg.first_id, seg.last_id, seg.min_ts, seg.max_ts, seg.count) == (
        "5-0",
        "9-3",
        11.0,
        13.0,
        3,
    )
    assert events.decode_segment(blob) == entries
    assert events.Segment.parse("2 5-0 9-3 1 2 3") is None  # another format: not ours to read
    with pytest.raises(ValueError):
        events.encode_segment([])
