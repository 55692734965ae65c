"""The Flask app factory: builds the services once and registers the blueprints.

`gunicorn 'hotline.app:create_app()'` serves it in production (see Procfile).

What every webhook request goes through, in this order, before its handler:
1. the body: at most MAX_BODY bytes (Twilio's requests are a few KB) -- 413 before
   anything is read; a POST must be `application/x-www-form-urlencoded` -- 415 (for
   another type the signature would be checked over the URL alone while the handler
   read a body nobody signed);
2. the signature (webhooks/security.py) -- 403, nothing written;
3. a note of a Redis outage this process saw, written now that Redis may answer
   (store/outage.py: the sweep then reconciles calls with the carrier);
4. Twilio's idempotency token: a retried delivery gets the first delivery's answer
   (webhooks/idempotency.py).
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, g, request

from .errors import StoreUnavailable
from .ivr.fallback import fallback_twiml
from .services import Services
from .store.outage import Notes
from .webhooks import idempotency
from .webhooks.security import is_valid

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
FORM = "application/x-www-form-urlencoded"


def create_app(services: Services | None = None) -> Flask:
    services = services or Services.from_env()
    # A broken vocabulary or tips file (HOTLINE_VOCABULARY…) fails here, at start,
    # with its name, rather than inside a caller's first webhook.
    from .ivr.classify import check_data

    check_data(services.settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # a body sent without a length is cut off here
    app.extensions["hotline"] = services
    notes = app.extensions["hotline.outage"] = Notes()

    from .webhooks import agent, voice

    app.register_blueprint(voice.bp)
    app.register_blueprint(agent.bp)

    @app.before_request
    def guard_webhooks():
        if not request.path.startswith("/webhooks/"):
            return None
        length = request.content_length
        if length is not None and length > MAX_BODY:
            return _plain(f"Request body too large (at most {MAX_BODY} bytes)\n", 413)
        if request.method == "POST" and request.mimetype != FORM and (request.mimetype or length):
            # An empty POST has no fields to trust or distrust; any other body must be a form.
            return _plain(f"Unsupported media type: webhooks are {FORM}\n", 415)
        # Every webhook is signed by Twilio (or the simulator); nothing is written before this.
        if not is_valid(services.settings, request):
            log.warning("403: bad or missing X-Twilio-Signature on %s", request.path)
            return _plain("Forbidden: invalid Twilio signature\n", 403)
        notes.flush(services)
        token = idempotency.token_of(request.headers)
        if token:
            earlier = idempotency.claim(services, token)
            if earlier:
                return Response(earlier, mimetype="text/xml")  # a retry: the first answer
            if earlier is None:
                g.idempotency_token = token
        return None

    @app.after_request
    def remember_answer(response: Response):
        token = g.pop("idempotency_token", None)
        if token and response.status_code == 200 and response.mimetype == "text/xml":
            try:
                idempotency.store(services, token, response.get_data(as_text=True))
            except redis.RedisError:
                log.warning("could not keep the answer for idempotency token %s", token)
        return response

    @app.errorhandler(StoreUnavailable)
    @app.errorhandler(redis.RedisError)
    def redis_down(exc):
        log.error("Redis unavailable during %s: %s", request.path, exc)
        notes.failed()
        g.pop("idempotency_token", None)
        return _safe(services)

    @app.errorhandler(Exception)
    def unexpected(exc):
        from werkzeug.exceptions import HTTPException

        if isinstance(exc, HTTPException) and (
            not request.path.startswith("/webhooks/") or exc.code in (404, 405, 413, 415)
        ):
            return exc
        log.exception("unexpected error on %s", request.path)
        g.pop("idempotency_token", None)
        return _safe(services)

    @app.get("/healthz")
    def healthz():
        # Anonymous: say only whether we can serve, never where Redis is or what it said.
        try:
            services.redis.ping()
        except (redis.RedisError, StoreUnavailable, OSError) as e:
            log.warning("healthz: Redis unavailable: %s", e)
            return {"ok": False}, 503
        return {"ok": True}

    return app


def _plain(text: str, status: int) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _safe(services: Services) -> Response:
    lang = request.args.get("lang")
    return Response(fallback_twiml(services.settings, lang), mimetype="text/xml")
