"""The demo's live terminal view (rich): what a supervisor's wallboard would show.

Read-only, from the store as any process could read it: the waiting lines
(`svc.waiting.snapshot()`), the agents (`svc.agents.list()`) and the figures so
far, computed from the event log like every report (reports.py). rich's Live
calls `render()` from its own thread a few times a second while the simulation
runs; nothing here changes anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .. import reports

if TYPE_CHECKING:
    from ..services import Services


STATE_STYLE = {
    "available": "green",
    "reserved": "yellow",
    "busy": "bold red",
    "wrapup": "magenta",
    "away": "cyan",
    "offline": "dim",
}


def _mmss(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    return f"{s // 60}:{s % 60:02d}"


class LiveView:
    def __init__(self, svc: Services, title: str, agent_ids: list[str], speed: float | None):
        self.svc = svc
        self.title = title
        self.agent_ids = agent_ids
        self.speed = speed

    def render(self):
        svc = self.svc
        now = svc.clock.now()
        when = datetime.fromtimestamp(now, svc.settings.tz).strftime("%a %d %b %Y %H:%M:%S %Z")
        pace = (
            f"simulated time, x{self.speed:g}"
            if self.speed
            else "simulated time, as fast as it goes"
        )
        head = Text.assemble((self.title, "bold"), "  ", (when, "cyan"), f"  ({pace})")

        lines = Table(title="Waiting", expand=True)
        lines.add_column("skill")
        lines.add_column("waiting", justify="right")
        lines.add_column("oldest wait", justify="right")
        for lv in svc.waiting.snapshot():
            style = "bold red" if (lv.oldest_wait_s or 0) > 180 else None
            lines.add_row(lv.skill, str(lv.waiting), _mmss(lv.oldest_wait_s), style=style)

        agents = Table(title="Agents", expand=True)
        agents.add_column("agent")
        agents.add_column("state")
        agents.add_column("for", justify="right")
        agents.add_column("shift")
        counts: dict[str, int] = {}
        for a in svc.agents.list():
            if a.id not in self.agent_ids:
                continue
            counts[a.state] = counts.get(a.state, 0) + 1
            state = a.state + (f" ({a.reason})" if a.reason and a.state == "away" else "")
            agents.add_row(
                a.id,
                Text(state, style=STATE_STYLE.get(a.state)),
                _mmss(now - a.since if a.since else None),
                "on call" if a.on_call else "on shift" if a.on_shift else "off",
            )
        by_state = "  ".join(f"{k}: {v}" for k, v in sorted(counts.items()))

        s = reports.summary_of(svc)
        figures = Table(title="So far", expand=True, show_header=False)
        figures.add_column("what")
        figures.add_column("", justify="right")
        sl = "-" if s["service_level"] is None else f"{s['service_level'] * 100:.0f} %"
        for label, value in (
            ("calls", s["calls"]),
            ("offered", s["offered"]),
            ("answered", s["answered"]),
            ("abandoned", s["abandoned"]),
            ("self-help", s["self_service_resolved"]),
            ("callbacks", f"{s['callbacks_requested']} asked, {s['callbacks_completed']} done"),
            ("missed offers", s["missed_offers"]),
            ("service level", sl),
            ("avg answer", _mmss(s["average_speed_of_answer_s"])),
            ("longest wait", _mmss(s["max_wait_s"])),
        ):
            figures.add_row(label, str(value))
        top = Table.grid(expand=True, padding=(0, 1))
        top.add_column(ratio=1)
        top.add_column(ratio=1)
        top.add_row(lines, figures)
        return Panel(
            Group(head, top, agents, Text(by_state, style="dim")),
            title="hotline demo",
            subtitle="service level: answered within 60 s",
        )
