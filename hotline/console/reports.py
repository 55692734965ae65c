"""The interval reports, /console/reports: `hotline report` in a page, a chart, its CSV.

HTTP only. The figures are `hotline report`'s: `wfm.report_store.compute` makes the CLI's
reads and calls the same `wfm.report.report()`, in a child process (a day's report reads 8
days of history and takes seconds; this worker serves every page, the live wallboard too),
and keeps the result in Redis; the page shows what is kept and polls while a newer one is
computed. The CSV is `wfm.report.csv_rows` written as the CLI writes it, so the download is
byte for byte `hotline report --csv` with the same arguments. The chart is
`wfm.chart.sl_chart` (SVG, drawn here, no JavaScript).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Blueprint, Response, render_template, request, url_for
from markupsafe import Markup, escape

from ..states import SKILLS
from ..wfm import chart, report_store
from ..wfm.report import INTERVALS_MIN
from ..wfm.report_store import Query
from .auth import requires, svc
from .i18n import add_strings, t

bp = Blueprint("reports", __name__, url_prefix="/console")

# Years a report may ask for: the history walks days around the period, and a year out of
# range is a typo (year 9999 would overflow the date arithmetic).
YEARS = (2000, 2100)

# The columns of the page's tables: `hotline report`'s table (cli/report.py), in its order.
COLUMNS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "service_level",
    "service_level_sl2",
    "asa_s",
    "aht_s",
    "longest_wait_s",
    "selfhelp_resolved",
    "callbacks_requested",
    "callbacks_completed",
    "missed_offers",
    "fcr_rate",
    "remote_resolution_share",
)
SHARES = frozenset({"service_level", "service_level_sl2", "fcr_rate", "remote_resolution_share"})

add_strings(
    {
        "reports_title": ("Rapports", "Reports"),
        "reports_day": ("Jour", "Day"),
        "reports_week": ("Semaine", "Week"),
        "reports_or": ("ou", "or"),
        "reports_skill": ("Compétence", "Skill"),
        "reports_all_skills": ("toutes", "all"),
        "reports_interval": ("Intervalle", "Interval"),
        "reports_minutes": ("{n} min", "{n} min"),
        "reports_show": ("Afficher", "Show"),
        "reports_hint": (
            "Un jour (AAAA-MM-JJ) ou une semaine ISO (AAAA-Wss), pas les deux : les chiffres "
            "de « hotline report ».",
            "A day (YYYY-MM-DD) or an ISO week (YYYY-Www), not both: the figures of "
            "`hotline report`.",
        ),
        "reports_prev_day": ("← Jour précédent", "← Previous day"),
        "reports_next_day": ("Jour suivant →", "Next day →"),
        "reports_prev_week": ("← Semaine précédente", "← Previous week"),
        "reports_next_week": ("Semaine suivante →", "Next week →"),
        "reports_today": ("Aujourd'hui", "Today"),
        "reports_this_week": ("Cette semaine", "This week"),
        "reports_bad_day": (
            "« {value} » n'est pas un jour : écrivez AAAA-MM-JJ, par exemple 2026-12-01 "
            "(années 2000 à 2100).",
            "“{value}” is not a day: write YYYY-MM-DD, for example 2026-12-01 "
            "(years 2000 to 2100).",
        ),
        "reports_bad_week": (
            "« {value} » n'est pas une semaine : écrivez AAAA-Wss, par exemple 2026-W49 "
            "(années 2000 à 2100).",
            "“{value}” is not a week: write YYYY-Www, for example 2026-W49 (years 2000 to 2100).",
        ),
        "reports_day_and_week": (
            "Un jour ou une semaine, pas les deux : videz l'un des deux champs.",
            "A day or a week, not both: empty one of the two fields.",
        ),
        "reports_bad_interval": (
            "Intervalle « {value} » inconnu : 15, 30 ou 60 minutes.",
            "Unknown interval “{value}”: 15, 30 or 60 minutes.",
        ),
        "reports_bad_skill": ("Compétence « {value} » inconnue.", "Unknown skill “{value}”."),
        "reports_period": (
            "Du {start} au {end} ({tz}), intervalles de {n} min ; niveau de service : "
            "décrochés en {threshold} s au plus ; abandons de moins de {short} s comptés à "
            "part.",
            "{start} to {end} ({tz}), {n}-minute intervals; service level: answered within "
            "{threshold} s; abandons under {short} s counted apart.",
        ),
        "reports_pending": (
            "Rapport en cours de calcul (depuis {since}, hors de cette page) : il s'affiche "
            "dès qu'il est prêt.",
            "The report is being computed (since {since}, away from this page): it shows as "
            "soon as it is ready.",
        ),
        "reports_queued": (
            "D'autres rapports sont en cours de calcul : celui-ci commence dès que l'un "
            "d'eux se termine.",
            "Other reports are being computed: this one starts as soon as one of them ends.",
        ),
        "reports_slow": (
            "Le calcul dure plus que prévu ; le journal de la console en dit la raison.",
            "It is taking longer than it should; the console's log says why.",
        ),
        "reports_failed": (
            "Le calcul du rapport a échoué ({why}) ; nouvel essai dans quelques minutes.",
            "The report failed ({why}); it will be tried again in a few minutes.",
        ),
        "reports_stale": (
            "Chiffres calculés à {at} ; des chiffres plus récents sont en cours de calcul.",
            "Figures computed at {at}; newer ones are being computed.",
        ),
        "reports_live": (
            "Chiffres calculés à {at} (en {took} s), recalculés au plus une fois par minute "
            "tant que la période dure. La résolution au premier appel peut encore baisser "
            "jusqu'au {final} (elle attend 7 jours de rappels).",
            "Figures computed at {at} (in {took} s), computed again at most once a minute "
            "while the period runs. First-contact resolution can still fall until {final} "
            "(it waits 7 days for calls back).",
        ),
        "reports_settling": (
            "Chiffres calculés à {at} (en {took} s). La résolution au premier appel peut "
            "encore baisser jusqu'au {final} (elle attend 7 jours de rappels) ; recalculés au "
            "plus une fois par heure d'ici là.",
            "Figures computed at {at} (in {took} s). First-contact resolution can still fall "
            "until {final} (it waits 7 days for calls back); computed again at most hourly "
            "until then.",
        ),
        "reports_final": (
            "Chiffres définitifs (calculés le {at}, en {took} s).",
            "Final figures (computed on {at}, in {took} s).",
        ),
        "reports_reload": ("Recharger", "Reload"),
        "reports_csv": ("Télécharger le CSV", "Download the CSV"),
        "reports_csv_hint": (
            "le même fichier que « hotline report {args} --csv »",
            "the same file as `hotline report {args} --csv`",
        ),
        "reports_csv_pending": (
            "Le rapport est en cours de calcul ; le téléchargement commence dès qu'il est prêt.",
            "The report is being computed; the download starts as soon as it is ready.",
        ),
        "reports_chart_title": (
            "Appels offerts et niveau de service par intervalle",
            "Calls offered and service level per interval",
        ),
        "reports_chart_desc": (
            "{skill}, du {start} au {end} : {offered} appels offerts, niveau de service "
            "{sl} pour un objectif de {target}. Barres : appels offerts ; ligne : niveau de "
            "service (absente quand rien n'a été offert).",
            "{skill}, {start} to {end}: {offered} calls offered, service level {sl} against a "
            "target of {target}. Bars: calls offered; line: service level (absent where "
            "nothing was offered).",
        ),
        "reports_chart_calls": ("Appels offerts", "Calls offered"),
        "reports_chart_sl": ("Niveau de service", "Service level"),
        "reports_chart_target": ("Objectif {target}", "Target {target}"),
        "reports_chart_tip": (
            "{when} : {offered} offerts, niveau de service {sl}",
            "{when}: {offered} offered, service level {sl}",
        ),
        "reports_skill_title": ("Compétence {skill}", "Skill {skill}"),
        "reports_all_title": ("Toutes compétences", "All skills"),
        "reports_interval_col": ("Intervalle (heure locale)", "Interval (local time)"),
        "reports_total": ("Total", "Total"),
        "reports_quiet": (
            "{n} intervalle(s) sans appel non affiché(s).",
            "{n} interval(s) without calls not shown.",
        ),
        "reports_dispositions": ("Qualifications : {list}", "Dispositions: {list}"),
        "reports_no_skill": ("Aucun appel sur la période.", "No call in the period."),
        "reports_occupancy": ("Occupation des agents", "Agent occupancy"),
        "reports_agent": ("Agent", "Agent"),
        "reports_logged_in": ("Connecté", "Logged in"),
        "reports_busy": ("En ligne", "Busy"),
        "reports_wrapup": ("Après-appel", "Wrap-up"),
        "reports_occ": ("Occupation", "Occupancy"),
        "reports_col_offered": ("Offerts", "Offered"),
        "reports_col_answered": ("Décrochés", "Answered"),
        "reports_col_abandoned": ("Abandons", "Abandoned"),
        "reports_col_short_abandoned": ("Abandons courts", "Short abandons"),
        "reports_col_service_level": ("NS", "SL"),
        "reports_col_service_level_sl2": ("NS2", "SL2"),
        "reports_col_asa_s": ("Attente moy. (s)", "ASA (s)"),
        "reports_col_aht_s": ("DMT (s)", "AHT (s)"),
        "reports_col_longest_wait_s": ("Attente max (s)", "Longest wait (s)"),
        "reports_col_selfhelp_resolved": ("Auto-dépannage", "Self-help"),
        "reports_col_callbacks_requested": ("Rappels demandés", "Callbacks requested"),
        "reports_col_callbacks_completed": ("Rappels aboutis", "Callbacks completed"),
        "reports_col_missed_offers": ("Offres manquées", "Missed offers"),
        "reports_col_fcr_rate": ("Résolus au 1er appel", "FCR"),
        "reports_col_remote_resolution_share": ("Résolus à distance", "Resolved remotely"),
        "reports_legend": (
            "NS : décrochés dans le seuil ÷ (offerts − abandons courts). NS2 : (décrochés + "
            "abandons dans le seuil) ÷ la même base. DMT : conversation + après-appel. "
            "Définitions : docs/wfm.md, « Reports ».",
            "SL: answered within the threshold ÷ (offered − short abandons). SL2: (answered + "
            "abandoned within the threshold) ÷ the same base. AHT: talk + wrap-up. "
            "Definitions: docs/wfm.md, “Reports”.",
        ),
        "reports_wd_0": ("lun.", "Mon"),
        "reports_wd_1": ("mar.", "Tue"),
        "reports_wd_2": ("mer.", "Wed"),
        "reports_wd_3": ("jeu.", "Thu"),
        "reports_wd_4": ("ven.", "Fri"),
        "reports_wd_5": ("sam.", "Sat"),
        "reports_wd_6": ("dim.", "Sun"),
    }
)


# --- the query --------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """What the form shows back: the texts as typed, and the query when they are valid."""

    day: str
    week: str
    skill: str
    interval: str
    query: Query | None


def _skills(s) -> list[str]:
    roster = s.roster.load()
    return list(dict.fromkeys([*SKILLS, *(roster.skills if roster else ())]))


def _today(s) -> str:
    return datetime.fromtimestamp(s.clock.now(), s.settings.tz).date().isoformat()


def _read_query(s) -> tuple[Form, dict[str, str]]:
    """The query string as a Query, or the errors by field."""
    a = request.args
    day, week = (a.get("day") or "").strip(), (a.get("week") or "").strip()
    skill, interval = (a.get("skill") or "").strip(), (a.get("interval") or "60").strip()
    errors: dict[str, str] = {}
    if day and week:
        errors["week"] = t("reports_day_and_week")
    if not day and not week:
        day = _today(s)
    tz = s.settings.tz
    kind, value = ("week", week) if week and not day else ("day", day)
    if day and not _in_years(day[:4]):
        errors["day"] = t("reports_bad_day", value=day)
    if week and not _in_years(week[:4]):
        errors["week"] = errors.get("week") or t("reports_bad_week", value=week)
    if interval not in {str(n) for n in INTERVALS_MIN}:
        errors["interval"] = t("reports_bad_interval", value=interval)
    if skill and skill not in _skills(s):
        errors["skill"] = t("reports_bad_skill", value=skill)
    q = None
    if not errors:
        q = Query(kind, value, skill or None, int(interval))
        try:
            q.period(tz)
        except ValueError:
            errors[kind] = t(f"reports_bad_{kind}", value=value)
            q = None
    return Form(day, week, skill, interval, q), errors


def _in_years(text: str) -> bool:
    return text.isdigit() and YEARS[0] <= int(text) <= YEARS[1]


def _args(q: Query, **override) -> dict:
    args = {q.kind: q.value, "interval": q.interval_min}
    if q.skill:
        args["skill"] = q.skill
    return {**args, **override}


# --- formatting -------------------------------------------------------------------


def _pct(v) -> str:
    return "—" if v is None else f"{v * 100:.0f} %"


def cell(key: str, v) -> str:
    if v is None:
        return "—"
    if key in SHARES:
        return _pct(v)
    return f"{v:.1f}" if isinstance(v, float) else str(v)  # the report rounds to 0.1 s


def _raw(v) -> str:
    """A figure as the report's JSON has it (for the tests and anyone scraping the page):
    json.dumps's spelling, without its cost per cell (a week at 15 minutes has 18,000)."""
    if v is None:
        return ""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return json.dumps(v)
    return repr(v)


