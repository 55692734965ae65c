"""Every console route the app registers, read from its URL map rather than from a list
kept by hand: a page added without `requires(...)` or a POST that skips CSRF fails here,
whoever wrote it. Each page's own tests pin which role may open it."""

from __future__ import annotations

import pytest
import test_console
from test_console import EMAIL, Browser, signed_in

from hotline.console import create_app

console = test_console.console  # the same console, accounts and roster

# Endpoints anybody may reach: signing in, the language switch, the vendored files, and
# the links whose secret token is the credential (TV screens, calendar feeds).
PUBLIC = {"root", "static", "auth.login", "i18n.choose", "wallboard.tv", "shifts.feed"}
# JSON for machines: 401 rather than a redirect to a form.
API = {"wallboard.api"}


def _rules(svc):
    app = create_app(svc)
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            values = {arg: "x1" for arg in rule.arguments}
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<{arg}>", "x1").replace(f"<path:{arg}>", "x1")
            out.append((rule.endpoint, method, path, values))
    return out


def _all_rules():
    """The rules of a console built on a throw-away Services (collection time)."""
    import tempfile

    from hotline.config import Settings
    from hotline.services import Services

    with tempfile.TemporaryDirectory() as d:
        settings = Settings(
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="routes",
            public_url="http://127.0.0.1:1",
            data_dir=d,
            mode="test",
        )
        svc = Services(settings)
        try:
            return _rules(svc)
        finally:
            svc.close()


RULES = _all_rules()
GUARDED = [(e, m, p) for e, m, p, _ in RULES if e not in PUBLIC]


def test_the_console_has_the_pages_of_both_parts():
    endpoints = {e for e, *_ in RULES}
    for page in ("agent.page", "wallboard.page", "roster.week", "coverage.page", "reports.page"):
        assert page in endpoints
    assert len(GUARDED) > 30


@pytest.mark.parametrize(("endpoint", "method", "path"), GUARDED)
def test_an_anonymous_request_never_reaches_a_guarded_view(console, endpoint, method, path):
    b = Browser(console)
    r = b.get(path) if method == "GET" else b.post(path)
    if endpoint in API:
        assert r.status_code == 401
    elif endpoint == "auth.home" or method == "GET":
        assert r.status_code == 302 and r.headers["Location"].startswith("/console/login")
    else:
        # A POST is refused before anything else looks at it: no session, no CSRF token
        # that could pass (400), or sent to sign in.
        assert r.status_code in (302, 400)
        if r.status_code == 302:
            assert r.headers["Location"].startswith("/console/login")
    r.close()


POSTS = [(e, p) for e, m, p in GUARDED if m == "POST"]


@pytest.mark.parametrize(("endpoint", "path"), POSTS)
def test_every_post_without_its_csrf_token_is_400_and_changes_nothing(console, svc, endpoint, path):
    b = signed_in(console, EMAIL["manager"])
    before = [e.id for e in svc.events.read()]
    roster_before = svc.roster.export()
    r = b.post(path, {"state": "available", "email": "x@example.org"}, csrf=False)
    assert r.status_code == 400
    assert [e.id for e in svc.events.read()] == before
    assert svc.roster.export() == roster_before


GETS = [(e, p) for e, m, p in GUARDED if m == "GET"]


@pytest.mark.parametrize("role", ["agent", "supervisor", "manager"])
@pytest.mark.parametrize(("endpoint", "path"), GETS)
def test_a_signed_in_get_is_a_page_a_403_or_a_404_never_a_500(console, role, endpoint, path):
    """Unknown ids (`x1`) and missing query parameters included."""
    b = signed_in(console, EMAIL[role])
    r = b.get(path)
    assert r.status_code < 500, r.get_data(as_text=True)[:500]
    r.close()
