"""How long things take on a simulated phone line, and how simulated time passes.

All the simulator's time arithmetic lives here:

* durations: how long a `<Say>` text takes to speak, a key press, a `<Play>`
  whose audio we never fetch;
* timelines: what "let N seconds pass" means.

`VirtualTimeline` (the offline case: app and simulator in one process sharing a
`ManualClock`) never sleeps: it moves the shared clock forward, so a two-minute
wait in the queue runs in milliseconds and the app reads consistent times.
Several simulated parties (callers, agents) run as threads, but
only one holds the baton at a time; the driver always wakes the party with the
earliest wake-up time and sets the clock to it, so runs are deterministic
(ties are FIFO). A party's HTTP round trip happens while it holds the baton,
so no simulated time passes during a webhook.

`RealTimeline` (pointing at a remote app with `--url`) really waits, divided by
the clock's speed (`Clock.real_delay`), so a ScaledClock shared through
HOTLINE_CLOCK makes a remote run faster too.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from ..clock import Clock, ManualClock

# A calm IVR voice speaks about 150 words a minute: ~14 characters a second.
SPEECH_CHARS_PER_SECOND = 14.0
MIN_SAY_SECONDS = 0.5
KEY_PRESS_SECONDS = 0.3
# We never download audio: a <Play> lasts this long unless the party knows better.
DEFAULT_PLAY_SECONDS = 30.0
# Speech recognition waits for this much silence after the caller stops talking.
SPEECH_END_SECONDS = 1.0
RING_SECONDS = 2.0


def say_seconds(text: str) -> float:
    return max(MIN_SAY_SECONDS, round(len(text.strip()) / SPEECH_CHARS_PER_SECOND, 1))


def keys_seconds(keys: str) -> float:
    return round(len(keys) * KEY_PRESS_SECONDS, 1)


def speak_seconds(text: str) -> float:
    """How long a caller takes to say `text` to a speech Gather (until recognition ends)."""
    return say_seconds(text) + SPEECH_END_SECONDS


class HungUp(Exception):
    """Raised inside a party's thread when its deadline (patience) passes during a wait."""


class Stopped(Exception):
    """Raised inside a party's thread when the simulation ends before the party does."""


class Interrupted(Exception):
    """Raised inside a sleeping party's thread woken early by `interrupt()` (a REST redirect)."""


class Timeline(Protocol):
    clock: Clock

    def now(self) -> float: ...

    def sleep(self, seconds: float, *, deadline: float | None = None) -> None:
        """Let `seconds` pass for the calling party; HungUp at `deadline` if it comes first,
        Interrupted if another party calls `interrupt()` on it meanwhile."""

    def current_party(self): ...

    def interrupt(self, party) -> None: ...


def _clip(now: float, seconds: float, deadline: float | None) -> tuple[float, bool]:
    if seconds < 0 or math.isnan(seconds):
        raise ValueError(f"cannot wait {seconds!r} seconds")
    if deadline is not None and now + seconds >= deadline:
        return max(0.0, deadline - now), True
    return seconds, False


class RealTimeline:
    def __init__(self, clock: Clock):
        self.clock = clock
        self._lock = threading.Lock()
        self._wakers: dict[int, threading.Event] = {}

    def now(self) -> float:
        return self.clock.now()

    def current_party(self) -> int:
        return threading.get_ident()

    def sleep(self, seconds: float, *, deadline: float | None = None) -> None:
        seconds, hung_up = _clip(self.now(), seconds, deadline)
        with self._lock:
            waker = self._wakers.setdefault(threading.get_ident(), threading.Event())
        if waker.wait(self.clock.real_delay(seconds)):
            waker.clear()
            raise Interrupted()
        if hung_up:
            raise HungUp()

    def interrupt(self, party: int) -> None:
        with self._lock:
            waker = self._wakers.setdefault(party, threading.Event())
        waker.set()

    def run(
        self, parties: list[tuple[float, Callable[[], None]]], until: float | None = None
    ) -> None:
        """Run each party (start offset in seconds, function) in its own thread; wait for
        all. Real time has no horizon: `until` is accepted for symmetry and ignored."""
        threads = []
        t0 = self.now()
        for start, fn in sorted(parties, key=lambda p: p[0]):
            self.sleep(max(0.0, start - (self.now() - t0)))
            th = threading.Thread(target=fn, daemon=True)
            th.start()
            threads.append(th)
        for th in threads:
            th.join()


