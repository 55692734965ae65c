"""The supervisors' pages: the live wallboard (and its TV mode), its JSON, the queue, an
agent's state set by a supervisor, the incident announcement set by a manager."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from ..accounts.users import role_at_least
from ..errors import HotlineError
from ..routing.away_reasons import away_reasons
from . import live
from .auth import load_user, requires, svc
from .i18n import lang, t

bp = Blueprint("wallboard", __name__, url_prefix="/console")


def board() -> live.Board:
    app = current_app
    b = app.extensions.get("hotline.board")
    if b is None:
        b = app.extensions["hotline.board"] = live.Board(svc())
    return b


def _token() -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[7:].strip() or None
    return request.args.get("token") or None


def _viewer() -> str:
    """'session' for a signed-in supervisor or more, 'tv' for a valid TV token; else 401/403."""
    if current_user.is_authenticated:
        if role_at_least(current_user.role, "supervisor"):
            return "session"
        abort(403)
    token = _token()
    if token and svc().tv_tokens.valid(token):
        return "tv"
    return ""


def _render_board(figures: dict, *, tv: bool) -> str:
    return render_template(
        "_board.html",
        f=figures,
        tv=tv,
        controls=not tv and current_user.is_authenticated,
        reasons=away_reasons(svc().settings),
    )


@bp.get("/wallboard")
@requires("supervisor")
def page():
    tv = request.args.get("tv") == "1"
    figures = board().figures()
    return render_template(
        "wallboard.html",
        board_html=_render_board(figures, tv=tv),
        tv=tv,
        stream_url=url_for("wallboard.stream", tv=1 if tv else None),
        langs=svc().announcements.languages(),
        current=svc().announcements.all(),
    )


@bp.get("/tv/<token>")
def tv(token: str):
    if not svc().tv_tokens.valid(token):
        abort(404)
    figures = board().figures()
    return render_template(
        "wallboard.html",
        board_html=_render_board(figures, tv=True),
        tv=True,
        stream_url=url_for("wallboard.stream", tv=1, token=token),
        langs=[],
        current={},
    )


@bp.get("/wallboard/stream")
def stream():
    viewer = _viewer()
    if not viewer:
        return current_app.login_manager.unauthorized()
    tv = viewer == "tv" or request.args.get("tv") == "1"
    token = _token()
    user_id = current_user.get_id() if viewer == "session" else None
    b = board()
    key = (lang(), tv, viewer)

    def fragments():
        return {"board": b.rendered(key, lambda f: _render_board(f, tv=tv))}

    def allowed():
        if viewer == "tv":
            return svc().tv_tokens.valid(token)
        return load_user(user_id) is not None

    return live.stream(
        fragments, allowed=allowed, seconds=current_app.config.get("CONSOLE_STREAM_SECONDS", 300)
    )


@bp.get("/api/wallboard")
def api():
    viewer = _viewer()
    if not viewer:
        return jsonify(error="sign in, or give a TV token (?token= or Authorization: Bearer)"), 401
    return jsonify(board().figures())


@bp.get("/queue")
@requires("supervisor")
def queue():
    lines = svc().waiting.snapshot()
    return render_template("queue.html", lines=lines, now=svc().clock.now())


@bp.post("/agents/<agent_id>/state")
@requires("supervisor")
def set_agent_state(agent_id: str):
    state = request.form.get("state", "")
    reason = request.form.get("reason") or None
    try:
        _check_reason(state, reason)
        a = svc().agents.set_state(agent_id, state, reason=reason, by=current_user.by)
        flash(t("state_changed", state=f"{a.id}: {t('st_' + a.state)}"), "ok")
    except (HotlineError, ValueError) as e:
        flash(str(e), "error")
    return redirect(url_for("wallboard.page"))


def _check_reason(state: str, reason: str | None) -> None:
    if state == "away" and reason and reason not in {r["id"] for r in away_reasons(svc().settings)}:
        raise ValueError(f"{reason!r} is not an away reason")


@bp.post("/announcement")
@requires("manager")
def announcement():
    """Same code path as `hotline announce`: ivr/announcements.py."""
    ann = svc().announcements
    lg = request.form.get("lang") or None
    try:
        if request.form.get("action") == "clear":
            ann.clear(lg, by=current_user.by)
            flash(t("announcement_cleared"), "ok")
        else:
            langs = ann.set(request.form.get("text", ""), lg, by=current_user.by)
            flash(t("announcement_set", langs=", ".join(langs)), "ok")
    except ValueError as e:
        flash(str(e), "error")
    return redirect(url_for("wallboard.page"))
