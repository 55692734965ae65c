"""What every part of benchmarks/webhooks.py shares: addresses, the account, small statistics.

Standard library only: the Python load generator (wh_client.py, its own process)
imports it too, and must stay light.
"""

from __future__ import annotations

import math
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

HOST = "127.0.0.1"
ACCOUNT_SID = "AC" + "5e" * 16
HOTLINE_NUMBER = "+33100000000"
FORM = "application/x-www-form-urlencoded"
INCOMING_PATH = "/webhooks/voice/incoming"
BARE_PATH = "/webhooks/bare"
BARE_REDIS_PATH = "/webhooks/bare-redis"


def log(*a) -> None:
    """Progress, on stderr: stdout is for the report (and the JSON line)."""
    print(*a, file=sys.stderr, flush=True)


def pct(sorted_xs: list[float], p: float) -> float:
    if not sorted_xs:
        return float("nan")
    k = min(len(sorted_xs) - 1, max(0, math.ceil(p / 100 * len(sorted_xs)) - 1))
    return sorted_xs[k]


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return (xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2) if n else float("nan")


def fmt(x, nd=1):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def cpu_model() -> str:
    return next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
