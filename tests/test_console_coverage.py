"""The coverage heatmap, /console/coverage, through Flask's test client: who may open it, a
week with history (cells and gaps are `hotline plan`'s), a week without (scheduled cover
alone, said so), 30-minute intervals, DST weeks, a cell's detail with and without htmx, bad
parameters (400 beside the field, never a 500), and the forecast kept in Redis: computed by
a real child process, once, newer results only, a roster edit shown at once."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from test_console import Browser, signed_in

from hotline.cli import main
from hotline.console import create_app
from hotline.history import iter_calls
from hotline.roster.model import ExtraShift
from hotline.roster.schedule import coverage
from hotline.wfm import forecast_store, heatmap
from hotline.wfm.forecast import forecast, history_window
from hotline.wfm.plan import plan

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "correct horse battery"
WEEK = "2026-W25"  # Monday 15 June 2026
DURING = datetime(2026, 6, 20, 12, 0, tzinfo=PARIS).timestamp()  # that Saturday

ROSTER = """\
timezone: Europe/Paris
holidays: {country: FR, holiday_as: sun}
skills: [connection, software]
agents:
  - {id: solo, name: Solo Martin, phone: '+33612345601', skills: {connection: 3}, languages: [fr]}
  - {id: duo, name: Duo Durand, phone: '+33612345602', skills: {connection: 2, software: 4}, languages: [fr]}
  - {id: late, name: Late Petit, phone: '+33612345603', skills: {software: 3}, languages: [fr]}
  - {id: night, name: Night Owl, phone: '+33612345604', skills: {connection: 2}, languages: [fr]}
shifts:
  - {id: solo, agent: solo, days: mon-fri, start: '08:00', end: '16:00'}
  - {id: duo, agent: duo, days: mon-fri, start: '09:00', end: '17:00'}
  - {id: late, agent: late, days: mon-fri, start: '10:15', end: '18:00'}
  - {id: night, agent: night, days: daily, start: '18:00', end: '08:00', on_call: true}
"""


def make_console(svc, clock, mondays=()):
    """The console on the test roster at DURING, with the history of `mondays` (and each
    Tuesday after) logged first: the log is in time order, as the live hotline writes it."""
    from argon2 import PasswordHasher

    clock.set(DURING)
    write_history(svc, mondays)
    svc.users.hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    svc.roster.import_text(ROSTER, "coverage.yaml")
    app = create_app(svc)
    for email, role, agent in (
        ("agent@example.org", "agent", "solo"),
        ("super@example.org", "supervisor", None),
        ("boss@example.org", "manager", None),
    ):
        svc.users.create(email, role=role, password=PASSWORD, agent_id=agent, by="test")
    return app


@pytest.fixture
def console(svc, clock):
    yield make_console(svc, clock)
    forecast_store.wait_children()  # no child outlives its test (it would write in the next)


@pytest.fixture
def hconsole(svc, clock):
    """With two weeks of history: enough for a forecast."""
    yield make_console(svc, clock, TWO_MONDAYS)
    forecast_store.wait_children()


@pytest.fixture
def sup(console):
    return signed_in(console, "super@example.org")


@pytest.fixture
def hsup(hconsole):
    return signed_in(hconsole, "super@example.org")


TWO_MONDAYS = (date(2026, 6, 1), date(2026, 6, 8))


def write_history(svc, mondays):
    """Calls as the real hotline logs them (enqueued, bridged, completed, wrap-up; some
    abandoned), appended in time order: the history reader relies on it."""
    events = []

    def burst(d: date, hh_mm: str, n: int, skill: str, agent: str):
        t0 = datetime.combine(d, time.fromisoformat(hh_mm), PARIS).timestamp()
        for i in range(n):
            sid, t = f"CA{d:%m%d}{hh_mm.replace(':', '')}{skill[:3]}{i:03d}", t0 + i * 3600 / n
            events.append((t, "enqueued", sid, {"skill": skill}))
            if i % 10 == 0:
                events.append((t + 40, "abandoned", sid, {"skill": skill, "wait_s": "40"}))
                continue
            events.append((t + 40, "caller_bridged", sid, {"agent_id": agent, "who": "caller"}))
            done = {"agent_id": agent, "skill": skill, "talk_s": "150"}
            events.append((t + 190, "call_completed", sid, done))
            events.append(
                (t + 190.01, "wrapup_started", sid, {"agent_id": agent, "wrapup_s": "30"})
            )
            events.append((t + 220, "wrapup_ended", sid, {"agent_id": agent}))

    for monday in mondays:
        burst(monday, "10:00", 60, "connection", "solo")
        burst(monday, "11:00", 40, "connection", "solo")
        burst(monday, "14:00", 8, "software", "late")
        burst(monday + timedelta(days=1), "09:00", 3, "connection", "solo")
    for t, kind, sid, fields in sorted(events, key=lambda e: e[0]):
        svc.events.append(kind, call_sid=sid, ts=t, **fields)


def the_plan(svc, roster, week=WEEK, interval=60):
    """`hotline plan`'s result, computed here from the history, independently of the page."""
    h0, h1 = history_window(week, svc.settings.tz)
    fc = forecast(iter_calls(svc, h0, h1), week, tz=PARIS, roster=roster, interval_min=interval)
    return plan(fc, roster, week, target_sl=0.8, target_s=60, shrinkage=0.3, max_occupancy=0.85)


