"""The roster: who works when, with which skills -- as a document, and in Redis.

* `model` -- the document: agents, skills, weekly shifts, one-off shifts, leave, swaps,
  public holidays (plain dataclasses);
* `yamllines` + `validate` -- reading a file (docs/roster-format.md) with every problem
  reported as `file:line: reason`, nothing accepted when anything is wrong;
* `dump` -- writing it back (YAML, or the JSON kept in Redis);
* `schedule` -- who is on at an instant, coverage and gaps, the next cover for a skill,
  shift boundaries: the document turned into real UTC instants (pure functions);
* `store` -- the roster in Redis (`roster`) and the `onshift` / `oncall` sets.

The console's roster editor, the CLI (`hotline roster`) and routing read and change the
roster through this package only. It imports nothing of routing but the agent profile
sync that an import triggers (through the services object).
"""

from .dump import dump, to_data
from .model import DAYS, AgentSpec, ExtraShift, HolidayRule, Leave, Problem, Roster, Shift, Swap
from .validate import from_data, load_text, parse_days

__all__ = [
    "DAYS",
    "AgentSpec",
    "ExtraShift",
    "HolidayRule",
    "Leave",
    "Problem",
    "Roster",
    "Shift",
    "Swap",
    "dump",
    "from_data",
    "load_text",
    "parse_days",
    "to_data",
]
