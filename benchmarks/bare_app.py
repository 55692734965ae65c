"""The baseline for benchmarks/webhooks.py: the least a Twilio webhook can do.

One POST endpoint that checks the X-Twilio-Signature exactly as the real app does
(same `hotline.webhooks.security.is_valid`, same settings from the environment)
and returns a constant greeting-and-menu TwiML document built once at start. No
Redis, no call state, no events: what is left is Flask + gunicorn + the
signature check, which is the floor our webhooks are compared against.

A second endpoint, PATH_REDIS, does the same plus one tiny Redis round trip (an
HGET on REDIS_URL, sent the way our Lua scripts are: on the worker's own
connection, hotline/store/scripts.py): the floor for any webhook that keeps its
state in Redis, so that the cost of one round trip on this machine can be told
apart from the cost of our own code.

    gunicorn --pythonpath benchmarks 'bare_app:create_app()'
"""

from __future__ import annotations

from flask import Flask, Response, request
from twilio.twiml.voice_response import Gather, VoiceResponse

from hotline.config import Settings
from hotline.webhooks.security import is_valid

PATH = "/webhooks/bare"
PATH_REDIS = "/webhooks/bare-redis"


def constant_twiml(settings: Settings) -> str:
    # About the size and shape of the real greeting + menu.
    r = VoiceResponse()
    g = Gather(
        input="dtmf speech",
        num_digits=1,
        timeout=6,
        language="fr-FR",
        action=settings.url(PATH),
        method="POST",
    )
    g.say(
        "Bonjour, vous êtes bien au support informatique. For English, press 9.", language="fr-FR"
    )
    g.say(
        "Pour un problème de connexion, tapez 1. Pour un problème de logiciel, tapez 2. "
        "Pour un message d'erreur, tapez 3. Pour toute autre demande, tapez 0.",
        language="fr-FR",
    )
    r.append(g)
    r.redirect(settings.url(PATH), method="POST")
    return str(r)


def create_app() -> Flask:
    settings = Settings.from_env()
    body = constant_twiml(settings).encode()
    app = Flask(__name__)

    @app.post(PATH)
    def bare():
        if not is_valid(settings, request):
            return Response(
                "Forbidden: invalid Twilio signature\n", status=403, mimetype="text/plain"
            )
        return Response(body, mimetype="text/xml")

    # A free list of connections, like the script runner's: one per request in flight (a
    # gevent or gthread worker runs many at once; one shared connection would mix replies).
    free: list = []
    pool_box: list = []

    @app.post(PATH_REDIS)
    def bare_redis():
        if not is_valid(settings, request):
            return Response(
                "Forbidden: invalid Twilio signature\n", status=403, mimetype="text/plain"
            )
        try:
            conn = free.pop()
        except IndexError:
            if not pool_box:
                from hotline.store.connection import connect

                pool_box.append(connect(settings).connection_pool)
            conn = pool_box[0].connection_class(**pool_box[0].connection_kwargs)
        try:
            conn.send_command("HGET", "bare:probe", request.form.get("CallSid", ""))
            conn.read_response()
        except BaseException:
            conn.disconnect()  # a reply may be left unread: start afresh next time
            raise
        finally:
            free.append(conn)
        return Response(body, mimetype="text/xml")

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    return app
