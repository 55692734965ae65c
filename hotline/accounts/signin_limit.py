"""Failed sign-ins limited per account and per client address, in Redis.

Owns `signin:account:{email}` and `signin:addr:{addr}` (lists, TTL): the latest failure
times of each, counted by `signin_limit.lua` (the rule and its arithmetic are there). The
console runs in several gunicorn processes: a limit kept in one process's memory would
multiply by the number of workers, so it lives in Redis and every check is one script run.

Settings: HOTLINE_SIGNIN_MAX_FAILURES (5) failures per HOTLINE_SIGNIN_WINDOW_S (900 s).
Failures are counted on the clock's time (tests move a ManualClock through the window).

The console's order: `retry_after` first (refuse, saying when, without checking the
password), then `users.authenticate`, then `failed` or `succeeded`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .users import normalise_email

if TYPE_CHECKING:
    from ..services import Services

REASONS = ("unknown", "wrong_password", "disabled")
MAX_SUBJECT = 256  # an email or an address longer than this is cut: keys stay small


def _subject(text: str) -> str:
    return (text or "")[:MAX_SUBJECT]


class SigninLimiter:
    def __init__(self, svc: Services):
        self.svc = svc
        self.k = svc.keys

    def _keys(self, email: str, addr: str) -> list[str]:
        return [
            self.k.signin_failures("account", _subject(normalise_email(email))),
            self.k.signin_failures("addr", _subject(addr)),
            self.k.events,
        ]

    def _run(self, mode: str, email: str, addr: str, *extra: str) -> float:
        s = self.svc.settings
        return float(
            self.svc.scripts.signin_limit(
                keys=self._keys(email, addr),
                args=[
                    mode,
                    repr(self.svc.clock.now()),
                    repr(float(s.signin_window_s)),
                    str(s.signin_max_failures),
                    *extra,
                ],
            )
        )

    def retry_after(self, email: str, addr: str) -> float:
        """Seconds until a sign-in for `email` from `addr` may be tried; 0.0 when it may be now."""
        return self._run("check", email, addr)

    def failed(self, email: str, addr: str, reason: str) -> float:
        """Record one failed sign-in (and its `signin_failed` event, plus `signin_limited`
        when this failure reaches the limit); returns retry_after as it is now."""
        if reason not in REASONS:
            raise ValueError(
                f"sign-in failure reason {reason!r} is not one of {', '.join(REASONS)}"
            )
        return self._run(
            "fail", email, addr, _subject(normalise_email(email)), _subject(addr), reason
        )

    def succeeded(self, email: str, addr: str) -> None:
        """A good sign-in clears the account's failures, not the address's: one person signing
        in from a shared address must not reset an attacker's count there."""
        self.svc.redis.delete(self.k.signin_failures("account", _subject(normalise_email(email))))
