"""An agent's shifts as an iCalendar feed (RFC 5545, RFC 7986) that calendar apps subscribe
to: pure, over the roster, built with the `icalendar` package.

* One VEVENT per shift occurrence the agent works (after holidays, leave and swaps: what
  `schedule.occurrences` says routing will do), from `FEED_BACK` before now to `FEED_AHEAD`
  after; one all-day VEVENT per leave ("Congé"/"Leave", transparent: not busy).
* UIDs are stable (the occurrence's date, shift and agent; the leave's first day): a poll
  after a roster change updates the events in place instead of adding copies.
* DTSTART/DTEND carry the TZID of the agent's zone (their own, else the centre's) and the
  calendar holds that zone's VTIMEZONE, so an app that trusts the file rather than its own
  zone names still puts the night across the October change at 9 real hours, the March
  one at 7. The VTIMEZONE spans the years the feed covers (a 1970-2038 one is 14 kB).
* METHOD:PUBLISH: DTSTAMP is when this copy was made; LAST-MODIFIED when the feed first
  served the roster version it shows (`accounts/calendar_tokens.py` remembers it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from .agenda import agent_shifts, midnight, zone_of
from .model import Roster

FEED_BACK = timedelta(days=7)
FEED_AHEAD = timedelta(weeks=8)
REFRESH = timedelta(hours=1)
PRODID = "-//Hotline//Agents' shifts//FR"

# (French, English): the feed has no session, its URL says the language (?lang=en)
WORDS: dict[str, tuple[str, str]] = {
    "calname": ("Hotline — planning de {name}", "Hotline — {name}'s shifts"),
    "caldesc": (
        "Permanences et astreintes de {name} à la hotline, d'après le planning.",
        "{name}'s hotline shifts and on-call duty, from the roster.",
    ),
    "summary": ("{title} : {shift}", "{title}: {shift}"),
    "shift": ("Permanence", "Shift"),
    "on_call": ("Astreinte", "On call"),
    "on_call_note": (
        "Astreinte : appels reçus seulement si personne d'autre n'est disponible.",
        "On call: calls come only when nobody else can take them.",
    ),
    "extra": ("Permanence supplémentaire.", "Extra shift."),
    "covering": ("Échange : remplace {who}.", "Swap: covering for {who}."),
    "skills": ("Compétences : {skills}", "Skills: {skills}"),
    "length": ("Durée réelle : {hours} h", "Real length: {hours} h"),
    "leave": ("Congé", "Leave"),
}


def word(key: str, lang: str, **fields) -> str:
    fr, en = WORDS[key]
    text = en if lang == "en" else fr
    return text.format(**fields) if fields else text


def window(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight FEED_BACK ago, local midnight FEED_AHEAD on): whole days, so an
    occurrence does not drop out of the feed in the middle of its day."""
    here = now.astimezone(tz).date()
    return midnight(here - FEED_BACK, tz), midnight(here + FEED_AHEAD + timedelta(days=1), tz)


def feed(
    roster: Roster,
    agent_id: str,
    *,
    now: datetime,
    last_modified: datetime,
    uid_domain: str,
    lang: str = "fr",
) -> bytes:
    """The agent's calendar as iCalendar bytes (UTF-8, CRLF lines)."""
    agent = roster.agent(agent_id)
    tz = zone_of(roster, agent_id)
    start, end = window(now, tz)
    skills = ", ".join(k for k in roster.skills if agent.level(k) > 0)
    stamp = now.astimezone(UTC)
    modified = last_modified.astimezone(UTC)

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", word("calname", lang, name=agent.name))
    cal.add("x-wr-calname", word("calname", lang, name=agent.name))
    cal.add("description", word("caldesc", lang, name=agent.name))
    cal.add("x-wr-caldesc", word("caldesc", lang, name=agent.name))
    cal.add("x-wr-timezone", tz.key)
    # RFC 7986 requires VALUE=DURATION on REFRESH-INTERVAL; X-PUBLISHED-TTL for Outlook's kind
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", icalendar.vDuration(REFRESH))

    for s in agent_shifts(roster, agent_id, start, end):
        ev = icalendar.Event()
        ev.add("uid", f"{s.day.isoformat()}.{s.shift_id}.{agent_id}@{uid_domain}")
        ev.add("dtstamp", stamp)
        ev.add("last-modified", modified)
        ev.add("dtstart", _local(s.start, tz))
        ev.add("dtend", _local(s.end, tz))
        title = word("on_call" if s.on_call else "shift", lang)
        summary = word("summary", lang, title=title, shift=s.shift_id)
        ev.add("summary", f"{summary} ({skills})" if skills else summary)
        notes = [word("skills", lang, skills=skills), word("length", lang, hours=_hours(s.hours))]
        if s.on_call:
            notes.insert(0, word("on_call_note", lang))
        if s.extra:
            notes.append(word("extra", lang))
        if s.covering_for:
            notes.append(word("covering", lang, who=_name(roster, s.covering_for)))
        ev.add("description", "\n".join(notes))
        ev.add("categories", [word("on_call" if s.on_call else "shift", lang)])
        ev.add("transp", "OPAQUE")
        ev.add("status", "CONFIRMED")
        cal.add_component(ev)

    first, last = start.date(), end.date()
    for lv in roster.leaves:
        if lv.agent != agent_id or lv.end < first or lv.start > last:
            continue
        ev = icalendar.Event()
        ev.add("uid", f"leave.{lv.start.isoformat()}.{agent_id}@{uid_domain}")
        ev.add("dtstamp", stamp)
        ev.add("last-modified", modified)
        ev.add("dtstart", lv.start)  # all-day: VALUE=DATE, the agent's dates
        ev.add("dtend", lv.end + timedelta(days=1))  # DTEND of an all-day event is exclusive
        ev.add("summary", word("leave", lang) + (f" ({lv.reason})" if lv.reason else ""))
        ev.add("transp", "TRANSPARENT")
        cal.add_component(ev)

    # VTIMEZONE for the zone the events name, covering the feed's years (not 1970-2038)
    cal.add_missing_timezones(first_date=date(start.year, 1, 1), last_date=date(end.year + 1, 1, 1))
    return cal.to_ical()


def _local(at: datetime, tz: ZoneInfo) -> datetime:
    """`at` as a wall-clock time of `tz`, which is how DTSTART;TZID=… is written. RFC 5545
    reads a repeated wall-clock time as its first occurrence; an instant in the second one
    (the roster never starts or ends a shift there, but a swapped shift of an agent in
    another zone could) is written in UTC instead, so that it stays the right instant."""
    local = at.astimezone(tz)
    if local.replace(fold=0).astimezone(UTC) != at.astimezone(UTC):
        return at.astimezone(UTC)
    return local


def _hours(h: float) -> str:
    return f"{h:g}" if h == int(h) else f"{h:.2f}".rstrip("0")


def _name(roster: Roster, agent_id: str) -> str:
    try:
        return roster.agent(agent_id).name
    except KeyError:
        return agent_id
