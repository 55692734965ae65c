"""Voice webhooks: HTTP <-> the IVR steps in ivr/intake.py.

`POST /webhooks/voice/incoming` is the one URL pasted into Twilio ("A call comes
in"), `POST /webhooks/voice/status` the status callback; every other URL below
reaches Twilio inside the TwiML we return. Signatures are checked for all of
them in app.py before anything here runs. Redis failures and unexpected errors
become app.py's fallback TwiML, never a 500.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from ..ivr.intake import Intake
from ..ivr.queueing import QueueSteps

bp = Blueprint("voice", __name__, url_prefix="/webhooks/voice")


def _queue() -> QueueSteps:
    ext = current_app.extensions
    steps = ext.get("hotline.queue_steps")
    if steps is None:
        steps = ext["hotline.queue_steps"] = QueueSteps(_intake())
    return steps


def _intake() -> Intake:
    ext = current_app.extensions
    intake = ext.get("hotline.intake")
    if intake is None:
        intake = ext["hotline.intake"] = Intake(ext["hotline"])
    return intake


def _xml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


@bp.post("/incoming")
def incoming():
    return _xml(_intake().incoming(request.form, request.args.get("lang")))


@bp.post("/menu")
def menu_answer():
    a = request.args
    return _xml(_intake().menu_answer(request.form, a.get("lang"), a.get("attempt"), a.get("t")))


@bp.post("/confirm")
def confirm_answer():
    a = request.args
    return _xml(
        _intake().confirm_answer(
            request.form, a.get("lang"), a.get("category"), a.get("attempt"), a.get("t")
        )
    )


@bp.post("/error-code")
def error_code():
    a = request.args
    return _xml(_intake().error_code(request.form, a.get("lang"), a.get("t")))


@bp.post("/selfhelp")
def selfhelp_answer():
    a = request.args
    return _xml(
        _intake().selfhelp_answer(request.form, a.get("lang"), a.get("category"), a.get("t"))
    )


@bp.post("/wait")
def wait():
    a = request.args
    return _xml(_queue().wait(request.form, a.get("lang"), a.get("skill")))


@bp.post("/dequeued")
def dequeued():
    a = request.args
    return _xml(
        _queue().dequeued(request.form, a.get("lang"), a.get("skill"), a.get("retry"), a.get("t"))
    )


@bp.post("/status")
def status():
    return _xml(_queue().status(request.form))


@bp.post("/callback")
def callback_choice():
    a = request.args
    return _xml(_queue().callback_choice(request.form, a.get("lang"), a.get("skill")))


@bp.post("/voicemail")
def voicemail():
    return _xml(_intake().voicemail(request.form, request.args.get("lang")))


@bp.post("/transcription")
def transcription():
    return _xml(_intake().transcription(request.form))
