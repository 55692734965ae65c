"""The coverage heatmap, /console/coverage: per skill and interval of a week, agents scheduled
against agents required, coloured by the gap; a cell's detail; the gaps.

HTTP only. The numbers are `hotline plan`'s (`wfm.plan.plan` over `wfm.forecast.forecast`),
who is on is the roster's (`roster.schedule`), the grid is `wfm.heatmap.build`. The forecast
is read from history in a child process and kept in Redis (`wfm.forecast_store`: 8 weeks of
history take seconds, this worker serves every page); plan() runs here over the kept one, so a
roster edit shows on the next reload. Until a forecast is there, and for a week without enough
history, the page shows the scheduled cover alone and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template, request, url_for

from ..roster.model import DAYS
from ..wfm import forecast_store, heatmap
from ..wfm.forecast import MIN_HISTORY_WEEKS, forecast
from .auth import requires, svc
from .i18n import add_strings, lang, t

bp = Blueprint("coverage", __name__, url_prefix="/console")

INTERVALS = (60, 30)  # hourly by default; half-hours on choice
TARGET_SL, TARGET_S = forecast_store.TARGET_SL, forecast_store.TARGET_S

add_strings(
    {
        "coverage_title": ("Couverture", "Coverage"),
        "coverage_week": ("Semaine", "Week"),
        "coverage_interval": ("Intervalle", "Interval"),
        "coverage_minutes": ("{n} min", "{n} min"),
        "coverage_show": ("Afficher", "Show"),
        "coverage_prev": ("← Semaine précédente", "← Previous week"),
        "coverage_next": ("Semaine suivante →", "Next week →"),
        "coverage_this_week": ("Cette semaine", "This week"),
        "coverage_bad_week": (
            "« {value} » n'est pas une semaine : écrivez AAAA-Wss, par exemple 2026-W13 "
            "(années 2000 à 2100).",
            "“{value}” is not a week: write YYYY-Www, for example 2026-W13 (years 2000 to 2100).",
        ),
        "coverage_bad_interval": (
            "Intervalle « {value} » inconnu : 60 ou 30 minutes.",
            "Unknown interval “{value}”: 60 or 30 minutes.",
        ),
        "coverage_bad_skill": ("Compétence « {value} » inconnue.", "Unknown skill “{value}”."),
        "coverage_bad_start": (
            "« {value} » n'est le début d'aucun intervalle de cette semaine.",
            "“{value}” is the start of no interval of this week.",
        ),
        "coverage_no_roster": (
            "Aucun planning importé : la couverture se calcule sur le planning "
            "(hotline roster import FICHIER).",
            "No roster imported yet: coverage is computed from the roster "
            "(hotline roster import FILE).",
        ),
        "coverage_targets": (
            "Requis pour {sl} % des appels décrochés en {s} s au plus (Erlang A sur la "
            "prévision), occupation au plus {occ} %, absentéisme {shrink} %.",
            "Required for {sl}% of calls answered within {s} s (Erlang A on the forecast), "
            "occupancy at most {occ}%, shrinkage {shrink}%.",
        ),
        "coverage_pending": (
            "La prévision de cette semaine est en cours de calcul (8 semaines d'historique, "
            "lues hors de cette page depuis {since}) : seule la couverture prévue au planning "
            "est affichée en attendant.",
            "This week's forecast is being computed (8 weeks of history, read away from this "
            "page since {since}): only the rostered cover is shown meanwhile.",
        ),
        "coverage_slow": (
            "Le calcul dure plus que prévu ; le journal de la console en dit la raison.",
            "It is taking longer than it should; the console's log says why.",
        ),
        "coverage_stale": (
            "Prévision calculée à {at} sur l'historique jusqu'à {until} ; une plus récente "
            "est en cours de calcul.",
            "Forecast computed at {at} from the history up to {until}; a newer one is being "
            "computed.",
        ),
        "coverage_computed": (
            "Prévision calculée à {at} sur l'historique jusqu'à {until} (en {took} s).",
            "Forecast computed at {at} from the history up to {until} (in {took} s).",
        ),
        "coverage_failed": (
            "Le calcul de la prévision a échoué ({why}) ; nouvel essai dans quelques minutes. "
            "Seule la couverture prévue au planning est affichée.",
            "The forecast failed ({why}); it will be tried again in a few minutes. Only the "
            "rostered cover is shown.",
        ),
        "coverage_reload": ("Recharger", "Reload"),
        "coverage_little_history": (
            "Pas assez d'historique pour prévoir cette semaine : {n} semaine(s) d'appels dans "
            "les 8 précédentes, il en faut au moins {min}. Seule la couverture prévue au "
            "planning est affichée (agents en service par compétence, comme "
            "« hotline roster coverage »).",
            "Not enough history to forecast this week: {n} week(s) with calls in the 8 before "
            "it, at least {min} are needed. Only the rostered cover is shown (agents on shift "
            "per skill, as `hotline roster coverage` counts them).",
        ),
        "coverage_legend": ("Légende", "Legend"),
        "coverage_legend_plan": (
            "Chaque case indique l'écart en agents : prévus − requis (négatif : il en manque). "
            "☎ : agents d'astreinte, non comptés.",
            "Each cell shows the gap in agents: scheduled − required (negative: short). "
            "☎: agents on call, not counted.",
        ),
        "coverage_legend_cover": (
            "Chaque case indique le nombre d'agents en service. ☎ : agents d'astreinte, non "
            "comptés.",
            "Each cell shows the number of agents on shift. ☎: agents on call, not counted.",
        ),
        "coverage_lvl_short-2": ("2 agents ou plus manquent", "2 or more agents short"),
        "coverage_lvl_short-1": ("1 à 2 agents manquent", "1 to 2 agents short"),
        "coverage_lvl_short-0": ("moins d'un agent manque", "less than one agent short"),
        "coverage_lvl_even": ("couvert (moins d'un agent en trop)", "covered (under one spare)"),
        "coverage_lvl_over": ("un agent ou plus en trop", "one agent or more spare"),
        "coverage_lvl_idle": ("aucun appel attendu, personne", "no call expected, nobody on"),
        "coverage_lvl_unknown": (
            "pas de prévision (pas d'historique de ce créneau)",
            "no forecast (no history for this slot)",
        ),
        "coverage_lvl_nobody": ("personne en service", "nobody on shift"),
        "coverage_lvl_oncall": (
            "personne en service, astreinte seule",
            "nobody on shift, on call only",
        ),
        "coverage_lvl_covered": ("au moins un agent en service", "at least one agent on shift"),
        "coverage_counted_as": (
            "jour férié, compté comme {day}",
            "public holiday, counted as {day}",
        ),
        "coverage_cell_plan": (
            "{scheduled} prévus pour {required} requis, écart {gap}",
            "{scheduled} scheduled for {required} required, gap {gap}",
        ),
        "coverage_cell_unknown": (
            "{scheduled} prévus, pas de prévision",
            "{scheduled} scheduled, no forecast",
        ),
        "coverage_cell_cover": ("{heads} en service", "{heads} on shift"),
        "coverage_cell_oncall": ("{n} d'astreinte", "{n} on call"),
        "coverage_detail": ("Détail", "Detail"),
        "coverage_back": ("← Retour à la couverture", "← Back to the coverage"),
        "coverage_required": ("Requis", "Required"),
        "coverage_required_how": (
            "{agents} au téléphone ({model}, niveau de service {sl}), {positions} au planning "
            "avec l'absentéisme",
            "{agents} on the phones ({model}, service level {sl}), {positions} to roster with "
            "shrinkage",
        ),
        "coverage_scheduled": ("Prévus", "Scheduled"),
        "coverage_scheduled_how": (
            "chaque agent compte 1/k dans chacune de ses k compétences, au prorata du créneau",
            "each agent counts 1/k in each of their k skills, pro rata of the interval",
        ),
        "coverage_heads": ("Agents en service", "Agents on shift"),
        "coverage_heads_how": (
            "qui a la compétence, sur tout ou partie du créneau (comme « hotline roster "
            "coverage »)",
            "holding the skill, for all or part of the interval (as `hotline roster coverage`)",
        ),
        "coverage_gap": ("Écart", "Gap"),
        "coverage_forecast": ("Prévision", "Forecast"),
        "coverage_calls": ("Appels attendus", "Calls expected"),
        "coverage_aht": ("Durée de traitement moyenne", "Average handle time"),
        "coverage_patience": ("Patience moyenne", "Mean patience"),
        "coverage_no_patience": (
            "inconnue (aucun abandon) : Erlang C",
            "unknown (no abandon): Erlang C",
        ),
        "coverage_history": ("sur {n} semaine(s) d'historique", "from {n} week(s) of history"),
        "coverage_note_no_history": (
            "pas d'historique de ce jour et de ce créneau",
            "no history for this day and interval",
        ),
        "coverage_note_no_aht": (
            "des appels prévus mais aucune durée de traitement connue",
            "calls forecast but no handle time known",
        ),
        "coverage_who": ("Qui est là", "Who is on"),
        "coverage_nobody": ("Personne.", "Nobody."),
        "coverage_shift": ("Créneau", "Shift"),
        "coverage_share": ("Part du créneau", "Share of the interval"),
        "coverage_counts": ("Compte pour", "Counts for"),
        "coverage_skills": ("Compétences", "Skills"),
        "coverage_on_call": ("d'astreinte", "on call"),
        "coverage_covering_for": ("remplace {who}", "covering for {who}"),
        "coverage_shortfalls": ("Sous-effectif", "Under-staffed"),
        "coverage_no_shortfalls": ("Aucun créneau en sous-effectif.", "No under-staffed interval."),
        "coverage_uncovered": ("Personne en service", "Nobody on shift"),
        "coverage_no_uncovered": (
            "Chaque compétence a quelqu'un en service toute la semaine.",
            "Every skill has someone on shift all week.",
        ),
        "coverage_from": ("De", "From"),
        "coverage_to": ("À", "To"),
        "coverage_hours": ("Heures", "Hours"),
        "coverage_worst": ("Pire écart", "Worst gap"),
        "coverage_most_required": ("Requis (max.)", "Required (max)"),
        "coverage_least_scheduled": ("Prévus (min.)", "Scheduled (min)"),
        "coverage_nobody_on_call": ("personne, même d'astreinte", "nobody, not even on call"),
        "coverage_day_mon": ("lun.", "Mon"),
        "coverage_day_tue": ("mar.", "Tue"),
        "coverage_day_wed": ("mer.", "Wed"),
        "coverage_day_thu": ("jeu.", "Thu"),
        "coverage_day_fri": ("ven.", "Fri"),
        "coverage_day_sat": ("sam.", "Sat"),
        "coverage_day_sun": ("dim.", "Sun"),
    }
)


@dataclass(frozen=True)
class Query:
    week: str
    interval: int
    week_text: str  # as typed, for the form
    interval_text: str


def _query() -> tuple[Query, dict[str, str]]:
    """The page's parameters and, per field, what is wrong with them."""
    s = svc()
    errors: dict[str, str] = {}
    week_text = (request.args.get("week") or "").strip()
    interval_text = (request.args.get("interval") or "60").strip()
    week = ""
    if week_text:
        try:
            week = forecast_store.normal_week(week_text, s.settings.tz)
        except ValueError:
            errors["week"] = t("coverage_bad_week", value=week_text[:40])
    else:
        week = forecast_store.current_week(s, s.clock.now())
    interval = 60
    if interval_text in {str(n) for n in INTERVALS}:
        interval = int(interval_text)
    else:
        errors["interval"] = t("coverage_bad_interval", value=interval_text[:20])
    return Query(week, interval, week_text or week, interval_text), errors


