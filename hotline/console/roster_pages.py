"""The roster in the console: the week (everyone reads it) and the manager's editor.

Views translate HTTP <-> `hotline.roster` only: the grid is `roster.week.week_grid`,
every change goes through `RosterStore` (the same validation and store as
`hotline roster edit` and `import`), logged with `by` = the signed-in manager. Each
form carries the roster version its page showed (`RosterStore.snapshot`); the store
refuses a save based on an older one atomically (WATCH on the roster's key), and the
page then shows the current roster with that message. Nothing is saved when anything
is wrong, and each error is shown beside the field it concerns.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import PurePosixPath, PureWindowsPath

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.users import role_at_least
from ..errors import RosterInvalid
from ..roster import DAYS, ExtraShift, Leave, Roster, Shift, Swap, dump, parse_days
from ..roster.store import RosterConflict
from ..roster.week import days_text, parse_week, week_grid, week_of
from . import i18n
from .auth import requires, svc
from .i18n import t

bp = Blueprint("roster", __name__, url_prefix="/console")

# A roster file of 64 KiB is about 150 agents; validating it takes about 0.3 s (measured:
# 40 KB, 120 agents, 0.22 s), which is what one request of the console's single worker
# may spend. Bigger rosters go through `hotline roster import`.
UPLOAD_MAX_BYTES = 64 * 1024

FR_DAYS = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

# The fields of each form; a validation problem is shown beside one of them (`_place`).
FORMS = {
    "add": ("agent", "days", "date", "start", "end", "on_call", "id", "valid_from", "valid_until"),
    "change": ("agent", "days", "date", "start", "end", "on_call", "valid_from", "valid_until"),
    "leave": ("agent", "start", "end", "reason"),
    "swap": ("agent", "other", "date", "shift"),
    "cancel_leave": ("agent", "start", "end"),
    "cancel_swap": ("agent", "other", "date", "shift"),
    "import": ("file",),
}

i18n.add_strings(
    {
        "roster_title": ("Planning", "Roster"),
        "roster_week_label": ("Semaine", "Week"),
        "roster_show": ("Afficher", "Show"),
        "roster_prev": ("← Semaine précédente", "← Previous week"),
        "roster_next": ("Semaine suivante →", "Next week →"),
        "roster_meta": (
            "Semaine {week}, du {start} au {end}, en heure de {tz} ({hours} h réelles). "
            "Planning version {version}.",
            "Week {week}, {start} to {end}, in {tz} time ({hours} real hours). "
            "Roster version {version}.",
        ),
        "roster_none": (
            "Aucun planning enregistré pour l'instant.",
            "No roster stored yet.",
        ),
        "roster_agent_col": ("Agent", "Agent"),
        "roster_day_0": ("lun.", "Mon"),
        "roster_day_1": ("mar.", "Tue"),
        "roster_day_2": ("mer.", "Wed"),
        "roster_day_3": ("jeu.", "Thu"),
        "roster_day_4": ("ven.", "Fri"),
        "roster_day_5": ("sam.", "Sat"),
        "roster_day_6": ("dim.", "Sun"),
        "roster_dayname_0": ("lundi", "Monday"),
        "roster_dayname_1": ("mardi", "Tuesday"),
        "roster_dayname_2": ("mercredi", "Wednesday"),
        "roster_dayname_3": ("jeudi", "Thursday"),
        "roster_dayname_4": ("vendredi", "Friday"),
        "roster_dayname_5": ("samedi", "Saturday"),
        "roster_dayname_6": ("dimanche", "Sunday"),
        "roster_holiday": ("Férié : {name}", "Public holiday: {name}"),
        "roster_runs_as": ("horaires du {day}", "runs {day}'s shifts"),
        "roster_dst_day": ("changement d'heure : {hours} h", "clock change: {hours} h"),
        "roster_on_call": ("astreinte", "on call"),
        "roster_extra": ("ponctuel", "one-off"),
        "roster_covering": ("remplace {who}", "covering for {who}"),
        "roster_swap_with": ("échange avec {who}", "swaps with {who}"),
        "roster_on_leave": ("congé", "leave"),
        "roster_next_day": ("le lendemain", "the next day"),
        "roster_hours": ("{hours} h", "{hours} h"),
        "roster_dst_slot": (
            "{hours} h au lieu de {wall} h (changement d'heure)",
            "{hours} h instead of {wall} h (clock change)",
        ),
        "roster_row_hours": ("{hours} h de service", "{hours} h on shift"),
        "roster_row_on_call": ("{hours} h d'astreinte", "{hours} h on call"),
        "roster_shifts_title": ("Créneaux hebdomadaires", "Weekly shifts"),
        "roster_extras_title": ("Créneaux ponctuels", "One-off shifts"),
        "roster_leaves_title": ("Congés", "Leave"),
        "roster_swaps_title": ("Échanges", "Swaps"),
        "roster_col_id": ("Identifiant", "Id"),
        "roster_col_days": ("Jours", "Days"),
        "roster_col_times": ("Horaires", "Times"),
        "roster_col_valid": ("Validité", "Valid"),
        "roster_col_date": ("Date", "Date"),
        "roster_col_from": ("Du", "From"),
        "roster_col_to": ("Au", "To"),
        "roster_col_reason": ("Motif", "Reason"),
        "roster_col_with": ("Avec", "With"),
        "roster_col_shift": ("Créneau", "Shift"),
        "roster_all_shifts": ("tous ceux du jour", "all of that day"),
        "roster_always": ("toujours", "always"),
        "roster_edit": ("Modifier", "Change"),
        "roster_add_title": ("Ajouter un créneau", "Add a shift"),
        "roster_add_hint": (
            "Un créneau hebdomadaire (des jours) ou ponctuel (une date), en heure locale de "
            "l'agent ; une fin avant le début finit le lendemain.",
            "A weekly shift (days) or a one-off shift (a date), in the agent's local time; "
            "an end before the start ends the next day.",
        ),
        "roster_f_agent": ("Agent", "Agent"),
        "roster_f_days": ("Jours", "Days"),
        "roster_f_days_hint": ("lun-ven, sam,dim, lun,mer…", "mon-fri, sat,sun, mon,wed…"),
        "roster_f_date": ("Date (créneau ponctuel)", "Date (one-off shift)"),
        "roster_f_start": ("Début", "Start"),
        "roster_f_end": ("Fin", "End"),
        "roster_f_on_call": ("Astreinte", "On call"),
        "roster_f_id": ("Identifiant (facultatif)", "Id (optional)"),
        "roster_f_valid_from": ("Valable à partir du", "Valid from"),
        "roster_f_valid_until": ("Valable jusqu'au", "Valid until"),
        "roster_add_button": ("Ajouter le créneau", "Add the shift"),
        "roster_leave_title": ("Mettre un agent en congé", "Put an agent on leave"),
        "roster_f_leave_agent": ("Congé de", "Leave for"),
        "roster_f_leave_start": ("Premier jour", "First day"),
        "roster_f_leave_end": ("Dernier jour", "Last day"),
        "roster_f_leave_reason": ("Motif", "Reason"),
        "roster_leave_button": ("Enregistrer le congé", "Save the leave"),
        "roster_swap_title": ("Échanger les créneaux de deux agents", "Swap two agents' shifts"),
        "roster_f_swap_agent": ("Échange de", "Swap"),
        "roster_f_swap_other": ("avec", "with"),
        "roster_f_swap_date": ("Jour de l'échange", "On"),
        "roster_f_swap_shift": ("Seulement le créneau (facultatif)", "Only this shift (optional)"),
        "roster_swap_button": ("Échanger", "Swap them"),
        "roster_import_title": ("Importer ou exporter", "Import or export"),
        "roster_import_hint": (
            "Le fichier remplace tout le planning, comme « hotline roster import » ; un "
            "fichier qui a la moindre erreur ne change rien.",
            "The file replaces the whole roster, as `hotline roster import` does; a file "
            "with any problem changes nothing.",
        ),
        "roster_f_file": ("Fichier du planning (YAML)", "Roster file (YAML)"),
        "roster_import_button": ("Importer", "Import"),
        "roster_export": ("Exporter le planning (YAML)", "Export the roster (YAML)"),
        "roster_shift_title": ("Créneau {id}", "Shift {id}"),
        "roster_save_button": ("Enregistrer le créneau", "Save the shift"),
        "roster_remove_button": ("Supprimer le créneau", "Remove the shift"),
        "roster_back": ("Retour au planning", "Back to the roster"),
        "roster_added": ("Créneau ajouté (version {version}).", "Shift added (version {version})."),
        "roster_changed": (
            "Créneau {id} modifié (version {version}).",
            "Shift {id} changed (version {version}).",
        ),
        "roster_removed": (
            "Créneau {id} supprimé (version {version}).",
            "Shift {id} removed (version {version}).",
        ),
        "roster_cancel_leave_button": ("Annuler le congé", "Cancel the leave"),
        "roster_cancel_swap_button": ("Annuler l'échange", "Cancel the swap"),
        "roster_col_actions": ("Actions", "Actions"),
        "roster_leave_cancelled": (
            "Congé de {agent} du {start} au {end} annulé (version {version}).",
            "Leave of {agent} from {start} to {end} cancelled (version {version}).",
        ),
        "roster_swap_cancelled": (
            "Échange de {agent} et {other} le {date} annulé (version {version}).",
            "Swap of {agent} and {other} on {date} cancelled (version {version}).",
        ),
        "roster_leave_saved": (
            "Congé de {agent} enregistré (version {version}).",
            "Leave for {agent} saved (version {version}).",
        ),
        "roster_swap_saved": (
            "Échange de {agent} et {other} le {date} enregistré (version {version}).",
            "Swap of {agent} and {other} on {date} saved (version {version}).",
        ),
        "roster_imported": (
            "Planning importé depuis {file} : {agents} agents, {shifts} créneaux "
            "hebdomadaires (version {version}).",
            "Roster imported from {file}: {agents} agents, {shifts} weekly shifts "
            "(version {version}).",
        ),
        "roster_conflict": (
            "Le planning a changé depuis l'ouverture de cette page : votre formulaire partait "
            "de la version {expected}, le planning est maintenant à la version {current}. "
            "Rien n'a été enregistré ; voici le planning actuel : vérifiez, puis recommencez.",
            "The roster changed since this page was opened: your form was based on version "
            "{expected}, the roster is now at version {current}. Nothing was saved; here is "
            "the current roster: check it, then try again.",
        ),
        "roster_no_version": (
            "Ce formulaire ne dit pas de quelle version du planning il part ; rechargez la "
            "page et recommencez. Rien n'a été enregistré.",
            "This form does not say which roster version it was based on; reload the page "
            "and try again. Nothing was saved.",
        ),
        "roster_refused": ("Refusé ; rien n'a été enregistré :", "Refused; nothing was saved:"),
        "roster_err_required": ("Obligatoire.", "Required."),
        "roster_err_cancel": (
            "Demande d'annulation incomplète : utilisez le bouton de la liste.",
            "Incomplete cancel request: use the button in the list.",
        ),
        "roster_err_time": (
            "Heure attendue au format HH:MM (00:00 à 23:59).",
            "Expected a time HH:MM (00:00 to 23:59).",
        ),
        "roster_err_date": ("Date attendue au format AAAA-MM-JJ.", "Expected a date YYYY-MM-DD."),
        "roster_err_days_or_date": (
            "Indiquez des jours (créneau hebdomadaire) ou une date (créneau ponctuel), pas les "
            "deux.",
            "Give days (a weekly shift) or a date (a one-off shift), not both.",
        ),
        "roster_err_days": (
            "Jours illisibles : lun, mar, mer, jeu, ven, sam, dim ou une plage comme lun-ven.",
            "Unreadable days: mon, tue, wed, thu, fri, sat, sun or a range like mon-fri.",
        ),
        "roster_err_weekly_only": (
            "Seulement pour un créneau hebdomadaire.",
            "Only for a weekly shift.",
        ),
        "roster_err_week": (
            "Semaine inconnue : écrivez-la AAAA-Wss, par exemple 2026-W49.",
            "Unknown week: write it YYYY-Www, for example 2026-W49.",
        ),
        "roster_err_no_file": ("Choisissez un fichier.", "Choose a file."),
        "roster_err_not_utf8": (
            "Ce fichier n'est pas du texte UTF-8.",
            "This file is not UTF-8 text.",
        ),
        "roster_err_too_big": (
            "Fichier trop gros : {kb} Kio au plus ici ; au-delà, utilisez « hotline roster "
            "import ».",
            "File too large: {kb} KiB at most here; beyond that, use `hotline roster import`.",
        ),
        "roster_err_problems": (
            "{n} problème(s) dans le fichier ; rien n'a été changé.",
            "{n} problem(s) in the file; nothing changed.",
        ),
    }
)


# --- reading ----------------------------------------------------------------------


def _manager() -> bool:
    return current_user.is_authenticated and role_at_least(current_user.role, "manager")


def _day_names() -> tuple[str, ...]:
    return FR_DAYS if i18n.lang() == "fr" else DAYS


def _current_week(roster: Roster | None) -> str:
    s = svc()
    tz = roster.tz if roster else s.settings.tz
    return week_of(datetime.fromtimestamp(s.clock.now(), UTC), tz)


def _week_arg(roster: Roster | None, text: str | None) -> tuple[str, str | None]:
    """(the week to show, an error for the week field or None)."""
    if not text:
        return _current_week(roster), None
    try:
        return parse_week(text)[0], None
    except ValueError:
        return _current_week(roster), t("roster_err_week")


def _page(
    *,
    week: str | None = None,
    active: str | None = None,
    values: dict | None = None,
    errors: dict | None = None,
    general: list[str] | None = None,
    conflict: RosterConflict | None = None,
    status: int = 200,
):
    """The week page; after a refused save, with the form that was sent (`active`), its
    values and its errors beside their fields."""
    roster, version = svc().roster.snapshot()
    errors = dict(errors or {})
    shown, week_error = _week_arg(roster, week)
    if week_error:
        errors["week.week"] = week_error
    grid = week_grid(roster, shown, language=i18n.lang()) if roster else None
    return (
        render_template(
            "roster.html",
            roster=roster,
            version=version,
            grid=grid,
            week=shown,
            manager=_manager(),
            day_names=_day_names(),
            days_text=days_text,
            active=active,
            values=values or {},
            errors=errors,
            general=general or [],
            conflict=conflict,
        ),
        status,
    )


@bp.get("/roster")
@requires("agent")
def week():
    week = request.args.get("week")
    if week and not _valid_week(week):
        return _page(week=week, status=400)
    return _page(week=week)


def _valid_week(text: str) -> bool:
    try:
        parse_week(text)
    except ValueError:
        return False
    return True


@bp.get("/roster/export")
@requires("manager")
def export():
    roster, version = svc().roster.snapshot()
    if roster is None:
        flash(t("roster_none"), "error")
        return redirect(url_for("roster.week"))
    return Response(
        dump(roster),
        mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="roster-v{version}.yaml"'},
    )


@bp.get("/roster/shifts/<shift_id>")
@requires("manager")
def shift(shift_id: str):
    return _shift_page(shift_id)


def _shift_page(
    shift_id: str,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    general: list[str] | None = None,
    conflict: RosterConflict | None = None,
    status: int = 200,
):
    roster, version = svc().roster.snapshot()
    try:
        s = roster.shift(shift_id) if roster else None
    except KeyError:
        s = None
    if s is None:
        if conflict or general:
            # gone meanwhile (another manager removed it): the week says what happened
            return _page(
                week=request.values.get("week"),
                active="remove",
                general=general,
                conflict=conflict,
                status=status,
            )
        abort(404)
    if values is None:
        values = _shift_values(s)
    return (
        render_template(
            "roster_shift.html",
            roster=roster,
            version=version,
            shift=s,
            week=_week_arg(roster, request.values.get("week"))[0],
            active="change",
            values=values,
            errors=errors or {},
            general=general or [],
            conflict=conflict,
        ),
        status,
    )


def _shift_values(s: Shift | ExtraShift) -> dict:
    v = {
        "agent": s.agent,
        "start": f"{s.start:%H:%M}",
        "end": f"{s.end:%H:%M}",
        "on_call": "1" if s.on_call else "",
    }
    if isinstance(s, ExtraShift):
        v["date"] = s.date.isoformat()
    else:
        v["days"] = days_text(s.days, _day_names())
        v["valid_from"] = s.valid_from.isoformat() if s.valid_from else ""
        v["valid_until"] = s.valid_until.isoformat() if s.valid_until else ""
    return v


# --- changing ---------------------------------------------------------------------


def _fields(form: str) -> dict[str, str]:
    return {k: (request.form.get(k) or "").strip() for k in FORMS[form]}


def _back_week() -> str | None:
    w = request.form.get("week") or ""
    return w if _valid_week(w) else None


def _expected_version() -> int | None:
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        return None


def _save(form: str, values: dict, write, done, render):
    """Run `write(expected_version)`; a conflict or a problem renders the form again with
    its message (nothing was saved), success flashes `done(result)` and shows the week."""
    expected = _expected_version()
    if expected is None:
        return render(values=values, general=[t("roster_no_version")], status=400)
    try:
        result = write(expected)
    except RosterConflict as e:
        return render(values=values, conflict=e, status=409)
    except RosterInvalid as e:
        errors, general = _place(form, e.problems, values)
        return render(values=values, errors=errors, general=general, status=400)
    flash(done(result), "ok")
    return redirect(url_for("roster.week", week=_back_week()))


# (words in the problem's reason, field) per form; the first match wins.
_PLACES = {
    "add": (
        ("overlaps", "start"),
        ("zero-length", "end"),
        ("valid_until", "valid_until"),
        ("valid_from", "valid_from"),
        ("shift id", "id"),
        ("bad id", "id"),
        ("unknown agent", "agent"),
    ),
    "leave": (("unknown agent", "agent"), ("is before from", "end")),
    "swap": (
        ("themself", "other"),
        ("unknown shift", "shift"),
        ("belongs to", "shift"),
        ("at the same time", "date"),
        ("unknown agent", "agent"),
    ),
}
_PLACES["change"] = _PLACES["add"]


def _place(form: str, problems, values: dict) -> tuple[dict[str, str], list[str]]:
    """Each problem beside the field of `form` it concerns; the others for the form's top."""
    errors: dict[str, str] = {}
    general: list[str] = []
    for p in problems:
        field = next((f for words, f in _PLACES.get(form, ()) if words in p.reason), None)
        if field == "agent" and form == "swap" and f"{values.get('other')!r}" in p.reason:
            field = "other"  # "unknown agent 'x'" names the one that is unknown
        key = f"{form}.{field}"
        if field is None:
            general.append(p.reason)
        elif key in errors:
            errors[key] += " " + p.reason
        else:
            errors[key] = p.reason
    return errors, general