class VirtualTimeline:
    """Discrete-event time on a ManualClock shared with the app (see module doc)."""

    def __init__(
        self,
        clock: ManualClock,
        *,
        on_advance: Callable[[float], None] | None = None,
        on_step: Callable[[], None] | None = None,
        next_timer: Callable[[], float | None] | None = None,
    ):
        if not isinstance(clock, ManualClock):
            raise TypeError(
                "VirtualTimeline needs a ManualClock (the app must read the same clock)"
            )
        self.clock = clock
        self.on_advance = on_advance
        self.on_step = on_step
        self.next_timer = next_timer
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, int]] = []  # (wake at, seq, party id)
        self._entry: dict[
            int, int
        ] = {}  # party id -> seq of its live heap entry (others are stale)
        self._interrupted: set[int] = set()
        self._seq = itertools.count()
        self._holder: int | None = None  # party currently running, None = the driver
        self._parties: dict[int, threading.Thread] = {}
        # One wake-up per party: a shared Condition would wake every party thread at each
        # step (hundreds of callers in a burst), each only to go back to sleep.
        self._wakeups: dict[int, threading.Event] = {}
        self._stopping = False
        self._local = threading.local()

    def now(self) -> float:
        return self.clock.now()

    def current_party(self) -> int | None:
        return getattr(self._local, "party", None)

    def _schedule(self, pid: int, wake: float) -> None:
        seq = next(self._seq)
        self._entry[pid] = seq
        heapq.heappush(self._heap, (wake, seq, pid))

    def sleep(self, seconds: float, *, deadline: float | None = None) -> None:
        seconds, hung_up = _clip(self.now(), seconds, deadline)
        me = self.current_party()
        if me is None:
            # Not under the driver (a single call on the caller's own thread): just move time.
            if seconds:
                self.clock.advance(seconds)
        else:
            wakeup = self._wakeups[me]
            with self._cv:
                self._schedule(me, self.now() + seconds)
                self._holder = None
                self._cv.notify_all()  # the driver
            wakeup.wait()
            wakeup.clear()
            with self._cv:
                if self._stopping and self._holder != me:
                    raise Stopped()
                if me in self._interrupted:
                    self._interrupted.discard(me)
                    raise Interrupted()
        if hung_up:
            raise HungUp()

    def interrupt(self, party: int | None) -> None:
        """Wake a sleeping party now (it gets Interrupted); called by the party holding the baton."""
        with self._cv:
            if party is None or party not in self._entry:
                return
            self._interrupted.add(party)
            self._schedule(party, self.now())

    def spawn(self, fn: Callable[[], None], *, at: float | None = None) -> None:
        """Add a party that starts at simulated time `at` (default now)."""
        with self._cv:
            pid = next(self._seq)
            wake = self.now() if at is None else max(at, self.now())
            th = threading.Thread(
                target=self._party, args=(pid, fn), daemon=True, name=f"sim-party-{pid}"
            )
            self._parties[pid] = th
            self._wakeups[pid] = threading.Event()
            self._schedule(pid, wake)
            th.start()

    def _party(self, pid: int, fn: Callable[[], None]) -> None:
        self._local.party = pid
        wakeup = self._wakeups[pid]
        wakeup.wait()
        wakeup.clear()
        with self._cv:
            if self._holder != pid:
                self._parties.pop(pid, None)
                self._wakeups.pop(pid, None)
                self._cv.notify_all()
                return
            self._interrupted.discard(pid)  # nothing to interrupt before it has started
        try:
            fn()
        except Stopped:
            pass
        finally:
            with self._cv:
                self._parties.pop(pid, None)
                self._wakeups.pop(pid, None)
                self._entry.pop(pid, None)
                if self._holder == pid:
                    self._holder = None
                self._cv.notify_all()

    def run(self, until: float | None = None, *, idle_stop: bool = False) -> None:
        """Drive every spawned party until none is left or the clock would pass `until`.

        Before each step `on_step()` (if set) does the work due at the current instant
        (the app's RQ jobs); `next_timer()` (if set) is the next clock time something
        other than a party is due (a delayed job): the clock stops there too, even with
        no party waiting, as long as `until` bounds the run (and `idle_stop` is false).
        Parties still waiting at `until` get Stopped raised in their thread: their
        calls stay as they are (still waiting in the app's queue, for instance).
        """
        stop = True
        try:
            while True:
                with self._cv:
                    self._cv.wait_for(lambda: self._holder is None)
                if self.on_step is not None:
                    self.on_step()
                timer = self.next_timer() if self.next_timer is not None else None
                if timer is not None and timer <= self.now():
                    timer = None  # on_step could not clear it: do not spin on it
                with self._cv:
                    while self._heap and self._entry.get(self._heap[0][2]) != self._heap[0][1]:
                        heapq.heappop(self._heap)  # superseded by an interrupt
                    party_at = self._heap[0][0] if self._heap else None
                    if party_at is None and (timer is None or until is None or idle_stop):
                        stop = False  # everyone has finished: nothing to stop
                        return
                    use_timer = timer is not None and (party_at is None or timer < party_at)
                    wake = timer if use_timer else party_at
                    if until is not None and wake > until:
                        self.clock.set(max(self.now(), until))
                        return
                    if not use_timer:
                        _, _, pid = heapq.heappop(self._heap)
                        del self._entry[pid]
                if wake > self.now():
                    self._keep_pace(wake)
                    self.clock.set(wake)
                    if self.on_advance is not None:
                        self.on_advance(wake)
                if use_timer:
                    continue
                with self._cv:
                    self._holder = pid
                    wakeup = self._wakeups.get(pid)
                if wakeup is not None:
                    wakeup.set()
        finally:
            if stop:
                self._stop_all()

    def pace(self, speed: float | None) -> None:
        """Run no faster than `speed` simulated seconds per real second (None: as fast as
        possible). Still virtual and deterministic: only the driver waits between events,
        so that a person can watch a simulated hour go by in minutes."""
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        self._anchor = (time.monotonic(), self.now())

    def _keep_pace(self, wake: float) -> None:
        speed = getattr(self, "_speed", None)
        if not speed:
            return
        real0, sim0 = self._anchor
        delay = real0 + (wake - sim0) / speed - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, 5.0))
            if delay > 5.0:  # the simulation was paused long (a breakpoint): do not rush after it
                self._anchor = (time.monotonic(), wake)

    @property
    def idle(self) -> bool:
        with self._cv:
            return not self._entry and self._holder is None

    def _stop_all(self) -> None:
        with self._cv:
            self._stopping = True
            self._heap.clear()
            self._entry.clear()
            self._cv.notify_all()
            threads = list(self._parties.values())
            for wakeup in self._wakeups.values():
                wakeup.set()
        for th in threads:
            th.join(timeout=10)
        with self._cv:
            self._stopping = False
            self._interrupted.clear()
