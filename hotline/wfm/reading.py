"""What the interval report needs, read through hotline/history.py (report.py stays pure).

`period_report(svc, start_ts, end_ts, ...)` is `hotline report`'s whole reading and
computing, for any front that shows a report (the CLI, a console page):

* the period's calls: `history.iter_calls` -- one archived row per call for the days in
  the archive, the events folded for the days still in Redis;
* for first-contact resolution, the calls that followed within FCR_WINDOW_S (7 days): only
  from the numbers whose calls the period resolved remotely, and only that a call reached
  the IVR (`history.contacts`: the archive's (number, created_at) index and the live log's
  `call_created`), not those days' calls folded in full;
* occupancy: the `agent_state` events from a day before the period (the state at its
  start) to its end, chosen by type in SQL for the archive's part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import history
from ..reports import SERVICE_LEVEL_S
from .report import FCR_WINDOW_S, RESOLVED_REMOTELY, report

if TYPE_CHECKING:
    from ..services import Services

# The state an agent is in at the start of the period: its last change before it. A day's
# logins begin in the morning; an agent without any change in this long (and none in the
# period) is left out of occupancy.
AGENT_LOOKBACK_S = 86400.0


def report_inputs(svc: Services, start_ts: float, end_ts: float) -> tuple[list[dict], list[dict]]:
    """(calls, agent_events) as `report()` takes them for [start_ts, end_ts)."""
    calls = list(history.iter_calls(svc, start_ts, end_ts))
    followed = {
        c["number"] for c in calls if c.get("disposition") == RESOLVED_REMOTELY and c.get("number")
    }
    # A call created in the last hour of the period may be offered after it: not one of the
    # period's calls, yet a later contact of its number.
    calls += history.contacts(
        svc, end_ts - history.CALL_LOOKBACK_S, end_ts + FCR_WINDOW_S, followed
    )
    agent_events = list(
        history.iter_events(svc, start_ts - AGENT_LOOKBACK_S, end_ts, types={"agent_state"})
    )
    return calls, agent_events


def period_report(
    svc: Services,
    start_ts: float,
    end_ts: float,
    *,
    interval_min: int = 60,
    skill: str | None = None,
) -> dict:
    """The report of [start_ts, end_ts) in HOTLINE_TIMEZONE (docs/wfm.md "Reports")."""
    calls, agent_events = report_inputs(svc, start_ts, end_ts)
    return report(
        calls,
        agent_events,
        start_ts=start_ts,
        end_ts=end_ts,
        tz=svc.settings.tz,
        interval_min=interval_min,
        skill=skill,
        threshold_s=SERVICE_LEVEL_S,
        now=svc.clock.now(),
    )


__all__ = ["AGENT_LOOKBACK_S", "period_report", "report_inputs"]
