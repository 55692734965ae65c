"""Agents' shifts: the next four weeks on /console/agent, and each agent's calendar feed.

GET /console/calendar/<token>.ics needs no session (calendar apps cannot sign in): the
secret token in the URL opens one agent's feed (accounts/calendar_tokens.py), anything
else is the same bare 404, so a guess learns nothing. An agent issues, reissues or revokes
their own token on /console/agent (always their own: the agent id is the session's, never
the form's); managers do it for anyone on /console/users (admin.py). The days and the
iCalendar are pure functions of the roster (roster/agenda.py, roster/ical.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_login import current_user

from ..accounts.calendar_tokens import CalendarTokens
from ..roster import ical
from ..roster.agenda import agenda
from . import i18n
from .auth import requires, svc
from .i18n import t

bp = Blueprint("shifts", __name__, url_prefix="/console")

# The same bare answer for every refusal; no page, so no session cookie either.
NOT_FOUND = (
    "Not found\n",
    404,
    {"Content-Type": "text/plain; charset=utf-8", "Referrer-Policy": "no-referrer"},
)

i18n.add_strings(
    {
        "shifts_title": ("Mes permanences (4 semaines)", "My shifts (4 weeks)"),
        "shifts_times_in": ("Heures de {zone}.", "Times in {zone}."),
        "shifts_no_roster": (
            "Aucun planning ne vous concerne pour l'instant.",
            "No roster names you yet.",
        ),
        "shifts_no_roster_agents": (
            "Pas encore de planning : importez-en un pour créer les liens d'agenda.",
            "No roster yet: import one to create calendar links.",
        ),
        "shifts_week": ("Semaine {week}", "Week {week}"),
        "shifts_day": ("Jour", "Day"),
        "shifts_shifts": ("Permanences", "Shifts"),
        "shifts_off": ("repos", "off"),
        "shifts_today": ("aujourd'hui", "today"),
        "shifts_on_call": ("astreinte", "on call"),
        "shifts_extra": ("supplémentaire", "extra"),
        "shifts_covering": ("remplace {who}", "covering for {who}"),
        "shifts_next_day": ("le lendemain", "next day"),
        "shifts_hours": ("{hours} h", "{hours} h"),
        "shifts_dst": ("changement d'heure", "clocks change"),
        "shifts_leave": ("Congé", "Leave"),
        "shifts_holiday": ("Férié : {name}", "Public holiday: {name}"),
        "shifts_holiday_as": ("horaires du {day}", "{day} shifts"),
        "shifts_wd_0": ("lundi", "Monday"),
        "shifts_wd_1": ("mardi", "Tuesday"),
        "shifts_wd_2": ("mercredi", "Wednesday"),
        "shifts_wd_3": ("jeudi", "Thursday"),
        "shifts_wd_4": ("vendredi", "Friday"),
        "shifts_wd_5": ("samedi", "Saturday"),
        "shifts_wd_6": ("dimanche", "Sunday"),
        "shifts_feed": ("Mon agenda", "My calendar"),
        "shifts_feed_help": (
            "Un lien secret vers vos permanences, à ajouter à votre agenda (abonnement par URL) : "
            "il se met à jour tout seul. Qui a le lien voit vos horaires : ne le partagez pas.",
            "A secret link to your shifts for your calendar app (subscribe by URL): it keeps "
            "itself up to date. Whoever has the link sees your hours: do not share it.",
        ),
        "shifts_feed_none": ("Aucun lien d'agenda.", "No calendar link."),
        "shifts_feed_since": (
            "Lien d'agenda créé le {when} par {by}.",
            "Calendar link created on {when} by {by}.",
        ),
        "shifts_issue": ("Créer un lien d'agenda", "Create a calendar link"),
        "shifts_reissue": (
            "Nouveau lien (l'ancien cesse de marcher)",
            "New link (the old one stops working)",
        ),
        "shifts_revoke": ("Révoquer le lien d'agenda", "Revoke the calendar link"),
        "shifts_issued": (
            "Lien d'agenda créé ; copiez-le maintenant, il ne sera plus affiché : {url}",
            "Calendar link created; copy it now, it will not be shown again: {url}",
        ),
        "shifts_revoked": ("Lien d'agenda révoqué.", "Calendar link revoked."),
        "shifts_not_revoked": ("Il n'y avait pas de lien d'agenda.", "There was no calendar link."),
        "shifts_unknown_agent": (
            "{agent} n'est pas un agent du planning : rien n'a changé.",
            "{agent} is not a roster agent: nothing changed.",
        ),
        "shifts_feeds": ("Agendas des agents", "Agents' calendar feeds"),
        "shifts_agent": ("Agent", "Agent"),
        "shifts_link": ("Lien", "Link"),
    }
)


def tokens() -> CalendarTokens:
    return CalendarTokens(svc())


def in_roster(agent_id: str | None):
    """The stored roster if it names `agent_id`, else None."""
    roster = svc().roster.load()
    if roster is None or not agent_id or agent_id not in {a.id for a in roster.agents}:
        return None
    return roster


def desk_view(agent_id: str) -> dict:
    """What the agent's page shows of their shifts: the four weeks and their feed's token."""
    roster = in_roster(agent_id)
    now = datetime.fromtimestamp(svc().clock.now(), UTC)
    return {
        "agenda": agenda(roster, agent_id, now, lang=i18n.lang()) if roster else None,
        "feed_token": tokens().get(agent_id),
    }


def feed_url(token: str) -> str:
    """The subscription URL, in the issuer's language (the feed has no session to ask)."""
    lang = i18n.lang()
    return url_for("shifts.feed", token=token, lang="en" if lang == "en" else None, _external=True)