def _when(iso: str, kind: str, offsets: bool, days: tuple[str, ...]) -> str:
    d = datetime.fromisoformat(iso)
    text = f"{d:%H:%M}"
    if kind == "week":
        text = f"{days[d.weekday()]} {d.day:02d} {text}"
    if offsets:  # a DST day: 02:00 twice, told apart by their offsets
        text += f" ({iso[-6:]})"
    return text


def _tr(r: dict, label: str, attrs: str = "") -> str:
    tds = "".join(
        f'<td data-field="{k}" data-value="{escape(_raw(r[k]))}">{escape(cell(k, r[k]))}</td>'
        for k in COLUMNS
    )
    return f'<tr{attrs}><th scope="row">{escape(label)}</th>{tds}</tr>'


# Rows are built here as strings rather than by Jinja macros: a week at 15 minutes is ~1,100
# busy rows of 15 figures, 0.42 s a view through macros, 0.08 s so (measured, load 5).
def _tables(rep: dict, q: Query, offsets: bool) -> dict:
    """Per skill: its busy intervals' rows, how many quiet ones were left out (the CLI's
    rule), its total row; and the overall total row. Markup, escaped here."""
    days = tuple(t(f"reports_wd_{i}") for i in range(7))
    out = {"skills": {}, "total": Markup(_tr(rep["total"], t("reports_total"), ' class="total"'))}
    for name, sk in rep["skills"].items():
        rows, quiet = [], 0
        for i in sk["intervals"]:
            if i["offered"] or i["selfhelp_resolved"] or i["callbacks_completed"]:
                when = _when(i["start_local"], q.kind, offsets, days)
                rows.append(_tr(i, when, f' data-start="{escape(i["start_utc"])}"'))
            else:
                quiet += 1
        out["skills"][name] = {
            "rows": Markup("\n".join(rows)),
            "quiet": quiet,
            "total": Markup(_tr(sk["total"], t("reports_total"), ' class="total"')),
        }
    return out


