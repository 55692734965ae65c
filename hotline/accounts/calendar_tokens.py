"""Calendar-feed tokens: an agent's calendar app subscribes to their shifts through a URL
carrying a secret, revocable token (calendar apps cannot sign in).

Owns `caltokens` (hash: roster agent id -> JSON {digest, token_id, created_at, by}),
`caltokens:digest` (hash: SHA-256 of a token -> agent id) and `caltokens:seen` (hash:
agent id -> "roster version|first served at", the feed's LAST-MODIFIED). The design is
the wallboard TV tokens' (accounts/tokens.py): 192 random bits, only their SHA-256 stored,
so reading Redis or its AOF opens no one's calendar, and checking a token is one hash
lookup. An agent has at most one live token: issuing again replaces it (the old URL stops
working in the same step), revoking ends it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .tokens import digest

if TYPE_CHECKING:
    from ..services import Services

MAX_TOKEN = 128  # token_urlsafe(24) is 32 characters; anything much longer is not ours


@dataclass(frozen=True)
class CalendarToken:
    """What may be shown about an agent's live token: never the token or its digest."""

    agent_id: str
    token_id: str
    created_at: float
    by: str


class CalendarTokens:
    def __init__(self, svc: Services):
        self.svc = svc
        self.r = svc.redis
        self.k = svc.keys

    def issue(self, agent_id: str, by: str) -> str:
        """A new token for `agent_id` (shown once, to put in the calendar app), replacing
        theirs if they had one; logs `calendar_token_issued`. The caller checks that the
        agent exists."""
        token = secrets.token_urlsafe(24)
        token_id = secrets.token_hex(6)  # independent of the token: listing it reveals nothing
        self.svc.scripts.calendar_token_issue(
            keys=[self.k.calendar_tokens, self.k.calendar_token_digests, self.k.events],
            args=[repr(self.svc.clock.now()), agent_id, digest(token), token_id, by],
        )
        return token

    def revoke(self, agent_id: str, by: str) -> bool:
        """End `agent_id`'s token now; False when they had none (revoking twice is harmless)."""
        return bool(
            self.svc.scripts.calendar_token_revoke(
                keys=[self.k.calendar_tokens, self.k.calendar_token_digests, self.k.events],
                args=[repr(self.svc.clock.now()), agent_id, by],
            )
        )

    def get(self, agent_id: str) -> CalendarToken | None:
        doc = self.r.hget(self.k.calendar_tokens, agent_id)
        return _token(agent_id, doc) if doc else None

    def list(self) -> dict[str, CalendarToken]:
        """Every live token, by agent id."""
        return {a: _token(a, doc) for a, doc in self.r.hgetall(self.k.calendar_tokens).items()}

    def open(self, token: str | None, roster_version: int) -> tuple[str, float] | None:
        """The agent whose feed `token` opens, and since when their feed shows roster version
        `roster_version` (first time it was served: its LAST-MODIFIED); None for an unknown or
        revoked token."""
        if not token or len(token) > MAX_TOKEN:
            return None
        hit = self.svc.scripts.calendar_feed(
            keys=[self.k.calendar_token_digests, self.k.calendar_seen],
            args=[repr(self.svc.clock.now()), digest(token), str(roster_version)],
        )
        if not hit:
            return None
        agent_id, since = hit
        return agent_id, float(since)


def _token(agent_id: str, doc: str) -> CalendarToken:
    t = json.loads(doc)
    return CalendarToken(agent_id, t["token_id"], float(t["created_at"]), t["by"])