class Page(HTMLParser):
    """The cells (testid -> class, text, label) and the tables' rows of a coverage page."""

    def __init__(self, html: str):
        super().__init__()
        self.cells: dict[str, dict] = {}
        self.rows: dict[str, list[dict]] = {"shortfalls": [], "uncovered": []}
        self.day_columns: dict[str, int] = {}
        self._td = self._a = self._table = self._day = None
        self._in_head = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("data-testid")
            if (self._table or "").startswith("day-"):
                self._day = self._table[4:]
                self.day_columns[self._day] = 0
        elif tag == "thead":
            self._in_head = True
        elif tag == "th" and self._in_head and self._day and "cov-time" in a.get("class", ""):
            self.day_columns[self._day] += 1
        elif tag == "td" and "cov-cell" in a.get("class", ""):
            self._td = a["class"].split()[1].removeprefix("lvl-")
        elif tag == "a" and self._td is not None:
            self._a = {"level": self._td, "text": "", "label": a["aria-label"], "href": a["href"]}
            q = parse_qs(urlsplit(a["href"]).query)
            start = datetime.fromtimestamp(int(q["start"][0]), PARIS).isoformat()
            self.cells[f"{q['skill'][0]}-{start}"] = self._a
        elif tag == "tr" and self._table in self.rows and "data-skill" in a:
            self.rows[self._table].append(
                {"skill": a["data-skill"], "start": a["data-start"], "end": a["data-end"]}
            )

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._table = self._day = None
        elif tag == "td":
            self._td = self._a = None

    def handle_data(self, data):
        if self._a is not None and "☎" not in data:
            self._a["text"] += data


def get_page(b, week=WEEK, interval=60, status=200):
    r = b.get(f"/console/coverage?week={week}&interval={interval}")
    assert r.status_code == status, r.get_data(as_text=True)[:2000]
    return r.get_data(as_text=True)


def gap_text(g):
    """The page's writing of a gap (French: comma, real minus sign)."""
    if g == 0:
        return "0"
    text = f"{abs(g):.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return ("−" if g < 0 else "+") + text


def computed(svc, week=WEEK, interval=60):
    """The forecast kept, as the page's child process computes it (here in-process)."""
    assert forecast_store.compute(svc, week, interval, svc.clock.now())


# --- who may open it -------------------------------------------------------------------------

