"""Drills from the console (/console/drills, managers): pick a shipped scenario or upload
one, set the hours and replications, start it; its progress is polled (htmx, every second,
a small fragment), its results and plot shown when it is done; the past runs listed.

A drill never runs in this process (one gevent worker for every page) nor on the routing
workers' RQ queue: hotline/drill/runs.py records the run in Redis and spawns a detached
child process, one drill at a time for the whole hotline. These views only translate HTTP
to runs.prepare / runs.start / the run records, and back.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ..accounts.users import role_at_least
from ..drill import runs
from . import i18n
from .auth import requires, svc
from .i18n import t

bp = Blueprint("drills", __name__, url_prefix="/console")

i18n.add_strings(
    {
        "drills_title": ("Exercices", "Drills"),
        "drills_intro": (
            "Un exercice rejoue des heures du centre avec le vrai code de files d'attente et de "
            "routage, sur un Redis privé, dans un processus à part : les appels réels ne sont "
            "pas touchés. Un seul exercice à la fois ; au plus {max} heures × réplications.",
            "A drill plays hours of the centre through the real queue and routing code, on a "
            "private Redis, in a process of its own: real calls are not touched. One drill at "
            "a time; at most {max} hours × replications.",
        ),
        "drills_new": ("Nouvel exercice", "New drill"),
        "drills_f_scenario": ("Scénario fourni", "Shipped scenario"),
        "drills_f_file": (
            "Ou envoyer un scénario (YAML, {kb} Ko au plus ; remplace le choix ci-dessus)",
            "Or upload a scenario (YAML, {kb} KB at most; replaces the choice above)",
        ),
        "drills_f_hours": ("Heures simulées", "Simulated hours"),
        "drills_f_hours_hint": (
            "Vide : celles du scénario ; {max} au plus.",
            "Empty: the scenario's; {max} at most.",
        ),
        "drills_f_replications": ("Réplications", "Replications"),
        "drills_f_replications_hint": (
            "Exécutions indépendantes (intervalles à 95 %) ; {max} au plus.",
            "Independent runs (95 % intervals); {max} at most.",
        ),
        "drills_hours_default": ("{hours} h par défaut", "{hours} h by default"),
        "drills_start": ("Lancer l'exercice", "Start the drill"),
        "drills_started": ("Exercice « {name} » lancé.", "Drill “{name}” started."),
        "drills_current": ("Exercice en cours", "Drill under way"),
        "drills_past": ("Exercices passés", "Past drills"),
        "drills_none": ("Aucun exercice pour l'instant.", "No drill yet."),
        "drills_col_asked": ("Demandé", "Asked"),
        "drills_col_scenario": ("Scénario", "Scenario"),
        "drills_col_hours": ("Heures", "Hours"),
        "drills_col_replications": ("Réplications", "Replications"),
        "drills_col_by": ("Par", "By"),
        "drills_col_state": ("État", "State"),
        "drills_uploaded": ("envoyé : {file}", "uploaded: {file}"),
        "drills_st_queued": ("en attente", "queued"),
        "drills_st_running": ("en cours", "running"),
        "drills_st_done": ("terminé", "done"),
        "drills_st_failed": ("échoué", "failed"),
        "drills_progress": ("Avancement", "Progress"),
        "drills_refresh": ("Actualiser", "Refresh"),
        "drills_open": ("Voir", "Open"),
        "drills_back": ("Tous les exercices", "All drills"),
        "drills_run_title": ("Exercice : {name}", "Drill: {name}"),
        "drills_facts": ("L'exercice", "The drill"),
        "drills_source": ("Fichier", "File"),
        "drills_created": ("Demandé le", "Asked at"),
        "drills_started_at": ("Commencé", "Started"),
        "drills_ended_at": ("Fini", "Ended"),
        "drills_calls": (
            "{calls} appels simulés ({deflected} dissuadés par une annonce, {unfinished} non "
            "terminés) en {wall} s ; graine {seed}.",
            "{calls} calls simulated ({deflected} deflected by an announcement, {unfinished} "
            "unfinished) in {wall} s; seed {seed}.",
        ),
        "drills_sl_def": (
            "Niveau de service = répondus en {target} s au plus ÷ offerts (les abandons comptent). "
            "Entre crochets : l'intervalle à 95 % sur les réplications.",
            "Service level = answered within {target} s ÷ offered (abandons count). In brackets: "
            "the 95 % interval over the replications.",
        ),
        "drills_totals": ("Total et par compétence", "Total and per skill"),
        "drills_intervals": ("Par intervalle et compétence", "Per interval and skill"),
        "drills_agents": ("Par agent", "Per agent"),
        "drills_plot": ("La journée", "The day"),
        "drills_plot_alt": (
            "Graphique : file d'attente, niveau de service et agents par état au fil de l'exercice",
            "Plot: queue length, service level and agents by state over the drill",
        ),
        "drills_h_total": ("total", "total"),
        "drills_h_interval": ("Intervalle", "Interval"),
        "drills_h_skill": ("Compétence", "Skill"),
        "drills_h_offered": ("Offerts", "Offered"),
        "drills_h_sl": ("NS %", "SL %"),
        "drills_h_asa": ("ASA s", "ASA s"),
        "drills_h_abandon": ("Abandons %", "Abandon %"),
        "drills_h_callbacks": ("Rappels", "Callbacks"),
        "drills_h_queue": ("File (moy.)", "Queue (mean)"),
        "drills_h_occupancy": ("Occupation %", "Occupancy %"),
        "drills_h_agent": ("Agent", "Agent"),
        "drills_h_calls": ("Appels", "Calls"),
        "drills_h_staffed": ("Heures de présence", "Staffed hours"),
        # refusals, beside their field
        "drills_err_hours": ("Entre 0 et {max} heures.", "Between 0 and {max} hours."),
        "drills_err_replications": (
            "Un nombre entier de 1 à {max}.",
            "A whole number from 1 to {max}.",
        ),
        "drills_err_too_long": (
            "Heures × réplications = {asked} : {max} au plus par exercice (les cœurs servent "
            "aussi aux appels).",
            "Hours × replications = {asked}: {max} at most per drill (the cores also serve "
            "the calls).",
        ),
        "drills_err_too_big": (
            "Fichier trop gros : {kb} Ko au plus.",
            "File too large: {kb} KB at most.",
        ),
        "drills_err_request_too_big": (
            "Envoi trop gros : un scénario fait {kb} Ko au plus. Rien n'a été lancé.",
            "Upload too large: a scenario is {kb} KB at most. Nothing was started.",
        ),
        "drills_err_not_utf8": (
            "Ce fichier n'est pas du texte UTF-8.",
            "This file is not UTF-8 text.",
        ),
        "drills_err_unknown_scenario": (
            "Choisissez un des scénarios fournis, ou envoyez un fichier.",
            "Choose one of the shipped scenarios, or upload a file.",
        ),
        "drills_err_problem": ("{file}, ligne {line} : {reason}", "{file}, line {line}: {reason}"),
        "drills_err_problem_noline": ("{file} : {reason}", "{file}: {reason}"),
        "drills_err_no_roster": (
            "Le scénario joue le planning enregistré (roster: stored), mais aucun planning "
            "n'est enregistré.",
            "The scenario plays the stored roster (roster: stored), but no roster is stored.",
        ),
        "drills_err_roster_elsewhere": (
            "Un scénario envoyé joue le planning enregistré (roster: stored) ou celui fourni "
            "(roster: roster.yaml), aucun autre fichier de ce serveur.",
            "An uploaded scenario plays the stored roster (roster: stored) or the shipped one "
            "(roster: roster.yaml), no other file of this server.",
        ),
        "drills_err_busy": (
            "Un exercice est déjà en cours (« {name} », lancé par {by}) : un seul à la fois. "
            "Réessayez quand il sera fini.",
            "A drill is already under way (“{name}”, started by {by}): one at a time. Try "
            "again when it has finished.",
        ),
    }
)


def _issues(e: runs.DrillInvalid) -> dict[str, list[str]]:
    return {
        where: [t("drills_err_" + i.code, **i.params) for i in issues]
        for where, issues in e.issues.items()
    }


def _page(errors: dict | None = None, form: dict | None = None, status: int = 200):
    s = svc()
    runs.reap(s)
    return (
        render_template(
            "drills.html",
            scenarios=runs.shipped_scenarios(),
            runs=runs.list_runs(s),
            current=runs.active(s),
            errors=errors or {},
            form=form or {},
            limits=runs,
        ),
        status,
    )


@bp.get("/drills")
@requires("manager")
def page():
    return _page()


@bp.errorhandler(RequestEntityTooLarge)
def too_large(e):
    # Above the console's request limit: the body is not read, nothing is started.
    if not (current_user.is_authenticated and role_at_least(current_user.role, "manager")):
        return "Request too large\n", 413, {"Content-Type": "text/plain; charset=utf-8"}
    kb = runs.UPLOAD_MAX_BYTES // 1024
    return _page(errors={"file": [t("drills_err_request_too_big", kb=kb)]}, status=413)


@bp.post("/drills")
@requires("manager")
def start():
    f = {k: (request.form.get(k) or "").strip() for k in ("scenario", "hours", "replications")}
    file = request.files.get("file")
    upload = None
    if file is not None and file.filename:
        upload = (file.filename, file.read(runs.UPLOAD_MAX_BYTES + 1))
    s = svc()
    try:
        req = runs.prepare(
            s,
            shipped_file=f["scenario"] or None,
            upload=upload,
            hours=f["hours"],
            replications=f["replications"] or "1",
        )
    except runs.DrillInvalid as e:
        return _page(errors=_issues(e), form=f, status=400)
    try:
        run_id = runs.start(s, req, current_user.by)
    except runs.DrillBusy as e:
        other = runs.get(s, e.run_id)
        msg = t(
            "drills_err_busy",
            name=other.scenario if other else e.run_id,
            by=other.by if other else "?",
        )
        return _page(errors={"start": [msg]}, form=f, status=409)
    flash(t("drills_started", name=req.name), "ok")
    return redirect(url_for("drills.run", run_id=run_id))


def _run_or_404(run_id: str) -> runs.Run:
    s = svc()
    runs.reap(s)
    run = runs.get(s, run_id)
    if run is None:
        abort(404)
    return run


@bp.get("/drills/<run_id>")
@requires("manager")
def run(run_id: str):
    r = _run_or_404(run_id)
    out = runs.result(svc(), r.id) if r.has_result else None
    return render_template("drills_run.html", run=r, out=out)


@bp.get("/drills/<run_id>/progress")
@requires("manager")
def progress(run_id: str):
    r = _run_or_404(run_id)
    resp = Response(render_template("drills_progress.html", run=r))
    if not r.active and request.headers.get("HX-Request"):
        resp.headers["HX-Refresh"] = "true"  # the page again, now with the results
    return resp


@bp.get("/drills/<run_id>/plot.png")
@requires("manager")
def plot(run_id: str):
    png = runs.plot(svc(), run_id)
    if png is None:
        abort(404)
    return Response(
        png,
        mimetype="image/png",
        headers={"Cache-Control": "private, max-age=86400"},  # a finished run never changes
    )
