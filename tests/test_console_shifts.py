"""Agents' shifts (issue 12): the next four weeks on /console/agent, and each agent's
calendar feed at a secret, revocable URL, parsed back with icalendar to check what a
calendar app would show (the number of events, their zone, the instants across DST)."""

from __future__ import annotations

import html as html_lib
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

from hotline.accounts.calendar_tokens import CalendarTokens
from hotline.accounts.tokens import digest
from hotline.console import create_app
from tests.test_console import PASSWORD, Browser, signed_in

# Nina: on call Saturday nights, across both DST Sundays (25 Oct 2026, 28 Mar 2027);
# Dora: weekdays, leave 16-18 Nov 2026, and 11 Nov (Armistice) runs the Sunday shifts;
# Marc: weekdays 09-17 in Montréal, whose DST ends a week after Paris's (1 Nov 2026).
ROSTER = """\
timezone: Europe/Paris
holidays: {country: FR, holiday_as: sun}
skills: [connection, software]
agents:
  - {id: nina, name: Nina Noël, phone: '+33612345001', skills: {connection: 3}, languages: [fr]}
  - {id: dora, name: Dora Day, phone: '+33612345002', skills: {software: 4, connection: 2},
     languages: [fr, en]}
  - {id: marc, name: Marc Roy, phone: '+15145550100', timezone: America/Montreal,
     skills: {software: 3}, languages: [fr, en]}
shifts:
  - {id: nina-night, agent: nina, days: [sat], start: '22:00', end: '06:00', on_call: true}
  - {id: dora-day, agent: dora, days: mon-fri, start: '09:00', end: '17:00'}
  - {id: marc-day, agent: marc, days: mon-fri, start: '09:00', end: '17:00'}
exceptions:
  leave:
    - {agent: dora, from: 2026-11-16, to: 2026-11-18, reason: vacances}
"""
PARIS_MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # 10:00 in Paris, Monday
OCT_20 = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
MAR_22 = datetime(2027, 3, 22, 9, 0, tzinfo=UTC)
USERS = {
    "dora": ("dora@example.org", "agent", "dora"),
    "nina": ("nina@example.org", "agent", "nina"),
    "marc": ("marc@example.org", "agent", "marc"),
    "super": ("super@example.org", "supervisor", None),
    "boss": ("boss@example.org", "manager", None),
}


@pytest.fixture
def console(svc, clock):
    from argon2 import PasswordHasher

    svc.users.hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    clock.set(PARIS_MONDAY)
    svc.roster.import_text(ROSTER, "roster.yaml")
    svc.agents.sync_from_roster(svc.roster.load())
    for email, role, agent in USERS.values():
        svc.users.create(email, role=role, password=PASSWORD, agent_id=agent, by="test")
    return create_app(svc)


def as_user(console, who):
    return signed_in(console, USERS[who][0])


def events(svc, kind):
    return [e for e in svc.events.read() if e.type == kind]


def issued_url(response_page: str) -> str:
    """The feed URL the page shows once, as a path for the test client."""
    start = response_page.index("http://localhost/console/calendar/")
    end = response_page.index(".ics", start) + len(".ics")
    url = response_page[start:end]
    rest = response_page[end : end + 8]
    if rest.startswith("?lang=en"):
        url += "?lang=en"
    return url.removeprefix("http://localhost")


def issue(b, path="/console/agent/calendar-token") -> str:
    r = b.post(path, follow_redirects=True)
    assert r.status_code == 200
    return issued_url(text(r))


def fetch(console, url):
    return console.test_client().get(url)


def parse(resp) -> icalendar.Calendar:
    assert resp.status_code == 200, text(resp)
    return icalendar.Calendar.from_ical(resp.data)


def text(resp) -> str:
    """A page as the reader sees it (entities decoded: d'agenda, not d&#39;agenda)."""
    return html_lib.unescape(resp.get_data(as_text=True))


def row(html: str, day: str) -> str:
    """The agent page's row for one date."""
    start = html.index(f'data-date="{day}"')
    return html[start : html.index("</tr>", start)]


def by_uid(cal) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def real_length(ev) -> timedelta:
    return ev.decoded("DTEND").astimezone(UTC) - ev.decoded("DTSTART").astimezone(UTC)


# --- the agent's page: four weeks -------------------------------------------------