def _hhmm(value: str) -> time | None:
    m = _HHMM.match(value)
    return time(int(m.group(1)), int(m.group(2))) if m else None


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _shift_from(form: str, f: dict, errors: dict) -> Shift | ExtraShift | None:
    """The shift the add or change form describes; problems of its own fields in `errors`."""

    def err(field: str, key: str) -> None:
        errors.setdefault(f"{form}.{field}", t(key))

    if not f["agent"]:
        err("agent", "roster_err_required")
    if bool(f["days"]) == bool(f["date"]):
        err("days", "roster_err_days_or_date")
    days = on_date = None
    if f["days"]:
        try:
            days = parse_days(f["days"])
        except ValueError:
            err("days", "roster_err_days")
    if f["date"]:
        on_date = _day(f["date"])
        if on_date is None:
            err("date", "roster_err_date")
    start, end = _hhmm(f["start"]), _hhmm(f["end"])
    if start is None:
        err("start", "roster_err_required" if not f["start"] else "roster_err_time")
    if end is None:
        err("end", "roster_err_required" if not f["end"] else "roster_err_time")
    valid = {}
    for k in ("valid_from", "valid_until"):
        if f[k]:
            valid[k] = _day(f[k])
            if f["date"]:
                err(k, "roster_err_weekly_only")
            elif valid[k] is None:
                err(k, "roster_err_date")
    if errors:
        return None
    on_call = f["on_call"] in ("1", "on", "true", "yes")
    shift_id = f.get("id", "")
    if on_date is not None:
        return ExtraShift(shift_id, f["agent"], on_date, start, end, on_call)
    return Shift(
        shift_id,
        f["agent"],
        days,
        start,
        end,
        on_call,
        valid.get("valid_from"),
        valid.get("valid_until"),
    )


