"""/console/reports through Flask's test client: who may open it, the figures and the CSV
of `hotline report` (the CLI run beside it on the same log: the page's figures are its
JSON, the download is its --csv byte for byte), the chart (SVG that parses, one point per
interval, DST days), bad parameters (400 beside the field, never a 500), and the report
kept in Redis: computed by a real child process, once when final, again only when out of
date, newer results only, at most MAX_JOBS children, a failure said and not retried at once.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from test_console import Browser, signed_in
from test_wfm_report import SOFTWARE_10H, morning

from hotline.cli import main
from hotline.console import create_app
from hotline.wfm import chart, report_store
from hotline.wfm.report_store import Query

PARIS = ZoneInfo("Europe/Paris")
ROSTER = Path(__file__).resolve().parents[1] / "examples" / "roster.yaml"
PASSWORD = "correct horse battery"
DAY = "2026-12-01"  # the scripted morning of test_wfm_report, a Tuesday
WEEK = "2026-W49"  # its week
LATER = datetime(2026, 12, 20, 12, 0, tzinfo=PARIS).timestamp()  # both are final by then
SVG = "{http://www.w3.org/2000/svg}"


def make_console(svc, clock, *, with_morning=True, now=LATER):
    from argon2 import PasswordHasher

    if with_morning:
        morning().write(svc, clock)
    clock.set(now)
    svc.users.hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    svc.roster.import_text(ROSTER.read_text(), str(ROSTER), by="test")
    app = create_app(svc)
    for email, role, agent in (
        ("agent@example.org", "agent", "camille.martin"),
        ("super@example.org", "supervisor", None),
        ("boss@example.org", "manager", None),
    ):
        svc.users.create(email, role=role, password=PASSWORD, agent_id=agent, by="test")
    return app


@pytest.fixture
def console(svc, clock):
    yield make_console(svc, clock)
    report_store.wait_children()  # no child outlives its test (it would write in the next)


@pytest.fixture
def sup(console):
    return signed_in(console, "super@example.org")


@pytest.fixture
def cli(svc, monkeypatch, redis_url, settings):
    """`hotline report` as a user runs it, on the same Redis, archive and zone."""
    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_TIMEZONE", "Europe/Paris")

    def run(*args):
        res = CliRunner().invoke(main, ["report", *args])
        assert res.exit_code == 0, res.output
        return res.output

    return run


def computed(svc, q: Query):
    """The report kept, as the page's child process computes it (here in-process)."""
    assert report_store.compute_and_store(svc, q, svc.clock.now())


def get(b, path, status=200):
    r = b.get(path)
    assert r.status_code == status, r.get_data(as_text=True)[:3000]
    return r


class Page(HTMLParser):
    """The figures of a report page: skill -> row key (interval start UTC or 'total') ->
    field -> the raw value (as JSON), and the inline chart's SVG text."""

    def __init__(self, html: str):
        super().__init__()
        self.figures: dict[str, dict[str, dict]] = {}
        self._skill = self._row = None
        self._in_tfoot = False
        self.errors: dict[str, str] = {}
        self._error = None
        start, end = html.find("<svg"), html.find("</svg>")
        self.svg = html[start : end + 6] if start >= 0 else None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "data-skill" in a:
            self._skill = a["data-skill"]
            self.figures[self._skill] = {}
        elif tag == "tfoot":
            self._in_tfoot = True
        elif tag == "tr" and self._skill is not None:
            self._row = a.get("data-start") or "total"
        elif tag == "td" and self._row is not None and "data-field" in a:
            raw = a["data-value"]
            row = self.figures[self._skill].setdefault(self._row, {})
            row[a["data-field"]] = None if raw == "" else json.loads(raw)
        elif tag == "span" and a.get("class") == "field-error":
            self._error = a["id"].removeprefix("rep-").removesuffix("-error")

    def handle_endtag(self, tag):
        if tag == "table":
            self._skill = None
        elif tag == "tr":
            self._row = None
        elif tag == "tfoot":
            self._in_tfoot = False
        elif tag == "span":
            self._error = None

    def handle_data(self, data):
        if self._error:
            self.errors[self._error] = self.errors.get(self._error, "") + data


