"""Drills from the console, /console/drills, through Flask's test client: who may open it,
CSRF, short drills run end to end by the real child process (a shipped scenario and an
upload on the stored roster) to a result and a PNG that Pillow reads, upload errors beside
the field with their lines (nothing started), the size limits, the hours x replications
cap, one drill at a time, and a child killed with SIGKILL shown as failed, its sandbox
Redis killed and removed, the slot free again; past runs newest first, kept to a bound."""

from __future__ import annotations

import io
import os
import re
import signal
import time
from pathlib import Path

import pytest
from PIL import Image
from test_console import Browser, signed_in

from hotline.console import create_app
from hotline.drill import runs

ROSTER = Path(__file__).resolve().parents[1] / "examples" / "roster.yaml"
PASSWORD = "correct horse battery"
EMAIL = {
    "agent": "agent@example.org",
    "supervisor": "super@example.org",
    "manager": "boss@example.org",
}
RUN = "0123456789abcdef"
ROUTES = [
    ("GET", "/console/drills"),
    ("POST", "/console/drills"),
    ("GET", f"/console/drills/{RUN}"),
    ("GET", f"/console/drills/{RUN}/progress"),
    ("GET", f"/console/drills/{RUN}/plot.png"),
]

UPLOAD_OK = b"""\
name: Upload on the stored roster
start: 2026-12-08T09:00:00+01:00
hours: 1
roster: stored
callers:
  arrivals: {per_hour: 20}
"""

UPLOAD_BROKEN = b"""\
name: Broken
start: 2026-12-08T09:00:00+01:00
roster: roster.yaml
colours: blue
callers:
  arrivals: {per_hour: -3}
  patience: {dist: gaussian, mean: 60}
"""


@pytest.fixture
def console(svc):
    from argon2 import PasswordHasher

    svc.users.hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    svc.roster.import_text(ROSTER.read_text(), str(ROSTER))
    svc.agents.sync_from_roster(svc.roster.load())
    app = create_app(svc)
    for email, role, agent in (
        ("agent@example.org", "agent", "camille.martin"),
        ("super@example.org", "supervisor", None),
        ("boss@example.org", "manager", None),
    ):
        svc.users.create(email, role=role, password=PASSWORD, agent_id=agent, by="test")
    yield app
    # No child outlives its test (it would write into the next test's database).
    for c in list(runs._children):
        if c.poll() is None:
            os.killpg(c.pid, signal.SIGKILL)
    runs.wait_children(30)
    for r in runs.list_runs(svc):
        runs.cleanup(r)


@pytest.fixture
def boss(console):
    return signed_in(console, EMAIL["manager"])


def events(svc, kind):
    return [e for e in svc.events.read() if e.type == kind]


def start(b, data=None, **kw):
    form = {"scenario": "network-outage-site.yaml", "hours": "1", "replications": "1"}
    form.update(data or {})
    return b.post("/console/drills", form, content_type="multipart/form-data", **kw)


def upload(b, content: bytes, name="mine.yaml", **fields):
    return start(b, {"file": (io.BytesIO(content), name), **fields})


def run_id_of(r) -> str:
    assert r.status_code == 302, r.get_data(as_text=True)
    m = re.fullmatch(r"/console/drills/([0-9a-f]{16})", r.headers["Location"])
    assert m, r.headers["Location"]
    return m.group(1)


def until(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.25)


def poll_until_refresh(b, run_id: str, timeout: float = 120.0):
    """What the page's htmx does: the progress fragment every so often, until it says to
    reload the page (the run ended). Returns the progress seen on the way."""
    seen = []

    def ended():
        r = b.get(f"/console/drills/{run_id}/progress", headers={"HX-Request": "true"})
        assert r.status_code == 200
        seen.append(r.get_data(as_text=True))
        return r.headers.get("HX-Refresh") == "true"

    until(ended, timeout, f"drill {run_id} ended")
    return seen


def field_error(html: str, name: str) -> str:
    m = re.search(rf'<div class="field-error" id="err-{name}">(.*?)</div>', html, re.S)
    assert m, f"no error beside {name}"
    return m.group(1)


# --- who may -------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_an_anonymous_request_goes_to_the_login_page(console, method, path):
    b = Browser(console)
    r = b.get(path) if method == "GET" else b.post(path)
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/console/login")


@pytest.mark.parametrize("role", ["agent", "supervisor", "manager"])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_only_managers_open_the_drills(console, svc, role, method, path):
    b = signed_in(console, EMAIL[role])
    r = b.get(path) if method == "GET" else b.post(path, {})
    if role != "manager":
        assert r.status_code == 403
    else:
        assert r.status_code in (200, 400, 404)  # no such run; an empty form
    assert not events(svc, "drill_started")