def _week_render(form: str):
    def render(**kw):
        return _page(week=_back_week(), active=form, **kw)

    return render


@bp.post("/roster/shifts")
@requires("manager")
def add_shift():
    f = _fields("add")
    errors: dict[str, str] = {}
    s = _shift_from("add", f, errors)
    render = _week_render("add")
    if s is None:
        return render(values=f, errors=errors, status=400)
    store = svc().roster
    return _save(
        "add",
        f,
        lambda v: store.add_shift(s, by=current_user.by, expected_version=v),
        lambda r: t("roster_added", version=store.version()),
        render,
    )


@bp.post("/roster/shifts/<shift_id>")
@requires("manager")
def change_shift(shift_id: str):
    f = _fields("change")
    f["id"] = shift_id
    errors: dict[str, str] = {}
    s = _shift_from("change", f, errors)

    def render(**kw):
        return _shift_page(shift_id, **kw)

    if s is None:
        return render(values=f, errors=errors, status=400)
    store = svc().roster
    return _save(
        "change",
        f,
        lambda v: store.change_shift(shift_id, s, by=current_user.by, expected_version=v),
        lambda r: t("roster_changed", id=shift_id, version=store.version()),
        render,
    )


@bp.post("/roster/shifts/<shift_id>/remove")
@requires("manager")
def remove_shift(shift_id: str):
    store = svc().roster
    return _save(
        "remove",
        {},
        lambda v: store.remove_shift(shift_id, by=current_user.by, expected_version=v),
        lambda r: t("roster_removed", id=shift_id, version=store.version()),
        _week_render("remove"),
    )