def _date_text(iso: str) -> str:
    d = datetime.fromisoformat(iso)
    return f"{t(f'reports_wd_{d.weekday()}')} {d:%Y-%m-%d %H:%M}"


def _ticks(kind: str, n: int, interval_min: int):
    per_hour = 60 // interval_min

    def tick(d: datetime) -> str | None:
        if d.minute:
            return None
        if kind == "week":
            return f"{t(f'reports_wd_{d.weekday()}')} {d.day:02d}" if d.hour == 0 else None
        step = 3 if per_hour > 1 or n > 12 else 1
        return f"{d:%H} h" if d.hour % step == 0 else None

    return tick


def _chart(rep: dict, q: Query, target: float, offsets: bool) -> str:
    points = chart.series(rep)
    total = rep["total"]
    target_text = _pct(target)
    days = tuple(t(f"reports_wd_{i}") for i in range(7))

    def tip(p: chart.Point) -> str:
        return t(
            "reports_chart_tip",
            when=_when(p.start_local, q.kind, offsets, days),
            offered=p.offered,
            sl=_pct(p.service_level),
        )

    return chart.sl_chart(
        points,
        target=target,
        title=t("reports_chart_title"),
        desc=t(
            "reports_chart_desc",
            skill=t("reports_skill_title", skill=q.skill) if q.skill else t("reports_all_title"),
            start=_date_text(rep["period"]["start_local"]),
            end=_date_text(rep["period"]["end_local"]),
            offered=total["offered"],
            sl=_pct(total["service_level"]),
            target=target_text,
        ),
        calls_label=t("reports_chart_calls"),
        sl_label=t("reports_chart_sl"),
        target_label=t("reports_chart_target", target=target_text),
        tick=_ticks(q.kind, len(points), q.interval_min),
        tip=tip,
    )