def test_the_navigation_shows_drills_to_managers_only(console):
    for role in ("agent", "supervisor", "manager"):
        page = signed_in(console, EMAIL[role]).get("/console/drills" if role == "manager" else "/")
        if role == "manager":
            assert 'href="/console/drills"' in page.get_data(as_text=True)
    sup = signed_in(console, EMAIL["supervisor"]).get("/console/wallboard")
    assert 'href="/console/drills"' not in sup.get_data(as_text=True)


def test_a_start_without_its_csrf_token_is_400_and_starts_nothing(console, svc, boss):
    r = start(boss, csrf=False)
    assert r.status_code == 400
    assert runs.list_runs(svc) == [] and not runs._children
    assert not events(svc, "drill_started")


def test_the_page_lists_the_shipped_scenarios_in_both_languages(console, boss):
    html = boss.get("/console/drills").get_data(as_text=True)
    for name in ("Monday after a software update", "Network outage at a site"):
        assert name in html
    assert "Lancer l&#39;exercice" in html and "Aucun exercice pour l&#39;instant." in html
    boss.post("/console/lang", {"lang": "en", "back": "/console/drills"})
    html = boss.get("/console/drills").get_data(as_text=True)
    assert "Start the drill" in html and "No drill yet." in html and "Lancer" not in html


# --- a real run ----------------------------------------------------------------------