@bp.post("/roster/leave")
@requires("manager")
def leave():
    f = _fields("leave")
    errors = {}
    if not f["agent"]:
        errors["leave.agent"] = t("roster_err_required")
    d0, d1 = _day(f["start"]), _day(f["end"])
    for k, d in (("start", d0), ("end", d1)):
        if d is None:
            errors[f"leave.{k}"] = t("roster_err_required" if not f[k] else "roster_err_date")
    render = _week_render("leave")
    if errors:
        return render(values=f, errors=errors, status=400)
    lv = Leave(f["agent"], d0, d1, f["reason"] or None)
    store = svc().roster
    return _save(
        "leave",
        f,
        lambda v: store.set_leave(lv, by=current_user.by, expected_version=v),
        lambda r: t("roster_leave_saved", agent=lv.agent, version=store.version()),
        render,
    )


@bp.post("/roster/swap")
@requires("manager")
def swap():
    f = _fields("swap")
    errors = {}
    for k in ("agent", "other"):
        if not f[k]:
            errors[f"swap.{k}"] = t("roster_err_required")
    on = _day(f["date"])
    if on is None:
        errors["swap.date"] = t("roster_err_required" if not f["date"] else "roster_err_date")
    render = _week_render("swap")
    if errors:
        return render(values=f, errors=errors, status=400)
    sw = Swap(on, f["agent"], f["other"], f["shift"] or None)
    store = svc().roster
    return _save(
        "swap",
        f,
        lambda v: store.swap(sw, by=current_user.by, expected_version=v),
        lambda r: t(
            "roster_swap_saved",
            agent=sw.agent,
            other=sw.other,
            date=sw.date.isoformat(),
            version=store.version(),
        ),
        render,
    )