# The last grids this process drew, by (roster object, week, interval, forecast's time,
# settings): plan() over a busy week's forecast takes 0.1-0.25 s of this one worker
# (benchmarks/coverage.py), and the same page is reloaded far more often than the roster
# or the forecast change. A roster edit is a new object (RosterStore parses each stored
# document once), a new forecast a new computed_at: either is a new entry.
_GRIDS: dict[tuple, tuple[object, heatmap.Heatmap]] = {}
GRIDS_KEPT = 16


def _grid(s, q: Query, roster, st: forecast_store.Status, only_start: str | None = None):
    """plan() over the kept forecast (or over no history at all), as a heatmap.Heatmap."""
    if only_start is not None:
        return _draw(s, q, roster, st, only_start)
    k = (id(roster), q.week, q.interval, st.computed_at, s.settings.shrinkage,
         s.settings.max_occupancy, s.settings.timezone)  # fmt: skip
    hit = _GRIDS.get(k)
    if hit is not None and hit[0] is roster:
        return hit[1]
    hm = _draw(s, q, roster, st, None)
    if len(_GRIDS) >= GRIDS_KEPT:
        _GRIDS.pop(next(iter(_GRIDS)))
    _GRIDS[k] = (roster, hm)
    return hm


def _draw(s, q: Query, roster, st: forecast_store.Status, only_start: str | None):
    fc = st.forecast
    requirement = fc is not None and bool(fc["enough_history"])
    if only_start is None and st.plan is not None and _plan_fits(s, st):
        # The child's plan of this forecast, for this very roster version: drawn as is.
        return heatmap.build(st.plan, roster, requirement=requirement)
    if fc is None:  # not computed yet, or failed: no history read here, scheduled cover only
        fc = forecast([], q.week, tz=s.settings.tz, roster=roster, interval_min=q.interval)
    if only_start is not None:  # one cell's detail: plan() of that interval alone
        fc = {**fc, "intervals": [iv for iv in fc["intervals"] if _same(iv["start"], only_start)]}
    result = forecast_store.plan_for(s, fc, roster, q.week)
    return heatmap.build(result, roster, requirement=requirement)


