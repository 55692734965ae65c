"""The web console through Flask's test client: who may open what, CSRF, the sign-in
limit, sessions ended by a reset or a disable, and what each page changes (always through
the domain, always logged with `by` = the signed-in user)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.console import create_app

ROSTER = Path(__file__).resolve().parents[1] / "examples" / "roster.yaml"
PASSWORD = "correct horse battery"
AGENT_ID = "camille.martin"

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def console(svc):
    from argon2 import PasswordHasher

    # Argon2id still, at its smallest cost: the matrix below signs in a hundred times.
    svc.users.hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    svc.roster.import_text(ROSTER.read_text(), str(ROSTER))
    svc.agents.sync_from_roster(svc.roster.load())
    app = create_app(svc)
    app.config["CONSOLE_STREAM_SECONDS"] = 0.5
    for email, role, agent in (
        ("agent@example.org", "agent", AGENT_ID),
        ("super@example.org", "supervisor", None),
        ("boss@example.org", "manager", None),
    ):
        svc.users.create(email, role=role, password=PASSWORD, agent_id=agent, by="test")
    return app


class Browser:
    """A test client that signs in like a person and sends the page's CSRF token back."""

    def __init__(self, app):
        self.c = app.test_client()
        self.token = None

    def get(self, path, **kw):
        r = self.c.get(path, **kw)
        m = CSRF_RE.search(r.get_data(as_text=True)) if r.mimetype == "text/html" else None
        if m:
            self.token = m.group(1)
        return r

    def post(self, path, data=None, *, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/console/login")
            data["csrf_token"] = self.token
        return self.c.post(path, data=data, **kw)

    def sign_in(self, email, password=PASSWORD):
        self.get("/console/login")
        return self.post("/console/login", {"email": email, "password": password})


def signed_in(app, email):
    b = Browser(app)
    r = b.sign_in(email)
    assert r.status_code == 302, r.get_data(as_text=True)
    b.get(r.headers["Location"])  # the landing page: a fresh CSRF token for the new session
    return b


def events(svc, kind):
    return [e for e in svc.events.read() if e.type == kind]


# Every console route, with the least role that may use it.
ROUTES = [
    ("GET", "/console/agent", "agent"),
    ("GET", "/console/agent/stream", "agent"),
    ("POST", "/console/agent/state", "agent"),
    ("POST", "/console/agent/disposition", "agent"),
    ("POST", "/console/agent/ready", "agent"),
    ("GET", "/console/wallboard", "supervisor"),
    ("GET", "/console/wallboard/stream", "supervisor"),
    ("GET", "/console/api/wallboard", "supervisor"),
    ("GET", "/console/queue", "supervisor"),
    ("POST", f"/console/agents/{AGENT_ID}/state", "supervisor"),
    ("POST", "/console/announcement", "manager"),
    ("GET", "/console/users", "manager"),
    ("POST", "/console/users", "manager"),
    ("POST", "/console/users/agent@example.org/disable", "manager"),
    ("POST", "/console/users/agent@example.org/password", "manager"),
    ("POST", "/console/tv-tokens", "manager"),
    ("POST", "/console/tv-tokens/nope/revoke", "manager"),
]
RANK = {"agent": 0, "supervisor": 1, "manager": 2}
EMAIL = {
    "agent": "agent@example.org",
    "supervisor": "super@example.org",
    "manager": "boss@example.org",
}


@pytest.mark.parametrize(("method", "path", "least"), ROUTES)
def test_an_anonymous_request_goes_to_the_login_page(console, method, path, least):
    b = Browser(console)
    r = b.get(path) if method == "GET" else b.post(path)
    if path == "/console/api/wallboard":
        assert r.status_code == 401 and r.is_json
    else:
        assert r.status_code == 302
        assert r.headers["Location"].startswith("/console/login")


@pytest.mark.parametrize("role", ["agent", "supervisor", "manager"])
@pytest.mark.parametrize(("method", "path", "least"), ROUTES)
def test_each_role_opens_what_it_may_and_gets_403_elsewhere(console, role, method, path, least):
    b = signed_in(console, EMAIL[role])
    r = b.get(path) if method == "GET" else b.post(path, {})
    if RANK[role] < RANK[least]:
        assert r.status_code == 403
    else:
        assert r.status_code != 403
        assert r.status_code < 500
    r.close()


@pytest.mark.parametrize(("method", "path", "least"), [x for x in ROUTES if x[0] == "POST"])
def test_a_state_changing_request_without_its_csrf_token_is_400_and_changes_nothing(
    console, svc, method, path, least
):
    b = signed_in(console, EMAIL["manager"])
    before = svc.events.read()
    r = b.post(path, {"state": "available", "text": "panne", "email": "x@example.org"}, csrf=False)
    assert r.status_code == 400
    after = svc.events.read()
    assert [e.type for e in after] == [e.type for e in before]


def test_the_login_form_itself_needs_its_csrf_token(console):
    b = Browser(console)
    r = b.post("/console/login", {"email": "agent@example.org", "password": PASSWORD}, csrf=False)
    assert r.status_code == 400


def test_sign_in_lands_on_the_page_of_the_role_and_is_logged(console, svc):
    assert signed_in(console, "agent@example.org") is not None
    b = Browser(console)
    r = b.sign_in("super@example.org")
    assert r.headers["Location"] == "/console/wallboard"
    ev = events(svc, "signed_in")[-1]
    assert ev.fields["email"] == "super@example.org" and ev.fields["role"] == "supervisor"


def test_the_session_cookie_is_httponly_lax_secure_on_https_and_lasts_12_hours(console):
    b = Browser(console)
    r = b.sign_in("agent@example.org")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" in cookie  # the tests' public URL is https
    assert console.permanent_session_lifetime.total_seconds() == 12 * 3600


def test_a_wrong_password_is_refused_with_one_message_whatever_the_reason(console, svc):
    b = Browser(console)
    for email in ("agent@example.org", "nobody@example.org"):
        r = b.sign_in(email, "wrong password!")
        assert r.status_code == 401
        assert "incorrect" in r.get_data(as_text=True)
    reasons = [e.fields["reason"] for e in events(svc, "signin_failed")]
    assert reasons == ["wrong_password", "unknown"]


def test_sign_ins_are_limited_per_account_with_the_time_to_wait(console, svc):
    b = Browser(console)
    for _ in range(5):
        b.sign_in("agent@example.org", "wrong password!")
    r = b.sign_in("agent@example.org")  # the right password, too late
    text = r.get_data(as_text=True)
    assert r.status_code == 401 and "Réessayez dans 15 min" in text
    assert events(svc, "signin_limited")
    svc.clock.advance(15 * 60 + 1)
    assert b.sign_in("agent@example.org").status_code == 302


def test_a_disabled_account_is_refused_and_its_open_sessions_end(console, svc):
    agent = signed_in(console, "agent@example.org")
    assert agent.get("/console/agent").status_code == 200
    svc.users.disable("agent@example.org", by="boss@example.org")
    r = agent.get("/console/agent")
    assert r.status_code == 302 and r.headers["Location"].startswith("/console/login")
    assert Browser(console).sign_in("agent@example.org").status_code == 401


def test_a_password_reset_ends_the_sessions_opened_before(console, svc):
    agent = signed_in(console, "agent@example.org")
    manager = signed_in(console, "boss@example.org")
    manager.get("/console/users")
    r = manager.post(
        "/console/users/agent@example.org/password", {"password": "a new long password"}
    )
    assert r.status_code == 302
    assert agent.get("/console/agent").status_code == 302
    assert Browser(console).sign_in("agent@example.org", "a new long password").status_code == 302
    assert events(svc, "password_reset")[-1].fields["by"] == "boss@example.org"


def test_sign_out_ends_the_session(console):
    agent = signed_in(console, "agent@example.org")
    agent.get("/console/agent")
    assert agent.post("/console/logout").status_code == 302
    assert agent.get("/console/agent").status_code == 302


def test_the_agent_changes_state_through_the_state_machine_logged_with_their_name(console, svc):
    agent = signed_in(console, "agent@example.org")
    agent.get("/console/agent")
    agent.post("/console/agent/state", {"state": "available"})
    assert svc.agents.get(AGENT_ID).state == "available"
    ev = [e for e in events(svc, "agent_state") if e.agent_id == AGENT_ID][-1]
    assert ev.fields["by"] == "agent@example.org"
    agent.post("/console/agent/state", {"state": "away", "reason": "lunch"})
    a = svc.agents.get(AGENT_ID)
    assert (a.state, a.reason) == ("away", "lunch")


def test_an_illegal_or_unknown_state_is_a_message_beside_the_buttons_never_a_500(console, svc):
    agent = signed_in(console, "agent@example.org")
    agent.get("/console/agent")
    r = agent.post("/console/agent/state", {"state": "busy"}, follow_redirects=True)
    assert r.status_code == 200 and "choose available, away or offline" in r.get_data(as_text=True)
    r = agent.post(
        "/console/agent/state", {"state": "away", "reason": "nap"}, follow_redirects=True
    )
    assert "choose a reason" in r.get_data(as_text=True)
    assert svc.agents.get(AGENT_ID).state == "offline"
    r = agent.post("/console/agent/ready", follow_redirects=True)
    assert r.status_code == 200


def test_the_agent_page_works_without_javascript_and_labels_every_control(console):
    agent = signed_in(console, "agent@example.org")
    html = agent.get("/console/agent").get_data(as_text=True)
    assert 'sse-connect="/console/agent/stream"' in html
    for button in ("Disponible", "En pause", "Déconnecté"):
        assert f">{button}</button>" in html
    assert '<label for="away-reason">' in html
    for reason in ("break", "lunch", "training", "meeting", "other"):
        assert f'value="{reason}"' in html


def test_english_is_the_users_choice(console):
    agent = signed_in(console, "agent@example.org")
    agent.get("/console/agent")
    agent.post("/console/lang", {"lang": "en", "back": "/console/agent"})
    html = agent.get("/console/agent").get_data(as_text=True)
    assert ">Available</button>" in html and 'lang="en"' in html


def test_a_supervisor_logs_out_an_agent_who_left(console, svc):
    svc.agents.set_state(AGENT_ID, "available", notify=False)
    sup = signed_in(console, "super@example.org")
    sup.get("/console/wallboard")
    sup.post(f"/console/agents/{AGENT_ID}/state", {"state": "offline"})
    assert svc.agents.get(AGENT_ID).state == "offline"
    ev = [e for e in events(svc, "agent_state") if e.agent_id == AGENT_ID][-1]
    assert ev.fields["by"] == "super@example.org"


def test_the_manager_sets_and_clears_the_announcement_as_hotline_announce_does(console, svc):
    boss = signed_in(console, "boss@example.org")
    boss.get("/console/wallboard")
    boss.post("/console/announcement", {"lang": "fr", "text": "Panne réseau au site B"})
    assert svc.announcements.current("fr") == "Panne réseau au site B"
    assert svc.announcements.current("en") is None
    ev = events(svc, "announcement_set")[-1]
    assert ev.fields["by"] == "boss@example.org"
    r = boss.post("/console/announcement", {"lang": "fr", "text": ""}, follow_redirects=True)
    assert "empty" in r.get_data(as_text=True)
    boss.post("/console/announcement", {"lang": "fr", "action": "clear"})
    assert svc.announcements.current("fr") is None


def test_a_supervisor_may_not_set_the_announcement(console, svc):
    sup = signed_in(console, "super@example.org")
    sup.get("/console/wallboard")
    assert sup.post("/console/announcement", {"lang": "fr", "text": "x"}).status_code == 403
    assert svc.announcements.current("fr") is None


def test_the_wallboard_json_is_the_domain_figures_for_a_session_or_a_tv_token(console, svc):
    sup = signed_in(console, "super@example.org")
    doc = sup.get("/console/api/wallboard").get_json()
    assert {"skills", "agents", "totals", "announcements"} <= set(doc)
    assert AGENT_ID in {a["id"] for a in doc["agents"]}
    token = svc.tv_tokens.issue("boss@example.org", label="TV")
    anon = console.test_client()
    assert anon.get(f"/console/api/wallboard?token={token}").status_code == 200
    r = anon.get("/console/api/wallboard", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert anon.get("/console/api/wallboard?token=forged").status_code == 401


def test_the_tv_link_shows_the_board_without_a_session_until_revoked(console, svc):
    boss = signed_in(console, "boss@example.org")
    boss.get("/console/users")
    r = boss.post("/console/tv-tokens", {"label": "Écran accueil"}, follow_redirects=True)
    url = re.search(r"(http://\S+/console/tv/[\w-]+)", r.get_data(as_text=True)).group(1)
    path = url.split("localhost", 1)[-1]
    anon = console.test_client()
    page = anon.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="tv"' in html and "<form" not in html.split("<main>", 1)[1]
    (tok,) = svc.tv_tokens.list()
    boss.post(f"/console/tv-tokens/{tok['id']}/revoke")
    assert anon.get(path).status_code == 404


def test_the_wallboard_stream_sends_the_board_then_keeps_quiet(console):
    sup = signed_in(console, "super@example.org")
    r = sup.c.get("/console/wallboard/stream")
    assert r.mimetype == "text/event-stream"
    chunks = list(r.response)  # the test app's streams last half a second
    body = "".join(c.decode() if isinstance(c, bytes) else c for c in chunks)
    assert body.count("event: board") == 1  # nothing changed: one board, not one per poll
    assert "data: " in body


def test_the_manager_creates_an_agent_account_with_errors_beside_their_field(console, svc):
    boss = signed_in(console, "boss@example.org")
    boss.get("/console/users")
    r = boss.post(
        "/console/users",
        {"email": "new@example.org", "role": "agent", "agent_id": "", "password": "short"},
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and 'class="field-error"' in html
    assert svc.users.get("new@example.org") is None
    r = boss.post(
        "/console/users",
        {
            "email": "new@example.org",
            "role": "agent",
            "agent_id": "lucas.bernard",
            "password": "long enough password",
        },
    )
    assert r.status_code == 302
    assert svc.users.get("new@example.org").agent_id == "lucas.bernard"


def test_production_without_a_secret_key_is_a_clear_error_at_start(svc):
    from hotline.errors import ConfigError

    prod = svc.derive(svc.settings.with_(mode="production", secret_key=None))
    with pytest.raises(ConfigError, match="HOTLINE_SECRET_KEY"):
        create_app(prod)


def test_what_the_console_logs_keeps_the_event_log_invariants(console, svc):
    from hotline import invariants, reports

    boss = signed_in(console, "boss@example.org")
    boss.get("/console/users")
    boss.post("/console/tv-tokens", {"label": "TV"})
    boss.post("/console/announcement", {"lang": "fr", "text": "Panne"})
    Browser(console).sign_in("agent@example.org", "wrong password!")
    boss.post("/console/logout")
    assert invariants.check(reports.read_log(svc)) == []
