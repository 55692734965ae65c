"""The reports page and the staffing calculator in a real browser (Playwright driving
Debian's Chromium) against a hotline on loopback with the carrier simulator: a call is
answered, the supervisor opens the day's report (computed by the page's child process, the
page updating itself when it is ready), its chart is drawn, its CSV downloads and is
`hotline report --csv`'s, and the calculator answers the published check with 14 agents.

Skipped with the reason where Chromium or Playwright is missing, except under CI=true,
where that is a failure (.ci/run installs Chromium)."""

from __future__ import annotations

from pathlib import Path

import console_world
import pytest
from click.testing import CliRunner
from console_world import ConsoleWorld, sign_in

from hotline.cli import main
from hotline.wfm import report_store

pytestmark = pytest.mark.slow

browser = console_world.browser  # Chromium for one test, or the skip


@pytest.fixture
def world(settings, rclient):
    w = ConsoleWorld(settings.with_(public_url="http://127.0.0.1:1"), rclient, pace=20.0)
    yield w
    w.close()
    report_store.wait_children()


def cli_csv(settings, monkeypatch, *args) -> bytes:
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_KEY_PREFIX", settings.key_prefix)
    monkeypatch.setenv("HOTLINE_TIMEZONE", "Europe/Paris")
    res = CliRunner().invoke(main, ["report", *args, "--csv"])
    assert res.exit_code == 0, res.output
    return res.output.encode("utf-8")


def test_the_days_report_downloads_the_clis_csv(world, browser, settings, monkeypatch):
    from playwright.sync_api import expect

    world.hsvc.agents.set_state("cleo", "available", by="test")
    call = world.caller(at=1.0, talk=40)
    world.run_in_background(240)
    world.wait(90)
    assert world.hsvc.calls.get(call.spec.sid).state == "completed"

    page = browser.new_page()
    sign_in(page, world, "supervisor")
    page.goto(world.url + "/reports?day=2026-12-01")
    # computed away from the page; the page reloads itself once it is there
    link = page.get_by_role("link", name="Télécharger le CSV")
    expect(link).to_be_visible(timeout=60_000)
    expect(page.locator("svg.report-chart")).to_be_visible()
    expect(
        page.locator("table[data-skill='error_message'] tfoot td[data-field='answered']")
    ).to_have_text("1")
    with page.expect_download() as dl:
        link.click()
    got = Path(dl.value.path()).read_bytes()
    assert dl.value.suggested_filename == "hotline-report-2026-12-01-60min.csv"
    assert got == cli_csv(settings, monkeypatch, "--day", "2026-12-01")
    assert b"\nerror_message,2026-12-01T08:00:00Z,2026-12-01T09:00:00+01:00,1,1," in got


def test_the_staffing_form_shows_14_agents(world, browser):
    from playwright.sync_api import expect

    page = browser.new_page()
    sign_in(page, world, "supervisor")
    page.get_by_role("link", name="Calcul d'effectif").click()
    page.get_by_label("Appels sur l'intervalle").fill("100")
    page.get_by_label("Durée de l'intervalle (s)").fill("1800")
    page.get_by_label("Durée moyenne de traitement").fill("180")
    page.get_by_label("Niveau de service visé").fill("0,8")
    page.get_by_label("Décroché en (s) au plus").fill("20")
    page.get_by_role("button", name="Calculer").click()
    expect(page.get_by_test_id("staffing-agents")).to_have_text("14")
    expect(page.get_by_test_id("staffing-sl")).to_have_text("88.84 %")
    page.get_by_label("Appels sur l'intervalle").fill("-3")
    page.get_by_role("button", name="Calculer").click()
    expect(page.locator("#stf-calls-error")).to_have_text("De 0 à 100 000 appels.")
    expect(page.get_by_test_id("staffing-agents")).to_have_count(0)