# --- who may open it -------------------------------------------------------------------------

PATHS = [
    f"/console/reports?day={DAY}",
    f"/console/reports.csv?day={DAY}",
    f"/console/reports/status?day={DAY}",
]


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_goes_to_login_and_an_agent_gets_403(console, path):
    r = Browser(console).get(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/console/login")
    assert signed_in(console, "agent@example.org").get(path).status_code == 403


@pytest.mark.parametrize("who", ["super@example.org", "boss@example.org"])
@pytest.mark.parametrize("path", PATHS)
def test_supervisors_and_managers_open_it(console, who, path):
    r = signed_in(console, who).get(path)
    assert r.status_code in (200, 202, 204), r.status_code


def test_the_navigation_links_it_for_supervisors_only(console):
    html = signed_in(console, "super@example.org").get("/console/wallboard").get_data(True)
    assert 'href="/console/reports"' in html and "Rapports" in html
    html = signed_in(console, "agent@example.org").get("/console/agent").get_data(True)
    assert 'href="/console/reports"' not in html


# --- the figures -----------------------------------------------------------------------------


def test_the_report_comes_from_a_child_process_and_is_the_clis_json(console, svc, sup, cli):
    html = get(sup, f"/console/reports?day={DAY}").get_data(True)
    assert "en cours de calcul" in html and 'hx-trigger="every 2s"' in html
    assert len(report_store._children) == 1
    get(sup, f"/console/reports?day={DAY}")  # a second look while it runs starts nothing
    assert len(report_store._children) == 1
    report_store.wait_children()
    r = get(sup, f"/console/reports/status?day={DAY}")
    assert r.headers.get("HX-Refresh") == "true"

    html = get(sup, f"/console/reports?day={DAY}").get_data(True)
    page = Page(html)
    want = json.loads(cli("--day", DAY, "--json"))
    assert set(page.figures) == {*want["skills"], "*"}
    for name, s in want["skills"].items():
        shown = page.figures[name]
        busy = [i for i in s["intervals"] if i["offered"] or i["selfhelp_resolved"]]
        assert set(shown) == {*(i["start_utc"] for i in busy), "total"}
        for i in busy:
            assert shown[i["start_utc"]] == {k: i[k] for k in shown[i["start_utc"]]}
        assert shown["total"] == {k: s["total"][k] for k in shown["total"]}
    ten = page.figures["software"]["2026-12-01T09:00:00Z"]
    assert {k: SOFTWARE_10H[k] for k in ten} == ten  # the hand-computed morning
    assert page.figures["*"]["total"] == {k: want["total"][k] for k in page.figures["*"]["total"]}
    assert "Chiffres définitifs" in html
    st = report_store.status(svc, Query("day", DAY), svc.clock.now())
    assert st.final and st.computed_at == LATER and st.took_s is not None
    get(sup, f"/console/reports?day={DAY}")
    assert report_store._children == []  # final: never computed again


@pytest.mark.parametrize(
    ("query", "args", "q"),
    [
        (f"day={DAY}", ["--day", DAY], Query("day", DAY)),
        (
            f"day={DAY}&skill=software&interval=30",
            ["--day", DAY, "--skill", "software", "--interval-min", "30"],
            Query("day", DAY, "software", 30),
        ),
        (
            f"week={WEEK}&interval=15",
            ["--week", WEEK, "--interval-min", "15"],
            Query("week", WEEK, None, 15),
        ),
    ],
)
def test_the_csv_download_is_the_clis_csv_byte_for_byte(console, svc, sup, cli, query, args, q):
    computed(svc, q)
    r = get(sup, f"/console/reports.csv?{query}")
    assert r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith("attachment; filename=")
    assert r.get_data() == cli(*args, "--csv").encode("utf-8")
    html = get(sup, f"/console/reports?{query}").get_data(True)
    assert "hotline report " + " ".join(q.cli_args()) in html


def test_the_csv_before_the_report_is_a_page_that_waits_then_the_download(console, svc, sup):
    r = get(sup, f"/console/reports.csv?day={DAY}", status=202)
    assert "le téléchargement commence" in r.get_data(True)
    report_store.wait_children()
    r = get(sup, f"/console/reports.csv?day={DAY}")
    assert r.mimetype == "text/csv" and r.get_data().startswith(b"skill,interval_start_utc,")


def test_english_and_the_occupancy_table(console, svc, sup):
    computed(svc, Query("day", DAY))
    sup.post("/console/lang", {"lang": "en", "back": "/console/reports"})
    html = get(sup, f"/console/reports?day={DAY}").get_data(True)
    assert "Final figures" in html and "Agent occupancy" in html and "Download the CSV" in html
    assert 'data-agent="ana"' in html


# --- the chart -------------------------------------------------------------------------------


def svg_of(sup, query):
    page = Page(get(sup, f"/console/reports?{query}").get_data(True))
    assert page.svg, "no chart on the page"
    return ET.fromstring(page.svg)


def intervals_of(root):
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "interval"]


