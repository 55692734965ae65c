"""Wallboard TV tokens: a manager opens the wallboard on a screen with no session through a
URL carrying a revocable token.

Owns `tvtokens` (hash: token id -> JSON {digest, label, created_at, by}) and
`tvtokens:digest` (hash: SHA-256 of a token -> its id). Only the SHA-256 of a token is
stored: someone who reads Redis (or its AOF) cannot open the wallboard. The token has 192
random bits, so a plain SHA-256 is enough (no salt or slow hash needed, unlike passwords),
and checking one is one HEXISTS on the wallboard's every poll.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..services import Services

MAX_LABEL = 80


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TvTokens:
    def __init__(self, svc: Services):
        self.svc = svc
        self.r = svc.redis
        self.k = svc.keys

    def issue(self, by: str, label: str = "") -> str:
        """A new token (shown once, to put in the screen's URL); logs `tv_token_issued`."""
        label = " ".join((label or "").split())[:MAX_LABEL]
        token = secrets.token_urlsafe(24)
        token_id = secrets.token_hex(6)  # independent of the token: listing it reveals nothing
        now = self.svc.clock.now()
        d = digest(token)
        doc = json.dumps({"digest": d, "label": label, "created_at": now, "by": by})
        # nothing is read: one MULTI writes both hashes and the event together
        p = self.r.pipeline(transaction=True)
        p.hset(self.k.tv_tokens, token_id, doc)
        p.hset(self.k.tv_token_digests, d, token_id)
        self.svc.events.append(
            "tv_token_issued", pipeline=p, ts=now, token_id=token_id, label=label, by=by
        )
        p.execute()
        return token

    def valid(self, token: str | None) -> bool:
        if not token or len(token) > 128:
            return False
        return bool(self.r.hexists(self.k.tv_token_digests, digest(token)))

    def list(self) -> list[dict]:
        """Every live token, oldest first: id, label, created_at, by (never the token or its digest)."""
        out = []
        for token_id, doc in self.r.hgetall(self.k.tv_tokens).items():
            t = json.loads(doc)
            out.append(
                {"id": token_id, "label": t["label"], "created_at": t["created_at"], "by": t["by"]}
            )
        return sorted(out, key=lambda t: (t["created_at"], t["id"]))

    def revoke(self, token_id: str, by: str) -> bool:
        """End the token now; False when there is no such token (revoking twice is harmless)."""
        return bool(
            self.svc.scripts.tv_token_revoke(
                keys=[self.k.tv_tokens, self.k.tv_token_digests, self.k.events],
                args=[repr(self.svc.clock.now()), token_id, by],
            )
        )
