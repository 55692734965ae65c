"""The roster editor in a real browser (Playwright driving Debian's Chromium) against the
console on loopback: a manager adds a shift and sees it in the week; an overlapping shift
shows its error beside the field and saves nothing; a bad YAML upload shows its lines.

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


def open_roster(browser, world):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    sign_in(page, world, "manager")
    page.get_by_role("link", name="Planning").click()
    page.wait_for_url(re.compile(r"/console/roster"))
    return page


def test_a_manager_adds_a_shift_and_sees_it_in_the_week(world, browser):
    from playwright.sync_api import expect

    page = open_roster(browser, world)
    expect(page.get_by_test_id("roster-meta")).to_contain_text("2026-W49")
    saturday = page.get_by_test_id("cell-ana-2026-12-05")
    expect(saturday).to_be_empty()
    page.get_by_label("Agent", exact=True).select_option("ana")
    page.get_by_label("Jours").fill("sam")
    page.get_by_label("Début").fill("09:00")
    page.get_by_label("Fin", exact=True).fill("13:00")
    page.get_by_role("button", name="Ajouter le créneau").click()
    expect(page.get_by_role("status").first).to_contain_text("Créneau ajouté (version 2)")
    expect(saturday).to_contain_text("09:00–13:00")
    assert world.hsvc.roster.load().shift("ana-1").days == (5,)
    ev = world.hsvc.events.read(types={"roster_edited"})[-1]
    assert ev.fields["by"] == "boss@example.org"


def test_an_overlapping_shift_shows_the_error_beside_the_field_and_saves_nothing(world, browser):
    from playwright.sync_api import expect

    page = open_roster(browser, world)
    before = world.hsvc.roster.export()
    page.get_by_label("Agent", exact=True).select_option("ana")
    page.get_by_label("Jours").fill("lun")
    page.get_by_label("Début").fill("10:00")
    page.get_by_label("Fin", exact=True).fill("12:00")
    page.get_by_role("button", name="Ajouter le créneau").click()
    start = page.get_by_label("Début")
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(start).to_have_value("10:00")  # what was typed stays, to be corrected
    error = page.locator("#" + start.get_attribute("aria-describedby"))
    expect(error).to_contain_text("overlaps shift ana-day")
    expect(page.get_by_test_id("cell-ana-2026-11-30")).not_to_contain_text("10:00")
    assert world.hsvc.roster.export() == before and world.hsvc.roster.version() == 1


def test_a_bad_yaml_upload_shows_its_line_errors(world, browser):
    from playwright.sync_api import expect

    page = open_roster(browser, world)
    before = world.hsvc.roster.export()
    bad = (
        "timezone: Europe/Paris\n"
        "skills: [general]\n"
        "agents:\n"
        "  - {id: ana, name: Ana, phone: '0600000001', skills: {general: 3}, languages: [fr]}\n"
        "shifts:\n"
        "  - {agent: bob, days: mon, start: '08:00', end: '25:00'}\n"
    )
    page.get_by_label("Fichier du planning (YAML)").set_input_files(
        {"name": "planning.yaml", "mimeType": "application/yaml", "buffer": bad.encode()}
    )
    page.get_by_role("button", name="Importer").click()
    file_input = page.get_by_label("Fichier du planning (YAML)")
    expect(file_input).to_have_attribute("aria-invalid", "true")
    report = page.locator("#" + file_input.get_attribute("aria-describedby"))
    expect(report).to_contain_text("3 problème(s)")
    expect(report).to_contain_text("planning.yaml:4: agent ana: phone '0600000001'")
    expect(report).to_contain_text("planning.yaml:6: shift: unknown agent 'bob'")
    expect(report).to_contain_text("planning.yaml:6: end: bad time '25:00'")
    assert world.hsvc.roster.export() == before and world.hsvc.roster.version() == 1