@bp.post("/roster/leave/cancel")
@requires("manager")
def cancel_leave():
    # The buttons of the leave list send these as hidden fields; a hand-made request
    # missing one is refused like any other bad edit, with nothing saved.
    f = _fields("cancel_leave")
    d0, d1 = _day(f["start"]), _day(f["end"])
    render = _week_render("remove")
    if not f["agent"] or d0 is None or d1 is None:
        return render(general=[t("roster_err_cancel")], status=400)
    lv = Leave(f["agent"], d0, d1)
    store = svc().roster
    return _save(
        "remove",
        f,
        lambda v: store.cancel_leave(lv, by=current_user.by, expected_version=v),
        lambda r: t(
            "roster_leave_cancelled",
            agent=lv.agent,
            start=d0.isoformat(),
            end=d1.isoformat(),
            version=store.version(),
        ),
        render,
    )


@bp.post("/roster/swap/cancel")
@requires("manager")
def cancel_swap():
    f = _fields("cancel_swap")
    on = _day(f["date"])
    render = _week_render("remove")
    if not f["agent"] or not f["other"] or on is None:
        return render(general=[t("roster_err_cancel")], status=400)
    sw = Swap(on, f["agent"], f["other"], f["shift"] or None)
    store = svc().roster
    return _save(
        "remove",
        f,
        lambda v: store.cancel_swap(sw, by=current_user.by, expected_version=v),
        lambda r: t(
            "roster_swap_cancelled",
            agent=sw.agent,
            other=sw.other,
            date=on.isoformat(),
            version=store.version(),
        ),
        render,
    )