PATHS = [
    "/console/coverage",
    f"/console/coverage/cell?week={WEEK}&skill=connection&start=2026-06-15T10:00:00%2B02:00",
    f"/console/coverage/status?week={WEEK}",
]


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_goes_to_login_and_an_agent_gets_403(console, path):
    r = Browser(console).get(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/console/login")
    assert signed_in(console, "agent@example.org").get(path).status_code == 403


@pytest.mark.parametrize("who", ["super@example.org", "boss@example.org"])
@pytest.mark.parametrize("path", PATHS)
def test_supervisors_and_managers_open_it(console, svc, who, path):
    computed(svc)
    r = signed_in(console, who).get(path)
    assert r.status_code in (200, 204), r.get_data(as_text=True)[:500]


def test_the_navigation_links_it_for_supervisors_only(console):
    assert 'href="/console/coverage"' in signed_in(console, "super@example.org").get(
        "/console/wallboard"
    ).get_data(as_text=True)
    page = signed_in(console, "agent@example.org").get("/console/agent").get_data(as_text=True)
    assert "/console/coverage" not in page


# --- a week with history -----------------------------------------------------------------------


def test_a_week_with_history_shows_the_plans_cells_and_gaps(hconsole, svc, hsup, monkeypatch):
    computed(svc)
    html = get_page(hsup)
    page = Page(html)
    roster = svc.roster.load()
    want = the_plan(svc, roster)
    assert want["enough_history"] and "Pas assez d&#39;historique" not in html
    assert len(page.cells) == 168 * 2
    for row in want["intervals"]:
        for k, c in row["skills"].items():
            cell = page.cells[f"{k}-{row['start']}"]
            assert cell["text"] == ("?" if c["gap"] is None else gap_text(c["gap"]))
            assert cell["level"] == heatmap.level(c, 0, True) or cell["level"] == heatmap.level(
                c, 1, True
            )  # heads only matter without a requirement
            if c["positions"] is not None:
                assert f"{c['positions']} requis" in cell["label"]
            if c["on_call"]:
                assert f"{len(c['on_call'])} d'astreinte" in cell["label"]
    monday10 = page.cells["connection-2026-06-15T10:00:00+02:00"]
    assert monday10["level"].startswith("short")

    # the gaps below: runs of the plan's negative gaps, recomputed here from its JSON
    runs = []
    for k in want["skills"]:
        for row in want["intervals"]:
            g = row["skills"][k]["gap"]
            if g is not None and g < 0:
                if runs and runs[-1]["skill"] == k and runs[-1]["end"] == row["start"]:
                    runs[-1]["end"] = row["end"]
                else:
                    runs.append({"skill": k, "start": row["start"], "end": row["end"]})
    runs.sort(key=lambda r: (datetime.fromisoformat(r["start"]), want["skills"].index(r["skill"])))
    assert page.rows["shortfalls"] == runs and runs
    # and the nobody-on-shift list is `roster coverage`'s
    cov = coverage(roster, WEEK)
    assert page.rows["uncovered"] == [
        {"skill": g.skill, "start": g.start.isoformat(), "end": g.end.isoformat()} for g in cov.gaps
    ]

    # one source of truth: `hotline plan --json` gives the same cells
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", svc.settings.redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(svc.settings.data_dir))
    res = CliRunner().invoke(
        main, ["plan", "--week", WEEK, "--interval-min", "60", "--target-s", "60", "--json"]
    )
    assert res.exit_code == 0, res.output
    cli = json.loads(res.output)
    assert [r["skills"] for r in cli["intervals"]] == [r["skills"] for r in want["intervals"]]


def test_a_cells_detail_says_who_is_on_and_the_forecast(hconsole, svc, hsup):
    computed(svc)
    page = Page(get_page(hsup))
    href = page.cells["connection-2026-06-15T10:00:00+02:00"]["href"]
    want = the_plan(svc, svc.roster.load())
    c = next(r for r in want["intervals"] if r["start"] == "2026-06-15T10:00:00+02:00")
    c = c["skills"]["connection"]

    frag = hsup.get(href, headers={"HX-Request": "true"})
    text = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in text  # a fragment for htmx
    assert 'data-agent="solo"' in text and 'data-agent="duo"' in text
    assert 'data-agent="late"' not in text  # software only
    assert "Erlang A" in text and f"{c['positions']} au planning" in text
    assert re.search(r'data-testid="detail-scheduled">1,5 ', text)
    assert re.search(r'data-testid="detail-heads">2 ', text)
    assert f"Appels attendus : {gap_text(c['calls']).lstrip('+')}" in text
    assert "2 semaine(s) d&#39;historique" in text

    full = hsup.get(href)  # without JavaScript: the link opens a page of its own
    body = full.get_data(as_text=True)
    assert full.status_code == 200 and "<html" in body and 'data-agent="duo"' in body
    assert "Retour à la couverture" in body

    night = hsup.get(
        page.cells["connection-2026-06-15T20:00:00+02:00"]["href"], headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert 'data-agent="night"' in night and "(d&#39;astreinte)" in night


# --- a week without enough history --------------------------------------------------------------


def test_a_week_without_history_says_so_and_shows_scheduled_cover(console, svc, sup):
    computed(svc)
    html = get_page(sup)
    assert "Pas assez d&#39;historique pour prévoir cette semaine : 0 semaine(s)" in html
    assert "Sous-effectif" not in html and 'data-testid="shortfalls"' not in html
    page = Page(html)
    cov = coverage(svc.roster.load(), WEEK)
    for hour in cov.hours:
        for k in ("connection", "software"):
            cell = page.cells[f"{k}-{hour.start.isoformat()}"]
            assert cell["text"] == str(hour.on_shift[k])  # heads, as `roster coverage`
            assert cell["level"] == (
                "covered" if hour.on_shift[k] else "oncall" if hour.on_call[k] else "nobody"
            )
    assert page.rows["uncovered"] and "personne en service" in html.lower()


def test_one_week_of_history_is_not_enough(svc, clock):
    app = make_console(svc, clock, (date(2026, 6, 8),))
    computed(svc)
    html = get_page(signed_in(app, "super@example.org"))
    assert "1 semaine(s) d&#39;appels" in html and "il en faut au moins 2" in html
    assert "personne en service, astreinte seule" in html  # the cover-only legend


def test_english(console, svc, sup):
    computed(svc)
    sup.post("/console/lang", {"lang": "en", "back": "/console/coverage"})
    html = get_page(sup)
    assert "Not enough history to forecast this week" in html and "nobody on shift" in html


# --- intervals, DST --------------------------------------------------------------------------


def test_30_minute_intervals(hconsole, svc, hsup):
    computed(svc, interval=30)
    page = Page(get_page(hsup, interval=30))
    want = the_plan(svc, svc.roster.load(), interval=30)
    assert len(page.cells) == 336 * 2 == len(want["intervals"]) * 2
    assert set(page.day_columns.values()) == {48}
    for row in want["intervals"]:
        c = row["skills"]["software"]
        cell = page.cells[f"software-{row['start']}"]
        assert cell["text"] == ("?" if c["gap"] is None else gap_text(c["gap"]))
    # software at 10:00-10:30: duo half (1/2 of one skill pair) + late from 10:15: 0.5 + 0.5
    assert "1 prévus" in page.cells["software-2026-06-15T10:00:00+02:00"]["label"]


@pytest.mark.parametrize(
    "week, sunday, columns", [("2026-W13", "2026-03-29", 23), ("2026-W43", "2026-10-25", 25)]
)
def test_dst_weeks_have_23_and_25_hour_sundays(console, svc, sup, week, sunday, columns):
    computed(svc, week=week)
    html = get_page(sup, week=week)
    page = Page(html)
    assert page.day_columns[sunday] == columns
    others = [n for d, n in page.day_columns.items() if d != sunday]
    assert others == [24] * 6
    if columns == 25:
        assert "connection-2026-10-25T02:00:00+02:00" in page.cells
        assert "connection-2026-10-25T02:00:00+01:00" in page.cells
        assert '<span class="cov-offset">+01:00</span>' in html
    else:
        assert not any(k.startswith("connection-2026-03-29T02:") for k in page.cells)


# --- bad parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("week=2026-25", "week", "n&#39;est pas une semaine"),
        ("week=2025-W53", "week", "n&#39;est pas une semaine"),  # 2025 has 52 weeks
        ("week=9999-W52", "week", "années 2000 à 2100"),
        ("week=0001-W01", "week", "années 2000 à 2100"),
        ("week=%3Cscript%3E", "week", "&lt;script&gt;"),
        ("interval=15", "interval", "Intervalle « 15 » inconnu"),
        ("week=2026-W25&interval=abc", "interval", "60 ou 30 minutes"),
    ],
)
def test_a_bad_parameter_is_a_400_beside_its_field(console, sup, query, field, message):
    r = sup.get(f"/console/coverage?{query}")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert f'id="cov-{field}-error" role="alert"' in html and message in html
    assert f'id="cov-{field}" ' in html and 'aria-invalid="true"' in html
    assert forecast_store._children == []  # nothing started