@pytest.mark.parametrize(("interval", "n"), [(60, 24), (15, 96)])
def test_the_chart_is_svg_with_one_point_per_interval(console, svc, sup, interval, n):
    q = Query("day", DAY, None, interval)
    computed(svc, q)
    root = svg_of(sup, f"day={DAY}&interval={interval}")
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == "0 0 960 300"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Appels offerts et niveau de service par intervalle"
    assert root.get("aria-labelledby") == "report-chart-title report-chart-desc"
    groups = intervals_of(root)
    assert len(groups) == n
    rep = report_store.status(svc, q, svc.clock.now()).report
    points = chart.series(rep)
    for g, p in zip(groups, points, strict=True):
        assert g.get("data-start") == p.start_local
        assert int(g.get("data-offered")) == p.offered
        assert g.find(f"{SVG}title").text  # its tooltip
        circles = g.findall(f"{SVG}circle")
        assert len(circles) == (p.service_level is not None)
    line = [pl for pl in root.iter(f"{SVG}polyline") if pl.get("class") == "sl-line"]
    assert sum(len(pl.get("points").split()) for pl in line) == sum(
        p.service_level is not None for p in points
    )
    assert [x for x in root.iter(f"{SVG}line") if x.get("class") == "target"]


def test_a_skills_chart_is_that_skills_service_level(console, svc, sup):
    q = Query("day", DAY, "software")
    computed(svc, q)
    rep = report_store.status(svc, q, svc.clock.now()).report
    groups = intervals_of(svg_of(sup, f"day={DAY}&skill=software"))
    sls = [float(g.get("data-sl")) if g.get("data-sl") else None for g in groups]
    assert sls == [i["service_level"] for i in rep["skills"]["software"]["intervals"]]
    assert sls[10] == round(2 / 6, 4)


def test_all_skills_sum_the_counts_before_the_ratio():
    rep = {
        "period": {"intervals": 1},
        "skills": {
            "a": {"intervals": [iv(offered=4, answered_within_threshold=3, short_abandoned=1)]},
            "b": {"intervals": [iv(offered=2, answered_within_threshold=0, short_abandoned=0)]},
        },
    }
    (p,) = chart.series(rep)
    assert (p.offered, p.service_level) == (6, 0.6)  # 3 / (6 - 1), not the mean of 1.0 and 0


def iv(**n):
    return {"start_local": "2026-12-01T10:00:00+01:00", **n}


