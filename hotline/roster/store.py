"""The roster in Redis, and who is on shift now.

Owns three keys:
* `roster` (hash): `doc` the validated roster as JSON (`roster.to_data`),
  `sha` (its SHA-1: processes re-parse only when it changes), `version`
  (incremented by every import or edit), `updated_at`, `by`;
* `onshift` / `oncall` (sets): agents on shift now / on call now, as of the
  last `refresh_shift_sets` (run at every shift boundary and by the sweep).

A document is validated whole before anything is written, and written in one
MULTI with its event: a rejected import or edit changes nothing. Edits are
read-modify-write under WATCH, so two managers editing at once cannot lose
one another's change.

Every write may name the version it was based on (`expected_version`, what the
console's form was rendered from): the version is read under the same WATCH that
guards the write, so if anyone else saved in between, either the read sees their
version or EXEC fails and the retry does; the write is refused (`RosterConflict`)
and nothing changes. Without it (`hotline roster edit`), an edit applies to
whatever roster is current, as before.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import redis

from ..errors import HotlineError, RosterInvalid
from . import schedule
from .dump import dump, to_data
from .model import ExtraShift, Leave, Problem, Roster, Shift, Swap
from .validate import from_data, load_text

if TYPE_CHECKING:
    from ..services import Services


class RosterConflict(HotlineError):
    """A write based on roster version `expected` while the stored one is `current`:
    someone else saved in between. Nothing was changed."""

    def __init__(self, expected: int, current: int):
        self.expected, self.current = expected, current
        super().__init__(
            f"the roster is now at version {current}, not {expected}: it changed since "
            "this change was prepared; nothing changed"
        )


class RosterStore:
    def __init__(self, svc: Services):
        self.svc = svc
        self.r = svc.redis
        self.k = svc.keys
        self._cache: tuple[str, Roster] | None = None

    # reading -------------------------------------------------------------
    def version(self) -> int:
        return int(self.r.hget(self.k.roster, "version") or 0)

    def load(self) -> Roster | None:
        """The stored roster (None before the first import); parsed once per stored document."""
        if self._cache and self._cache[0] == self.r.hget(self.k.roster, "sha"):
            return self._cache[1]
        doc, sha = self.r.hmget(self.k.roster, "doc", "sha")
        if doc is None:
            return None
        roster = from_data(json.loads(doc), "stored roster")
        self._cache = (sha, roster)
        return roster

    def snapshot(self) -> tuple[Roster | None, int]:
        """The stored roster and its version, read together (one HMGET): a page that shows
        a roster carries the version of exactly what it shows, so a save from it is
        refused once anyone else saved since."""
        doc, sha, version = self.r.hmget(self.k.roster, "doc", "sha", "version")
        if doc is None:
            return None, int(version or 0)
        if not (self._cache and self._cache[0] == sha):
            self._cache = (sha, from_data(json.loads(doc), "stored roster"))
        return self._cache[1], int(version or 0)

    def require(self) -> Roster:
        roster = self.load()
        if roster is None:
            raise RosterInvalid(
                [Problem("roster", None, "no roster stored yet: run `hotline roster import FILE`")]
            )
        return roster

    def export(self) -> str:
        return dump(self.require())

    def on_shift_now(self) -> set[str]:
        """Agents on a regular shift now (`onshift`, replaced at every boundary)."""
        return self.r.smembers(self.k.onshift)

    def on_call_now(self) -> set[str]:
        """Agents only on call now (`oncall`)."""
        return self.r.smembers(self.k.oncall)

    # writing -------------------------------------------------------------
    def import_text(
        self,
        text: str,
        filename: str = "<roster>",
        by: str = "cli",
        expected_version: int | None = None,
    ) -> Roster:
        """Validate the whole file, then replace the stored roster; RosterInvalid (or, when
        the stored version is not `expected_version`, RosterConflict) changes nothing."""
        roster = load_text(text, filename)
        with self.r.pipeline() as p:
            while True:
                try:
                    p.watch(self.k.roster)
                    version = self._check_version(p, expected_version)
                    p.multi()
                    sha = self._write(p, roster, by)
                    self.svc.events.append(
                        "roster_imported",
                        pipeline=p,
                        by=by,
                        file=filename,
                        agents=len(roster.agents),
                        shifts=len(roster.shifts),
                        version=version + 1,
                    )
                    p.execute()
                    break
                except redis.WatchError:
                    continue
        self._after_change(roster, sha)
        return roster

    def add_shift(
        self, shift: Shift | ExtraShift, by: str = "cli", expected_version: int | None = None
    ) -> Roster:
        """A weekly `Shift`, or a one-off `ExtraShift`; an empty id gets a free one."""

        def change(r: Roster) -> Roster:
            s = shift if shift.id else replace(shift, id=_free_id(r, shift))
            if isinstance(s, ExtraShift):
                return replace(r, extras=(*r.extras, s))
            return replace(r, shifts=(*r.shifts, s))

        return self._edit(change, by, "add_shift", expected_version, shift=_describe(shift))

    def change_shift(
        self,
        shift_id: str,
        shift: Shift | ExtraShift,
        by: str = "cli",
        expected_version: int | None = None,
    ) -> Roster:
        """Replace shift `shift_id` by `shift` (which keeps that id, so swaps naming it still
        do): weekly or one-off, in place when it stays of the same kind."""
        new = replace(shift, id=shift_id)

        def change(r: Roster) -> Roster:
            try:
                old = r.shift(shift_id)
            except KeyError:
                raise RosterInvalid(
                    [Problem("roster edit", None, f"no shift with id {shift_id!r}")]
                ) from None
            if isinstance(new, ExtraShift) == isinstance(old, ExtraShift):
                return replace(r, shifts=_put(r.shifts, new), extras=_put(r.extras, new))
            # weekly -> one-off or back: out of one list, at the end of the other
            shifts = tuple(s for s in r.shifts if s.id != shift_id)
            extras = tuple(s for s in r.extras if s.id != shift_id)
            if isinstance(new, ExtraShift):
                return replace(r, shifts=shifts, extras=(*extras, new))
            return replace(r, shifts=(*shifts, new), extras=extras)

        return self._edit(change, by, "change_shift", expected_version, shift=_describe(new))

    def remove_shift(
        self, shift_id: str, by: str = "cli", expected_version: int | None = None
    ) -> Roster:
        def change(r: Roster) -> Roster:
            try:
                r.shift(shift_id)
            except KeyError:
                raise RosterInvalid(
                    [Problem("roster edit", None, f"no shift with id {shift_id!r}")]
                ) from None
            # a swap naming the removed shift would no longer mean anything
            return replace(
                r,
                shifts=tuple(s for s in r.shifts if s.id != shift_id),
                extras=tuple(s for s in r.extras if s.id != shift_id),
                swaps=tuple(s for s in r.swaps if s.shift != shift_id),
            )

        return self._edit(change, by, "remove_shift", expected_version, shift=shift_id)

    def set_leave(
        self, leave: Leave, by: str = "cli", expected_version: int | None = None
    ) -> Roster:
        return self._edit(
            lambda r: replace(r, leaves=(*r.leaves, leave)),
            by,
            "leave",
            expected_version,
            agent=leave.agent,
            start=leave.start.isoformat(),
            end=leave.end.isoformat(),
            reason=leave.reason,
        )

    def swap(self, swap: Swap, by: str = "cli", expected_version: int | None = None) -> Roster:
        return self._edit(
            lambda r: replace(r, swaps=(*r.swaps, swap)),
            by,
            "swap",
            expected_version,
            date=swap.date.isoformat(),
            agent=swap.agent,
            other=swap.other,
            shift=swap.shift,
        )

    def cancel_leave(
        self, leave: Leave, by: str = "cli", expected_version: int | None = None
    ) -> Roster:
        """Take back the leave of `leave.agent` from `leave.start` to `leave.end` (its
        reason is not part of what names it): the agent's shifts on those dates return."""

        def change(r: Roster) -> Roster:
            i = _index(
                r.leaves,
                lambda lv: (lv.agent, lv.start, lv.end) == (leave.agent, leave.start, leave.end),
                f"no leave for {leave.agent!r} from {leave.start} to {leave.end}",
            )
            return replace(r, leaves=r.leaves[:i] + r.leaves[i + 1 :])

        return self._edit(
            change,
            by,
            "cancel_leave",
            expected_version,
            agent=leave.agent,
            start=leave.start.isoformat(),
            end=leave.end.isoformat(),
        )

    def cancel_swap(
        self, swap: Swap, by: str = "cli", expected_version: int | None = None
    ) -> Roster:
        """Take back a swap: the same date, the same two agents (in either order), the same
        shift or, when `swap.shift` is None, the swap of all their shifts that day."""

        def change(r: Roster) -> Roster:
            pair = {swap.agent, swap.other}
            i = _index(
                r.swaps,
                lambda s: (s.date, {s.agent, s.other}, s.shift) == (swap.date, pair, swap.shift),
                f"no swap of {swap.agent!r} and {swap.other!r} on {swap.date}"
                + (f" for shift {swap.shift!r}" if swap.shift else ""),
            )
            return replace(r, swaps=r.swaps[:i] + r.swaps[i + 1 :])

        return self._edit(
            change,
            by,
            "cancel_swap",
            expected_version,
            date=swap.date.isoformat(),
            agent=swap.agent,
            other=swap.other,
            shift=swap.shift,
        )

    def refresh_shift_sets(self, now: float | None = None) -> tuple[list[str], list[str]]:
        """Recompute `onshift` / `oncall` for clock time `now`; log shift_started / shift_ended.

        Returns (started, ended) agent ids; the agents' idle pools are re-indexed for them.
        """
        now = self.svc.clock.now() if now is None else now
        roster = self.load()
        covers = [] if roster is None else schedule.on_shift(roster, _instant(now))
        regular = _first_shift([c for c in covers if not c.on_call])
        on_call = _first_shift([c for c in covers if c.on_call and c.agent_id not in regular])
        args: list[str] = [repr(float(now)), str(len(regular))]
        for a, s in regular.items():
            args += [a, s]
        args.append(str(len(on_call)))
        for a, s in on_call.items():
            args += [a, s]
        started, ended = self.svc.scripts.roster_shift_sets(
            keys=[self.k.onshift, self.k.oncall, self.k.events], args=args
        )
        changed = sorted(set(started) | set(ended))
        if changed:
            self.svc.agents.reindex(changed)
        return list(started), list(ended)

    # internals -------------------------------------------------------------
    def _write(self, p, roster: Roster, by: str) -> str:
        doc = json.dumps(to_data(roster), ensure_ascii=False, sort_keys=True)
        sha = hashlib.sha1(doc.encode()).hexdigest()
        p.hincrby(self.k.roster, "version", 1)
        p.hset(
            self.k.roster,
            mapping={"doc": doc, "sha": sha, "updated_at": repr(self.svc.clock.now()), "by": by},
        )
        return sha

    def _check_version(self, p, expected: int | None) -> int:
        """The stored version, read on the WATCHing connection `p`; RosterConflict when it
        is not `expected`. Under that WATCH, a save by anyone else after this read makes
        EXEC fail, and the retry reads their version here."""
        current = int(p.hget(self.k.roster, "version") or 0)
        if expected is not None and current != expected:
            raise RosterConflict(expected, current)
        return current

    def _edit(self, change, by: str, op: str, expected_version: int | None, **detail) -> Roster:
        with self.r.pipeline() as p:
            while True:
                try:
                    p.watch(self.k.roster)
                    version = self._check_version(p, expected_version)
                    current = self.require()
                    # Validate the result as a document (dump, re-read): an edit is held to
                    # exactly the rules of an imported file.
                    new = _revalidate(change(current), f"roster after {op.replace('_', '-')}")
                    p.multi()
                    sha = self._write(p, new, by)
                    self.svc.events.append(
                        "roster_edited", pipeline=p, by=by, op=op, version=version + 1, **detail
                    )
                    p.execute()
                    break
                except redis.WatchError:
                    continue
        self._after_change(new, sha)
        return new

    def _after_change(self, roster: Roster, sha: str) -> None:
        self._cache = (sha, roster)
        self.svc.agents.sync_from_roster(roster)
        self.refresh_shift_sets()


