"""How the console writes times, durations and numbers for people."""

from __future__ import annotations

from datetime import datetime

from ..callcard import display_number

CATEGORIES = ("connection", "software", "error_message", "general")


def init(app, settings, clock) -> None:
    tz = settings.tz

    def clock_filter(ts, fmt: str = "%H:%M:%S") -> str:
        if not ts:
            return "—"
        return datetime.fromtimestamp(float(ts), tz).strftime(fmt)

    def duration(seconds) -> str:
        if seconds is None:
            return "—"
        s = max(0, int(float(seconds)))
        h, rest = divmod(s, 3600)
        m, r = divmod(rest, 60)
        return f"{h}:{m:02d}:{r:02d}" if h else f"{m}:{r:02d}"

    def phone(number) -> str:
        return display_number(number or "", settings.hotline_number) or "—"

    def category(cat) -> str:
        from .i18n import t

        return t("cat_" + cat) if cat in CATEGORIES else (cat or "—")

    def ivr_step(step) -> str:
        from .i18n import STRINGS, t

        return t("ivr_" + step) if "ivr_" + step in STRINGS else step

    def epoch(iso) -> float:
        """An ISO 8601 instant (as the JSON figures give them) as epoch seconds, for the
        browser's counters; 0 when there is none."""
        if not iso:
            return 0
        if isinstance(iso, int | float):
            return float(iso)
        return datetime.fromisoformat(iso).timestamp()

    app.jinja_env.filters.update(
        clock=clock_filter,
        duration=duration,
        phone=phone,
        epoch=epoch,
        category=category,
        ivr_step=ivr_step,
    )
    app.jinja_env.globals.update(server_now=lambda: f"{clock.now():.3f}")