def test_the_agent_page_lists_four_weeks_of_shifts_and_not_the_fifth(console):
    html = text(as_user(console, "dora").get("/console/agent"))
    # 2 Nov to 29 Nov: 20 weekdays, less the Armistice (Sunday shifts: none for Dora) and
    # three days of leave
    assert html.count('data-shift="dora-day"') == 16
    assert 'data-date="2026-11-02"' in html and 'data-date="2026-11-29"' in html
    assert 'data-date="2026-11-30"' not in html  # Monday of the fifth week
    assert [w for w in ("2026-W45", "2026-W46", "2026-W47", "2026-W48") if w in html] == [
        "2026-W45",
        "2026-W46",
        "2026-W47",
        "2026-W48",
    ]
    assert "2026-W49" not in html
    day = row(html, "2026-11-11")
    assert "Férié : Armistice (horaires du dimanche)" in day and "dora-day" not in day
    leave = row(html, "2026-11-17")
    assert "Congé (vacances)" in leave and "dora-day" not in leave
    assert "Heures de Europe/Paris." in html


def test_the_agent_page_marks_on_call_and_the_longer_night_in_local_time(console, clock):
    clock.set(OCT_20)
    html = text(as_user(console, "nina").get("/console/agent"))
    night = row(html, "2026-10-24")
    assert "22:00</time>–<time" in night and "06:00</time>" in night
    assert "(le lendemain)" in night and "9 h" in night and "astreinte" in night
    assert "changement d'heure" in night
    other = row(html, "2026-10-31")
    assert "8 h" in other and "changement d'heure" not in other


def test_an_agent_in_another_zone_sees_their_own_wall_clock(console):
    html = text(as_user(console, "marc").get("/console/agent"))
    assert "Heures de America/Montreal." in html
    monday = row(html, "2026-11-02")
    assert '<time datetime="2026-11-02T09:00:00-05:00">09:00</time>' in monday


def test_a_holiday_is_named_in_the_users_language(console):
    b = as_user(console, "dora")
    b.post("/console/lang", {"lang": "en", "back": "/console/agent"})
    day = row(text(b.get("/console/agent")), "2026-11-11")
    assert "Public holiday: Armistice Day (Sunday shifts)" in day


# --- who may issue and revoke ----------------------------------------------------------

ROUTES = [
    ("/console/agent/calendar-token", "agent"),
    ("/console/agent/calendar-token/revoke", "agent"),
    ("/console/calendar-tokens/dora", "manager"),
    ("/console/calendar-tokens/dora/revoke", "manager"),
]
RANK = {"agent": 0, "supervisor": 1, "manager": 2}
ROLE_USER = {"agent": "nina", "supervisor": "super", "manager": "boss"}