def _revalidate(roster: Roster, label: str) -> Roster:
    # Lines would point into a generated text nobody sees: report reasons only.
    try:
        return load_text(dump(roster), label)
    except RosterInvalid as e:
        raise RosterInvalid([replace(p, line=None) for p in e.problems]) from None


def _index(items: tuple, matches, missing: str) -> int:
    """The position of the first item `matches`; the edit's problem `missing` when none."""
    for i, item in enumerate(items):
        if matches(item):
            return i
    raise RosterInvalid([Problem("roster edit", None, missing)])


def _put(items: tuple, new) -> tuple:
    """`items` with the one of `new`'s id replaced by `new` (its place kept: a small diff)."""
    return tuple(new if s.id == new.id else s for s in items)


def _first_shift(covers) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in covers:
        out.setdefault(c.agent_id, c.shift_id)
    return dict(sorted(out.items()))


def _instant(now: float) -> datetime:
    return datetime.fromtimestamp(now, tz=UTC)


def _free_id(r: Roster, s: Shift | ExtraShift) -> str:
    taken = {x.id for x in (*r.shifts, *r.extras)}
    n = 1
    stem = f"{s.agent}-x" if isinstance(s, ExtraShift) else f"{s.agent}-"
    while f"{stem}{n}" in taken:
        n += 1
    return f"{stem}{n}"


def _describe(s: Shift | ExtraShift) -> dict:
    d = {
        "id": s.id or None,
        "agent": s.agent,
        "start": f"{s.start:%H:%M}",
        "end": f"{s.end:%H:%M}",
        "on_call": s.on_call,
    }
    if isinstance(s, ExtraShift):
        d["date"] = s.date.isoformat()
    else:
        d["days"] = list(s.days)
    return {k: v for k, v in d.items() if v is not None}


__all__ = ["RosterConflict", "RosterStore"]
