"""The managers' pages: accounts (as `hotline users`), the wallboard's TV links and the
agents' calendar links (issue, reissue, revoke: shifts.py does the work)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.users import ROLES, UserError
from ..errors import HotlineError
from . import shifts
from .auth import requires, svc
from .i18n import t

bp = Blueprint("admin", __name__, url_prefix="/console")


def _page(errors: dict | None = None, form: dict | None = None, status: int = 200):
    s = svc()
    return (
        render_template(
            "users.html",
            users=s.users.list(),
            roles=ROLES,
            agents=sorted(a.id for a in s.agents.list()),
            tokens=s.tv_tokens.list(),
            roster_agents=_roster_agents(),
            calendar_tokens=shifts.tokens().list(),
            errors=errors or {},
            form=form or {},
        ),
        status,
    )


def _roster_agents() -> list[tuple[str, str]]:
    """(id, name) of every roster agent, for their calendar links."""
    roster = svc().roster.load()
    return sorted((a.id, a.name) for a in roster.agents) if roster else []


@bp.get("/users")
@requires("manager")
def users():
    return _page()


@bp.post("/users")
@requires("manager")
def create_user():
    f = {k: (request.form.get(k) or "").strip() for k in ("email", "role", "name", "agent_id")}
    password = request.form.get("password") or ""
    try:
        u = svc().users.create(
            f["email"],
            role=f["role"],
            password=password,
            name=f["name"] or None,
            agent_id=f["agent_id"] or None,
            by=current_user.by,
        )
    except UserError as e:
        return _page(errors={_field_of(e): str(e)}, form=f, status=400)
    flash(t("user_created", email=u.email), "ok")
    return redirect(url_for("admin.users"))


def _field_of(e: Exception) -> str:
    """Which form field an account error belongs beside."""
    text = str(e).lower()
    for field, words in (
        ("password", ("password",)),
        ("agent_id", ("agent",)),
        ("role", ("role",)),
        ("email", ("email", "user", "account")),
    ):
        if any(w in text for w in words):
            return field
    return "email"


@bp.post("/users/<email>/disable")
@requires("manager")
def disable_user(email: str):
    try:
        svc().users.disable(email, by=current_user.by)
        flash(t("user_disabled", email=email), "ok")
    except HotlineError as e:
        flash(str(e), "error")
    return redirect(url_for("admin.users"))


@bp.post("/users/<email>/password")
@requires("manager")
def reset_password(email: str):
    try:
        svc().users.reset_password(email, request.form.get("password") or "", by=current_user.by)
        flash(t("password_reset", email=email), "ok")
    except HotlineError as e:
        flash(str(e), "error")
    return redirect(url_for("admin.users"))


@bp.post("/tv-tokens")
@requires("manager")
def issue_tv_token():
    token = svc().tv_tokens.issue(current_user.by, label=(request.form.get("label") or "").strip())
    flash(t("tv_issued", url=url_for("wallboard.tv", token=token, _external=True)), "ok")
    return redirect(url_for("admin.users"))


@bp.post("/tv-tokens/<token_id>/revoke")
@requires("manager")
def revoke_tv_token(token_id: str):
    try:
        svc().tv_tokens.revoke(token_id, by=current_user.by)
        flash(t("tv_revoked"), "ok")
    except HotlineError as e:
        flash(str(e), "error")
    return redirect(url_for("admin.users"))


@bp.post("/calendar-tokens/<agent_id>")
@requires("manager")
def issue_calendar_token(agent_id: str):
    """Issue an agent's calendar link, or reissue it: the old URL stops working."""
    shifts.issue_for(agent_id)
    return redirect(url_for("admin.users"))


@bp.post("/calendar-tokens/<agent_id>/revoke")
@requires("manager")
def revoke_calendar_token(agent_id: str):
    shifts.revoke_for(agent_id)
    return redirect(url_for("admin.users"))