def test_a_short_drill_runs_in_a_child_process_to_its_figures_and_plot(console, svc, boss):
    r = start(boss, {"scenario": "network-outage-site.yaml", "hours": "1"})
    run_id = run_id_of(r)
    child = runs._children[-1]
    # A session of its own: a console restart or its terminal's Ctrl-C does not reach it.
    assert os.getsid(child.pid) == child.pid != os.getsid(0)
    (ev,) = events(svc, "drill_started")
    assert ev.fields["by"] == EMAIL["manager"] and ev.fields["run_id"] == run_id
    assert ev.fields["scenario"] == "Network outage at a site"
    assert ev.fields["hours"] == "1.0" and ev.fields["replications"] == "1"

    page = boss.get(f"/console/drills/{run_id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page  # polled while it runs
    seen = poll_until_refresh(boss, run_id)
    assert any("en attente" in s or "en cours" in s for s in seen)

    run = runs.get(svc, run_id)
    assert run.state == "done" and run.progress == 1.0 and run.error == ""
    assert run.host and run.pid == child.pid and run.started_at <= run.ended_at
    out = runs.result(svc, run_id)
    assert out["scenario"]["hours"] == 1.0 and out["replications"] == 1
    assert out["total"]["offered"] > 0 and out["intervals"]
    assert [e.fields["state"] for e in events(svc, "drill_ended")] == ["done"]

    page = boss.get(f"/console/drills/{run_id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' not in page  # over: nothing polls any more
    assert 'data-testid="drill-total"' in page and "terminé" in page
    assert 'data-testid="drill-intervals"' in page and "2026-12-08 08:00" in page
    assert f'src="/console/drills/{run_id}/plot.png"' in page
    png = boss.get(f"/console/drills/{run_id}/plot.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    img = Image.open(io.BytesIO(png.data))
    img.load()
    assert img.format == "PNG" and img.width > 500 and img.height > 500
    assert Path(run.sandbox).exists() is False  # the child removed its sandbox

    listed = boss.get("/console/drills").get_data(as_text=True)
    assert f'data-run="{run_id}"' in listed and "Network outage at a site" in listed


def test_an_uploaded_scenario_on_the_stored_roster_runs(console, svc, boss):
    run_id = run_id_of(upload(boss, UPLOAD_OK, name="upload.yaml", hours=""))
    poll_until_refresh(boss, run_id)
    run = runs.get(svc, run_id)
    assert run.state == "done", run.error
    assert run.source == "upload:upload.yaml" and run.hours == 1.0  # the scenario's hours
    out = runs.result(svc, run_id)
    agents = {a["id"] for a in out["agents"]}
    assert agents <= {a.id for a in svc.roster.load().agents} and agents
    assert "envoyé : upload.yaml" in boss.get("/console/drills").get_data(as_text=True)


STARTER = """
import os, pickle, signal, sys
from hotline.drill import runs
from hotline.services import Services
svc = Services(pickle.load(sys.stdin.buffer))
req = runs.prepare(svc, shipped_file="network-outage-site.yaml", hours="1")
print(runs.start(svc, req, "boss@example.org"), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # the console dies at once, nothing graceful
"""


def test_a_run_outlives_the_console_process_that_started_it(console, svc, settings):
    import pickle
    import subprocess
    import sys

    starter = subprocess.run(
        [sys.executable, "-c", STARTER],
        input=pickle.dumps(settings),
        capture_output=True,
        timeout=60,
    )
    assert starter.returncode == -signal.SIGKILL, starter.stderr.decode()
    run_id = starter.stdout.decode().strip()
    run = until(
        lambda: (x := runs.get(svc, run_id)) and not x.active and x, 120, "the orphaned run's end"
    )
    assert run.state == "done", run.error
    assert runs.result(svc, run_id)["total"]["offered"] > 0 and runs.plot(svc, run_id)


# --- refusals ------------------------------------------------------------------------


def test_upload_errors_are_shown_beside_the_field_with_their_lines(console, svc, boss):
    r = upload(boss, UPLOAD_BROKEN, name="broken.yaml")
    assert r.status_code == 400
    err = field_error(r.get_data(as_text=True), "file")
    assert "broken.yaml, ligne 4 : unknown key &#39;colours&#39;" in err
    assert "broken.yaml, ligne 6 : arrivals.per_hour must be a number from 0" in err
    assert "broken.yaml, ligne 7 : patience: dist must be one of" in err
    assert runs.list_runs(svc) == [] and not runs._children
    assert not events(svc, "drill_started")

    r = upload(boss, b"name: x\nstart: [1\n", name="b.yaml")
    assert "b.yaml, ligne 3 : not valid YAML" in field_error(r.get_data(as_text=True), "file")
    r = upload(boss, "name: é".encode("latin-1"))
    assert "UTF-8" in field_error(r.get_data(as_text=True), "file")
    assert runs.list_runs(svc) == []


@pytest.mark.parametrize(
    "roster",
    [
        "/etc/hostname",
        "/etc/no-such-file",
        "../../../examples/roster.yaml",
        "../scenarios/../run.py",
    ],
)
def test_an_upload_may_not_read_another_file_of_the_server(console, svc, boss, roster):
    text = UPLOAD_OK.replace(b"roster: stored", f"roster: {roster}".encode())
    r = upload(boss, text)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    err = field_error(html, "file")
    assert "Un scénario envoyé joue le planning enregistré (roster: stored)" in err
    assert "not found" not in err and "/etc" not in err
    assert runs.list_runs(svc) == []


def test_an_upload_of_the_stored_roster_with_none_stored_is_refused(console, svc, boss):
    svc.redis.delete(svc.keys.roster)
    r = upload(boss, UPLOAD_OK)
    assert r.status_code == 400
    assert "aucun planning n&#39;est enregistré" in field_error(r.get_data(as_text=True), "file")


def test_too_large_an_upload_or_a_request_starts_nothing(console, svc, boss):
    big = UPLOAD_OK + b"#" * (runs.UPLOAD_MAX_BYTES + 10) + b"\n"
    r = upload(boss, big)
    assert r.status_code == 400
    assert "64 Ko au plus" in field_error(r.get_data(as_text=True), "file")
    huge = b"#" * (3 * 1024 * 1024)
    r = upload(boss, huge)
    assert r.status_code == 413
    assert "Rien n&#39;a été lancé" in field_error(r.get_data(as_text=True), "file")
    assert runs.list_runs(svc) == [] and not runs._children
    assert not events(svc, "drill_started")


@pytest.mark.parametrize(
    ("hours", "replications", "where", "says"),
    [
        ("0", "1", "hours", "Entre 0 et 168 heures."),
        ("abc", "1", "hours", "Entre 0 et 168 heures."),
        ("200", "1", "hours", "Entre 0 et 168 heures."),
        ("nan", "1", "hours", "Entre 0 et 168 heures."),
        ("1", "0", "replications", "Un nombre entier de 1 à 20."),
        ("1", "2.5", "replications", "Un nombre entier de 1 à 20."),
        ("1", "21", "replications", "Un nombre entier de 1 à 20."),
        ("24", "11", "replications", "Heures × réplications = 264 : 240 au plus"),
        ("", "30", "replications", "Un nombre entier de 1 à 20."),
    ],
)
def test_hours_and_replications_are_checked_and_their_product_capped(
    console, svc, boss, hours, replications, where, says
):
    r = start(
        boss,
        {"scenario": "monday-software-update.yaml", "hours": hours, "replications": replications},
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert says in field_error(html, where)
    assert f'value="{hours}"' in html  # what was typed is kept
    assert runs.list_runs(svc) == [] and not runs._children


def test_the_scenario_hours_count_in_the_cap_when_none_are_typed(console, svc, boss):
    req = runs.prepare(svc, shipped_file="monday-software-update.yaml", replications="20")
    assert (req.hours, req.replications) == (12.0, 20)  # 12 h x 20 = 240: allowed
    with pytest.raises(runs.DrillInvalid) as e:
        runs.prepare(
            svc, shipped_file="monday-software-update.yaml", hours="12.5", replications="20"
        )
    assert [i.code for i in e.value.issues["replications"]] == ["too_long"]
    r = start(boss, {"scenario": "unknown.yaml"})
    assert r.status_code == 400
    assert "Choisissez un des scénarios fournis" in field_error(
        r.get_data(as_text=True), "scenario"
    )
    assert runs.list_runs(svc) == []


# --- one at a time, and a killed run -------------------------------------------------


def test_a_second_start_is_refused_and_a_killed_run_is_shown_failed(console, svc, boss):
    first = run_id_of(
        start(
            boss, {"scenario": "monday-software-update.yaml", "hours": "24", "replications": "10"}
        )
    )
    other = signed_in(console, EMAIL["manager"])
    r = start(other, {"scenario": "network-outage-site.yaml", "hours": "1"})
    assert r.status_code == 409
    refused = r.get_data(as_text=True)
    assert "Un exercice est déjà en cours" in refused and EMAIL["manager"] in refused
    assert [x.id for x in runs.list_runs(svc)] == [first]
    assert len(events(svc, "drill_started")) == 1

    # Running, with its sandbox Redis up: then a real SIGKILL of the child, nothing graceful.
    run = until(
        lambda: (x := runs.get(svc, first)).state == "running" and x.progress > 0 and x,
        90,
        "the drill under way",
    )
    redis_pid = int((Path(run.sandbox) / "redis.pid").read_text())
    assert Path(f"/proc/{redis_pid}").exists()
    os.killpg(run.pid, signal.SIGKILL)
    runs._children[-1].wait(10)

    def shown_failed():
        html = boss.get(f"/console/drills/{first}").get_data(as_text=True)
        return "échoué" in html and html

    html = until(shown_failed, runs.LEASE_S + 20, "the killed run shown failed")
    assert "the drill process stopped without finishing" in html
    assert 'hx-trigger="every 1s"' not in html
    run = runs.get(svc, first)
    assert run.state == "failed" and run.ended_at is not None
    assert [e.fields["state"] for e in events(svc, "drill_ended")] == ["failed"]
    # What it left on this machine is gone: its sandbox's redis-server and directory.
    until(lambda: not Path(f"/proc/{redis_pid}").exists(), 10, "the sandbox redis-server killed")
    assert not Path(run.sandbox).exists()
    # The slot is free again.
    assert runs.active(svc) is None
    assert "Exercice en cours" not in boss.get("/console/drills").get_data(as_text=True)


def test_a_run_whose_process_never_beat_is_failed_when_its_lease_is_gone(console, svc, boss):
    k = runs.keys(svc)
    status, _ = svc.scripts.drill_run_start(
        keys=[k.runs, k.active, k.lease, k.run(RUN), svc.keys.events],
        args=[repr(svc.clock.now()), RUN, 60_000, EMAIL["manager"], "Nobody", "x.yaml", "1.0", 1],
    )
    assert status == 1
    assert runs.reap(svc) is None  # its lease lives: left alone
    assert start(boss).status_code == 409
    assert runs.get(svc, RUN).state == "queued"
    svc.redis.delete(k.lease)  # what its expiry does (the killed child's test waits for it)
    html = boss.get(f"/console/drills/{RUN}").get_data(as_text=True)
    assert "échoué" in html and "the drill process never started" in html
    # A child that comes back after being given up on changes nothing.
    assert runs._beat(svc, RUN, 10, 0.5) is False
    assert runs._finish(svc, RUN, "done") is False
    assert runs.get(svc, RUN).state == "failed"
    assert not svc.redis.exists(k.lease) and runs.active(svc) is None


def test_past_runs_are_listed_newest_first_and_kept_to_a_bound(console, svc, clock, boss):
    k = runs.keys(svc)
    ids = []
    for i in range(runs.KEEP + 3):
        run_id = f"{i:016x}"
        svc.scripts.drill_run_start(
            keys=[k.runs, k.active, k.lease, k.run(run_id), svc.keys.events],
            args=[
                repr(clock.now()),
                run_id,
                60_000,
                "boss@example.org",
                f"Drill {i}",
                "x.yaml",
                "1.0",
                1,
            ],
        )
        runs._finish(svc, run_id, "done", out={"total": {}})
        runs._trim(svc)
        ids.append(run_id)
        clock.advance(60)
    kept = [r.id for r in runs.list_runs(svc)]
    assert kept == list(reversed(ids))[: runs.KEEP]
    assert not svc.redis.exists(k.run(ids[0]))  # the oldest records are deleted
    html = boss.get("/console/drills").get_data(as_text=True)
    order = [m.group(1) for m in re.finditer(r'data-run="([0-9a-f]{16})"', html)]
    assert order == kept


def test_unknown_runs_and_missing_plots_are_404(console, boss):
    assert boss.get(f"/console/drills/{RUN}").status_code == 404
    assert boss.get("/console/drills/not-a-run").status_code == 404
    assert boss.get(f"/console/drills/{RUN}/plot.png").status_code == 404
    assert boss.get(f"/console/drills/{RUN}/progress").status_code == 404