@pytest.mark.parametrize(("path", "least"), ROUTES)
def test_an_anonymous_post_goes_to_the_login_page(console, path, least):
    r = Browser(console).post(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/console/login")


@pytest.mark.parametrize("role", ["agent", "supervisor", "manager"])
@pytest.mark.parametrize(("path", "least"), ROUTES)
def test_each_role_may_use_what_it_may_and_gets_403_elsewhere(console, svc, role, path, least):
    b = as_user(console, ROLE_USER[role])
    before = len(svc.events.read())
    r = b.post(path)
    if RANK[role] < RANK[least]:
        assert r.status_code == 403
        assert len(svc.events.read()) == before
    else:
        assert r.status_code == 302


@pytest.mark.parametrize(("path", "least"), ROUTES)
def test_a_post_without_its_csrf_token_is_400_and_changes_nothing(console, svc, path, least):
    CalendarTokens(svc).issue("dora", by="test")
    CalendarTokens(svc).issue("nina", by="test")
    b = as_user(console, "boss")
    before = svc.events.read()
    assert b.post(path, csrf=False).status_code == 400
    assert len(svc.events.read()) == len(before)


def test_an_agent_issues_only_their_own_token(console, svc):
    b = as_user(console, "nina")
    assert b.post("/console/calendar-tokens/dora").status_code == 403
    b.post("/console/agent/calendar-token", {"agent_id": "dora"})  # the form is not asked
    [ev] = events(svc, "calendar_token_issued")
    assert ev.agent_id == "nina" and ev.fields["by"] == "nina@example.org"
    assert CalendarTokens(svc).get("dora") is None


def test_a_supervisor_cannot_revoke_and_a_manager_can(console, svc):
    url = issue(as_user(console, "dora"))
    assert as_user(console, "super").post("/console/calendar-tokens/dora/revoke").status_code == 403
    assert fetch(console, url).status_code == 200
    r = as_user(console, "boss").post("/console/calendar-tokens/dora/revoke", follow_redirects=True)
    assert "Lien d'agenda révoqué." in text(r)
    assert fetch(console, url).status_code == 404
    [ev] = events(svc, "calendar_token_revoked")
    assert ev.agent_id == "dora" and ev.fields["by"] == "boss@example.org"


def test_the_manager_issues_from_the_accounts_page_the_url_shown_once(console, svc):
    b = as_user(console, "boss")
    page = text(b.get("/console/users"))
    assert 'data-calendar="marc"' in page and "Créer un lien d'agenda Marc Roy" in page
    r = b.post("/console/calendar-tokens/marc", follow_redirects=True)
    html = text(r)
    url = issued_url(html)
    assert fetch(console, url).status_code == 200
    again = text(b.get("/console/users"))
    assert url not in again and "Nouveau lien (l'ancien cesse de marcher)" in again
    [ev] = events(svc, "calendar_token_issued")
    assert ev.agent_id == "marc" and ev.fields["by"] == "boss@example.org"


def test_an_unknown_agent_is_an_error_and_changes_nothing(console, svc):
    b = as_user(console, "boss")
    r = b.post("/console/calendar-tokens/nobody", follow_redirects=True)
    assert r.status_code == 200
    assert "nobody n'est pas un agent du planning" in text(r)
    assert events(svc, "calendar_token_issued") == []


def test_only_a_digest_of_the_token_is_stored(console, svc, rclient):
    url = issue(as_user(console, "dora"))
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    dump = str({k: rclient.hgetall(k) for k in rclient.keys("hotline:caltokens*")})
    assert token not in dump and digest(token) in dump


# --- the feed -------------------------------------------------------------------------------


def test_the_feed_needs_no_session_and_says_what_it_is(console):
    url = issue(as_user(console, "dora"))
    r = fetch(console, url)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in r.headers
    cal = parse(r)
    assert str(cal["X-WR-CALNAME"]) == "Hotline — planning de Dora Day"
    assert cal["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert cal.decoded("REFRESH-INTERVAL") == timedelta(hours=1)
    assert str(cal["METHOD"]) == "PUBLISH"


def test_a_night_across_the_october_change_lasts_an_hour_longer(console, clock):
    clock.set(OCT_20)
    cal = parse(fetch(console, issue(as_user(console, "nina"))))
    evs = by_uid(cal)
    # 13 Oct (local midnight 7 days back) to 16 Dec (8 weeks on, whole days): 9 Saturdays
    assert len(evs) == 9
    assert sorted(u.split(".")[0] for u in evs)[0] == "2026-10-17"
    assert sorted(u.split(".")[0] for u in evs)[-1] == "2026-12-12"
    night = evs["2026-10-24.nina-night.nina@hotline.example.test"]
    assert night["DTSTART"].params["TZID"] == "Europe/Paris"
    assert night["DTEND"].params["TZID"] == "Europe/Paris"
    assert night["DTSTART"].to_ical() == b"20261024T220000"
    assert real_length(night) == timedelta(hours=9)
    assert real_length(evs["2026-10-31.nina-night.nina@hotline.example.test"]) == timedelta(hours=8)
    assert "Astreinte" in str(night["SUMMARY"]) and "nina-night" in str(night["SUMMARY"])
    assert "connection" in str(night["SUMMARY"])
    assert night.decoded("DTSTAMP") == OCT_20 and "LAST-MODIFIED" in night
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]


def test_the_vtimezone_alone_puts_the_october_night_at_nine_hours(console, clock):
    """A calendar app that reads the file's VTIMEZONE rather than its own zone names."""
    clock.set(OCT_20)
    cal = parse(fetch(console, issue(as_user(console, "nina"))))
    [vtz] = cal.walk("VTIMEZONE")
    tz = vtz.to_tz()
    night = by_uid(cal)["2026-10-24.nina-night.nina@hotline.example.test"]
    start = datetime.strptime(night["DTSTART"].to_ical().decode(), "%Y%m%dT%H%M%S")
    end = datetime.strptime(night["DTEND"].to_ical().decode(), "%Y%m%dT%H%M%S")
    utc = [t.replace(tzinfo=tz).astimezone(UTC) for t in (start, end)]
    assert utc == [datetime(2026, 10, 24, 20, tzinfo=UTC), datetime(2026, 10, 25, 5, tzinfo=UTC)]


def test_a_night_across_the_march_change_lasts_an_hour_shorter(console, clock):
    clock.set(MAR_22)
    evs = by_uid(parse(fetch(console, issue(as_user(console, "nina")))))
    night = evs["2027-03-27.nina-night.nina@hotline.example.test"]
    assert night.decoded("DTSTART").astimezone(UTC) == datetime(2027, 3, 27, 21, tzinfo=UTC)
    assert night.decoded("DTEND").astimezone(UTC) == datetime(2027, 3, 28, 4, tzinfo=UTC)
    assert real_length(night) == timedelta(hours=7)


def test_an_agent_in_another_zone_gets_their_zone_and_its_own_dst_change(console, clock):
    clock.set(OCT_20)
    cal = parse(fetch(console, issue(as_user(console, "marc"))))
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/Montreal"]
    assert str(cal["X-WR-TIMEZONE"]) == "America/Montreal"
    evs = by_uid(cal)
    fri = evs["2026-10-30.marc-day.marc@hotline.example.test"]
    mon = evs["2026-11-02.marc-day.marc@hotline.example.test"]
    assert fri["DTSTART"].params["TZID"] == "America/Montreal"
    # the same wall clock, 09:00 Montréal, on both sides of Montréal's change
    assert fri["DTSTART"].to_ical().endswith(b"T090000")
    assert mon["DTSTART"].to_ical().endswith(b"T090000")
    assert fri.decoded("DTSTART").astimezone(UTC).hour == 13  # EDT, UTC-4
    assert mon.decoded("DTSTART").astimezone(UTC).hour == 14  # EST, UTC-5


def test_leave_is_one_all_day_event_and_no_shift_on_those_days(console):
    evs = by_uid(parse(fetch(console, issue(as_user(console, "dora")))))
    leave = evs["leave.2026-11-16.dora@hotline.example.test"]
    assert leave.decoded("DTSTART") == date(2026, 11, 16)
    assert leave.decoded("DTEND") == date(2026, 11, 19)
    assert str(leave["SUMMARY"]) == "Congé (vacances)" and str(leave["TRANSP"]) == "TRANSPARENT"
    days = {u.split(".")[0] for u in evs if ".dora-day." in u}
    assert not days & {"2026-11-16", "2026-11-17", "2026-11-18", "2026-11-11"}
    assert "2026-11-19" in days


def test_the_feed_in_english_when_its_url_says_so(console):
    b = as_user(console, "dora")
    b.post("/console/lang", {"lang": "en", "back": "/console/agent"})
    url = issue(b)
    assert url.endswith("?lang=en")
    cal = parse(fetch(console, url))
    assert str(cal["X-WR-CALNAME"]) == "Hotline — Dora Day's shifts"
    assert any(str(e["SUMMARY"]) == "Leave (vacances)" for e in cal.walk("VEVENT"))


def test_uids_are_stable_and_last_modified_moves_only_with_the_roster(console, svc, clock):
    url = issue(as_user(console, "dora"))
    first = by_uid(parse(fetch(console, url)))
    clock.advance(3600)
    second = by_uid(parse(fetch(console, url)))
    assert set(first) == set(second)
    some = "2026-11-20.dora-day.dora@hotline.example.test"
    assert first[some].decoded("LAST-MODIFIED") == second[some].decoded("LAST-MODIFIED")
    assert second[some].decoded("DTSTAMP") == first[some].decoded("DTSTAMP") + timedelta(hours=1)
    clock.advance(60)
    svc.roster.import_text(ROSTER.replace("to: 2026-11-18", "to: 2026-11-20"), "roster.yaml")
    third = by_uid(parse(fetch(console, url)))
    assert some not in third and set(third) < set(second)  # the same events, one fewer
    again = "2026-11-23.dora-day.dora@hotline.example.test"
    assert third[again].decoded("LAST-MODIFIED") == datetime.fromtimestamp(clock.now(), UTC)
    assert third["leave.2026-11-16.dora@hotline.example.test"].decoded("DTEND") == date(
        2026, 11, 21
    )


def test_revoked_reissued_and_unknown_tokens(console, svc):
    b = as_user(console, "dora")
    old = issue(b)
    assert fetch(console, old).status_code == 200
    new = issue(b)  # reissue: the old one stops in the same step
    assert new != old
    assert fetch(console, new).status_code == 200
    gone = fetch(console, old)
    unknown = fetch(console, "/console/calendar/" + "x" * 32 + ".ics")
    huge = fetch(console, "/console/calendar/" + "x" * 500 + ".ics")
    for r in (gone, unknown, huge):
        assert r.status_code == 404 and r.data == b"Not found\n"
        assert r.headers["Referrer-Policy"] == "no-referrer" and "Set-Cookie" not in r.headers
    [first, second] = events(svc, "calendar_token_issued")
    assert second.fields["replaced"] == first.fields["token_id"]
    b.post("/console/agent/calendar-token/revoke")
    assert fetch(console, new).status_code == 404
    assert [e.fields["by"] for e in events(svc, "calendar_token_revoked")] == ["dora@example.org"]
    page = text(b.get("/console/agent"))
    assert "Aucun lien d'agenda." in page


def test_an_agent_removed_from_the_roster_has_no_feed(console, svc):
    url = issue(as_user(console, "marc"))
    smaller = ROSTER.replace(
        "  - {id: marc, name: Marc Roy, phone: '+15145550100', timezone: America/Montreal,\n"
        "     skills: {software: 3}, languages: [fr, en]}\n",
        "",
    ).replace("  - {id: marc-day, agent: marc, days: mon-fri, start: '09:00', end: '17:00'}\n", "")
    svc.roster.import_text(smaller, "roster.yaml")
    assert fetch(console, url).status_code == 404


def test_disabling_an_agents_account_revokes_their_feed_in_the_same_step(console, svc):
    url = issue(as_user(console, "nina"))
    other = issue(as_user(console, "dora"))
    svc.users.disable("nina@example.org", by="boss@example.org")
    assert fetch(console, url).status_code == 404  # the feed's URL no longer outlives the account
    assert fetch(console, other).status_code == 200
    [revoked] = events(svc, "calendar_token_revoked")
    assert (revoked.agent_id, revoked.fields["by"]) == ("nina", "boss@example.org")
    svc.users.disable("nina@example.org", by="boss@example.org")  # again: nothing more
    assert len(events(svc, "calendar_token_revoked")) == 1
    svc.users.disable("boss@example.org", by="test")  # no agent, no token: nothing to revoke
    assert len(events(svc, "calendar_token_revoked")) == 1


def test_what_this_page_logs_keeps_the_event_log_invariants(console, svc):
    from hotline.invariants import check

    b = as_user(console, "dora")
    issue(b)
    issue(b)
    b.post("/console/agent/calendar-token/revoke")
    violations = check([e.to_json() for e in svc.events.read()])
    assert violations == []


# --- the pure parts ---------------------------------------------------------------------------


def test_a_swap_hands_the_shift_to_the_other_agent_in_the_agenda_and_the_feed():
    from hotline.roster import agenda, ical
    from hotline.roster.validate import load_text

    roster = load_text(ROSTER + "  swap:\n    - {date: 2026-11-04, agent: dora, with: nina}\n")
    nina = agenda.agenda(roster, "nina", PARIS_MONDAY)
    [covered] = [s for s in nina.shifts if s.shift_id == "dora-day"]
    assert covered.day == date(2026, 11, 4) and covered.covering_for == "dora"
    assert "2026-11-04" not in {
        s.day.isoformat() for s in agenda.agenda(roster, "dora", PARIS_MONDAY).shifts
    }
    cal = icalendar.Calendar.from_ical(
        ical.feed(roster, "nina", now=PARIS_MONDAY, last_modified=PARIS_MONDAY, uid_domain="h")
    )
    ev = by_uid(cal)["2026-11-04.dora-day.nina@h"]
    assert "Échange : remplace Dora Day." in str(ev["DESCRIPTION"])


def test_an_instant_in_the_repeated_hour_is_written_in_utc_not_as_the_first_one():
    from zoneinfo import ZoneInfo

    from hotline.roster.ical import _local

    paris = ZoneInfo("Europe/Paris")
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, the repeat
    assert _local(first, paris).tzinfo is paris
    assert _local(second, paris) == second and _local(second, paris).tzinfo is UTC
