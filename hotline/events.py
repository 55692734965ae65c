"""The event log: one Redis stream, append-only, every step of every call.

Each entry has `type`, `ts` (the injected clock's time, epoch seconds; never
the Redis server's), and `call_sid` / `agent_id` where the event concerns a call
or an agent, plus fields of its own. The stream ID only orders entries.
Lua scripts append to the same stream with the same field names (they receive
`now` as an argument). Reports and the tests' invariants read this log, the way
Asterisk's queue_log feeds its reports.

The event types, and what each means, are listed in TYPES below and in
docs/architecture.md.

Two parts, one log. Entries older than PACK_AFTER_S (two days: the wallboard reads today,
the live system nothing older) leave the stream's head for `events:packed`, a hash of
segments of up to PACK_SEGMENT consecutive entries each, JSON compressed with zlib
(`pack`, run by the nightly archive job): the same entries with the same ids and fields,
at ~20 bytes an entry instead of ~175 (a stream stores every entry's values, and its field
names unless they repeat its node's first entry's, which the log's 64 event types rarely
do; zlib finds a call's sid, a type's field names and the clock's digits again and again).
A segment's name says what it holds (first and last id, lowest and highest `ts`, count),
so a reader fetches only the segments of its period. Every entry is in exactly one of the
two parts (events_pack.lua), the packed part before the stream, so reading segments then
stream gives stream order. `EventLog.read`, `entries` and hotline/history.py read both;
writers only ever append to the stream, in the format they always had.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import redis

from .clock import Clock
from .store.keys import Keys

# type -> meaning. Kept here so `hotline events` and the docs can list them.
TYPES: dict[str, str] = {
    "call_created": "a call reached /webhooks/voice/incoming for the first time (from, to, repeat)",
    "language_chosen": "the caller pressed the language key (lang)",
    "menu_choice": "the caller answered the menu by key (digit) or speech (speech) without it deciding the "
    "category (retry, confirmation, language); an answer that classifies is on `classified`",
    "menu_retry": "no input, or input outside the menu; the menu is played again (reason, attempt)",
    "classified": "the call got its category and skill (category, skill, confidence, method; when a menu "
    "answer decided it, that answer too: digit or speech, speech_confidence, attempt)",
    "classification_confirmed": "a low-confidence speech classification was confirmed by key",
    "error_code_captured": "an error-message caller keyed in an error code (error_code)",
    "selfhelp_offered": "the self-help tip for the category was played",
    "selfhelp_resolved": "FINAL: the caller pressed 1 after the tip; resolved without an agent",
    "enqueued": "the call entered the waiting line of its skill (skill, priority, effective_at)",
    "position_announced": "the wait loop told the caller their position and estimated wait (position, estimate_s)",
    "abandoned": "FINAL: the caller hung up while waiting (skill, wait_s, via)",
    "call_failed": "FINAL: the call could not be served (reason)",
    "call_ended": "the carrier reported the call completed (status, duration)",
    "announcement_set": "a manager set the incident announcement (lang, text, by)",
    "announcement_cleared": "a manager cleared the incident announcement (by)",
    "confirmation_asked": "speech was classified with low confidence; the caller is asked to confirm "
    "by key (category, confidence)",
    "queue_result": "the carrier reported how the call left its Twilio queue, other than a hang-up (result, state)",
    "after_hours_offered": "nobody can take the call now: the IVR said when cover returns and "
    "offered voicemail (skill, next_cover_at)",
    "agent_state": "an agent changed state (from, to, reason, by)",
    "agent_synced": "an agent's skills, languages or contact were (re)loaded from the roster (skills, languages)",
    "agent_retired": "an agent left the roster; no longer offered calls (from)",
    "reserved": "the matcher offered a waiting call to an agent, atomically (skill, wait_s, via: call|agent)",
    "reservation_expired": "an offer nobody answered: call back at its place, agent away/missed (lines)",
    "reservation_released": "an offer withdrawn before answer: call back at its place, agent available (reason)",
    "reservation_missed": "the offered agent's leg said no answer or declined: call back at its "
    "place, agent away/missed (reason)",
    "reservation_accepted": "the agent took the offered call; agent busy, call bridged",
    "overflowed": "a waiting call reached an overflow step (step, lines, on_call, any_language)",
    "callback_offered": "a waiting call reached its callback step; the wait loop offers a callback",
    "callback_requested": "the caller left a callback request (voicemail); routed like a waiting "
    "call (skill, recording_url)",
    "callback_transcribed": "the transcription of a callback request's voicemail arrived (chars)",
    "call_requeued": "a call put back at its place: missing from one of its lines (line), or its agent left "
    "before the caller joined (reason agent_left)",
    "call_reconciled": "the carrier was asked about a call the store believed live and the lost signal was "
    "delivered (state_before, carrier_status, action)",
    "routing_swept": "the repair sweep repaired something (expired, requeued, agents_fixed, overflowed, "
    "matched); a sweep with nothing to repair logs nothing",
    "roster_imported": "a whole roster file replaced the stored roster (by, file, agents, shifts)",
    "roster_edited": "one change to the stored roster: add/remove shift, leave, swap (by, op, details)",
    "shift_started": "an agent entered the on-shift (or on-call) set at a shift boundary (shift, on_call)",
    "agent_offered": "an RQ job placed the outbound leg that rings the reserved agent (leg_sid, to, "
    "kind, ring_timeout)",
    "offer_failed": "the agent's leg could not be placed (permanent error or retries exhausted); "
    "reservation released (error)",
    "agent_answered": "the offered agent picked up and hears the whisper (leg_sid, ring_s)",
    "offer_accepted": "the agent pressed 1; the call is theirs, they enter the conference (leg_sid)",
    "offer_missed": "the offered agent did not take the call (reason: no-answer, busy, failed, "
    "canceled, declined, no_input, hung_up); call back at its place",
    "offer_caller_gone": "the caller hung up before the offered agent took the call; the agent is "
    "told and is free again (leg_sid, stage)",
    "caller_bridged": "the caller (or the called-back customer) entered the agent's conference (leg_sid)",
    "call_completed": "FINAL: answered by an agent and finished (agent_id, skill, wait_s, ring_s, talk_s, ended_by)",
    "wrapup_started": "the agent's wrap-up after a call began (wrapup_s, until)",
    "wrapup_ended": "the agent's wrap-up ended; agent available again (via: timer, sweep, ready -- the "
    "agent's own Ready, with by)",
    "call_disposition": "the agent recorded what came of a call they answered: disposition, notes, by "
    "(again: the values replaced)",
    "callback_dialing": "the agent accepted a callback; the customer's number is being called (attempt, leg_sid)",
    "callback_no_answer": "the called-back customer did not answer (status, attempt); retried later or failed",
    "callback_retry": "a callback request waits again in its lines, at its place, after spacing (attempt)",
    "callback_completed": "FINAL: a callback (voicemail or queue callback) reached the customer and "
    "finished (agent_id, talk_s)",
    "shift_ended": "an agent left the on-shift (or on-call) set at a shift boundary (on_call)",
    # accounts/ (the web console): `by` is who acted (the CLI's `cli`, the signed-in user's email,
    # the email tried for a sign-in); never a password or its hash
    "user_created": "a console user was created (email, role, by; agent_id for an agent account)",
    "user_disabled": "a console user was disabled; their sessions end (email, generation, by)",
    "password_reset": "a console user's password was replaced; their sessions end (email, generation, by)",
    "signin_failed": "a console sign-in was refused (email, addr, reason: unknown, wrong_password, disabled; by)",
    "signin_limited": "failed sign-ins reached the limit for an account or a client address "
    "(email, addr, retry_after_s, scope: account|address; by)",
    "signed_in": "a user signed in to the console (email, role, addr, by)",
    "signed_out": "a user signed out of the console (email, addr, by)",
    "tv_token_issued": "a manager issued a wallboard TV token (token_id, label, by)",
    "tv_token_revoked": "a wallboard TV token was revoked (token_id, label, by)",
    "calendar_token_issued": "an agent's calendar-feed token was issued, replacing any "
    "earlier one (agent_id, token_id, replaced, by)",
    "calendar_token_revoked": "an agent's calendar-feed token was revoked (agent_id, token_id, by)",
    # drills run from the console (hotline/drill/runs.py); a drill's own calls stay in its sandbox
    "drill_started": "a manager started a drill on /console/drills (run_id, scenario, source, hours, "
    "replications, by)",
    "drill_ended": "a console drill finished or failed (run_id, state: done|failed, reason)",
}


@dataclass(frozen=True)
class Event:
    id: str
    ts: float
    type: str
    call_sid: str | None = None
    agent_id: str | None = None
    fields: dict = field(default_factory=dict)

    def to_json(self, tz: ZoneInfo | None = None) -> dict:
        when = datetime.fromtimestamp(self.ts, tz=tz or UTC)
        d = {"id": self.id, "ts": when.isoformat(timespec="milliseconds"), "type": self.type}
        if self.call_sid:
            d["call_sid"] = self.call_sid
        if self.agent_id:
            d["agent_id"] = self.agent_id
        d.update(self.fields)
        return d


def _encode(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


class EventLog:
    def __init__(self, client: redis.Redis, keys: Keys, clock: Clock):
        self.client = client
        self.keys = keys
        self.clock = clock

    def append(
        self,
        type: str,
        *,
        call_sid: str | None = None,
        agent_id: str | None = None,
        pipeline=None,
        ts: float | None = None,
        **fields,
    ) -> str | None:
        """Append one event; with `pipeline`, only queue it there (caller executes)."""
        entry = {"type": type, "ts": repr(self.clock.now() if ts is None else ts)}
        if call_sid:
            entry["call_sid"] = call_sid
        if agent_id:
            entry["agent_id"] = agent_id
        for k, v in fields.items():
            if v is not None:
                entry[k] = _encode(v)
        target = pipeline if pipeline is not None else self.client
        return target.xadd(self.keys.events, entry)

    def read(
        self,
        since: float | None = None,
        *,
        types: set[str] | None = None,
        call_sid: str | None = None,
        count: int = 1000,
    ) -> list[Event]:
        """Events of both parts of the log (packed, then the stream), in stream order."""
        out: list[Event] = []

        def keep(eid, raw) -> None:
            ev = _event(eid, raw)
            if since is not None and ev.ts < since:
                return
            if types and ev.type not in types:
                return
            if call_sid and ev.call_sid != call_sid:
                return
            out.append(ev)

        low = None if since is None else since - SINCE_SLACK_S
        segs = [s for s in segments(self.client, self.keys) if low is None or s.max_ts >= low]
        for eid, raw in segment_entries(self.client, self.keys, segs):
            keep(eid, raw)
        start = "-" if since is None else self.position(since)
        while True:
            batch = self.client.xrange(self.keys.events, min=start, max="+", count=count)
            for eid, raw in batch:
                keep(eid, raw)
            if len(batch) < count:
                return out
            start = "(" + batch[-1][0]

    def entries(self) -> Iterator[tuple[str, dict]]:
        """Every entry of the log as Redis holds it, (stream id, fields), packed part first."""
        yield from segment_entries(self.client, self.keys, segments(self.client, self.keys))
        start = "-"
        while True:
            batch = self.client.xrange(self.keys.events, min=start, max="+", count=1000)
            yield from batch
            if len(batch) < 1000:
                return
            start = "(" + batch[-1][0]

    def position(self, ts: float) -> str:
        """The stream id (of the stream part) to read from for the events with `ts` >= `ts`, found by bisecting
        the stream's ids (about 40 one-entry XRANGEs whatever its length), so `--since 15m`
        reads the last quarter of an hour, not the log. Stream ids are the Redis server's
        time and `ts` the injected clock's, so the search looks at `ts` of the entries, and
        starts SINCE_SLACK_S early: a writer whose clock ran a little ahead of another's
        must not be skipped (`read` still filters on `ts`)."""
        target = ts - SINCE_SLACK_S
        first = self.client.xrange(self.keys.events, count=1)
        if not first or _ts(first[0]) >= target:
            return "-"
        last = self.client.xrevrange(self.keys.events, count=1)
        lo = int(first[0][0].split("-")[0])  # the first entry at or after lo is too old
        hi = int(last[0][0].split("-")[0]) + 1  # nothing at or after hi is too old
        while hi - lo > 1:
            mid = (lo + hi) // 2
            e = self.client.xrange(self.keys.events, min=f"{mid}-0", count=1)
            if not e or _ts(e[0]) >= target:
                hi = mid
            else:
                lo = mid
        return f"{lo}-0"

    def __len__(self) -> int:
        packed = sum(s.count for s in segments(self.client, self.keys))
        return self.client.xlen(self.keys.events) + packed


# How far ahead of another writer's clock one's may run and its events still be read by
# `--since` (worker and web processes on different machines, NTP-synchronised).
SINCE_SLACK_S = 60.0


def _ts(entry) -> float:
    try:
        return float(entry[1].get("ts") or 0)
    except ValueError:
        return 0.0


def _event(eid, raw: dict) -> Event:
    raw = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    eid = eid.decode() if isinstance(eid, bytes) else eid
    ts = float(raw.pop("ts", 0) or 0)
    return Event(
        id=eid,
        ts=ts,
        type=raw.pop("type", "?"),
        call_sid=raw.pop("call_sid", None),
        agent_id=raw.pop("agent_id", None),
        fields=raw,
    )


# ---------------------------------------------------------------- the packed part

# Entries older than this leave the stream for events:packed (the nightly job, see
# hotline/archive/mover.py): the wallboard reads from local midnight, a call card its own
# call's events, `hotline events --since` a recent span -- all of it in the stream.
PACK_AFTER_S = 2 * 86400.0
PACK_SEGMENT = 2000  # entries per segment: ~40 KB compressed; a period reads whole segments
_SEGMENT_FORMAT = "1"  # the first word of a segment's name: how its entries are encoded
_HMGET_GROUP = 8  # segments per HMGET: a reader holds a few hundred KB at a time, not a month


@dataclass(frozen=True)
class Segment:
    """One field of events:packed: its name says what it holds, so that a reader chooses
    the segments of a period from HKEYS alone."""

    name: str
    first: tuple[int, int]
    last: tuple[int, int]
    min_ts: float
    max_ts: float
    count: int

    @property
    def first_id(self) -> str:
        return f"{self.first[0]}-{self.first[1]}"

    @property
    def last_id(self) -> str:
        return f"{self.last[0]}-{self.last[1]}"

    @classmethod
    def parse(cls, name: str) -> Segment | None:
        parts = name.split(" ")
        if len(parts) != 6 or parts[0] != _SEGMENT_FORMAT:
            return None
        try:
            return cls(
                name,
                _id_key(parts[1]),
                _id_key(parts[2]),
                float(parts[3]),
                float(parts[4]),
                int(parts[5]),
            )
        except ValueError:
            return None


def _id_key(eid: str) -> tuple[int, int]:
    ms, _, seq = eid.partition("-")
    return int(ms), int(seq or 0)


def next_id(eid: str) -> str:
    """The smallest stream id after `eid` (what XTRIM MINID keeps from)."""
    ms, seq = _id_key(eid)
    return f"{ms}-{seq + 1}"


def encode_segment(entries: list[tuple[str, dict]]) -> tuple[str, bytes]:
    """A segment's name and value for consecutive stream entries (id, fields as strings)."""
    if not entries:
        raise ValueError("an empty segment")
    ts = [_entry_ts(f) for _, f in entries]
    name = " ".join(
        (
            _SEGMENT_FORMAT,
            entries[0][0],
            entries[-1][0],
            repr(min(ts)),
            repr(max(ts)),
            str(len(entries)),
        )
    )
    body = json.dumps([[eid, f] for eid, f in entries], ensure_ascii=False, separators=(",", ":"))
    return name, zlib.compress(body.encode(), 9)


