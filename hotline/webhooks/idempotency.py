"""Webhook retries by Twilio: the same request, with the same I-Twilio-Idempotency-Token.

Twilio retries a webhook whose delivery failed or timed out when the URL asks it to
(its connection overrides, `#rc=...`), and every delivery of one webhook event carries
the same `I-Twilio-Idempotency-Token` header. The first delivery claims the token; a
later one is answered with the TwiML the first delivery produced, without running the
handler again. While the first is still running, a retry runs the handler, whose own
guards (the call's state and turn) make it change nothing.

The header is not covered by the signature, so this protects against Twilio's own
retries only: a captured request replayed with the header removed or altered still has
to meet the handlers' state guards (tests/test_replays.py).

Owns `idem:{token}` (string, TTL: '' while the first delivery runs, then its answer).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..services import Services


HEADER = "I-Twilio-Idempotency-Token"
TTL_S = 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_.:\-]{8,128}$")


def token_of(headers) -> str | None:
    token = (headers.get(HEADER) or "").strip()
    return token if TOKEN_RE.match(token) else None


def claim(svc: Services, token: str) -> str | None:
    """None: this delivery is the first, handle it. A string: the first delivery's answer
    ('' when it has not answered yet)."""
    return svc.scripts.idempotency(keys=[svc.keys.idempotency(token)], args=["claim", TTL_S])


def store(svc: Services, token: str, body: str) -> None:
    svc.scripts.idempotency(keys=[svc.keys.idempotency(token)], args=["store", TTL_S, body])