def _steps(s, q: Query) -> dict:
    """The neighbouring periods' links (None where out of range) and today's / this week's."""
    if q.kind == "day":
        d = date.fromisoformat(q.value)
        near = [d + timedelta(days=k) for k in (-1, 1)]
        prev, nxt = (x.isoformat() if _in_years(str(x.year)) else None for x in near)
        now = _today(s)
    else:
        monday = date.fromisocalendar(int(q.value[:4]), int(q.value[6:]), 1)
        near = [(monday + timedelta(weeks=k)).isocalendar() for k in (-1, 1)]
        prev, nxt = (f"{y}-W{w:02d}" if _in_years(str(y)) else None for y, w, _ in near)
        y, w, _ = datetime.fromtimestamp(s.clock.now(), s.settings.tz).isocalendar()
        now = f"{y}-W{w:02d}"
    base = {"interval": q.interval_min, **({"skill": q.skill} if q.skill else {})}
    link = lambda v: url_for("reports.page", **{q.kind: v}, **base) if v else None  # noqa: E731
    return {"prev": link(prev), "next": link(nxt), "now": link(now)}


# --- the pages --------------------------------------------------------------------


def _render(form: Form, errors: dict, **ctx):
    s = svc()
    return render_template(
        "reports.html",
        form=form,
        errors=errors,
        skills=_skills(s),
        intervals=INTERVALS_MIN,
        **ctx,
    )


