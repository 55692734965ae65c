"""The coverage heatmap in a real browser (Playwright driving Debian's Chromium) against a
hotline on loopback: a manager opens the week, clicks a cell and sees who is on (fetched by
htmx, no page change), adds a shift through the roster form (/console/roster; the store
directly where that page is not served), reloads, and the cell's count changes.

Skipped with the reason where Chromium or Playwright is missing, except under CI=true,
where that is a failure (.ci/run installs Chromium)."""

from __future__ import annotations

from datetime import date, datetime, time

import console_world
import pytest
from console_world import PARIS, ConsoleWorld, sign_in

from hotline.roster.model import ExtraShift
from hotline.wfm import forecast_store

pytestmark = pytest.mark.slow

browser = console_world.browser  # Chromium for one test, or the skip

WEEK = "2026-W49"  # the world's Tuesday 1 December 2026
EVENING = datetime(2026, 12, 1, 19, 0, tzinfo=PARIS)  # after ana's 08:00-18:00


@pytest.fixture
def world(settings, rclient):
    w = ConsoleWorld(settings.with_(public_url="http://127.0.0.1:1"), rclient)
    yield w
    forecast_store.wait_children()
    w.close()


def cell(page, skill: str, at: datetime):
    return page.locator(f'a[href*="skill={skill}&start={int(at.timestamp())}"]')


def add_evening_shift(page, world) -> str:
    """Ana 18:00-20:00 on 1 December: through the roster form when /console/roster is
    served, else through the store the form uses. Returns which way it went."""
    from playwright.sync_api import expect

    resp = page.goto(f"{world.url}/roster?week={WEEK}")
    button = page.get_by_role("button", name="Ajouter le créneau")
    if resp is not None and resp.status == 200 and button.count() == 1:
        form = page.locator("form", has=button)
        form.get_by_label("Agent", exact=True).select_option("ana")
        form.get_by_label("Date (créneau ponctuel)").fill("2026-12-01")
        form.get_by_label("Début").fill("18:00")
        form.get_by_label("Fin").fill("20:00")
        button.click()
        expect(page.locator(".field-error")).to_have_count(0)
        how = "form"
    else:
        world.hsvc.roster.add_shift(
            ExtraShift("", "ana", date(2026, 12, 1), time(18), time(20)), by="boss@example.org"
        )
        how = "store"
    extras = [e for e in world.hsvc.roster.load().extras if e.agent == "ana"]
    assert [(e.date, e.start, e.end) for e in extras] == [(date(2026, 12, 1), time(18), time(20))]
    return how


def test_a_new_shift_changes_the_cell(world, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    sign_in(page, world, "manager")
    page.goto(f"{world.url}/coverage?week={WEEK}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Couverture")
    # no history in this world: the scheduled cover alone, said so once the forecast is read
    expect(page.get_by_test_id("coverage-little-history")).to_be_visible(timeout=30_000)
    morning = cell(page, "connection", datetime(2026, 12, 1, 10, 0, tzinfo=PARIS))
    evening = cell(page, "connection", EVENING)
    expect(morning).to_have_text("1")
    expect(evening).to_have_text("0")
    expect(evening).to_have_attribute("aria-label", "0 en service")

    # A click fetches who is on into the page (htmx), without leaving it
    page.evaluate("window.__not_reloaded = true")
    morning.click()
    detail = page.get_by_test_id("cell-detail")
    expect(detail).to_contain_text("Ana Martin")
    expect(detail).not_to_contain_text("Cléo Durand")  # software and error messages only
    assert page.evaluate("window.__not_reloaded") is True
    assert page.url.endswith(f"/coverage?week={WEEK}")

    how = add_evening_shift(page, world)
    page.goto(f"{world.url}/coverage?week={WEEK}")
    expect(evening).to_have_text("1")
    expect(cell(page, "general", EVENING)).to_have_text("1")  # ana's other skill
    expect(cell(page, "software", EVENING)).to_have_text("0")
    evening.click()
    expect(page.get_by_test_id("cell-detail")).to_contain_text("Ana Martin")
    print(f"shift added through the {how}")


def test_a_cell_opens_without_javascript(world, browser):
    from playwright.sync_api import expect

    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    sign_in(page, world, "supervisor")
    page.goto(f"{world.url}/coverage?week={WEEK}")
    cell(page, "software", datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)).click()
    expect(page.get_by_test_id("cell-detail")).to_contain_text("Cléo Durand")
    expect(page.get_by_role("link", name="← Retour à la couverture")).to_be_visible()
    ctx.close()