@pytest.mark.parametrize(("day", "n"), [("2026-03-29", 23), ("2026-10-25", 25)])
def test_dst_days_chart_23_or_25_hours(console, svc, sup, day, n):
    q = Query("day", day)
    computed(svc, q)
    groups = intervals_of(svg_of(sup, f"day={day}"))
    assert len(groups) == n
    starts = [g.get("data-start") for g in groups]
    assert len(set(starts)) == n  # 02:00 twice in October, told apart by the offset


def test_labels_are_escaped_and_the_svg_stays_well_formed():
    points = [chart.Point("2026-12-01T10:00:00+01:00", 3, 2, 0)]
    text = chart.sl_chart(
        points,
        target=0.8,
        title='<script>alert("x")</script> & co',
        desc="a < b",
        calls_label="calls & co",
        sl_label="SL <>",
        target_label="target 80 %",
        tick=lambda d: "<10h>",
        tip=lambda p: '"quoted" & <tagged>',
    )
    assert "<script>" not in text
    root = ET.fromstring(text)
    assert root.find(f"{SVG}title").text == '<script>alert("x")</script> & co'
    assert len(intervals_of(root)) == 1


# --- bad parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("day=2026-13-01", "day", "n'est pas un jour"),
        ("day=2026-02-30", "day", "n'est pas un jour"),
        ("day=1-2-3", "day", "n'est pas un jour"),
        ("day=9999-12-31", "day", "années 2000 à 2100"),
        ("week=2026-W60", "week", "n'est pas une semaine"),
        ("week=2027-W53", "week", "n'est pas une semaine"),  # 2027 has 52 ISO weeks
        ("week=junk", "week", "n'est pas une semaine"),
        (f"day={DAY}&week={WEEK}", "week", "pas les deux"),
        (f"day={DAY}&interval=45", "interval", "15, 30 ou 60"),
        (f"day={DAY}&interval=x", "interval", "15, 30 ou 60"),
        (f"day={DAY}&skill=nope", "skill", "inconnue"),
        (f"day={DAY}&skill=%3Cscript%3E", "skill", "inconnue"),
    ],
)
def test_a_bad_parameter_is_a_400_beside_its_field(console, sup, query, field, message):
    for path in ("/console/reports", "/console/reports.csv"):
        r = get(sup, f"{path}?{query}", status=400)
        page = Page(r.get_data(True))
        assert message in page.errors.get(field, ""), page.errors
        assert "<script>" not in r.get_data(True)
    assert report_store._children == []  # nothing computed


def test_week_53_exists_only_in_long_iso_years():
    with pytest.raises(ValueError):
        Query("week", "2027-W53").period(PARIS)
    assert Query("week", "2026-W53").period(PARIS)  # 1 January 2026 was a Thursday


def test_no_parameter_is_today(console, svc, sup, clock):
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=PARIS).timestamp())
    html = get(sup, "/console/reports").get_data(True)
    assert f'value="{DAY}"' in html


# --- kept in Redis ---------------------------------------------------------------------------


def test_the_mark_of_a_running_day_moves_by_the_minute_then_hourly_then_final():
    q = Query("day", DAY)
    start, end = q.period(PARIS)
    noon = start + 12 * 3600
    assert report_store.mark(q, PARIS, noon) != report_store.mark(q, PARIS, noon + 60)
    assert report_store.mark(q, PARIS, noon).startswith("l")
    after = end + report_store.SETTLE_S
    assert report_store.mark(q, PARIS, after).startswith("s")
    assert report_store.mark(q, PARIS, after + 60) == report_store.mark(q, PARIS, after)
    assert report_store.mark(q, PARIS, end + 7 * 86400 + 3600) == "final"