def _plan_fits(s, st: forecast_store.Status) -> bool:
    p = st.plan
    return (
        st.plan_roster_version == s.roster.version()
        and (p["target_sl"], p["target_s"]) == (TARGET_SL, TARGET_S)
        and (p["shrinkage"], p["max_occupancy"]) == (s.settings.shrinkage, s.settings.max_occupancy)
    )


def _instant(text: str) -> float | None:
    """A cell's `start`: epoch seconds (the page's links) or an ISO 8601 instant."""
    try:
        return float(int(text))
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at.timestamp() if at.tzinfo is not None else None


def _same(iso: str, other: str) -> bool:
    at = _instant(other)
    return at is not None and datetime.fromisoformat(iso).timestamp() == at


def _shift_week(week: str, weeks: int) -> str:
    from datetime import date, timedelta

    y, w = int(week[:4]), int(week[6:])
    monday = date.fromisocalendar(y, w, 1) + timedelta(weeks=weeks)
    y2, w2, _ = monday.isocalendar()
    return f"{y2}-W{w2:02d}"


def num(value, *, signed: bool = False) -> str:
    """A head count or a gap for people: at most 2 decimals, the language's decimal mark,
    a real minus sign; "—" for nothing."""
    if value is None:
        return "—"
    v = float(value)
    digits = 2 if round(v, 2) or not v else 3  # a tiny shortfall is not shown as 0
    r = round(v, digits)
    if r == 0:
        return "0"
    text = f"{abs(r):.{digits}f}".rstrip("0").rstrip(".")
    if lang() == "fr":
        text = text.replace(".", ",")
    return ("−" if r < 0 else "+" if signed else "") + text


