"""Incident drills: a day (or a thousand hours) of the hotline, simulated through the real
queue and routing code on a private Redis under a manual clock.

`scenario.py` reads the scenario file; `arrivals.py` draws the callers; `sim.py` plays one
replication (the discrete-event loop over the domain's entry points); `record.py` reads
what happened from the event log; `stats.py` turns replications into rates with 95 %
intervals; `report.py` prints and plots them; `run.py` ties them together. The CLI is
`hotline drill` (hotline/cli/drill.py); the format and the validation against Erlang C/A
are in docs/wfm.md ("Drills").
"""

from .run import run
from .scenario import Scenario, ScenarioInvalid, load

__all__ = ["Scenario", "ScenarioInvalid", "load", "run"]