@bp.get("/reports")
@requires("supervisor")
def page():
    s = svc()
    form, errors = _read_query(s)
    if errors:
        return _render(form, errors, st=None), 400
    q = form.query
    now = s.clock.now()
    st = report_store.ensure(s, q, now)
    ctx: dict = {"st": st, "q": q, "steps": _steps(s, q)}
    ctx["slow"] = st.pending_since is not None and now - st.pending_since > report_store.SLOW_S
    ctx["status_url"] = url_for("reports.status", **_args(q))
    ctx["reload"] = url_for("reports.page", **_args(q))
    _, end = q.period(s.settings.tz)
    ctx["final_at"] = datetime.fromtimestamp(end + report_store.FINAL_AFTER_S, s.settings.tz)
    ctx["settling"] = now >= end + report_store.SETTLE_S
    rep = st.report
    if rep is not None:
        offsets = (
            len({i["start_local"][-6:] for x in rep["skills"].values() for i in x["intervals"]}) > 1
        )
        ctx.update(
            rep=rep,
            tables=_tables(rep, q, offsets),
            chart_svg=_chart(rep, q, s.settings.wallboard_sl_target, offsets),
            columns=COLUMNS,
            cell=cell,
            raw=_raw,
            date_text=_date_text,
            csv_url=url_for("reports.csv", **_args(q)),
            cli_args=" ".join(q.cli_args()),
        )
    return _render(form, {}, **ctx)


@bp.get("/reports/status")
@requires("supervisor")
def status():
    """For the page's poll while a report is computed: 204 while it is (or waits its turn),
    200 with HX-Refresh (htmx reloads the page) once there is something new to show."""
    s = svc()
    form, errors = _read_query(s)
    if errors:
        return "", 200, {"HX-Refresh": "true"}
    st = report_store.ensure(s, form.query, s.clock.now())
    if st.pending_since is not None or st.queued:
        return "", 204
    return "", 200, {"HX-Refresh": "true"}


@bp.get("/reports.csv")
@requires("supervisor")
def csv():
    """The kept report as `hotline report --csv` writes it; while none is kept, a page that
    waits for it (and reloads this address, which then downloads)."""
    s = svc()
    form, errors = _read_query(s)
    if errors:
        return _render(form, errors, st=None), 400
    q = form.query
    st = report_store.ensure(s, q, s.clock.now())
    if st.report is None:
        return (
            render_template(
                "reports_csv_wait.html",
                st=st,
                status_url=url_for("reports.status", **_args(q)),
                reload=url_for("reports.csv", **_args(q)),
            ),
            202,
        )
    name = f"hotline-report-{q.value}{'-' + q.skill if q.skill else ''}-{q.interval_min}min.csv"
    return Response(
        report_store.csv_text(st.report).encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


__all__ = ["bp", "cell"]