def decode_segment(blob: bytes) -> list[tuple[str, dict]]:
    return [(eid, f) for eid, f in json.loads(zlib.decompress(blob))]


def _entry_ts(fields: dict) -> float:
    try:
        return float(fields.get("ts") or 0)
    except ValueError:
        return 0.0


def segments(client: redis.Redis, keys: Keys) -> list[Segment]:
    """The packed segments, in stream order (one HKEYS)."""
    out = []
    for name in client.hkeys(keys.events_packed):
        seg = Segment.parse(name.decode() if isinstance(name, bytes) else name)
        if seg is not None:
            out.append(seg)
    return sorted(out, key=lambda s: s.first)


def segment_entries(
    client: redis.Redis, keys: Keys, segs: Iterable[Segment]
) -> Iterator[tuple[str, dict]]:
    """The entries of these segments, in order, a few segments per round trip. A segment
    gone meanwhile (the archive job moved it to SQL) is skipped: its entries are there."""
    segs = list(segs)
    for i in range(0, len(segs), _HMGET_GROUP):
        part = segs[i : i + _HMGET_GROUP]
        blobs = client.execute_command(
            # the compressed bytes as they are, whatever the client's decode_responses
            "HMGET",
            keys.events_packed,
            *(s.name for s in part),
            NEVER_DECODE=True,
        )
        for blob in blobs:
            if blob is not None:
                yield from decode_segment(blob)