def issue_for(agent_id: str) -> bool:
    """Issue (or reissue) `agent_id`'s token and flash its URL once; False if no such agent."""
    if in_roster(agent_id) is None:
        flash(t("shifts_unknown_agent", agent=agent_id), "error")
        return False
    token = tokens().issue(agent_id, by=current_user.by)
    flash(t("shifts_issued", url=feed_url(token)), "ok")
    return True


def revoke_for(agent_id: str) -> None:
    if tokens().revoke(agent_id, by=current_user.by):
        flash(t("shifts_revoked"), "ok")
    else:
        flash(t("shifts_not_revoked"), "error")


@bp.post("/agent/calendar-token")
@requires("agent")
def issue_own():
    if not current_user.agent_id:
        flash(t("no_agent"), "error")
    else:
        issue_for(current_user.agent_id)
    return redirect(url_for("agent.page"))


@bp.post("/agent/calendar-token/revoke")
@requires("agent")
def revoke_own():
    if not current_user.agent_id:
        flash(t("no_agent"), "error")
    else:
        revoke_for(current_user.agent_id)
    return redirect(url_for("agent.page"))


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    s = svc()
    # The version before the document: if the roster changes in between, the document is
    # the newer one and the next poll sees a new version, so LAST-MODIFIED still moves.
    version = s.roster.version()
    opened = tokens().open(token, version)
    roster = in_roster(opened[0]) if opened else None
    if roster is None:
        return NOT_FOUND  # unknown, revoked, or an agent no longer in the roster: all alike
    agent_id, since = opened
    lang = "en" if request.args.get("lang") == "en" else "fr"
    body = ical.feed(
        roster,
        agent_id,
        now=datetime.fromtimestamp(s.clock.now(), UTC),
        last_modified=datetime.fromtimestamp(since, UTC),
        uid_domain=urlsplit(s.settings.public_url).hostname or "hotline",
        lang=lang,
    )
    resp = Response(body, content_type="text/calendar; charset=utf-8")
    resp.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    resp.headers["Cache-Control"] = "private, no-cache"
    resp.headers["X-Robots-Tag"] = "noindex"
    return resp
