"""Sign-in, sign-out and who may see what.

A session holds the user's email and their account's `generation`: resetting a password
or disabling the account bumps it (accounts/users.py), so every session opened before
stops being recognised on its next request. Failed sign-ins are counted in Redis
(accounts/signin_limit.py), per account and per client address, for every web process.
"""

from __future__ import annotations

import math
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from ..accounts.users import User, role_at_least
from .i18n import t

bp = Blueprint("auth", __name__, url_prefix="/console")


def svc():
    return current_app.extensions["hotline"]


class SessionUser(UserMixin):
    """Flask-Login's view of an account; `get_id` carries the generation."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.generation}:{self.user.email}"

    def __getattr__(self, name):
        return getattr(self.user, name)

    @property
    def by(self) -> str:
        """What events record as `by`."""
        return self.user.email


def init(app) -> None:
    lm = LoginManager(app)
    lm.login_view = "auth.login"
    lm.login_message = None  # the login page says why on its own

    lm.user_loader(load_user)


def load_user(user_id: str | None) -> SessionUser | None:
    """The session's user, if their account still stands as it was when they signed in."""
    gen, _, email = (user_id or "").partition(":")
    user = svc().users.get(email) if email else None
    if user is None or user.disabled or str(user.generation) != gen:
        return None
    return SessionUser(user)


def requires(role: str):
    """The signed-in user must hold `role` or more (agent < supervisor < manager): an
    anonymous request goes to the login page, a smaller role gets 403."""

    def deco(view):
        @wraps(view)
        def inner(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not role_at_least(current_user.role, role):
                abort(403)
            return view(*args, **kwargs)

        return inner

    return deco


def client_addr() -> str:
    # Behind a reverse proxy, run gunicorn with --forwarded-allow-ips so that
    # remote_addr is the client's (docs/console.md, "Deployment").
    return request.remote_addr or "-"


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return None
    return target


def landing_for(user) -> str:
    if role_at_least(user.role, "supervisor"):
        return url_for("wallboard.page")
    return url_for("agent.page")


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(landing_for(current_user))


@bp.route("/login", methods=["GET", "POST"])
def login():
    s = svc()
    error = None
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        addr = client_addr()
        wait = s.signin_limit.retry_after(email, addr)
        if wait <= 0:
            user, reason = s.users.authenticate_reason(email, password)
            if user is not None:
                s.signin_limit.succeeded(email, addr)
                session.clear()
                session.permanent = True
                login_user(SessionUser(user))
                s.events.append("signed_in", email=user.email, role=user.role, addr=addr)
                return redirect(_safe_next(request.args.get("next")) or landing_for(user))
            wait = s.signin_limit.failed(email, addr, reason or "unknown")
            error = t("login_failed")
        if wait > 0:
            error = t("login_limited", minutes=max(1, math.ceil(wait / 60)))
        return render_template("login.html", error=error, email=email), 401
    if current_user.is_authenticated:
        return redirect(landing_for(current_user))
    return render_template("login.html", error=None, email=email)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        svc().events.append("signed_out", email=current_user.email, by=current_user.email)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
