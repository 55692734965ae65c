"""The console in a real browser (Playwright driving Debian's Chromium) against a real
hotline on loopback with the carrier simulator: a manager sets the announcement, an agent
goes Available, a simulated caller with an error message is routed to them and their card
shows it, they record a disposition and press Ready, and the wallboard counts the answered
call without being reloaded.

Skipped with the reason where Chromium or Playwright is missing, except under CI=true,
where that is a failure (.ci/run installs Chromium)."""

from __future__ import annotations

import re

import console_world
import pytest
from console_world import ConsoleWorld, sign_in

pytestmark = pytest.mark.slow

browser = console_world.browser  # Chromium for one test, or the skip


@pytest.fixture
def world(settings, rclient):
    w = ConsoleWorld(settings.with_(public_url="http://127.0.0.1:1"), rclient)
    yield w
    w.close()


def test_a_shift_from_the_browser(world, browser):
    from playwright.sync_api import expect

    manager = browser.new_page()
    sign_in(manager, world, "manager")
    expect(manager).to_have_url(re.compile(r"/console/wallboard$"))
    manager.evaluate("window.__not_reloaded = true")
    manager.get_by_label("Texte de l'annonce (fr)").fill("Panne de messagerie en cours")
    manager.get_by_role("button", name="Diffuser (fr)").click()
    expect(manager.get_by_role("status").first).to_contain_text("Annonce diffusée")
    assert world.hsvc.announcements.current("fr") == "Panne de messagerie en cours"
    expect(manager.locator(".announcement")).to_contain_text("Panne de messagerie")
    manager.evaluate("window.__not_reloaded = true")
    answered = manager.get_by_test_id("answered-error_message")
    expect(answered).to_have_text("0")

    agent = browser.new_page()
    sign_in(agent, world, "agent")
    expect(agent).to_have_url(re.compile(r"/console/agent$"))
    agent.get_by_role("button", name="Disponible").click()
    expect(agent.get_by_test_id("agent-state")).to_have_text("disponible")
    assert world.hsvc.agents.get("cleo").state == "available"

    call = world.caller(at=1.0)
    world.run_in_background(600)

    # The card comes by the live connection, without a reload, while the phone rings or talks.
    expect(agent.get_by_test_id("card-category")).to_contain_text(
        "message d'erreur", timeout=30_000
    )
    expect(agent.get_by_test_id("card-error-code")).to_have_text("4031")
    expect(agent.get_by_test_id("card-caller")).to_contain_text("06 11 22 33 44")

    # The caller hangs up after the talk: wrap-up, a disposition, Ready.
    expect(agent.get_by_role("heading", name="Après-appel")).to_be_visible(timeout=45_000)
    agent.get_by_label("Qualification").select_option("resolved_remotely")
    agent.get_by_label("Notes").fill("Outlook relancé, profil réparé")
    agent.get_by_role("button", name="Prêt").click()
    expect(agent.get_by_test_id("agent-state")).to_have_text("disponible")
    sid = call.spec.sid
    stored = world.hsvc.calls.get(sid)
    assert (stored.disposition, stored.notes) == (
        "resolved_remotely",
        "Outlook relancé, profil réparé",
    )
    ev = world.hsvc.events.read(call_sid=sid, types={"call_disposition"})[-1]
    assert ev.fields["by"] == "cleo@example.org"

    # The wallboard moved on its own: same page, new count.
    expect(answered).to_have_text("1", timeout=10_000)
    assert manager.evaluate("window.__not_reloaded") is True
