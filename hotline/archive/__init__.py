"""History that lasts: finished calls and old events, moved out of Redis into SQL.

* `store.Archive`: the database (SQLite in the data dir, or PostgreSQL from
  HOTLINE_ARCHIVE_URL) and the reads reports use (`records_between`, `events_between`,
  `events_to_fold`, `contacts`, `calls_between`, `calls_from_number`, `oldest_live_ts`,
  `stats`);
* `mover.run`: one archive run (copy, verify, delete; then the packing of the event log's
  older part), from `hotline archive` or the daily timer (`daily.py`);
* `synthetic`: realistic calls and events written straight into Redis (benchmark, tests).

Never on the webhook path: only RQ jobs and the CLI open the database.
"""

from .store import Archive

__all__ = ["Archive"]
