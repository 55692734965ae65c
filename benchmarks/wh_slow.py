"""The slow-client probe (--slow-clients): are signed webhooks still answered meanwhile?

`SlowLoris` holds N connections that each send one more byte of a never-ending
request head every --slow-every seconds (what the outside review did), reopened when
the server closes them; `slow_client_run` sends signed webhooks at --slow-rate per
second meanwhile and counts those answered within 1 s and within Twilio's 15 s;
`wait_recovered` says how long the server takes to answer /healthz again afterwards
(`healthz_ok`). tests/test_slow_clients.py uses `SlowLoris` and `healthz_ok` too.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time

from wh_common import HOST, INCOMING_PATH, pct
from wh_requests import http_post


class SlowLoris(threading.Thread):
    """`n` connections that each send one more byte of a never-ending request head every
    `every` seconds (what the outside review did); a connection the server closes (a
    header timeout) is opened again within 0.2 s, so `n` stay open all along. Records how
    long each connection the server closed had lived, and the fewest open at any tick."""

    HEAD = (
        b"POST " + INCOMING_PATH.encode() + b" HTTP/1.1\r\nHost: hotline\r\nUser-Agent: slow\r\n"
        b"X-Padding: " + b"a" * 4000
    )

    def __init__(self, port: int, n: int, every: float, head: bytes | None = None):
        super().__init__(daemon=True)
        self.port, self.n, self.every = port, n, every
        self.head = self.HEAD if head is None else head
        self.halt = threading.Event()
        self.opened = self.failed_opens = 0
        self.min_open = n  # fewest connections open at any tick
        self.closed_by_server: list[float] = []  # seconds each one lived
        self.conns: list[list] = []  # [socket, bytes sent, opened at, last byte at]

    def _open(self) -> list:
        s = socket.create_connection((HOST, self.port), timeout=5)
        s.setblocking(False)
        s.send(self.head[:1])
        self.opened += 1
        now = time.monotonic()
        return [s, 1, now, now]

    @staticmethod
    def _alive(s: socket.socket) -> bool:
        try:
            return s.recv(1, socket.MSG_PEEK) != b""  # b"" = the server closed it
        except BlockingIOError:
            return True  # nothing to read: still open
        except OSError:
            return False

    def begin(self, settle: float = 1.0) -> SlowLoris:
        self.conns = [self._open() for _ in range(self.n)]
        self.start()
        time.sleep(settle)  # the server has accepted them (or its backlog holds them)
        return self

    def run(self):
        while not self.halt.wait(0.2):
            now = time.monotonic()
            open_now = 0
            for k, c in enumerate(self.conns):
                s, sent, since, last = c
                ok = self._alive(s)
                if ok and now - last >= self.every:
                    try:
                        s.send(self.head[sent : sent + 1])
                        c[1], c[3] = sent + 1, now
                    except OSError:
                        ok = False
                if ok:
                    open_now += 1
                    continue
                self.closed_by_server.append(now - since)
                s.close()
                try:
                    self.conns[k] = self._open()
                except OSError:
                    self.failed_opens += 1
            self.min_open = min(self.min_open, open_now)

    def end(self):
        self.halt.set()
        self.join(timeout=10)
        for c in self.conns:
            c[0].close()


TWILIO_TIMEOUT_S = 15.0


def slow_client_run(port: int, n: int, lines: list[str], marker: str, args) -> dict:
    """Signed webhooks (one every 1/--slow-rate s, each on its own connection and thread,
    so a stuck one does not delay the next) for --slow-duration s while `n` slow
    connections drip their heads; each webhook waits up to 20 s for its answer."""
    slow = SlowLoris(port, n, args.slow_every).begin() if n else None
    out: list[tuple] = []
    lock = threading.Lock()

    def one(line):
        t0 = time.monotonic()
        try:
            st, body = http_post(port, line, timeout=TWILIO_TIMEOUT_S + 5)
            note = "" if (st == 200 and marker in body) else f"HTTP {st}"
        except OSError as e:
            st, note = None, type(e).__name__
        with lock:
            out.append((st, time.monotonic() - t0, note))

    threads = []
    t0 = time.monotonic()
    try:
        for i, line in enumerate(lines):
            at = t0 + i / args.slow_rate
            if at - t0 >= args.slow_duration:
                break
            time.sleep(max(0.0, at - time.monotonic()))
            th = threading.Thread(target=one, args=(line,), daemon=True)
            th.start()
            threads.append(th)
        for th in threads:  # the slow clients stay until every webhook is answered or gave up
            th.join(
                timeout=max(
                    0.1, TWILIO_TIMEOUT_S + 6 - (time.monotonic() - t0 - args.slow_duration)
                )
            )
    finally:
        if slow:
            slow.end()
    answered = sorted(t for st, t, note in out if st == 200 and not note)
    sent = len(threads)
    res = {
        "slow_connections": n,
        "sent": sent,
        "within_1s": sum(1 for t in answered if t <= 1.0),
        "within_15s": sum(1 for t in answered if t <= TWILIO_TIMEOUT_S),
        "answered": len(answered),
        "unanswered": sent - len(answered),
        "p50_ms": round(pct(answered, 50) * 1000, 1) if answered else None,
        "max_ms": round(answered[-1] * 1000, 1) if answered else None,
        "errors": sorted({note for st, t, note in out if note}),
    }
    if slow:
        lt = sorted(slow.closed_by_server)
        res.update(
            {
                "slow_opened": slow.opened,
                "slow_closed_by_server": len(lt),
                "slow_lifetime_s": [round(lt[0], 1), round(lt[-1], 1)] if lt else None,
            }
        )
    return res


def wait_recovered(port: int, timeout: float = 45.0) -> float:
    """Seconds until /healthz answers again after a slow-client run (a sync worker stuck
    on a slow connection is freed when it closes, or killed after gunicorn's timeout)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if healthz_ok(port):
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.2)
    return float("nan")


def healthz_ok(port: int, timeout: float = 2.0) -> bool:
    """One GET /healthz on the loopback `port`: whether it answered 200 (OSError: no answer)."""
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request("GET", "/healthz")
        return c.getresponse().status == 200
    finally:
        c.close()
