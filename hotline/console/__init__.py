"""The web console: agents, supervisors and managers in a browser.

`gunicorn ... 'hotline.console:create_app()'` serves it in its own process (Procfile
`console`, `hotline serve`), never in the webhook workers: its live pages hold a
connection each for as long as they are open (server-sent events), and a caller must
never wait behind them. See docs/console.md.

The views only translate HTTP <-> the domain: who may do what (`auth.py`), the figures
(`hotline/wallboard.py`), the call card (`hotline/callcard.py`), agent states
(`routing/agents.py`), dispositions and wrap-up (`legs/`), accounts (`accounts/`).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..config import shared_secret
from ..errors import ConfigError
from ..services import Services

SESSION_HOURS = 12


def create_app(services: Services | None = None) -> Flask:
    services = services or Services.from_env()
    settings = services.settings
    app = Flask(__name__, static_url_path="/console/static")
    app.extensions["hotline"] = services
    app.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_NAME="hotline_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        SESSION_COOKIE_PATH="/console",
        # Flask checks this age on the signed cookie itself, not only in the browser.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        # A CSRF token lives as long as the session: an agent's page stays open for a shift.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,  # a roster upload at most
    )
    CSRFProtect(app)

    from . import (
        admin,
        agent,
        auth,
        coverage,
        drills,
        filters,
        i18n,
        nav,
        reports,
        roster_pages,
        shifts,
        staffing,
        wallboard,
    )

    auth.init(app)
    i18n.init(app)
    nav.init(app)
    filters.init(app, settings, services.clock)
    app.register_blueprint(auth.bp)
    app.register_blueprint(agent.bp)
    app.register_blueprint(wallboard.bp)
    app.register_blueprint(admin.bp)
    # issue 12's pages: each module registers its own blueprint below, one line each
    app.register_blueprint(coverage.bp)
    app.register_blueprint(roster_pages.bp)
    app.register_blueprint(shifts.bp)
    app.register_blueprint(drills.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(staffing.bp)

    @app.get("/")
    def root():
        return redirect(url_for("auth.home"))

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return render_template("error.html", code=400, message=i18n.t("csrf_error")), 400

    @app.errorhandler(403)
    def forbidden(e):
        return render_template("error.html", code=403, message=i18n.t("forbidden")), 403

    @app.errorhandler(404)
    def not_found(e):
        if not request.path.startswith("/console/") or request.path.startswith("/console/static/"):
            # /favicon.ico and the like: a page here would mint a CSRF token, and its
            # cookie would replace the one the page being filled in was given.
            return "Not found\n", 404, {"Content-Type": "text/plain; charset=utf-8"}
        return render_template("error.html", code=404, message=i18n.t("not_found")), 404

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith("/console/tv/"):
            resp.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
        return resp

    return app


def secret_key(settings) -> str:
    """HOTLINE_SECRET_KEY; in demo/test mode a generated one kept in the data dir, so every
    console process signs sessions alike. Production without one is a start-up error:
    a key generated per process would sign out everyone at each restart."""
    if settings.secret_key:
        return settings.secret_key
    if settings.mode == "production":
        raise ConfigError(
            "HOTLINE_SECRET_KEY is not set: the console signs its session cookies with it "
            "(32+ random characters, the same for every console process)"
        )
    path = Path(settings.data_dir) / "console-secret"
    return shared_secret(path, lambda: secrets.token_urlsafe(32), valid=str.strip).strip()