def _day_label(d) -> str:
    return f"{t('coverage_day_' + DAYS[d.weekday()])} {d:%d/%m}"


def _when(start: datetime, end: datetime) -> str:
    offset = start.isoformat()[19:] or "+00:00"  # "+01:00", as the page's columns say it
    return f"{_day_label(start.date())} {start:%H:%M}–{end:%H:%M} (UTC{offset})"


def _clock(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, svc().settings.tz).strftime("%d/%m %H:%M")


def _cell_label(c: heatmap.Cell, requirement: bool) -> str:
    """What a cell's link says (its numbers; the table's headers say the skill and when)."""
    if not requirement:
        text = t("coverage_cell_cover", heads=c.heads)
    elif c.required is None:
        text = t("coverage_cell_unknown", scheduled=num(c.scheduled))
    else:
        text = t(
            "coverage_cell_plan",
            scheduled=num(c.scheduled),
            required=c.required,
            gap=num(c.gap, signed=True),
        )
    if c.on_call:
        text += ", " + t("coverage_cell_oncall", n=len(c.on_call))
    return text


def _cell_text(c: heatmap.Cell, requirement: bool) -> str:
    if not requirement:
        return str(c.heads)
    return "?" if c.gap is None else num(c.gap, signed=True)


NOTES = {  # plan()'s notes (English, in its JSON) -> the console's words
    "no history for this weekday and interval": "coverage_note_no_history",
    "calls forecast but no handle time known": "coverage_note_no_aht",
}


def _note(text: str | None) -> str:
    return t(NOTES[text]) if text in NOTES else (text or "")


