"""/console/staffing through Flask's test client: who may open it, the published checks
(Erlang C: 100 calls in 30 min, AHT 180 s, 80 % in 20 s -> 14 agents, SL 0.888; Erlang A
with 300 s of patience: SL 0.9168, abandonment 0.0140), the same answers as
`hotline staffing --json`, GET with the inputs or POST with CSRF, and every bad input a
message beside its field (400), nothing computed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_console import Browser, signed_in

from hotline.cli import main
from hotline.console import create_app

ROSTER = Path(__file__).resolve().parents[1] / "examples" / "roster.yaml"
PASSWORD = "correct horse battery"
PUBLISHED = "calls=100&interval_s=1800&aht_s=180&target_sl=0.8&target_s=20"


@pytest.fixture
def console(svc):
    from argon2 import PasswordHasher

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
def sup(console):
    return signed_in(console, "super@example.org")


def shown(html: str) -> dict[str, str]:
    """testid -> data-value of the result's figures."""
    return dict(re.findall(r'data-testid="staffing-([a-z-]+)" data-value="([^"]*)"', html))


def errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="stf-([a-z_]+)-error" role="alert">([^<]*)<', html))


def cli_json(*args) -> dict:
    res = CliRunner().invoke(main, ["staffing", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_anonymous_goes_to_login_and_an_agent_gets_403(console, method):
    b = Browser(console)
    r = b.get("/console/staffing") if method == "GET" else b.post("/console/staffing")
    assert r.status_code == 302 and r.headers["Location"].startswith("/console/login")
    a = signed_in(console, "agent@example.org")
    r = a.get("/console/staffing") if method == "GET" else a.post("/console/staffing", {})
    assert r.status_code == 403


def test_the_navigation_links_it_for_supervisors(console, sup):
    html = sup.get("/console/wallboard").get_data(True)
    assert 'href="/console/staffing"' in html and "Calcul d&#39;effectif" in html


def test_a_blank_form_has_the_defaults_and_no_result(sup):
    r = sup.get("/console/staffing")
    html = r.get_data(True)
    assert r.status_code == 200 and shown(html) == {}
    assert 'name="interval_s" value="1800"' in html and 'name="target_s" value="20"' in html
    assert "par défaut 0.3" in html  # HOTLINE_SHRINKAGE's default


def test_the_published_check_gives_14_agents_and_088_from_a_link(sup):
    r = sup.get(f"/console/staffing?{PUBLISHED}")
    html = r.get_data(True)
    assert r.status_code == 200
    got = shown(html)
    assert got["agents"] == "14"
    assert round(float(got["sl"]), 3) == 0.888
    assert abs(float(got["asa"]) - 7.83593701) < 1e-6
    assert abs(float(got["occupancy"]) - 0.7142857) < 1e-6
    assert got["positions"] == "20"  # 14 / (1 - 0.3), rounded up once
    assert "88.84 %" in html and "Erlang C" in html
    assert (
        "hotline staffing --calls 100 --interval-s 1800 --aht-s 180 --target-sl 0.8 "
        "--target-s 20 --shrinkage 0.3" in html
    )


def test_the_form_posts_with_its_csrf_token_and_gives_the_same(sup):
    sup.get("/console/staffing")
    form = dict(p.split("=") for p in PUBLISHED.split("&"))
    r = sup.post("/console/staffing", form)
    assert r.status_code == 200 and shown(r.get_data(True))["agents"] == "14"
    assert sup.post("/console/staffing", form, csrf=False).status_code == 400


def test_erlang_a_with_patience_is_the_published_figure(sup):
    r = sup.get(f"/console/staffing?{PUBLISHED}&agents=14&patience_s=300")
    got = shown(r.get_data(True))
    assert round(float(got["sl"]), 6) == 0.916792
    assert round(float(got["abandon"]), 6) == 0.013984
    assert "Erlang A" in r.get_data(True)


@pytest.mark.parametrize(
    ("query", "args"),
    [
        (PUBLISHED, []),
        (f"{PUBLISHED}&agents=12", ["--agents", "12"]),
        (
            f"{PUBLISHED}&patience_s=120&max_occupancy=0.7",
            ["--patience-s", "120", "--max-occupancy", "0.7"],
        ),
        (f"{PUBLISHED}&agents=5", ["--agents", "5"]),  # unstable: an answer, not an error
        (f"{PUBLISHED}&shrinkage=0.25", ["--shrinkage", "0.25"]),
    ],
)
def test_the_page_answers_what_hotline_staffing_answers(sup, query, args):
    want = cli_json(
        "--calls", "100", "--interval-s", "1800", "--aht-s", "180", "--target-sl", "0.8",
        "--target-s", "20", *args,
    )  # fmt: skip
    html = sup.get(f"/console/staffing?{query}").get_data(True)
    got = shown(html)
    assert int(got["agents"]) == want["agents"] and int(got["positions"]) == want["positions"]
    assert float(got["sl"]) == want["service_level"]
    assert (got["asa"] or None) == (None if want["asa_s"] is None else repr(want["asa_s"]))
    assert float(got["occupancy"]) == want["occupancy"]
    if "note" in want:
        assert "instable" in html or "unstable" in html


def test_a_french_decimal_comma_is_read(sup):
    got = shown(sup.get(f"/console/staffing?{PUBLISHED.replace('0.8', '0%2C8')}").get_data(True))
    assert got["agents"] == "14"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"calls": ""}, "calls", "Obligatoire"),
        ({"calls": "beaucoup"}, "calls", "n'est pas un nombre"),
        ({"calls": "-1"}, "calls", "De 0 à 100 000"),
        ({"calls": "nan"}, "calls", "n'est pas un nombre"),
        ({"interval_s": "0"}, "interval_s", "Plus de 0 s"),
        ({"aht_s": "-5"}, "aht_s", "Plus de 0 s"),
        ({"target_sl": "1.5"}, "target_sl", "Une part de 0 à 1"),
        ({"target_sl": "1"}, "target_sl", "infinité"),
        ({"target_s": "-1"}, "target_s", "De 0 à 86 400"),
        ({"agents": "2.5"}, "agents", "pas un nombre entier"),
        ({"agents": "0"}, "agents", "de 1 à 100 000"),
        ({"patience_s": "0"}, "patience_s", "Plus de 0 s"),
        ({"max_occupancy": "0"}, "max_occupancy", "plus de 0"),
        ({"shrinkage": "1"}, "shrinkage", "moins de 1"),
        ({"calls": "100000", "interval_s": "60", "aht_s": "86400"}, "calls", "Erlangs"),
        # 10^8 callers within one patience: minutes of maths in this worker; refused
        ({"calls": "100000", "interval_s": "60", "patience_s": "86400"}, "patience_s", "patience"),
    ],
)
def test_a_bad_input_is_a_400_beside_its_field(sup, change, field, message):
    form = {**dict(p.split("=") for p in PUBLISHED.split("&")), **change}
    sup.get("/console/staffing")
    r = sup.post("/console/staffing", form)
    assert r.status_code == 400
    html = r.get_data(True).replace("&#39;", "'")
    errs = errors(html)
    assert message in errs.get(field, ""), errs
    assert f'aria-describedby="stf-{field}-error"' in html
    assert shown(html) == {}  # nothing computed
    assert f'value="{change[field]}"' in html  # what was typed, shown back


def test_english(sup):
    sup.post("/console/lang", {"lang": "en", "back": "/console/staffing"})
    html = sup.get(f"/console/staffing?{PUBLISHED.replace('calls=100', 'calls=x')}").get_data(True)
    assert "Staffing calculator" in html and "is not a number" in html