@pytest.mark.parametrize(
    "query, message",
    [
        ("skill=nope&start=2026-06-15T10:00:00%2B02:00", "Compétence « nope » inconnue"),
        ("skill=connection&start=2026-06-15T10:30:00%2B02:00", "n&#39;est le début d&#39;aucun"),
        ("skill=connection&start=yesterday", "« yesterday »"),
        ("skill=connection&start=", "n&#39;est le début"),
    ],
)
def test_a_bad_cell_is_a_400(console, svc, sup, query, message):
    r = sup.get(f"/console/coverage/cell?week={WEEK}&{query}")
    assert r.status_code == 400 and message in r.get_data(as_text=True)


def test_an_unescaped_plus_in_a_cell_link_still_finds_it(console, svc, sup):
    r = sup.get(
        f"/console/coverage/cell?week={WEEK}&skill=connection&start=2026-06-15T10:00:00+02:00"
    )
    assert r.status_code == 200 and 'data-agent="solo"' in r.get_data(as_text=True)


def test_no_roster_says_so(svc, clock):
    svc.users.create("s@example.org", role="supervisor", password=PASSWORD, by="test")
    app = create_app(svc)
    r = signed_in(app, "s@example.org").get("/console/coverage")
    assert r.status_code == 200 and "Aucun planning importé" in r.get_data(as_text=True)


