#!/usr/bin/env python
"""The Python load generator of benchmarks/webhooks.py, run as its own process.

    python benchmarks/wh_client.py --mode closed|open --port P --data FILE [options]

Replays the signed requests of FILE (one per line: path, body, signature), each on its
own connection (Connection: close: the cheapest asyncio path, so that the client takes
as little of the shared CPU as it can), and checks every answer (HTTP 200, the marker,
not the antimarker). Closed loop: --clients workers, each sending its next request when
the last one is answered, for --duration s. Open loop: Poisson arrivals at --rate per
second (seeded), latency counted from the scheduled arrival. Prints one JSON object.

Standard library only (and wh_common, which is too): it shares the cores with the
server it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path

from wh_common import FORM, HOST, pct


class _Exchange(asyncio.Protocol):
    """One request on its own connection (requests say Connection: close): the cheapest
    asyncio path, so that the client takes as little of the shared CPU as it can."""

    def __init__(self, raw: bytes, fut: asyncio.Future):
        self.raw, self.fut, self.buf = raw, fut, bytearray()

    def connection_made(self, transport):
        transport.write(self.raw)

    def data_received(self, data):
        self.buf += data

    def connection_lost(self, exc):
        if not self.fut.done():
            if exc is None:
                self.fut.set_result(bytes(self.buf))
            else:
                self.fut.set_exception(exc)


async def _one(port: int, raw: bytes, marker: bytes, antimarker: bytes) -> tuple[bool, str]:
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    try:
        await loop.create_connection(lambda: _Exchange(raw, fut), HOST, port)
        data = await fut
    except OSError as e:
        return False, type(e).__name__
    head, _, body = data.partition(b"\r\n\r\n")
    status = head[9:12]
    if status != b"200":
        return False, "status " + (status.decode("latin-1", "replace") or "none")
    if marker not in body or (antimarker and antimarker in body):
        return False, "body"
    return True, ""


def raw_requests(lines: list[str], port: int) -> list[bytes]:
    out = []
    for line in lines:
        path, body, sig = line.split("\t")
        b = body.encode()
        out.append(
            (
                f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: {FORM}\r\n"
                f"X-Twilio-Signature: {sig}\r\nContent-Length: {len(b)}\r\nConnection: close\r\n\r\n"
            ).encode()
            + b
        )
    return out


async def _closed(port, reqs, clients, duration, marker, antimarker):
    lat: list[float] = []
    errors: dict[str, int] = {}
    nxt = [0]
    stop_at = time.perf_counter() + duration

    async def worker():
        while time.perf_counter() < stop_at:
            i = nxt[0]
            nxt[0] += 1
            t0 = time.perf_counter()
            ok, why = await _one(port, reqs[i % len(reqs)], marker, antimarker)
            lat.append(time.perf_counter() - t0)
            if not ok:
                errors[why] = errors.get(why, 0) + 1

    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(worker()) for _ in range(clients)]
    _, pending = await asyncio.wait(tasks, timeout=duration + 15)
    for t in pending:
        t.cancel()
    if pending:
        errors["timeout"] = len(pending)
    return {"elapsed": time.perf_counter() - t0, "lat": lat, "errors": errors, "sent": nxt[0]}


async def _open(port, reqs, rate, duration, marker, antimarker, max_inflight, seed):
    rnd = random.Random(seed)
    lat: list[float] = []
    lateness: list[float] = []
    errors: dict[str, int] = {}
    tasks = set()
    inflight = [0]

    async def one(i, t_sched):
        inflight[0] += 1
        try:
            ok, why = await _one(port, reqs[i % len(reqs)], marker, antimarker)
        finally:
            inflight[0] -= 1
        lat.append(time.perf_counter() - t_sched)  # from the arrival, not from the send
        if not ok:
            errors[why] = errors.get(why, 0) + 1

    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    t = start
    i = 0
    dropped = 0
    while True:
        t += rnd.expovariate(rate)
        if t - start >= duration:
            break
        delay = t - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append(time.perf_counter() - t)
        if inflight[0] >= max_inflight:
            dropped += 1
            continue
        task = loop.create_task(one(i, t))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += 1
    if tasks:
        _, pending = await asyncio.wait(set(tasks), timeout=15)
        for task in pending:
            task.cancel()
        if pending:
            errors["timeout"] = len(pending)
    lateness.sort()
    return {
        "elapsed": duration,
        "lat": lat,
        "errors": errors,
        "sent": i,
        "dropped": dropped,
        "sched_late_p99_ms": round(pct(lateness, 99) * 1000, 3),
        "sched_late_max_ms": round(lateness[-1] * 1000, 3) if lateness else 0,
    }


def command(
    mode: str,
    port: int,
    data: Path,
    clients: int,
    rate: float,
    duration: float,
    marker: str,
    antimarker: str,
) -> list[str]:
    """The command line that runs this client on the request file `data`."""
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--mode",
        mode,
        "--port",
        str(port),
        "--data",
        str(data),
        "--clients",
        str(clients),
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--marker",
        marker,
        "--antimarker",
        antimarker,
    ]


def client_main(argv: list[str]) -> None:
    """The Python load generator, run as its own process: prints one JSON object."""
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=("closed", "open"))
    p.add_argument("--port", type=int)
    p.add_argument("--data")
    p.add_argument(
        "--rounds", type=int, default=None, help="closed-loop rounds (default 3, --quick 1)"
    )
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--rate", type=float, default=0)
    p.add_argument("--duration", type=float)
    p.add_argument("--marker", default="")
    p.add_argument("--antimarker", default="")
    p.add_argument("--max-inflight", type=int, default=1000)
    a = p.parse_args(argv)
    lines = Path(a.data).read_text().splitlines()
    reqs = raw_requests(lines, a.port)
    m, am = a.marker.encode(), a.antimarker.encode()
    if a.mode == "closed":
        r = asyncio.run(_closed(a.port, reqs, a.clients, a.duration, m, am))
    else:
        r = asyncio.run(
            _open(a.port, reqs, a.rate, a.duration, m, am, a.max_inflight, seed=len(lines))
        )
    lat = sorted(r.pop("lat"))
    n = len(lat)
    out = {
        "requests": n,
        "sent": r["sent"],
        "rps": n / r["elapsed"],
        "mean_ms": (sum(lat) / n * 1000) if n else float("nan"),
        "p50_ms": pct(lat, 50) * 1000,
        "p90_ms": pct(lat, 90) * 1000,
        "p99_ms": pct(lat, 99) * 1000,
        "p999_ms": pct(lat, 99.9) * 1000,
        "max_ms": (lat[-1] * 1000) if lat else float("nan"),
        "errors": r["errors"],
        **{k: v for k, v in r.items() if k not in ("errors", "sent", "elapsed")},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    client_main(sys.argv[1:])
