"""A hotline with its console, for the browser tests and `make screenshots`.

The real webhook app and the carrier simulator (LocalHotline: real HTTP on loopback, real
signatures, RQ jobs run at their simulated instant) on a simulated clock that the carrier
paces against real time, and the real console app on a loopback port of its own, reading
the same Redis and clock. Chromium is Debian's (/usr/bin/chromium), driven by Playwright.
"""

from __future__ import annotations

import os
import shutil
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hotline.carrier.local import LocalHotline, SimulatedClock
from hotline.carrier.loopback import LoopbackServer
from hotline.carrier.party import Party, Press, Silence
from hotline.carrier.phones import AgentPhone, Network
from hotline.console import create_app as create_console
from hotline.services import Services

PARIS = ZoneInfo("Europe/Paris")
T9 = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS).timestamp()  # a Tuesday, 09:00
CHROMIUM = os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "console test password"
CLEO_PHONE = "+33600000003"

ROSTER = """
timezone: Europe/Paris
skills: [connection, software, error_message, general]
agents:
  - {id: ana, name: Ana Martin, phone: '+33600000001', skills: {connection: 5, general: 3}, languages: [fr, en]}
  - {id: cleo, name: Cléo Durand, phone: '+33600000003', skills: {software: 5, error_message: 4}, languages: [fr, en]}
shifts:
  - {id: ana-day, agent: ana, days: mon-fri, start: '08:00', end: '18:00'}
  - {id: cleo-day, agent: cleo, days: mon-fri, start: '08:00', end: '18:00'}
"""

USERS = {
    "manager": ("boss@example.org", "manager", None),
    "supervisor": ("sup@example.org", "supervisor", None),
    "agent": ("cleo@example.org", "agent", "cleo"),
}


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None. Under CI=true a missing browser is
    a failure, not a skip (`.ci/run` installs Debian's chromium when it is missing)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


class ConsoleWorld:
    def __init__(self, settings, rclient, *, pace: float = 4.0):
        self.svc = Services(settings, clock=SimulatedClock(T9), client=rclient)
        self.hotline = LocalHotline(services=self.svc, network=Network())
        self.hsvc = self.hotline.services
        self.hsvc.roster.import_text(ROSTER, "console-roster.yaml", by="test")
        self.hsvc.roster.refresh_shift_sets()
        self.hsvc.agents.reindex()
        self.hotline._start_app_timers()
        for email, role, agent in USERS.values():
            self.hsvc.users.create(email, role=role, password=PASSWORD, agent_id=agent, by="test")
        self.console = LoopbackServer(create_console(self.hsvc))
        self.url = self.console.url + "/console"
        self.pace = pace
        self.phone = AgentPhone("cleo", CLEO_PHONE, answer_after=2, talk_seconds=40)
        self.hotline.network.add(self.phone)
        self._runner: threading.Thread | None = None

    def caller(self, *, at: float = 1.0, number: str = "+33611223344", talk: float = 40):
        """An error-message caller who keys code 4031, then waits at the tip."""
        party = Party(
            [Press("3"), Press("4031#"), Silence()], patience=900, talk_seconds=talk, name=number
        )
        return self.hotline.spawn(party, at=self.hotline.clock.now() + at, from_=number)

    def run_in_background(self, seconds: float) -> None:
        """Let simulated time run (paced: `pace` simulated seconds per real second)."""
        self.hotline.timeline.pace(self.pace)
        until = self.hotline.clock.now() + seconds
        self._runner = threading.Thread(
            target=self.hotline.run, kwargs={"until": until, "idle_stop": True}, daemon=True
        )
        self._runner.start()

    def wait(self, timeout: float = 60) -> None:
        if self._runner is not None:
            self._runner.join(timeout)

    def close(self) -> None:
        self.wait(5)
        self.console.close()
        self.hotline.close()


def sign_in(page, world: ConsoleWorld, who: str) -> None:
    email = USERS[who][0]
    page.goto(world.url + "/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda u: "/login" not in u)


@pytest.fixture
def browser():
    """Chromium under Playwright for one test, or the skip with its reason; under CI=true
    a missing browser fails the test. Browser test modules bind it:
    `browser = console_world.browser`."""
    missing = chromium_missing_reason()
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"browser tests must run in CI: {missing}")
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()
