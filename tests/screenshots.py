"""`make screenshots`: a PNG of each console page, from a real hotline on loopback, under
docs/screenshots/ (shown in the README). The same world as the browser tests
(tests/console_world.py), on a throw-away embedded Redis."""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import redis
from console_world import CHROMIUM, PARIS, ConsoleWorld, chromium_missing_reason, sign_in

from hotline.archive import synthetic
from hotline.config import Settings
from hotline.store.embedded import EmbeddedRedis
from hotline.store.keys import Keys
from hotline.wfm.forecast import history_window

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def main() -> int:
    missing = chromium_missing_reason()
    if missing:
        print(f"screenshots: {missing}", file=sys.stderr)
        return 1
    from playwright.sync_api import expect, sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="hl-shots-"))
    server = EmbeddedRedis(tmp / "redis")
    server.ensure()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    settings = Settings(
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="screenshots",
        public_url="http://127.0.0.1:1",
        redis_url=server.url,
        data_dir=tmp / "data",
        mode="test",
    )
    # Eight weeks of calls before the world's week (2026-W49), for the coverage heatmap's
    # forecast; written first: the log is in time order, as the live hotline writes it.
    h0, _ = history_window("2026-W49", settings.tz)
    for d in range(56):
        synthetic.write_day(client, Keys(settings.key_prefix), h0 + d * 86400, 60, seed=d)
    world = ConsoleWorld(settings, client)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            shot = dict(full_page=True)
            page = b.new_page(viewport={"width": 1200, "height": 800})
            page.goto(world.url + "/login")
            page.screenshot(path=OUT / "login.png", **shot)
            sign_in(page, world, "agent")
            page.get_by_role("button", name="Disponible").click()
            page.screenshot(path=OUT / "agent-idle.png", **shot)
            boss = b.new_page(viewport={"width": 1200, "height": 800})
            sign_in(boss, world, "manager")
            boss.get_by_label("Texte de l'annonce (fr)").fill("Panne de messagerie en cours")
            boss.get_by_role("button", name="Diffuser (fr)").click()
            world.caller(at=1.0)
            world.caller(at=20.0, number="+33611223355", talk=120)
            world.run_in_background(900)
            expect(page.get_by_test_id("card-category")).to_be_visible(timeout=30_000)
            page.screenshot(path=OUT / "agent-card.png", **shot)
            expect(page.get_by_role("heading", name="Après-appel")).to_be_visible(timeout=60_000)
            page.get_by_label("Qualification").select_option("resolved_remotely")
            page.get_by_label("Notes").fill("Outlook relancé, profil réparé")
            page.screenshot(path=OUT / "agent-wrapup.png", **shot)
            boss.reload()
            boss.screenshot(path=OUT / "wallboard.png", **shot)
            tv = b.new_page(viewport={"width": 1600, "height": 900})
            token = world.hsvc.tv_tokens.issue("screenshots", label="Accueil")
            tv.goto(f"{world.url}/tv/{token}")
            tv.screenshot(path=OUT / "wallboard-tv.png", **shot)
            roster = b.new_page(viewport={"width": 1400, "height": 900})
            sign_in(roster, world, "manager")
            roster.goto(world.url + "/roster?week=2026-W49")
            roster.get_by_label("Agent", exact=True).select_option("cleo")
            roster.get_by_label("Jours").fill("sam,dim")
            roster.get_by_label("Début").fill("09:00")
            roster.get_by_label("Fin", exact=True).fill("17:00")
            roster.get_by_label("Astreinte").check()
            roster.get_by_role("button", name="Ajouter le créneau").click()
            expect(roster.get_by_test_id("cell-cleo-2026-12-05")).to_contain_text("09:00")
            roster.screenshot(path=OUT / "roster-week.png", **shot)
            roster.get_by_label("Agent", exact=True).select_option("ana")
            roster.get_by_label("Jours").fill("lun")
            roster.get_by_label("Début").fill("10:00")
            roster.get_by_label("Fin", exact=True).fill("12:00")
            roster.get_by_role("button", name="Ajouter le créneau").click()
            expect(roster.get_by_label("Début")).to_have_attribute("aria-invalid", "true")
            roster.screenshot(path=OUT / "roster-error.png", **shot)
            cover = b.new_page(viewport={"width": 1400, "height": 1000})
            sign_in(cover, world, "manager")
            cover.goto(world.url + "/coverage?week=2026-W49")
            expect(cover.get_by_test_id("coverage-status")).to_contain_text(
                "Prévision calculée", timeout=120_000
            )  # the page reloads itself when the forecast's child process is done
            tuesday10 = int(datetime(2026, 12, 1, 10, tzinfo=PARIS).timestamp())
            cover.locator(f'a[href*="skill=software&start={tuesday10}"]').click()
            expect(cover.get_by_test_id("detail-who")).to_be_visible()
            cover.evaluate("window.scrollTo(0, 0)")  # the legend above, the detail below
            cover.screenshot(path=OUT / "coverage.png")
            drill = b.new_page(viewport={"width": 1300, "height": 900})
            sign_in(drill, world, "manager")
            drill.goto(world.url + "/drills")
            drill.get_by_label("Scénario fourni").select_option("monday-software-update.yaml")
            drill.get_by_label("Réplications").fill("3")
            drill.get_by_role("button", name="Lancer l'exercice").click()
            expect(drill.get_by_test_id("drill-plot")).to_be_visible(timeout=180_000)
            drill.wait_for_function(
                "() => document.querySelector('[data-testid=drill-plot]').naturalWidth > 0"
            )  # the drill's child process is done and the page reloaded itself
            drill.screenshot(path=OUT / "drill.png", **shot)
            sup = b.new_page(viewport={"width": 1400, "height": 1000})
            sign_in(sup, world, "supervisor")
            sup.goto(world.url + "/reports?day=2026-12-01")
            expect(sup.get_by_role("link", name="Télécharger le CSV")).to_be_visible(
                timeout=120_000
            )  # the page reloads itself when the report's child process is done
            sup.screenshot(path=OUT / "report.png", **shot)
            from hotline.wfm import report_store

            report_store.wait_children()  # before the world's Redis goes
            b.close()
    finally:
        world.close()
        client.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for f in sorted(OUT.glob("*.png")):
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
