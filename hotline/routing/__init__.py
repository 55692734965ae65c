"""Who may take which call, and when.

* `roster` — the roster document (agents, skills, weekly shifts, exceptions) and
  its validation; `schedule` — pure functions over a roster (who is on shift at an
  instant, weekly coverage and gaps, next cover, shift boundaries);
  `roster_store` — the roster in Redis and the `onshift` / `oncall` sets.
* `agents`, `matcher`, `overflow` — the agents' state machine and the routing
  engine, which read the roster through `roster_store`.
"""
