"""The agent's desk: their state, the card of the call offered or bridged, the wrap-up,
and their shifts for the next four weeks with their calendar link (shifts.py).

The phone still rings as before (whisper, "press 1" accepts); the card shows, within a
second of the offer, what the IVR learnt. State changes go through the same state machine
as `hotline agents state` (routing/agents.py); dispositions and Ready through legs/.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..callcard import call_card, current_call_for_agent
from ..errors import HotlineError
from ..legs import wrapup
from ..legs.disposition import dispositions
from ..legs.disposition import record as record_disposition
from ..routing.away_reasons import away_reasons
from . import live, shifts
from .auth import load_user, requires, svc
from .i18n import t

bp = Blueprint("agent", __name__, url_prefix="/console/agent")

SELECTABLE = ("available", "away", "offline")


def _agent_id() -> str | None:
    return current_user.agent_id or None


def _view(agent_id: str) -> dict:
    """Everything the three fragments show, read once."""
    s = svc()
    agent = s.agents.get(agent_id)
    sid = current_call_for_agent(s, agent_id)
    card = call_card(s, sid) if sid else None
    until = wrapup.ends_at(s, agent_id) if agent.state == "wrapup" else None
    return {"agent": agent, "sid": sid, "card": card, "wrapup_until": until}


def _fragments(v: dict) -> dict[str, str]:
    s = svc()
    return {
        "state": render_template(
            "_agent_state.html", agent=v["agent"], reasons=away_reasons(s.settings)
        ),
        "card": render_template("_agent_card.html", agent=v["agent"], card=v["card"]),
        "wrapup": render_template(
            "_agent_wrapup.html",
            agent=v["agent"],
            card=v["card"],
            until=v["wrapup_until"],
            dispositions=dispositions(s.settings),
            required=s.settings.require_disposition,
        ),
    }


@bp.get("")
@requires("agent")
def page():
    agent_id = _agent_id()
    if not agent_id:
        return render_template("agent.html", fragments=None), 200
    return render_template(
        "agent.html", fragments=_fragments(_view(agent_id)), **shifts.desk_view(agent_id)
    )


@bp.get("/stream")
@requires("agent")
def stream():
    agent_id = _agent_id()
    if not agent_id:
        return "", 204  # nothing to follow: EventSource stops on 204
    user_id = current_user.get_id()
    return live.stream(
        lambda: _fragments(_view(agent_id)),
        allowed=lambda: load_user(user_id) is not None,
        seconds=current_app.config.get("CONSOLE_STREAM_SECONDS", live.STREAM_SECONDS),
    )


@bp.post("/state")
@requires("agent")
def set_state():
    agent_id = _agent_id()
    if not agent_id:
        flash(t("no_agent"), "error")
        return redirect(url_for("agent.page"))
    state = request.form.get("state", "")
    reason = request.form.get("reason") or None
    try:
        if state not in SELECTABLE:
            raise ValueError(f"{state!r}: choose available, away or offline")
        if state == "away":
            known = {r["id"] for r in away_reasons(svc().settings)}
            if reason not in known:
                raise ValueError(f"choose a reason: {', '.join(sorted(known))}")
        else:
            reason = None
        a = svc().agents.set_state(agent_id, state, reason=reason, by=current_user.by)
        flash(t("state_changed", state=t("st_" + a.state)), "ok")
    except (HotlineError, ValueError) as e:
        flash(str(e), "error")
    return redirect(url_for("agent.page"))


@bp.post("/disposition")
@requires("agent")
def disposition():
    agent_id = _agent_id()
    sid = request.form.get("call_sid", "")
    saved = False
    then_ready = request.form.get("then") == "ready"
    if then_ready and not request.form.get("disposition") and not request.form.get("notes"):
        return ready()  # nothing to record: Ready decides whether a disposition was required
    try:
        if not agent_id:
            raise ValueError(t("no_agent"))
        record_disposition(
            svc(),
            sid,
            agent_id=agent_id,
            disposition=request.form.get("disposition", ""),
            notes=request.form.get("notes", ""),
            by=current_user.by,
        )
        saved = True
        flash(t("disposition_saved"), "ok")
    except (HotlineError, ValueError) as e:
        flash(str(e), "error")
    if saved and then_ready:
        return ready()
    return redirect(url_for("agent.page"))


@bp.post("/ready")
@requires("agent")
def ready():
    agent_id = _agent_id()
    try:
        if not agent_id:
            raise ValueError(t("no_agent"))
        done = wrapup.ready(svc(), agent_id, by=current_user.by)
        if done.status == "ended":
            flash(t("ready_done"), "ok")
        else:
            flash(t("not_in_wrapup"), "error")
    except (HotlineError, ValueError) as e:
        flash(str(e), "error")
    return redirect(url_for("agent.page"))