def pack(scripts, keys: Keys, entries: list[tuple[str, dict]]) -> bool:
    """Move these entries -- the stream's head, as just read -- into one segment, in one
    step; False (nothing changed) if the stream no longer begins with them."""
    name, blob = encode_segment(entries)
    first, last = entries[0][0], entries[-1][0]
    return bool(
        scripts.events_pack(
            keys=[keys.events, keys.events_packed],
            args=["pack", name, blob, first, last, next_id(last)],
        )
    )


def replace_segment(scripts, keys: Keys, old: Segment, rest: list[tuple[str, dict]]) -> bool:
    """Replace a segment by its last entries `rest` (none: drop it), once: False if the
    segment was gone already."""
    name, blob = encode_segment(rest) if rest else ("", b"")
    return bool(
        scripts.events_pack(
            keys=[keys.events, keys.events_packed], args=["replace", old.name, name, blob]
        )
    )


_REL = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")


def parse_since(text: str, now: float, tz: ZoneInfo) -> float:
    """`--since`: an ISO 8601 instant (naive = centre's zone), or a duration ago like 15m, 2h, 1d."""
    text = text.strip()
    m = _REL.match(text)
    if m:
        n, unit = float(m.group(1)), m.group(2)
        return now - n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since: {text!r} is neither an ISO 8601 time nor a duration like 15m"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.timestamp()


__all__ = [
    "PACK_AFTER_S",
    "PACK_SEGMENT",
    "TYPES",
    "Event",
    "EventLog",
    "Segment",
    "parse_since",
    "segment_entries",
    "segments",
    "timedelta",
]
