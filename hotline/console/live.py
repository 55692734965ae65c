"""Live pages: one server-sent-events connection per open page (htmx's sse extension
swaps the fragments it receives).

The console process computes the wallboard's figures at most once a second however many
pages watch (`Board`), and renders each fragment once per change and language, so thirty
open wallboards cost about what one does. A stream sends a fragment only when it changed;
the seconds that tick by (time in state, a call's duration) are counted in the browser
from the `data-since` attributes, so an idle wallboard sends nothing but a keep-alive.

A stream ends after STREAM_SECONDS (the browser reconnects on its own, through the
session check again), or at once when its user is signed out, disabled or reset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from flask import Response, stream_with_context

STREAM_SECONDS = 300
KEEPALIVE_S = 15
POLL_S = 0.5
# Figures that only say how long something has lasted: the browser ticks them.
ELAPSED = ("generated_at", "in_state_s", "call_s", "oldest_wait_s")


def sse(event: str, html: str) -> str:
    lines = html.strip().splitlines() or [""]
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


def stream(
    fragments: Callable[[], dict[str, str]],
    *,
    allowed: Callable[[], bool],
    seconds: float = STREAM_SECONDS,
    poll_s: float = POLL_S,
) -> Response:
    """An event-stream response: every poll, `fragments()` gives {event: html}; each
    changed one is sent. `allowed()` is asked every few seconds."""

    def gen() -> Iterator[str]:
        last: dict[str, str] = {}
        start = sent = checked = time.monotonic()
        yield "retry: 2000\n\n"
        while True:
            now = time.monotonic()
            if now - start >= seconds:
                return
            if now - checked >= 5:
                if not allowed():
                    yield sse("signed_out", "")
                    return
                checked = now
            for event, html in fragments().items():
                if last.get(event) != html:
                    last[event] = html
                    sent = now
                    yield sse(event, html)
            if now - sent >= KEEPALIVE_S:
                sent = now
                yield ": keep-alive\n\n"
            time.sleep(poll_s)

    resp = Response(stream_with_context(gen()), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"  # nginx: do not hold the stream back
    return resp


def steady(figures: dict) -> object:
    """The figures without what only ticks by: two equal values render the same page
    once the browser has counted the seconds."""
    if isinstance(figures, dict):
        return {k: steady(v) for k, v in figures.items() if k not in ELAPSED}
    if isinstance(figures, list):
        return [steady(v) for v in figures]
    return figures


class Board:
    """The wallboard's figures for one console process: computed at most every `every_s`
    seconds (wall time) whatever the number of pages, incrementally (WallboardTally reads
    only the events since its last read). `version` moves when something a page shows
    changed, so rendered fragments can be cached by it."""

    def __init__(self, svc, *, every_s: float = 1.0):
        from ..wallboard import WallboardTally

        self.svc = svc
        self.every_s = every_s
        self.tally = WallboardTally()
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._figures: dict = {}
        self._steady: object = None
        self.version = 0
        self._rendered: dict[tuple, str] = {}

    def figures(self) -> dict:
        with self._lock:
            now = time.monotonic()
            if now - self._at >= self.every_s:
                from ..wallboard import figures

                self._figures = figures(self.svc, self.tally)
                self._at = now
                st = steady(self._figures)
                if st != self._steady:
                    self._steady = st
                    self.version += 1
                    self._rendered.clear()
            return self._figures

    def rendered(self, key: tuple, render: Callable[[dict], str]) -> str:
        """`render(figures)` once per version and key (language, mode)."""
        figures = self.figures()
        with self._lock:
            cache_key = (self.version, *key)
            html = self._rendered.get(cache_key)
        if html is None:
            html = render(figures)
            with self._lock:
                self._rendered[cache_key] = html
        return html
