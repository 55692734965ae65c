"""The staffing calculator, /console/staffing: `hotline staffing`'s inputs and its answer.

HTTP only: the maths is `wfm.erlang` (`required_agents`, or `erlang_c` / `erlang_a` for a
given number of agents), chosen as the CLI chooses (hotline/cli/staffing.py). A GET with
the inputs in the query (a link to share) or a POST of the form; each bad input is a
message beside its field (400), nothing is computed.

The console is one worker, so the inputs are bounded beyond the maths' own checks: an
Erlang A evaluation sums the queue-length weights one by one, about as many as callers
arrive within one mean patience (calls × patience ÷ interval): measured ~1 µs each, so 10^6
take a second and 10^8 minutes. MAX_ARRIVALS_PER_PATIENCE keeps that under ~0.1 s (real
centres are in the hundreds). Finding the fewest agents runs Erlang B's recursion, O(agents),
some 20-35 times: at 60,000 Erlangs that took 0.8 s, so the load is bounded to MAX_LOAD
(10,000 Erlangs; 12,000 random inputs inside these bounds took 0.34 s at worst, on 2 shared
cores under a load of 8). The command line has neither bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import Blueprint, render_template, request

from ..wfm import erlang
from .auth import requires, svc
from .i18n import add_strings, t

bp = Blueprint("staffing", __name__, url_prefix="/console")

MAX_CALLS = 100_000.0  # calls in one interval
MAX_SECONDS = 86_400.0  # an interval, a handle time, a target, a patience: at most a day
MAX_LOAD = 10_000.0  # Erlangs: see the module docstring
MAX_ARRIVALS_PER_PATIENCE = 100_000.0

# (name, whole number, required); the ranges are checked in _check.
FIELDS = (
    ("calls", False, True),
    ("interval_s", False, True),
    ("aht_s", False, True),
    ("target_sl", False, True),
    ("target_s", False, True),
    ("agents", True, False),
    ("patience_s", False, False),
    ("max_occupancy", False, False),
    ("shrinkage", False, False),
)
DEFAULTS = {"interval_s": "1800", "target_sl": "0.8", "target_s": "20"}

add_strings(
    {
        "staffing_title": ("Calcul d'effectif", "Staffing calculator"),
        "staffing_intro": (
            "Les agents nécessaires pour un niveau de service (Erlang C, ou Erlang A avec une "
            "patience), comme « hotline staffing ». Avec un nombre d'agents, ce nombre est "
            "évalué.",
            "The agents needed for a service level (Erlang C, or Erlang A with a patience), "
            "as `hotline staffing` computes them. With a number of agents, that staffing is "
            "evaluated.",
        ),
        "staffing_f_calls": ("Appels sur l'intervalle", "Calls in the interval"),
        "staffing_f_interval_s": ("Durée de l'intervalle (s)", "Interval length (s)"),
        "staffing_f_aht_s": (
            "Durée moyenne de traitement (s, conversation + après-appel)",
            "Average handle time (s, talk + wrap-up)",
        ),
        "staffing_f_target_sl": (
            "Niveau de service visé (part de 0 à 1)",
            "Target service level (share, 0 to 1)",
        ),
        "staffing_f_target_s": ("Décroché en (s) au plus", "Answered within (s)"),
        "staffing_f_agents": (
            "Agents (facultatif : évaluer cet effectif)",
            "Agents (optional: evaluate this staffing)",
        ),
        "staffing_f_patience_s": (
            "Patience moyenne des appelants (s, facultatif : Erlang A)",
            "Callers' mean patience (s, optional: Erlang A)",
        ),
        "staffing_f_max_occupancy": (
            "Occupation maximale (part, facultatif)",
            "Maximum occupancy (share, optional)",
        ),
        "staffing_f_shrinkage": (
            "Absentéisme (part ; par défaut {default})",
            "Shrinkage (share; default {default})",
        ),
        "staffing_compute": ("Calculer", "Compute"),
        "staffing_err_required": ("Obligatoire.", "Required."),
        "staffing_err_number": (
            "« {value} » n'est pas un nombre (par exemple 0,8 ou 180).",
            "“{value}” is not a number (for example 0.8 or 180).",
        ),
        "staffing_err_whole": (
            "« {value} » n'est pas un nombre entier.",
            "“{value}” is not a whole number.",
        ),
        "staffing_err_calls": (
            "De 0 à 100 000 appels.",
            "From 0 to 100,000 calls.",
        ),
        "staffing_err_seconds": (
            "Plus de 0 s, au plus 86 400 s (un jour).",
            "More than 0 s, at most 86,400 s (a day).",
        ),
        "staffing_err_target_s": (
            "De 0 à 86 400 s (un jour).",
            "From 0 to 86,400 s (a day).",
        ),
        "staffing_err_share": (
            "Une part de 0 à 1 (0,8 = 80 %).",
            "A share from 0 to 1 (0.8 = 80%).",
        ),
        "staffing_err_target_one": (
            "Moins de 1 : servir 100 % des appels dans le délai demanderait une infinité d'agents.",
            "Less than 1: answering 100% of calls within the target would take infinitely "
            "many agents.",
        ),
        "staffing_err_occupancy": (
            "Une part de plus de 0, au plus 1.",
            "A share of more than 0, at most 1.",
        ),
        "staffing_err_shrinkage": (
            "Une part de 0 à moins de 1 (0,3 = 30 %).",
            "A share from 0 to less than 1 (0.3 = 30%).",
        ),
        "staffing_err_agents": (
            "Un nombre entier d'agents, de 1 à 100 000.",
            "A whole number of agents, from 1 to 100,000.",
        ),
        "staffing_err_load": (
            "Une charge de {load} Erlangs : au plus 10 000 ici (« hotline staffing » n'a pas "
            "cette limite).",
            "A load of {load} Erlangs: at most 10,000 here (`hotline staffing` has no such limit).",
        ),
        "staffing_err_arrivals": (
            "{n} appelants arrivent pendant une patience moyenne (appels × patience ÷ "
            "intervalle) : au plus 100 000 ici, au-delà le calcul prendrait des minutes.",
            "{n} callers arrive within one mean patience (calls × patience ÷ interval): at "
            "most 100,000 here, beyond that the maths would take minutes.",
        ),
        "staffing_err_maths": ("Pas de réponse : {why}", "No answer: {why}"),
        "staffing_result": ("Résultat", "Result"),
        "staffing_load": (
            "{model} : {calls} appels en {interval} s, DMT {aht} s = {load} Erlangs",
            "{model}: {calls} calls in {interval} s, AHT {aht} s = {load} Erlangs",
        ),
        "staffing_agents": ("Agents au téléphone", "Agents on the phones"),
        "staffing_positions": (
            "Postes à planifier (absentéisme {shrinkage})",
            "Positions to roster (shrinkage {shrinkage})",
        ),
        "staffing_sl": (
            "Niveau de service en {s} s (objectif {target})",
            "Service level within {s} s (target {target})",
        ),
        "staffing_asa": ("Attente moyenne des décrochés", "Average speed of answer"),
        "staffing_unstable": ("infinie (file instable)", "infinite (unstable)"),
        "staffing_p_wait": ("Probabilité d'attendre", "Probability of waiting"),
        "staffing_occupancy": ("Occupation", "Occupancy"),
        "staffing_abandon": ("Abandons", "Abandonment"),
        "staffing_note": ("Remarque : {note}", "Note: {note}"),
        "staffing_cli": ("En ligne de commande :", "On the command line:"),
    }
)


@dataclass(frozen=True)
class Result:
    staffing: erlang.Staffing
    load: float
    shrinkage: float
    values: dict  # the parsed inputs


def _number(text: str) -> float:
    v = float(text.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", "."))
    if not math.isfinite(v):
        raise ValueError(text)
    return v


def _parse(form) -> tuple[dict, dict]:
    """(values by field, None where left empty; errors by field)."""
    values, errors = {}, {}
    for name, whole, required in FIELDS:
        text = (form.get(name) or "").strip()
        if not text:
            if required:
                errors[name] = t("staffing_err_required")
            values[name] = None
            continue
        try:
            v = _number(text)
        except ValueError:
            errors[name] = t("staffing_err_number", value=text)
            continue
        if whole:
            if v != int(v):
                errors[name] = t("staffing_err_whole", value=text)
                continue
            v = int(v)
        values[name] = v
    for name, message in _check(values).items():
        errors.setdefault(name, message)
    return values, errors


def _check(v: dict) -> dict:
    """Range errors by field, for the values that parsed."""
    bad = {}

    def out(name, ok, key):
        if v.get(name) is not None and not ok(v[name]):
            bad[name] = t(key)

    out("calls", lambda x: 0 <= x <= MAX_CALLS, "staffing_err_calls")
    for name in ("interval_s", "aht_s", "patience_s"):
        out(name, lambda x: 0 < x <= MAX_SECONDS, "staffing_err_seconds")
    out("target_s", lambda x: 0 <= x <= MAX_SECONDS, "staffing_err_target_s")
    out("target_sl", lambda x: 0 <= x <= 1, "staffing_err_share")
    out("agents", lambda x: 1 <= x <= erlang.MAX_AGENTS, "staffing_err_agents")
    out("max_occupancy", lambda x: 0 < x <= 1, "staffing_err_occupancy")
    out("shrinkage", lambda x: 0 <= x < 1, "staffing_err_shrinkage")
    if "target_sl" not in bad and v.get("target_sl") == 1 and v.get("agents") is None:
        bad["target_sl"] = t("staffing_err_target_one")
    calls, interval, aht = v.get("calls"), v.get("interval_s"), v.get("aht_s")
    if not bad.keys() & {"calls", "interval_s", "aht_s"} and None not in (calls, interval, aht):
        load = calls * aht / interval
        if load > MAX_LOAD:
            bad["calls"] = t("staffing_err_load", load=f"{load:.4g}")
        patience = v.get("patience_s")
        if patience is not None and "patience_s" not in bad:
            arrivals = calls * patience / interval
            if arrivals > MAX_ARRIVALS_PER_PATIENCE:
                bad["patience_s"] = t("staffing_err_arrivals", n=f"{arrivals:.4g}")
    return bad


def evaluate(v: dict, shrinkage: float) -> erlang.Staffing:
    """What `hotline staffing` computes for these inputs (cli/staffing.py's choice)."""
    if v["agents"] is None:
        return erlang.required_agents(
            v["calls"],
            v["interval_s"],
            v["aht_s"],
            v["target_sl"],
            v["target_s"],
            patience_s=v["patience_s"],
            max_occupancy=v["max_occupancy"],
            shrinkage=shrinkage,
        )
    if v["patience_s"] is None:
        return erlang.erlang_c(
            v["calls"], v["interval_s"], v["aht_s"], v["agents"], v["target_s"], shrinkage=shrinkage
        )
    return erlang.erlang_a(
        v["calls"],
        v["interval_s"],
        v["aht_s"],
        v["agents"],
        v["target_s"],
        v["patience_s"],
        shrinkage=shrinkage,
    )


def _cli(v: dict, shrinkage: float) -> str:
    flags = [
        f"--{name.replace('_', '-')} {v[name]:g}"
        for name, _, _ in FIELDS
        if name != "shrinkage" and v.get(name) is not None
    ]
    return "hotline staffing " + " ".join([*flags, f"--shrinkage {shrinkage:g}"])


@bp.route("/staffing", methods=["GET", "POST"])
@requires("supervisor")
def page():
    s = svc()
    default_shrinkage = s.settings.shrinkage
    form = request.form if request.method == "POST" else request.args
    asked = request.method == "POST" or any(name in form for name, _, _ in FIELDS)
    texts = {name: form.get(name, "") for name, _, _ in FIELDS} if asked else dict(DEFAULTS)
    ctx = {
        "texts": texts,
        "errors": {},
        "result": None,
        "fields": FIELDS,
        "default_shrinkage": default_shrinkage,
    }
    if not asked:
        return render_template("staffing.html", **ctx)
    values, errors = _parse(form)
    if errors:
        return render_template("staffing.html", **{**ctx, "errors": errors}), 400
    shrinkage = default_shrinkage if values["shrinkage"] is None else values["shrinkage"]
    try:
        st = evaluate(values, shrinkage)
    except ValueError as e:  # the maths' own refusal (no staffing up to MAX_AGENTS...)
        errors = {"calls": t("staffing_err_maths", why=str(e))}
        return render_template("staffing.html", **{**ctx, "errors": errors}), 400
    load = values["calls"] * values["aht_s"] / values["interval_s"]
    ctx["result"] = Result(st, load, shrinkage, values)
    ctx["cli"] = _cli(values, shrinkage)
    return render_template("staffing.html", **ctx)


__all__ = ["bp", "evaluate"]
