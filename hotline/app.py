"""The Flask app factory: builds the services once and registers the blueprints.

`gunicorn 'hotline.app:create_app()'` serves it in production (see Procfile).
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, request

from .errors import StoreUnavailable
from .services import Services
from .webhooks.fallback import fallback_twiml
from .webhooks.security import is_valid

log = logging.getLogger(__name__)


def create_app(services: Services | None = None) -> Flask:
    services = services or Services.from_env()
    # A broken vocabulary or tips file (HOTLINE_VOCABULARY…) fails here, at start,
    # with its name, rather than inside a caller's first webhook.
    from .ivr.classify import check_data

    check_data()
    app = Flask(__name__)
    app.extensions["hotline"] = services

    from .webhooks import agent, voice

    app.register_blueprint(voice.bp)
    app.register_blueprint(agent.bp)

    @app.before_request
    def check_signature():
        # Every webhook is signed by Twilio (or the simulator); nothing is written before this.
        if request.path.startswith("/webhooks/") and not is_valid(services.settings, request):
            log.warning("403: bad or missing X-Twilio-Signature on %s", request.path)
            return Response("Forbidden: invalid Twilio signature\n", status=403, mimetype="text/plain")
        return None

    @app.errorhandler(StoreUnavailable)
    @app.errorhandler(redis.RedisError)
    def redis_down(exc):
        log.error("Redis unavailable during %s: %s", request.path, exc)
        return _safe(services)

    @app.errorhandler(Exception)
    def unexpected(exc):
        from werkzeug.exceptions import HTTPException

        if isinstance(exc, HTTPException) and not request.path.startswith("/webhooks/"):
            return exc
        if isinstance(exc, HTTPException) and exc.code in (404, 405):
            return exc
        log.exception("unexpected error on %s", request.path)
        return _safe(services)

    @app.get("/healthz")
    def healthz():
        try:
            services.redis.ping()
        except redis.RedisError as e:
            return {"ok": False, "redis": str(e)}, 503
        return {"ok": True}

    return app


def _safe(services: Services) -> Response:
    lang = request.args.get("lang")
    return Response(fallback_twiml(services.settings, lang), mimetype="text/xml")
