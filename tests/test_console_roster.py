"""/console/roster through Flask's test client: who may open what, CSRF, the week grid
(holidays, swaps, leave, an agent in another zone, the DST weeks), every edit through the
roster store with `by` = the manager, errors beside their field with nothing saved, two
managers at once, import with line numbers and export that re-imports to the same roster."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from test_console import Browser, signed_in

from hotline.console import create_app
from hotline.console.roster_pages import UPLOAD_MAX_BYTES
from hotline.roster import load_text

ROSTER = Path(__file__).resolve().parents[1] / "examples" / "roster.yaml"
PASSWORD = "correct horse battery"
EMAIL = {
    "agent": "agent@example.org",
    "supervisor": "super@example.org",
    "manager": "boss@example.org",
}
RANK = {"agent": 0, "supervisor": 1, "manager": 2}


@pytest.fixture
def console(svc):
    from argon2 import PasswordHasher

    svc.users.hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    svc.roster.import_text(ROSTER.read_text(), str(ROSTER), by="test")
    app = create_app(svc)
    for email, role, agent in (
        (EMAIL["agent"], "agent", "camille.martin"),
        (EMAIL["supervisor"], "supervisor", None),
        (EMAIL["manager"], "manager", None),
        ("boss2@example.org", "manager", None),
    ):
        svc.users.create(email, role=role, password=PASSWORD, agent_id=agent, by="test")
    return app


def roster_page(b, week=None):
    r = b.get("/console/roster" + (f"?week={week}" if week else ""))
    assert r.status_code == 200, r.status_code
    return r.get_data(as_text=True)


def manager(console, email=EMAIL["manager"]):
    b = signed_in(console, email)
    roster_page(b)  # the page's CSRF token, and the version it shows
    return b


def version_on(page: str) -> int:
    return int(re.search(r'name="version" value="(\d+)"', page).group(1))


def cell(page: str, agent: str, day: str) -> str:
    """The text of one grid cell, tags stripped."""
    m = re.search(rf'data-testid="cell-{re.escape(agent)}-{day}"[^>]*>(.*?)</td>', page, re.S)
    assert m, f"no cell {agent} {day}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(1))).split())


def field_error(page: str, form: str, field: str) -> str | None:
    m = re.search(
        rf'<(span|div) class="field-error" id="err-{form}-{field}">(.*?)</\1>', page, re.S
    )
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(2))).split()) if m else None


def edit_events(svc):
    return [e for e in svc.events.read() if e.type in ("roster_edited", "roster_imported")]


SHIFT = {"agent": "nathan.richard", "days": "dim", "start": "08:00", "end": "16:00"}

# Every roster route, with the least role that may use it.
ROUTES = [
    ("GET", "/console/roster", "agent"),
    ("GET", "/console/roster?week=2026-W49", "agent"),
    ("GET", "/console/roster/export", "manager"),
    ("GET", "/console/roster/shifts/camille-day", "manager"),
    ("POST", "/console/roster/shifts", "manager"),
    ("POST", "/console/roster/shifts/camille-day", "manager"),
    ("POST", "/console/roster/shifts/camille-day/remove", "manager"),
    ("POST", "/console/roster/leave", "manager"),
    ("POST", "/console/roster/swap", "manager"),
    ("POST", "/console/roster/leave/cancel", "manager"),
    ("POST", "/console/roster/swap/cancel", "manager"),
    ("POST", "/console/roster/import", "manager"),
]


@pytest.mark.parametrize(("method", "path", "least"), ROUTES)
def test_an_anonymous_request_goes_to_the_login_page(console, method, path, least):
    b = Browser(console)
    r = b.get(path) if method == "GET" else b.post(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/console/login")


@pytest.mark.parametrize("role", ["agent", "supervisor", "manager"])
@pytest.mark.parametrize(("method", "path", "least"), ROUTES)
def test_each_role_opens_what_it_may_and_gets_403_elsewhere(
    console, svc, role, method, path, least
):
    b = signed_in(console, EMAIL[role])
    before = svc.roster.export()
    r = b.get(path) if method == "GET" else b.post(path, {})
    if RANK[role] < RANK[least]:
        assert r.status_code == 403
    else:
        assert r.status_code not in (403, 500) and r.status_code < 500
    if method == "POST":  # an empty form changes nothing, whoever sends it
        assert svc.roster.export() == before


@pytest.mark.parametrize(("method", "path", "least"), [x for x in ROUTES if x[0] == "POST"])
def test_a_change_without_its_csrf_token_is_400_and_changes_nothing(
    console, svc, method, path, least
):
    b = manager(console)
    before, version, n = svc.roster.export(), svc.roster.version(), len(svc.events.read())
    data = {**SHIFT, "version": str(version)}
    r = b.post(path, data, csrf=False)
    assert r.status_code == 400
    assert svc.roster.export() == before and svc.roster.version() == version
    assert len(svc.events.read()) == n


def test_the_nav_links_the_roster_for_every_role(console):
    for role in ("agent", "supervisor", "manager"):
        b = signed_in(console, EMAIL[role])
        page = roster_page(b)
        assert 'href="/console/roster" aria-current="page">Planning</a>' in page


def test_agents_and_supervisors_read_the_week_without_any_control(console):
    for role in ("agent", "supervisor"):
        page = roster_page(signed_in(console, EMAIL[role]), "2026-W49")
        assert "lun. 30/11" in page and "Camille Martin" in page
        assert "07:00–15:00" in cell(page, "camille.martin", "2026-11-30")
        assert 'method="post" action="/console/roster' not in page
        assert "Ajouter le créneau" not in page and "/console/roster/shifts/" not in page


def test_the_manager_sees_the_editor_with_labelled_fields(console):
    page = roster_page(manager(console), "2026-W49")
    for fid, label in (
        ("f-add-agent", "Agent"),
        ("f-add-days", "Jours"),
        ("f-add-date", "Date (créneau ponctuel)"),
        ("f-add-start", "Début"),
        ("f-add-end", "Fin"),
        ("f-leave-agent", "Congé de"),
        ("f-swap-other", "avec"),
        ("f-import-file", "Fichier du planning (YAML)"),
    ):
        assert f'<label for="{fid}">{label}</label>' in page
    assert ">Ajouter le créneau</button>" in page
    assert 'href="/console/roster/export"' in page


def test_the_week_shows_holidays_swaps_one_offs_and_the_other_zone(console):
    page = roster_page(manager(console), "2026-W52")
    # Christmas, a Friday, runs the Sunday shifts: Inès's weekend shift, not Camille's day
    assert "Férié : Noël — horaires du dimanche" in page
    assert "07:00–19:00" in cell(page, "ines.leroy", "2026-12-25")
    assert "07:00" not in cell(page, "camille.martin", "2026-12-25")
    # Christmas Eve: Léa and Camille swap their shifts
    lea = cell(page, "lea.petit", "2026-12-24")
    assert "07:00–15:00" in lea and "remplace camille.martin" in lea
    assert "échange avec lea.petit" in cell(page, "camille.martin", "2026-12-24")
    assert "15:00–23:00" in cell(page, "camille.martin", "2026-12-24")
    # the one-off shift of Boxing Day
    assert "08:00–16:00 ponctuel" in cell(page, "nathan.richard", "2026-12-26")
    # Montréal: the centre's time, then his own
    gab = cell(page, "gabriel.tremblay", "2026-12-21")
    assert "22:00–04:00" in gab and "16:00–22:00 America/Toronto" in gab
    assert "America/Toronto" in page.split('data-agent="gabriel.tremblay"', 1)[1][:400]
    # on call is marked
    assert "23:00–07:00 astreinte" in cell(page, "julie.simon", "2026-12-21")


def test_leave_is_shown_in_the_week(console):
    page = roster_page(manager(console), "2026-W32")  # 3-9 August 2026
    camille = cell(page, "camille.martin", "2026-08-03")
    assert "congé (congés d'été)" in camille and "07:00" not in camille
    assert "07:00–15:00" in cell(page, "ines.leroy", "2026-08-03")


def test_the_dst_weeks_of_paris(console):
    b = manager(console)
    # 28 March 2027, the last Sunday of March, is in 2027-W12 (22-28 March)
    spring = html.unescape(roster_page(b, "2027-W12"))
    assert "(167 h réelles)" in spring
    assert "changement d'heure : 23 h" in spring.split('data-testid="day-2027-03-28"', 1)[1][:300]
    night = cell(spring, "theo.durand", "2027-03-27")  # Saturday 19:00 -> Sunday 07:00
    assert "19:00–07:00" in night and "11 h au lieu de 12 h (changement d'heure)" in night
    # Montréal changed a fortnight before Paris: his evening starts an hour earlier here
    assert "21:00–03:00" in cell(spring, "gabriel.tremblay", "2027-03-22")
    # 25 October 2026, the last Sunday of October, is in 2026-W43 (19-25 October)...
    autumn = html.unescape(roster_page(b, "2026-W43"))
    assert "(169 h réelles)" in autumn
    assert "changement d'heure : 25 h" in autumn
    assert "13 h au lieu de 12 h" in cell(autumn, "theo.durand", "2026-10-24")
    # ...not in 2026-W44, an ordinary week of 168 hours
    after = html.unescape(roster_page(b, "2026-W44"))
    assert "(168 h réelles)" in after and "changement d'heure" not in after
    assert "19:00–07:00 astreinte 12 h" in cell(after, "theo.durand", "2026-10-31")
    # Paris is back on winter time, Montréal not yet (1 November): 21:00 here
    assert "21:00–03:00" in cell(after, "gabriel.tremblay", "2026-10-26")


def test_week_navigation_and_a_bad_week(console):
    b = manager(console)
    page = roster_page(b, "2026-W53")
    assert 'href="/console/roster?week=2026-W52" rel="prev"' in page
    assert 'href="/console/roster?week=2027-W01" rel="next"' in page
    # the clock's week by default
    assert 'id="f-week-week" name="week" type="week" value="2026-W22"' in roster_page(b)
    r = b.get("/console/roster?week=2026-W60")
    assert r.status_code == 400
    text = r.get_data(as_text=True)
    assert "Semaine inconnue" in field_error(text, "week", "week")
    assert 'aria-invalid="true" aria-describedby="err-week-week"' in text


def test_the_manager_adds_a_weekly_shift_logged_with_their_name(console, svc):
    b = manager(console)
    v = svc.roster.version()
    r = b.post(
        "/console/roster/shifts",
        {**SHIFT, "version": str(v), "week": "2026-W49"},
    )
    assert r.status_code == 302 and r.headers["Location"] == "/console/roster?week=2026-W49"
    assert svc.roster.version() == v + 1
    shift = svc.roster.load().shift("nathan.richard-1")
    assert shift.days == (6,) and f"{shift.start:%H:%M}" == "08:00"
    ev = edit_events(svc)[-1]
    assert (ev.type, ev.fields["op"], ev.fields["by"]) == (
        "roster_edited",
        "add_shift",
        EMAIL["manager"],
    )
    page = b.get(r.headers["Location"]).get_data(as_text=True)
    assert f"Créneau ajouté (version {v + 1})" in page
    assert "08:00–16:00" in cell(page, "nathan.richard", "2026-12-06")


def test_the_manager_adds_a_one_off_on_call_shift(console, svc):
    b = manager(console)
    data = {"agent": "hugo.thomas", "date": "2026-12-05", "start": "20:00", "end": "02:00"}
    data |= {"on_call": "1", "id": "hugo-samedi", "version": str(svc.roster.version())}
    assert b.post("/console/roster/shifts", data).status_code == 302
    extra = svc.roster.load().shift("hugo-samedi")
    assert extra.on_call and str(extra.date) == "2026-12-05"
    page = roster_page(b, "2026-W49")
    assert "20:00–02:00 astreinte ponctuel" in cell(page, "hugo.thomas", "2026-12-05")


def test_the_manager_changes_then_removes_a_shift(console, svc):
    b = manager(console)
    form = b.get("/console/roster/shifts/lea-evening?week=2026-W49").get_data(as_text=True)
    assert 'value="lun-ven"' in form and 'value="15:00"' in form
    v = version_on(form)
    data = {"agent": "lea.petit", "days": "lun-jeu", "start": "14:00", "end": "22:00"}
    r = b.post("/console/roster/shifts/lea-evening", {**data, "version": str(v)})
    assert r.status_code == 302
    s = svc.roster.load().shift("lea-evening")
    assert s.days == (0, 1, 2, 3) and f"{s.start:%H:%M}-{s.end:%H:%M}" == "14:00-22:00"
    # the Christmas Eve swap names no shift: still there, still valid
    assert len(svc.roster.load().swaps) == 1
    page = roster_page(b, "2026-W49")
    assert "14:00–22:00" in cell(page, "lea.petit", "2026-11-30")
    assert "14:00" not in cell(page, "lea.petit", "2026-12-04")  # no longer on Fridays
    r = b.post("/console/roster/shifts/lea-evening/remove", {"version": str(v + 1)})
    assert r.status_code == 302
    with pytest.raises(KeyError):
        svc.roster.load().shift("lea-evening")
    ops = [(e.fields["op"], e.fields["by"]) for e in edit_events(svc)[-2:]]
    assert ops == [("change_shift", EMAIL["manager"]), ("remove_shift", EMAIL["manager"])]
    assert b.get("/console/roster/shifts/lea-evening").status_code == 404


def test_the_manager_puts_an_agent_on_leave_and_swaps_two_agents(console, svc):
    b = manager(console)
    v = svc.roster.version()
    data = {
        "agent": "hugo.thomas",
        "start": "2026-12-01",
        "end": "2026-12-02",
        "reason": "formation",
    }
    assert b.post("/console/roster/leave", {**data, "version": str(v)}).status_code == 302
    r = b.post(
        "/console/roster/swap",
        {
            "agent": "camille.martin",
            "other": "lucas.bernard",
            "date": "2026-12-03",
            "version": str(v + 1),
        },
    )
    assert r.status_code == 302
    page = roster_page(b, "2026-W49")
    assert "congé (formation)" in cell(page, "hugo.thomas", "2026-12-01")
    assert "07:00" not in cell(page, "hugo.thomas", "2026-12-01")
    lucas = cell(page, "lucas.bernard", "2026-12-03")
    assert "07:00–15:00" in lucas and "remplace camille.martin" in lucas
    evs = edit_events(svc)[-2:]
    assert [(e.fields["op"], e.fields["by"]) for e in evs] == [
        ("leave", EMAIL["manager"]),
        ("swap", EMAIL["manager"]),
    ]
    assert evs[0].fields["reason"] == "formation"


def test_the_manager_cancels_a_leave_and_a_swap_from_their_lists(console, svc):
    b = manager(console)
    v = svc.roster.version()
    leave = {"agent": "hugo.thomas", "start": "2026-12-01", "end": "2026-12-02"}
    swap = {"agent": "camille.martin", "other": "lucas.bernard", "date": "2026-12-03"}
    assert b.post("/console/roster/leave", {**leave, "version": str(v)}).status_code == 302
    assert b.post("/console/roster/swap", {**swap, "version": str(v + 1)}).status_code == 302
    page = roster_page(b, "2026-W49")
    # each row of the lists has its button, named for screen readers by what it cancels
    assert "Annuler le congé" in page and "Annuler l&#39;échange" in page

    r = b.post("/console/roster/leave/cancel", {**leave, "version": str(v + 2)})
    assert r.status_code == 302
    # the other order of the two agents names the same swap
    other_way = {**swap, "agent": swap["other"], "other": swap["agent"], "shift": ""}
    r = b.post("/console/roster/swap/cancel", {**other_way, "version": str(v + 3)})
    assert r.status_code == 302
    r = svc.roster.load()
    assert [lv.agent for lv in r.leaves] == ["camille.martin"]  # the example's own leave
    assert [sw.date.isoformat() for sw in r.swaps] == ["2026-12-24"]  # and its own swap
    page = roster_page(b, "2026-W49")
    assert "07:00" in cell(page, "hugo.thomas", "2026-12-01")
    assert "remplace" not in cell(page, "lucas.bernard", "2026-12-03")
    evs = edit_events(svc)[-2:]
    assert [(e.fields["op"], e.fields["by"]) for e in evs] == [
        ("cancel_leave", EMAIL["manager"]),
        ("cancel_swap", EMAIL["manager"]),
    ]


def test_cancelling_a_leave_that_is_not_there_says_so_and_changes_nothing(console, svc):
    b = manager(console)
    before, v, n = svc.roster.export(), svc.roster.version(), len(svc.events.read())
    data = {"agent": "hugo.thomas", "start": "2026-12-01", "end": "2026-12-02"}
    r = b.post("/console/roster/leave/cancel", {**data, "version": str(v)})
    assert r.status_code == 400
    assert "no leave for &#39;hugo.thomas&#39; from 2026-12-01 to 2026-12-02" in r.get_data(
        as_text=True
    )
    r = b.post("/console/roster/swap/cancel", {"agent": "x", "version": str(v)})
    assert r.status_code == 400 and "Demande d&#39;annulation incomplète" in r.get_data(
        as_text=True
    )
    assert svc.roster.export() == before and svc.roster.version() == v
    assert len(svc.events.read()) == n


def test_an_invalid_edit_shows_its_error_beside_the_field_and_changes_nothing(console, svc):
    b = manager(console)
    before, v, n = svc.roster.export(), svc.roster.version(), len(svc.events.read())
    # Camille works 07:00-15:00 on weekdays: 14:00-18:00 on Monday overlaps it
    data = {"agent": "camille.martin", "days": "lun", "start": "14:00", "end": "18:00"}
    r = b.post("/console/roster/shifts", {**data, "version": str(v)})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "overlaps shift camille-day" in field_error(page, "add", "start")
    assert 'id="f-add-start" name="start" type="time" value="14:00"' in page  # kept for a fix
    assert 'aria-invalid="true" aria-describedby="err-add-start"' in page
    # fields the view reads itself
    bad = {"agent": "camille.martin", "days": "lun", "date": "2026-12-01"}
    page = b.post("/console/roster/shifts", {**bad, "start": "25:00", "version": str(v)})
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "pas les deux" in field_error(text, "add", "days")
    assert "HH:MM" in field_error(text, "add", "start")
    assert "Obligatoire" in field_error(text, "add", "end")
    # a domain rule of another form: leave ending before it starts
    page = b.post(
        "/console/roster/leave",
        {"agent": "hugo.thomas", "start": "2026-12-05", "end": "2026-12-01", "version": str(v)},
    ).get_data(as_text=True)
    assert "is before from" in field_error(page, "leave", "end")
    # swaps: with oneself; Manon's 11:00-19:00 given to Camille, who works 07:00-15:00
    swap = {"agent": "camille.martin", "date": "2026-12-01", "version": str(v)}
    page = b.post("/console/roster/swap", {**swap, "other": "camille.martin"})
    assert "cannot swap with themself" in field_error(page.get_data(as_text=True), "swap", "other")
    page = b.post("/console/roster/swap", {**swap, "other": "manon.dubois", "shift": "manon-day"})
    assert "camille.martin would work camille-day and manon-day at the same time" in (
        field_error(page.get_data(as_text=True), "swap", "date")
    )
    page = b.post("/console/roster/swap", {**swap, "other": "manon.dubois", "shift": "lea-evening"})
    assert "belongs to 'lea.petit'" in field_error(page.get_data(as_text=True), "swap", "shift")
    assert svc.roster.export() == before  # byte for byte
    assert svc.roster.version() == v and len(svc.events.read()) == n


def test_a_save_based_on_an_older_version_is_refused_with_the_current_one(console, svc):
    anne = manager(console)
    paul = manager(console, "boss2@example.org")
    page_a, page_p = roster_page(anne, "2026-W49"), roster_page(paul, "2026-W49")
    v = version_on(page_a)
    assert version_on(page_p) == v
    r = paul.post("/console/roster/shifts", {**SHIFT, "version": str(v)})
    assert r.status_code == 302
    before = svc.roster.export()
    other = {"agent": "hugo.thomas", "days": "sam", "start": "10:00", "end": "12:00"}
    r = anne.post("/console/roster/shifts", {**other, "version": str(v), "week": "2026-W49"})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert f"votre formulaire partait de la version {v}" in page
    assert f"maintenant à la version {v + 1}" in page
    assert version_on(page) == v + 1  # the form now carries the current version...
    assert "08:00–16:00" in cell(page, "nathan.richard", "2026-12-06")  # ...and shows it
    assert 'value="10:00"' in page  # what she typed is still there
    assert svc.roster.export() == before and svc.roster.version() == v + 1
    # sent again from the refreshed page, it is saved
    assert anne.post("/console/roster/shifts", {**other, "version": str(v + 1)}).status_code == 302
    assert svc.roster.version() == v + 2
    # the change page and the import are held to the same rule
    r = anne.post("/console/roster/shifts/lea-evening/remove", {"version": str(v)})
    assert r.status_code == 409
    r = anne.post(
        "/console/roster/import",
        {"version": str(v), "file": (io.BytesIO(ROSTER.read_bytes()), "roster.yaml")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 409 and svc.roster.version() == v + 2


def test_a_form_without_its_version_saves_nothing(console, svc):
    b = manager(console)
    before = svc.roster.export()
    r = b.post("/console/roster/shifts", SHIFT)
    assert r.status_code == 400 and "de quelle version" in r.get_data(as_text=True)
    assert svc.roster.export() == before


def upload(b, content: bytes, version: int, name: str = "roster.yaml"):
    return b.post(
        "/console/roster/import",
        {"version": str(version), "week": "2026-W49", "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_an_import_with_errors_lists_them_with_their_lines_and_changes_nothing(console, svc):
    b = manager(console)
    before, v, n = svc.roster.export(), svc.roster.version(), len(svc.events.read())
    text = ROSTER.read_text()
    bad = text.replace("'+33612345602'", "'0612345602'").replace(
        "days: mon-fri, start: '11:00', end: '19:00'}",
        "days: mon-fri, start: '11:00', end: '1900'}",
        1,
    )
    lines = {
        i + 1 for i, line in enumerate(bad.splitlines()) if "0612345602" in line or "'1900'" in line
    }
    r = upload(b, bad.encode(), v, "planning-décembre.yaml")
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    report = field_error(page, "import", "file")
    assert report.startswith("2 problème(s) dans le fichier")
    for ln in sorted(lines):
        assert f"planning-décembre.yaml:{ln}:" in report
    assert "E.164" in report and "bad time '1900'" in report
    # not YAML at all, not UTF-8, nothing, too big
    assert "planning.yaml:2: not valid YAML" in field_error(
        upload(b, b"agents: [\n  - {id: x\n", v, "planning.yaml").get_data(as_text=True),
        "import",
        "file",
    )
    assert "UTF-8" in field_error(
        upload(b, "é".encode("latin-1"), v).get_data(as_text=True), "import", "file"
    )
    assert "Choisissez" in field_error(
        upload(b, b"", v, "").get_data(as_text=True), "import", "file"
    )
    big = upload(b, b"#" * (UPLOAD_MAX_BYTES + 1), v)
    assert big.status_code == 400 and "trop gros" in field_error(
        big.get_data(as_text=True), "import", "file"
    )
    assert svc.roster.export() == before and svc.roster.version() == v
    assert len(svc.events.read()) == n


def test_export_downloads_a_file_that_reimports_to_the_same_roster(console, svc):
    b = manager(console)
    v = svc.roster.version()
    b.post("/console/roster/shifts", {**SHIFT, "version": str(v)})  # not just the example
    stored = svc.roster.load()
    r = b.get("/console/roster/export")
    assert r.status_code == 200 and r.mimetype == "application/yaml"
    assert r.headers["Content-Disposition"] == f'attachment; filename="roster-v{v + 1}.yaml"'
    exported = r.get_data()
    assert exported.decode() == svc.roster.export()
    assert load_text(exported.decode()) == stored
    r = upload(b, exported, v + 1, "roster-v2.yaml")
    assert r.status_code == 302
    assert svc.roster.version() == v + 2
    assert svc.roster.load() == stored
    assert b.get("/console/roster/export").get_data() == exported
    ev = edit_events(svc)[-1]
    assert (ev.type, ev.fields["by"], ev.fields["file"]) == (
        "roster_imported",
        EMAIL["manager"],
        "roster-v2.yaml",
    )
    page = b.get(r.headers["Location"]).get_data(as_text=True)
    assert "Planning importé depuis roster-v2.yaml : 12 agents" in page


def test_an_import_replaces_the_roster_as_the_cli_does(console, svc):
    b = manager(console)
    small = ROSTER.read_text().split("\nshifts:", 1)[0] + "\n"
    assert upload(b, small.encode(), svc.roster.version()).status_code == 302
    assert svc.roster.load() == load_text(small) and svc.roster.load().shifts == ()


def test_without_a_roster_the_page_says_so_and_offers_the_import(svc):
    from argon2 import PasswordHasher

    svc.users.hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    app = create_app(svc)
    svc.users.create(EMAIL["manager"], role="manager", password=PASSWORD, by="test")
    b = signed_in(app, EMAIL["manager"])
    page = roster_page(b)
    assert "Aucun planning enregistré" in page and 'id="f-import-file"' in page
    assert "Ajouter le créneau" not in page
    r = b.post("/console/roster/shifts", {**SHIFT, "version": "0"})
    assert r.status_code == 400 and "no roster stored yet" in r.get_data(as_text=True)
    assert upload(b, ROSTER.read_bytes(), 0).status_code == 302
    assert svc.roster.version() == 1


def test_the_page_in_english(console):
    b = manager(console)
    b.post("/console/lang", {"lang": "en", "back": "/console/roster"})
    page = roster_page(b, "2027-W12")
    assert ">Add the shift</button>" in page and "(167 real hours)" in page
    assert "11 h instead of 12 h (clock change)" in cell(page, "theo.durand", "2027-03-27")
    page = html.unescape(roster_page(b, "2026-W52"))
    assert "Public holiday: Christmas Day — runs Sunday's shifts" in page


def test_every_roster_string_has_both_languages():
    from hotline.console import i18n

    mine = {k: v for k, v in i18n.STRINGS.items() if k.startswith("roster_")}
    assert len(mine) > 50
    for key, (fr, en) in mine.items():
        assert fr.strip() and en.strip(), key
        assert re.findall(r"{\w+}", fr) == re.findall(r"{\w+}", en) or sorted(
            re.findall(r"{\w+}", fr)
        ) == sorted(re.findall(r"{\w+}", en)), key