# --- the forecast kept in Redis -----------------------------------------------------------------


def test_the_forecast_comes_from_a_child_process_once(hconsole, svc, hsup):
    html = get_page(hsup)
    assert "en cours de calcul" in html and 'hx-trigger="every 3s"' in html
    assert len(forecast_store._children) == 1
    get_page(hsup)  # a second look while it runs starts nothing more
    assert len(forecast_store._children) == 1
    status = f"/console/coverage/status?week={WEEK}&interval=60"
    forecast_store.wait_children()
    assert hsup.get(status).headers.get("HX-Refresh") == "true"
    page = Page(get_page(hsup))
    want = the_plan(svc, svc.roster.load())
    row = next(r for r in want["intervals"] if r["start"] == "2026-06-15T10:00:00+02:00")
    assert page.cells["connection-2026-06-15T10:00:00+02:00"]["text"] == gap_text(
        row["skills"]["connection"]["gap"]
    )
    st = forecast_store.status(svc, WEEK, 60, svc.roster.load(), svc.clock.now())
    assert st.fresh and st.computed_at == DURING and st.took_s is not None
    # the child planned it too, for the roster version of then: the page draws that plan
    assert st.plan == want and st.plan_roster_version == svc.roster.version()
    get_page(hsup)
    assert forecast_store._children == []  # final: never computed again


def test_status_is_204_while_the_child_runs(console, svc, sup):
    k = forecast_store.key(svc, WEEK, 60)
    svc.redis.set(k + ":job", f"sometoken {DURING!r}", ex=60)  # a child of another process
    html = get_page(sup)
    assert "en cours de calcul" in html and forecast_store._children == []
    assert sup.get(f"/console/coverage/status?week={WEEK}&interval=60").status_code == 204


