"""Users of the web console: email, role, an optional roster agent, an Argon2id password.

Owns two key families (store/keys.py, section "accounts/"):
* `user:{email}` (hash): email, role, name, agent_id, disabled (0/1), generation,
  created_at, updated_at, password_hash;
* `users` (set): every user's email.

Every change is one Lua run (`user_create.lua`, `user_update.lua`) with its event, so two
creates of one email cannot both succeed and a repeated disable logs once. Argon2 runs in
Python before the script (it is the slow part: ~50 ms and 64 MiB by design).

`generation` starts at 1 and is bumped by a password reset or a disable: the console keeps
the generation in the session and refuses a session whose generation is no longer the
user's, which ends every session of that user at once, on every web process.

A password or its hash is never logged, never in an event, never in a `User`.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import HotlineError

if TYPE_CHECKING:
    from ..services import Services

# Ordered by what they may do: a manager may do all a supervisor may, who may do all an agent may.
ROLES = ("agent", "supervisor", "manager")
MIN_PASSWORD = 10
MAX_EMAIL = 254  # RFC 5321's limit on a path; longer is a paste gone wrong


class UserError(HotlineError):
    """A refused account operation (unknown user, duplicate, bad role, email or agent id)."""


class PasswordTooShort(UserError):
    """The password has fewer than MIN_PASSWORD characters."""


def role_at_least(role: str, needed: str) -> bool:
    """Whether `role` may do what `needed` may. An unknown role may do nothing; an unknown
    `needed` is a programming error (a typo in a decorator must not open a route)."""
    if needed not in ROLES:
        raise ValueError(f"unknown role {needed!r}: one of {', '.join(ROLES)}")
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_email(email: str) -> str:
    """The normalised email, or UserError. Loose on purpose: one @, something before it,
    a dot inside the domain, no spaces. Whether mail arrives is not ours to decide."""
    e = normalise_email(email)
    local, at, domain = e.partition("@")
    if (
        not at
        or not local
        or "@" in domain
        or "." not in domain.strip(".")
        or domain.startswith(".")
        or domain.endswith(".")
        or any(c.isspace() for c in e)
        or len(e) > MAX_EMAIL
    ):
        raise UserError(f"{email.strip()!r} is not an email address (name@domain.tld)")
    return e


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise PasswordTooShort(
            f"the password has {len(password or '')} characters: at least {MIN_PASSWORD} are needed"
        )


@dataclass(frozen=True)
class User:
    email: str
    role: str
    name: str | None
    agent_id: str | None
    disabled: bool
    generation: int
    created_at: float

    @classmethod
    def from_hash(cls, h: dict) -> User:
        return cls(
            email=h["email"],
            role=h["role"],
            name=h.get("name") or None,
            agent_id=h.get("agent_id") or None,
            disabled=h.get("disabled") == "1",
            generation=int(h.get("generation") or 0),
            created_at=float(h.get("created_at") or 0),
        )

    def to_json(self) -> dict:
        d = asdict(self)
        d["created_at"] = datetime.fromtimestamp(self.created_at, UTC).isoformat(timespec="seconds")
        return d


def _pairs(flat: list) -> dict:
    return dict(zip(flat[::2], flat[1::2]))


class UserStore:
    def __init__(self, svc: Services, hasher: PasswordHasher | None = None):
        self.svc = svc
        self.r = svc.redis
        self.k = svc.keys
        # argon2-cffi's defaults are Argon2id (RFC 9106's low-memory profile); a stored hash
        # made with other parameters is rehashed at the next successful sign-in.
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    # reading -------------------------------------------------------------
    def get(self, email: str) -> User | None:
        h = self.r.hgetall(self.k.user(normalise_email(email)))
        return User.from_hash(h) if h else None

    def list(self) -> list[User]:
        emails = sorted(self.r.smembers(self.k.users))
        p = self.r.pipeline(transaction=False)
        for e in emails:
            p.hgetall(self.k.user(e))
        return [User.from_hash(h) for h in p.execute() if h]

    # checks --------------------------------------------------------------
    def check_new(self, email: str, *, role: str, agent_id: str | None = None) -> str:
        """Everything `create` refuses except the password, before anyone types one: the
        normalised email, or UserError."""
        e = validate_email(email)
        if role not in ROLES:
            raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
        agent_id = (agent_id or "").strip() or None
        if role == "agent" and not agent_id:
            raise UserError("an agent account needs the roster agent id it belongs to (--agent)")
        if agent_id:
            self._roster_version_with(agent_id)
        if self.r.exists(self.k.user(e)):
            raise UserError(f"a user {e!r} already exists")
        return e

    def _roster_version_with(self, agent_id: str) -> int:
        """The roster version in which `agent_id` is an agent, or UserError."""
        version = self.svc.roster.version()
        roster = self.svc.roster.load()
        if roster is None:
            raise UserError(
                f"no roster stored, so no agent {agent_id!r}: import one first (hotline roster import FILE)"
            )
        if agent_id not in {a.id for a in roster.agents}:
            raise UserError(f"no agent {agent_id!r} in the roster")
        return version

    # writing -------------------------------------------------------------
    def create(
        self,
        email: str,
        *,
        role: str,
        password: str,
        name: str | None = None,
        agent_id: str | None = None,
        by: str,
    ) -> User:
        e = self.check_new(email, role=role, agent_id=agent_id)
        agent_id = (agent_id or "").strip() or None
        check_password(password)
        digest = self.hasher.hash(password)
        for _ in range(5):
            version = self._roster_version_with(agent_id) if agent_id else None
            res = self.svc.scripts.user_create(
                keys=[self.k.user(e), self.k.users, self.k.roster, self.k.events],
                args=[
                    repr(self.svc.clock.now()),
                    e,
                    role,
                    " ".join((name or "").split()),
                    agent_id or "",
                    digest,
                    by,
                    "" if version is None else str(version),
                ],
            )
            if res[0] == "exists":
                raise UserError(f"a user {e!r} already exists")
            if res[0] == "ok":
                return User.from_hash(_pairs(res[1:]))
            # roster_changed: checked against a roster replaced meanwhile; check the new one
        raise UserError("the roster keeps changing: try again")

    def _update(self, email: str, mode: str, by: str, *args: str) -> tuple[str, User]:
        e = normalise_email(email)
        res = self.svc.scripts.user_update(
            keys=[
                self.k.user(e),
                self.k.events,
                self.k.calendar_tokens,
                self.k.calendar_token_digests,
            ],
            args=[repr(self.svc.clock.now()), mode, by, *args],
        )
        if res[0] == "unknown":
            raise UserError(f"no user {e!r}")
        return res[0], User.from_hash(_pairs(res[1:]))

    def disable(self, email: str, *, by: str) -> User:
        """Disable the account, end its sessions and revoke its agent's calendar-feed token;
        disabling again changes nothing."""
        return self._update(email, "disable", by)[1]

    def reset_password(self, email: str, password: str, *, by: str) -> User:
        """A new password; every existing session of the user ends (generation bumped)."""
        if self.get(email) is None:  # refuse before paying for the hash
            raise UserError(f"no user {normalise_email(email)!r}")
        check_password(password)
        return self._update(email, "reset", by, self.hasher.hash(password))[1]

    # signing in ------------------------------------------------------------
    def authenticate(self, email: str, password: str) -> User | None:
        """The user if the password is theirs and the account enabled, else None."""
        return self.authenticate_reason(email, password)[0]

    def authenticate_reason(self, email: str, password: str) -> tuple[User | None, str | None]:
        """(user, None) on success, else (None, reason) with reason unknown | disabled |
        wrong_password: what `signin_limit.failed` logs. The Argon2 work is done for an
        unknown or disabled account too, so the answer's timing does not say which it was."""
        e = normalise_email(email)
        h = self.r.hgetall(self.k.user(e)) if e else {}
        stored = h.get("password_hash") or self._dummy()
        try:
            self.hasher.verify(stored, password or "")
            ok = True
        except (VerificationError, InvalidHashError):
            ok = False
        if not h:
            return None, "unknown"
        if not ok:
            return None, "wrong_password"
        if h.get("disabled") == "1":
            return None, "disabled"
        if self.hasher.check_needs_rehash(stored):
            self._update(e, "rehash", "signin", self.hasher.hash(password), stored)
        return User.from_hash(h), None

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash
