"""Where the gunicorn workers' time goes (--profile): py-spy samplers during a closed-loop run.

Two samplers per worker: 'busy' (on CPU or blocked in a call such as a Redis read:
what bounds a sync worker's throughput) and 'cpu' (holding the GIL: Python CPU). Each
sample is put in a bucket by the first frame from the root whose file says what it is
(a socket read inside redis-py counts as Redis), else by its leaf. py-spy is not a
project dependency: `.venv/bin/pip install py-spy`.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

from wh_procs import die_with_parent

# Where a sample's time goes: the first frame from the root whose file is in one of these
# decides (so a socket read inside redis-py counts as Redis), else the leaf's file.
BUCKETS = (
    ("signature check", ("twilio/request_validator", "hmac")),
    ("TwiML building", ("twilio/twiml", "xml/etree")),
    ("RQ enqueue", ("rq/",)),
    ("Redis round trips (redis-py, socket wait)", ("redis/",)),
    ("form/query parsing", ("werkzeug/formparser", "werkzeug/sansio/multipart", "urllib/parse")),
    ("logging", ("logging/",)),
)
LEAF_BUCKETS = (
    ("hotline code", ("hotline/",)),
    ("gunicorn (accept, parse, write, close)", ("gunicorn/",)),
    ("flask/werkzeug", ("flask/", "werkzeug/")),
)


def _file_of(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"
    _, _, rest = frame.rpartition(" (")
    return rest.rsplit(":", 1)[0]


def _bucket(frames: list[str]) -> str:
    for fr in frames:
        f = _file_of(fr)
        for name, prefixes in BUCKETS:
            if f.startswith(prefixes):
                return name
    leaf = _file_of(frames[-1]) if frames else ""
    for name, prefixes in LEAF_BUCKETS:
        if leaf.startswith(prefixes):
            return name
    return "other (stdlib, interpreter)"


def start_profilers(tmp: Path, scenario: str, pids: list[int], duration: float) -> dict:
    """Two samplers per worker: 'busy' (on CPU or blocked in a call such as a Redis read:
    what bounds a sync worker's throughput) and 'cpu' (holding the GIL: Python CPU)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise SystemExit("--profile needs py-spy (pip install py-spy into the venv)")
    out: dict[str, list] = {"busy": [], "cpu": []}
    for kind, extra in (("busy", []), ("cpu", ["--gil"])):
        for pid in pids:
            f = tmp / f"profile-{scenario}-{kind}-{pid}.txt"
            p = subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(math.ceil(duration)),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    str(f),
                    "--nonblocking",
                    *extra,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
            out[kind].append((p, f))
    return out


def collect_profile(profilers: dict, top: int = 25) -> dict:
    return {kind: _collect(lst, top) for kind, lst in profilers.items()}


def _collect(profilers: list[tuple], top: int) -> dict:
    buckets: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    total = 0
    for p, f in profilers:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if not f.exists():
            continue
        for line in f.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if not stack or not n.isdigit():
                continue
            n = int(n)
            frames = [fr for fr in stack.split(";") if not fr.startswith(("process ", "thread "))]
            total += n
            b = _bucket(frames)
            buckets[b] = buckets.get(b, 0) + n
            for fr in set(frames):
                inclusive[fr] = inclusive.get(fr, 0) + n
            if frames:
                leaf[frames[-1]] = leaf.get(frames[-1], 0) + n

    def share(d, skip_common=False):
        items = sorted(d.items(), key=lambda kv: -kv[1])
        if skip_common:  # the frames every sample has (runpy, arbiter, worker loop) say nothing
            items = [kv for kv in items if kv[1] < 0.97 * total]
        return [(k, round(100 * v / total, 1)) for k, v in items[:top]] if total else []

    return {
        "samples": total,
        "buckets": share(buckets),
        "inclusive": share(inclusive, True),
        "self": share(leaf),
    }