@bp.post("/roster/import")
@requires("manager")
def import_():
    render = _week_render("import")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render(errors={"import.file": t("roster_err_no_file")}, status=400)
    data = upload.read(UPLOAD_MAX_BYTES + 1)
    if len(data) > UPLOAD_MAX_BYTES:
        return render(
            errors={"import.file": t("roster_err_too_big", kb=UPLOAD_MAX_BYTES // 1024)},
            status=400,
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return render(errors={"import.file": t("roster_err_not_utf8")}, status=400)
    # Only a label for the report and the event: the browser's name, without any folder.
    name = PureWindowsPath(PurePosixPath(upload.filename).name).name[:100] or "roster.yaml"
    store = svc().roster
    expected = _expected_version()
    if expected is None:
        return render(general=[t("roster_no_version")], status=400)
    try:
        r = store.import_text(text, name, by=current_user.by, expected_version=expected)
    except RosterConflict as e:
        return render(conflict=e, status=409)
    except RosterInvalid as e:
        return render(
            errors={"import.file": t("roster_err_problems", n=len(e.problems))},
            general=[str(p) for p in e.problems],
            status=400,
        )
    flash(
        t(
            "roster_imported",
            file=name,
            agents=len(r.agents),
            shifts=len(r.shifts),
            version=store.version(),
        ),
        "ok",
    )
    return redirect(url_for("roster.week", week=_back_week()))