def test_a_stale_report_is_shown_while_a_newer_one_is_computed(svc, clock):
    app = make_console(svc, clock, now=datetime(2026, 12, 1, 11, 0, tzinfo=PARIS).timestamp())
    try:
        b = signed_in(app, "super@example.org")
        computed(svc, Query("day", DAY))
        html = get(b, f"/console/reports?day={DAY}").get_data(True)
        assert "recalculés au plus une fois par minute" in html and report_store._children == []
        clock.advance(61)
        html = get(b, f"/console/reports?day={DAY}").get_data(True)
        assert "des chiffres plus récents sont en cours de calcul" in html
        assert 'data-field="offered"' in html  # the kept figures, meanwhile
        assert len(report_store._children) == 1
    finally:
        report_store.wait_children()
    st = report_store.status(svc, Query("day", DAY), clock.now())
    assert st.fresh and st.computed_at == clock.now()


def test_an_older_result_never_replaces_a_newer_one(svc):
    q = Query("day", DAY)
    assert report_store.store(svc, q, {"n": 2}, mark="l1", computed_at=200.0)
    assert not report_store.store(svc, q, {"n": 1}, mark="l0", computed_at=100.0)
    assert report_store.status(svc, q, 200.0).report == {"n": 2}


def test_status_is_204_while_another_processs_child_runs(console, svc, sup):
    q = Query("day", DAY)
    claimed, _ = svc.scripts.report_job_claim(
        keys=report_store.jobs_keys(svc), args=[q.ident, "theirs", repr(LATER), 600, 2]
    )
    assert claimed == 1
    html = get(sup, f"/console/reports?day={DAY}").get_data(True)
    assert "en cours de calcul" in html and report_store._children == []
    assert get(sup, f"/console/reports/status?day={DAY}", status=204)


def test_at_most_max_jobs_children_then_a_report_waits_its_turn(console, svc, sup):
    for i in range(report_store.MAX_JOBS):
        other = Query("day", f"2026-11-0{i + 1}")
        claimed, _ = svc.scripts.report_job_claim(
            keys=report_store.jobs_keys(svc),
            args=[other.ident, f"t{i}", repr(LATER), 600, report_store.MAX_JOBS],
        )
        assert claimed == 1
    html = get(sup, f"/console/reports?day={DAY}").get_data(True)
    assert "autres rapports sont en cours de calcul" in html and report_store._children == []
    assert get(sup, f"/console/reports/status?day={DAY}", status=204)
    # a claim whose child died expires: the next look starts this report's child
    svc.clock.advance(report_store.JOB_TTL_S + 1)
    html = get(sup, f"/console/reports?day={DAY}").get_data(True)
    assert len(report_store._children) == 1


def test_a_failed_child_is_said_and_not_retried_at_once(console, svc, sup, monkeypatch):
    q = Query("day", DAY)
    _, owner = svc.scripts.report_job_claim(
        keys=report_store.jobs_keys(svc), args=[q.ident, "mine", repr(LATER), 600, 2]
    )

    def broken(svc, q):
        raise RuntimeError("the archive is unreachable")

    monkeypatch.setattr(report_store, "compute", broken)
    with pytest.raises(RuntimeError):
        report_store.compute_and_store(svc, q, LATER, owner=owner)
    monkeypatch.undo()
    st = report_store.status(svc, q, LATER)
    assert st.pending_since is None  # its claim released
    assert "the archive is unreachable" in st.error
    html = get(sup, f"/console/reports?day={DAY}").get_data(True)
    assert "Le calcul du rapport a échoué" in html and report_store._children == []


def test_the_claim_is_released_only_by_its_owner(svc):
    keys = report_store.jobs_keys(svc)
    _, owner = svc.scripts.report_job_claim(keys=keys, args=["day:x", "a", "10.0", 600, 2])
    assert svc.scripts.report_job_release(keys=keys, args=["day:x", "b 10.0"]) == 0
    assert svc.scripts.report_job_release(keys=keys, args=["day:x", owner]) == 1
    assert svc.redis.zcard(keys[0]) == 0 and svc.redis.hlen(keys[1]) == 0
