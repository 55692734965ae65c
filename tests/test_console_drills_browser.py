"""Drills in a real browser (Playwright driving Debian's Chromium) against the console on
loopback: a manager opens Drills from the navigation, starts a one-hour drill of a shipped
scenario, its progress polled until the page reloads itself with the results and the plot
(the image decoded: naturalWidth > 0); a broken upload shows its lines beside the field.

Skipped with the reason where Chromium or Playwright is missing, except under CI=true,
where that is a failure (.ci/run installs Chromium)."""

from __future__ import annotations

import os
import re
import signal

import console_world
import pytest
from console_world import ConsoleWorld, sign_in

from hotline.drill import runs

pytestmark = pytest.mark.slow

browser = console_world.browser  # Chromium for one test, or the skip


@pytest.fixture
def world(settings, rclient):
    w = ConsoleWorld(settings.with_(public_url="http://127.0.0.1:1"), rclient)
    yield w
    for c in list(runs._children):  # none outlives the test
        if c.poll() is None:
            os.killpg(c.pid, signal.SIGKILL)
    runs.wait_children(30)
    for r in runs.list_runs(w.hsvc):
        runs.cleanup(r)
    w.close()


def test_a_short_drill_runs_and_shows_its_plot(world, browser, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1300, "height": 900})
    sign_in(page, world, "manager")
    page.get_by_role("link", name="Exercices").click()
    page.wait_for_url(re.compile(r"/console/drills$"))

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: Broken\nstart: 2026-12-08T09:00:00+01:00\nroster: roster.yaml\n"
        "colours: blue\ncallers: {arrivals: {per_hour: 5}}\n"
    )
    page.get_by_label(re.compile("Ou envoyer un scénario")).set_input_files(str(broken))
    page.get_by_role("button", name="Lancer l'exercice").click()
    expect(page.locator("#err-file")).to_contain_text(
        "broken.yaml, ligne 4 : unknown key 'colours'"
    )
    assert runs.list_runs(world.hsvc) == []

    page.get_by_label(re.compile("Ou envoyer un scénario")).set_input_files([])
    page.get_by_label("Scénario fourni").select_option("network-outage-site.yaml")
    page.get_by_label("Heures simulées").fill("2")
    page.get_by_label("Réplications").fill("1")
    page.get_by_role("button", name="Lancer l'exercice").click()
    page.wait_for_url(re.compile(r"/console/drills/[0-9a-f]{16}$"))
    expect(page.get_by_role("status").first).to_contain_text(
        "Exercice « Network outage at a site » lancé"
    )

    plot = page.get_by_test_id("drill-plot")
    expect(plot).to_be_visible(timeout=120_000)  # the page reloads itself when the run ends
    expect(page.get_by_test_id("drill-state")).to_have_text("terminé")
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=drill-plot]');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=10_000,
    )
    assert page.evaluate("document.querySelector('[data-testid=drill-plot]').naturalWidth") > 500
    expect(page.get_by_test_id("drill-total")).to_contain_text("total")
    ev = [e for e in world.hsvc.events.read() if e.type == "drill_started"]
    assert [e.fields["by"] for e in ev] == ["boss@example.org"]

    page.get_by_role("link", name="Tous les exercices").click()
    expect(page.locator("table.drill-runs tbody tr")).to_have_count(1)
    expect(page.locator("table.drill-runs")).to_contain_text("terminé")