def _helpers(q: Query) -> dict:
    prefix: dict[str, str] = {}

    def cell_url(skill: str, c: heatmap.Cell) -> str:
        # Built once per skill, then the interval's start as epoch seconds: 1,344 cells of
        # a 30-minute week make this the page's most repeated string.
        if skill not in prefix:
            prefix[skill] = url_for("coverage.cell", week=q.week, interval=q.interval, skill=skill)
        return f"{prefix[skill]}&start={int(c.start.timestamp())}"

    return {
        "note": _note,
        "num": num,
        "day_label": _day_label,
        "when": _when,
        "clock": _clock,
        "cell_label": _cell_label,
        "cell_text": _cell_text,
        "cell_url": cell_url,
    }


def _page_context(s, q: Query) -> dict:
    return {
        "q": q,
        "intervals": INTERVALS,
        "prev_week": _shift_week(q.week, -1),
        "next_week": _shift_week(q.week, 1),
        "this_week": forecast_store.current_week(s, s.clock.now()),
        **_helpers(q),
    }


@bp.get("/coverage")
@requires("supervisor")
def page():
    s = svc()
    q, errors = _query()
    if errors:
        return render_template("coverage.html", errors=errors, hm=None, **_ctx_safe(s, q)), 400
    roster = s.roster.load()
    if roster is None:
        return render_template(
            "coverage.html", errors={}, hm=None, no_roster=True, **_page_context(s, q)
        )
    now = s.clock.now()
    st = forecast_store.ensure(s, q.week, q.interval, roster, now)
    hm = _grid(s, q, roster, st)
    return render_template(
        "coverage.html",
        errors={},
        hm=hm,
        st=st,
        slow=st.pending_since is not None and now - st.pending_since > forecast_store.SLOW_S,
        min_history=MIN_HISTORY_WEEKS,
        settings=s.settings,
        target_sl=TARGET_SL,
        target_s=TARGET_S,
        **_page_context(s, q),
    )


def _ctx_safe(s, q: Query) -> dict:
    """The page's context when a parameter is wrong: the form, no week to step from."""
    ctx = _page_context(s, q) if q.week else {**_helpers(q), "q": q, "intervals": INTERVALS}
    ctx.setdefault("this_week", forecast_store.current_week(s, s.clock.now()))
    return ctx


@bp.get("/coverage/cell")
@requires("supervisor")
def cell():
    """One cell: who is on, the forecast and the requirement. A fragment for htmx; a page
    of its own without JavaScript (the cell's link)."""
    s = svc()
    q, errors = _query()
    roster = s.roster.load()
    skill = request.args.get("skill") or ""
    start = (request.args.get("start") or "").replace(" ", "+")  # an unescaped '+' in a URL
    if not errors and roster is not None and skill not in roster.skills:
        errors["skill"] = t("coverage_bad_skill", value=skill[:40])
    c = hm = st = None
    if not errors and roster is not None:
        st = forecast_store.status(s, q.week, q.interval, roster, s.clock.now())
        hm = _grid(s, q, roster, st, only_start=start)
        c = next((x for d in hm.days for k, cs in d.rows if k == skill for x in cs), None)
        if c is None:
            errors["start"] = t("coverage_bad_start", value=start[:40])
    if roster is None:
        errors["roster"] = t("coverage_no_roster")
    fragment = request.headers.get("HX-Request") == "true"
    ctx = {
        "errors": errors,
        "c": c,
        "hm": hm,
        "st": st,
        "fragment": fragment,
        **_helpers(q),
        "q": q,
    }
    code = 400 if errors else 200
    if fragment:
        return render_template("coverage_cell.html", **ctx), code
    return render_template("coverage_cell_page.html", **ctx), code


@bp.get("/coverage/status")
@requires("supervisor")
def status():
    """For the page's poll while a forecast is computed: 204 while it is, 200 with
    HX-Refresh (htmx reloads the page) once there is something new to show."""
    s = svc()
    q, errors = _query()
    roster = s.roster.load()
    if errors or roster is None:
        return "", 200, {"HX-Refresh": "true"}
    st = forecast_store.status(s, q.week, q.interval, roster, s.clock.now())
    if st.fresh or st.error or st.pending_since is None:
        return "", 200, {"HX-Refresh": "true"}
    return "", 204
