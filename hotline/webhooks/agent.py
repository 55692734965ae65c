"""Agent-leg webhooks: HTTP <-> hotline/legs (offers, conversation) and legs/callbacks.

None of these URLs is configured at Twilio: each reaches the carrier inside a REST
request we made (Calls create `url`/`statusCallback`, Queue Members update `Url`,
Calls update `Url`) or inside TwiML we returned (<Gather action>, <Dial action>).
Signatures are checked in app.py before anything here runs. The query string says
which call and agent a request is about; the form's CallSid is the leg's own.
Nothing here calls the carrier's REST API: that is for the RQ jobs.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from ..languages import spoken
from ..legs import conversation, offers, twiml
from ..legs.common import agent_lang
from ..queue.calls import valid_sid

bp = Blueprint("agent", __name__, url_prefix="/webhooks/agent")


def _svc():
    return current_app.extensions["hotline"]


def _xml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _ids() -> tuple[str, str, str] | None:
    """(call sid, agent id, this leg's CallSid), or None when the request is not usable."""
    sid = request.args.get("call", "")
    agent = request.args.get("agent", "")
    leg = request.form.get("CallSid", "")
    if not (valid_sid(sid) and valid_sid(leg) and agent and len(agent) <= 64):
        return None
    return sid, agent, leg


@bp.post("/answer")
def answer():
    ids = _ids()
    if ids is None:
        return _xml(twiml.notice("taken", "fr"))
    return _xml(offers.answered(_svc(), *ids))


@bp.post("/accept")
def accept():
    ids = _ids()
    if ids is None:
        return _xml(twiml.notice("taken", "fr"))
    return _xml(offers.accept(_svc(), *ids, request.form.get("Digits", "")))


@bp.post("/status")
def status():
    ids = _ids()
    if ids is not None:
        offers.leg_status(
            _svc(), *ids, request.form.get("CallStatus", ""), request.form.get("CallDuration", "")
        )
    return _xml(twiml.empty())


@bp.post("/ended")
def ended():
    """The agent's <Dial action>: they left the conference (either side hung up)."""
    ids = _ids()
    if ids is None:
        return _xml(twiml.notice("call_ended", "fr"))
    svc = _svc()
    sid, agent, _leg = ids
    conversation.end(svc, sid, agent, ended_via="conference")
    return _xml(twiml.notice("call_ended", agent_lang(svc, agent)))


@bp.post("/notice")
def notice():
    return _xml(twiml.notice(request.args.get("what", ""), spoken(request.args.get("lang"))))


def _join(who: str) -> Response:
    sid = request.args.get("call", "")
    if not valid_sid(sid):
        return _xml(twiml.sorry("fr"))
    return _xml(conversation.join(_svc(), sid, request.form.get("CallSid", ""), who=who))


@bp.post("/join")
def join():
    return _join("caller")


@bp.post("/customer")
def customer():
    return _join("customer")


@bp.post("/customer-status")
def customer_status():
    from ..legs import callbacks

    sid = request.args.get("call", "")
    leg = request.form.get("CallSid", "")
    if valid_sid(sid) and valid_sid(leg):
        callbacks.customer_status(_svc(), sid, leg, request.form.get("CallStatus", ""))
    return _xml(twiml.empty())
