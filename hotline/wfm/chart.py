"""The interval report as a chart: SVG text, drawn on the server (no chart framework, no
JavaScript), for the console's reports page. No Flask: the words come in as arguments.

Calls offered are bars, one per interval; the service level is a line over them against
the target (a dashed line), on its own 0-100 % axis. An interval where nothing was offered
has no service level (None in the report, never 0): its bar is empty and the line breaks
there rather than dropping to zero. Every interval is one `<g class="interval">` whose
`<title>` says its figures (a tooltip, and what a screen reader reads); the whole chart
is `role="img"` with a `<title>` and a `<desc>`. Built with ElementTree, so every label is
escaped.

Across skills the service level of an interval is the report's own definition on the
summed counts: answered within the threshold ÷ (offered − short abandons).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .report import interval_starts

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH, HEIGHT = 960.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 52.0, 52.0, 14.0, 50.0
BAR, LINE, TARGET, GRID, INK = "#8fb3d9", "#b3261e", "#1b5e20", "#d8d8d8", "#333333"


@dataclass(frozen=True)
class Point:
    """One interval of the report, every skill of it summed."""

    start_local: str  # ISO 8601 with the offset, as the report gives it
    offered: int
    answered_within: int
    short_abandoned: int

    @property
    def service_level(self) -> float | None:
        base = self.offered - self.short_abandoned
        return round(self.answered_within / base, 4) if base else None

    @property
    def start(self) -> datetime:
        return datetime.fromisoformat(self.start_local)


def series(rep: dict) -> list[Point]:
    """One point per interval of `rep` (a `wfm.report.report()` result), skills summed."""
    skills = list(rep["skills"].values())
    if skills:
        starts = [i["start_local"] for i in skills[0]["intervals"]]
    else:  # nothing in the period: the intervals still are, as report() makes them
        p = rep["period"]
        tz = ZoneInfo(p["tz"])
        ts = interval_starts(_epoch(p["start_utc"]), _epoch(p["end_utc"]), tz, p["interval_min"])
        starts = [datetime.fromtimestamp(t, tz).isoformat(timespec="seconds") for t in ts]
    out = []
    for i, start in enumerate(starts):
        rows = [s["intervals"][i] for s in skills]
        out.append(
            Point(
                start_local=start,
                offered=sum(r["offered"] for r in rows),
                answered_within=sum(r["answered_within_threshold"] for r in rows),
                short_abandoned=sum(r["short_abandoned"] for r in rows),
            )
        )
    return out


def _epoch(iso_utc: str) -> float:
    return datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).timestamp()


def _nice_max(v: int) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above v (at least 1): the calls axis's top."""
    if v <= 1:
        return 1
    k = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 5, 10):
        if m * k >= v:
            return m * k
    return 10 * k


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def sl_chart(
    points: list[Point],
    *,
    target: float | None,
    title: str,
    desc: str,
    calls_label: str,
    sl_label: str,
    target_label: str,
    tick: Callable[[datetime], str | None],
    tip: Callable[[Point], str],
    id_prefix: str = "report-chart",
) -> str:
    """The chart as SVG text (an `<svg>` element, to inline in a page or serve alone).

    `tick(start)` gives the x-axis label of an interval starting then, or None for none;
    `tip(point)` the text of an interval's tooltip."""
    n = max(1, len(points))
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bw = pw / n
    top_calls = _nice_max(max((p.offered for p in points), default=0))
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {_f(WIDTH)} {_f(HEIGHT)}",
            "role": "img",
            "aria-labelledby": f"{id_prefix}-title {id_prefix}-desc",
            "class": "report-chart",
            "font-family": "sans-serif",
            "font-size": "11",
        },
    )
    ET.SubElement(svg, "title", {"id": f"{id_prefix}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{id_prefix}-desc"}).text = desc

    def y_sl(v: float) -> float:
        return TOP + ph * (1 - v)

    def y_calls(v: float) -> float:
        return TOP + ph * (1 - v / top_calls)

    grid = ET.SubElement(svg, "g", {"class": "grid", "stroke": GRID, "stroke-width": "1"})
    for frac in (0, 0.25, 0.5, 0.75, 1):
        y = _f(TOP + ph * (1 - frac))
        ET.SubElement(grid, "line", {"x1": _f(LEFT), "x2": _f(LEFT + pw), "y1": y, "y2": y})
    axes = ET.SubElement(svg, "g", {"class": "axes", "fill": INK})
    for frac in (0, 0.5, 1):
        y = _f(TOP + ph * (1 - frac) + 4)
        ET.SubElement(axes, "text", {"x": _f(LEFT - 6), "y": y, "text-anchor": "end"}).text = _f(
            top_calls * frac
        )
        ET.SubElement(axes, "text", {"x": _f(LEFT + pw + 6), "y": y}).text = f"{frac:.0%}"

    bars = ET.SubElement(svg, "g", {"class": "intervals"})
    for i, p in enumerate(points):
        x = LEFT + i * bw
        g = ET.SubElement(
            bars,
            "g",
            {
                "class": "interval",
                "data-start": p.start_local,
                "data-offered": str(p.offered),
                "data-sl": "" if p.service_level is None else repr(p.service_level),
            },
        )
        ET.SubElement(g, "title").text = tip(p)
        h = ph - (y_calls(p.offered) - TOP)
        ET.SubElement(
            g,
            "rect",
            {
                "class": "bar",
                "x": _f(x + bw * 0.1),
                "y": _f(TOP + ph - h),
                "width": _f(max(bw * 0.8, 0.5)),
                "height": _f(h),
                "fill": BAR,
            },
        )
        if p.service_level is not None:
            ET.SubElement(
                g,
                "circle",
                {
                    "class": "sl-point",
                    "cx": _f(x + bw / 2),
                    "cy": _f(y_sl(p.service_level)),
                    "r": _f(min(3.0, max(1.2, bw / 3))),
                    "fill": LINE,
                },
            )
        label = tick(p.start)
        if label:
            ET.SubElement(
                axes,
                "text",
                {"x": _f(x), "y": _f(TOP + ph + 16), "text-anchor": "middle"},
            ).text = label

    # The line, broken where an interval has no service level.
    runs, run = [], []
    for i, p in enumerate(points):
        if p.service_level is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(f"{_f(LEFT + i * bw + bw / 2)},{_f(y_sl(p.service_level))}")
    if run:
        runs.append(run)
    for r in runs:
        ET.SubElement(
            svg,
            "polyline",
            {
                "class": "sl-line",
                "points": " ".join(r),
                "fill": "none",
                "stroke": LINE,
                "stroke-width": "2",
            },
        )
    if target is not None:
        y = _f(y_sl(target))
        ET.SubElement(
            svg,
            "line",
            {
                "class": "target",
                "x1": _f(LEFT),
                "x2": _f(LEFT + pw),
                "y1": y,
                "y2": y,
                "stroke": TARGET,
                "stroke-width": "1.5",
                "stroke-dasharray": "6 4",
            },
        )

    legend = ET.SubElement(svg, "g", {"class": "legend", "fill": INK})
    ly = HEIGHT - 10
    ET.SubElement(
        legend, "rect", {"x": _f(LEFT), "y": _f(ly - 9), "width": "12", "height": "10", "fill": BAR}
    )
    ET.SubElement(legend, "text", {"x": _f(LEFT + 16), "y": _f(ly)}).text = calls_label
    lx = LEFT + 220
    ET.SubElement(
        legend,
        "line",
        {
            "x1": _f(lx),
            "x2": _f(lx + 16),
            "y1": _f(ly - 4),
            "y2": _f(ly - 4),
            "stroke": LINE,
            "stroke-width": "2",
        },
    )
    ET.SubElement(legend, "text", {"x": _f(lx + 20), "y": _f(ly)}).text = sl_label
    if target is not None:
        tx = LEFT + 480
        ET.SubElement(
            legend,
            "line",
            {
                "x1": _f(tx),
                "x2": _f(tx + 16),
                "y1": _f(ly - 4),
                "y2": _f(ly - 4),
                "stroke": TARGET,
                "stroke-width": "1.5",
                "stroke-dasharray": "6 4",
            },
        )
        ET.SubElement(legend, "text", {"x": _f(tx + 20), "y": _f(ly)}).text = target_label
    return ET.tostring(svg, encoding="unicode")


__all__ = ["Point", "series", "sl_chart"]