def test_a_roster_edit_shows_at_once_without_reading_history_again(hconsole, svc, hsup):
    computed(svc)
    before = forecast_store.status(svc, WEEK, 60, svc.roster.load(), svc.clock.now())
    key = "software-2026-06-15T19:00:00+02:00"
    assert "0 prévus" in Page(get_page(hsup)).cells[key]["label"]
    svc.roster.add_shift(
        ExtraShift("", "late", date(2026, 6, 15), time(18), time(20)), by="boss@example.org"
    )
    cell = Page(get_page(hsup)).cells[key]
    assert "1 prévus" in cell["label"]
    assert forecast_store._children == []
    after = forecast_store.status(svc, WEEK, 60, svc.roster.load(), svc.clock.now())
    assert after.computed_at == before.computed_at and after.fresh
    # the kept plan is of the roster before the edit: the page planned the new one itself
    assert after.plan_roster_version == svc.roster.version() - 1
    assert after.plan["intervals"] != the_plan(svc, svc.roster.load())["intervals"]


def test_a_new_holiday_rule_needs_a_new_forecast(console, svc, sup):
    computed(svc)
    text = ROSTER.replace("holiday_as: sun", "holiday_as: sat")
    svc.roster.import_text(text, "coverage.yaml")
    st = forecast_store.status(svc, WEEK, 60, svc.roster.load(), svc.clock.now())
    assert st.forecast is None  # another calendar: the kept one does not apply
    assert "en cours de calcul" in get_page(sup)
    assert len(forecast_store._children) == 1


def test_an_older_result_never_replaces_a_newer_one(svc):
    svc.roster.import_text(ROSTER, "coverage.yaml")
    roster = svc.roster.load()
    cal = forecast_store.calendar(svc, roster)
    kw = dict(calendar=cal, mark="t1", history_end=0.0)
    assert forecast_store.store(svc, WEEK, 60, {"n": 2}, computed_at=200.0, **kw)
    assert not forecast_store.store(svc, WEEK, 60, {"n": 1}, computed_at=100.0, **kw)
    assert forecast_store.status(svc, WEEK, 60, roster, 300.0).forecast == {"n": 2}
    assert forecast_store.store(svc, WEEK, 60, {"n": 3}, computed_at=300.0, **kw)
    assert svc.redis.ttl(forecast_store.key(svc, WEEK, 60)) > 13 * 86400


def test_the_mark_of_a_coming_week_moves_and_a_past_weeks_is_final(svc):
    _, monday = history_window(WEEK, PARIS)
    before = monday - 86400
    assert forecast_store.mark(svc, WEEK, before) == forecast_store.mark(svc, WEEK, before + 1)
    assert forecast_store.mark(svc, WEEK, before) != forecast_store.mark(
        svc, WEEK, before + forecast_store.REFRESH_S
    )
    assert forecast_store.mark(svc, WEEK, monday + 1) != "final"  # calls of Sunday night
    assert forecast_store.mark(svc, WEEK, monday + forecast_store.SETTLE_S) == "final"


def test_a_stale_forecast_is_shown_while_a_newer_one_is_computed(hconsole, svc, hsup, clock):
    _, monday = history_window(WEEK, PARIS)
    clock.set(monday - 3600)  # Sunday evening: next week is being planned
    computed(svc)
    clock.set(monday - 3600 + forecast_store.REFRESH_S)
    html = get_page(hsup)
    assert "une plus récente est en cours de calcul" in html
    assert Page(html).cells["connection-2026-06-15T10:00:00+02:00"]["level"].startswith("short")
    assert len(forecast_store._children) == 1


def test_a_failed_child_is_said_and_not_retried_at_once(console, svc, sup):
    svc.roster.import_text(ROSTER, "coverage.yaml")
    k = forecast_store.key(svc, WEEK, 60)
    svc.redis.set(k + ":job", "mytoken 1.0", ex=60)
    svc.redis.delete(svc.keys.roster)  # the child finds no roster
    with pytest.raises(ValueError, match="no roster"):
        forecast_store.compute(svc, WEEK, 60, DURING, token="mytoken")
    assert svc.redis.get(k + ":job") is None  # its lock released
    assert "no roster" in svc.redis.get(k + ":error")
    svc.roster.import_text(ROSTER, "coverage.yaml")
    html = get_page(sup)
    assert "Le calcul de la prévision a échoué" in html and forecast_store._children == []
