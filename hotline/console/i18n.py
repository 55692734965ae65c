"""The console's words, in French (the default) and English (the user's choice).

The choice is kept in the session (`POST /console/lang`), so it follows the user across
pages and survives a reload; the login page offers it too.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, session

LANGS = ("fr", "en")

STRINGS: dict[str, tuple[str, str]] = {
    # (French, English)
    "app_name": ("Hotline — console", "Hotline — console"),
    "login_title": ("Connexion", "Sign in"),
    "email": ("Adresse e-mail", "Email address"),
    "password": ("Mot de passe", "Password"),
    "sign_in": ("Se connecter", "Sign in"),
    "sign_out": ("Se déconnecter", "Sign out"),
    "login_failed": ("Adresse ou mot de passe incorrect.", "Wrong email or password."),
    "login_limited": (
        "Trop de tentatives. Réessayez dans {minutes} min.",
        "Too many attempts. Try again in {minutes} min.",
    ),
    "language": ("Langue", "Language"),
    "switch_lang": ("English", "Français"),
    "csrf_error": (
        "Le formulaire a expiré ou n'a pas été envoyé par cette page. Rechargez la page et recommencez.",
        "The form expired or was not sent from this page. Reload the page and try again.",
    ),
    "forbidden": ("Vous n'avez pas accès à cette page.", "You may not open this page."),
    "not_found": ("Page introuvable.", "Page not found."),
    "back": ("Retour", "Back"),
    # navigation
    "nav_agent": ("Mon poste", "My desk"),
    "nav_wallboard": ("Tableau de bord", "Wallboard"),
    "nav_queue": ("File d'attente", "Queue"),
    "nav_users": ("Comptes", "Accounts"),
    "nav_roster": ("Planning", "Roster"),
    "nav_coverage": ("Couverture", "Coverage"),
    "nav_reports": ("Rapports", "Reports"),
    "nav_staffing": ("Calcul d'effectif", "Staffing"),
    "nav_drills": ("Exercices", "Drills"),
    # agent
    "agent_title": ("Mon poste", "My desk"),
    "no_agent": (
        "Ce compte n'est lié à aucun agent du planning.",
        "This account is not linked to a roster agent.",
    ),
    "state": ("État", "State"),
    "since": ("depuis", "for"),
    "go_available": ("Disponible", "Available"),
    "go_away": ("En pause", "Away"),
    "go_offline": ("Déconnecté", "Offline"),
    "reason": ("Motif", "Reason"),
    "state_changed": ("État changé : {state}.", "State changed: {state}."),
    "st_offline": ("déconnecté", "offline"),
    "st_available": ("disponible", "available"),
    "st_reserved": ("appel proposé", "call offered"),
    "st_busy": ("en ligne", "on a call"),
    "st_wrapup": ("après-appel", "wrap-up"),
    "st_away": ("absent", "away"),
    "on_shift": ("en service", "on shift"),
    "off_shift": ("hors service", "off shift"),
    "on_call_only": ("d'astreinte", "on call"),
    "my_shifts": ("Mes prochains créneaux", "My next shifts"),
    "no_shifts": ("Aucun créneau à venir.", "No shift coming up."),
    # call card
    "card_title": ("Appel en cours", "Current call"),
    "card_offered": (
        "Appel proposé : décrochez votre téléphone et appuyez sur 1.",
        "Call offered: pick up your phone and press 1.",
    ),
    "caller": ("Appelant", "Caller"),
    "call_lang": ("Langue", "Language"),
    "category": ("Catégorie", "Category"),
    "decided_by": ("Choisie", "Chosen"),
    "by_key": ("au clavier (touche {digit})", "by key ({digit})"),
    "by_speech": ("à la voix : « {speech} »", "by speech: “{speech}”"),
    "by_other": ("automatiquement", "automatically"),
    "error_code": ("Code d'erreur", "Error code"),
    "ivr_path": ("Parcours", "IVR path"),
    "wait": ("Attente", "Wait"),
    "repeat_caller": ("Rappel : a déjà appelé récemment", "Repeat caller: called recently"),
    "recent_calls": ("Appels récents de ce numéro", "Recent calls from this number"),
    "no_recent": ("Aucun appel récent.", "No recent call."),
    "tip_heard": ("Conseil déjà entendu", "Tip already heard"),
    "date": ("Date", "Date"),
    "disposition": ("Qualification", "Disposition"),
    "notes": ("Notes", "Notes"),
    "none": ("—", "—"),
    "withheld": ("numéro masqué", "number withheld"),
    "ivr_call_created": ("appel reçu", "call received"),
    "ivr_language_chosen": ("langue choisie", "language chosen"),
    "ivr_menu_choice": ("menu", "menu"),
    "ivr_menu_retry": ("menu répété", "menu repeated"),
    "ivr_confirmation_asked": ("confirmation demandée", "confirmation asked"),
    "ivr_classification_confirmed": ("confirmé", "confirmed"),
    "ivr_classified": ("classé", "classified"),
    "ivr_error_code_captured": ("code d'erreur saisi", "error code keyed"),
    "ivr_selfhelp_offered": ("conseil entendu", "tip heard"),
    "ivr_after_hours_offered": ("hors horaires", "after hours"),
    "ivr_enqueued": ("mis en attente", "queued"),
    "ivr_callback_requested": ("rappel demandé", "callback requested"),
    "ivr_selfhelp_resolved": ("résolu seul", "solved by the tip"),
    "cat_connection": ("connexion", "connection"),
    "cat_software": ("logiciel", "software"),
    "cat_error_message": ("message d'erreur", "error message"),
    "cat_general": ("général", "general"),
    # wrap-up
    "wrapup_title": ("Après-appel", "Wrap-up"),
    "wrapup_left": ("Temps restant", "Time left"),
    "save_disposition": ("Enregistrer", "Save"),
    "ready": ("Prêt", "Ready"),
    "disposition_saved": ("Qualification enregistrée.", "Disposition saved."),
    "choose": ("— choisir —", "— choose —"),
    "disposition_required": (
        "Choisissez une qualification avant d'être prêt.",
        "Choose a disposition before Ready.",
    ),
    "not_in_wrapup": ("Vous n'êtes pas en après-appel.", "You are not in wrap-up."),
    "ready_done": ("Vous êtes disponible.", "You are available."),
    # wallboard
    "wallboard_title": ("Tableau de bord", "Wallboard"),
    "skill": ("Compétence", "Skill"),
    "waiting": ("En attente", "Waiting"),
    "oldest_wait": ("Plus longue attente", "Oldest wait"),
    "answered": ("Décrochés", "Answered"),
    "abandoned": ("Abandons", "Abandoned"),
    "offered": ("Présentés", "Offered"),
    "service_level": ("Niveau de service", "Service level"),
    "target": ("objectif", "target"),
    "asa": ("Délai moyen de réponse", "Avg speed of answer"),
    "agents": ("Agents", "Agents"),
    "agent": ("Agent", "Agent"),
    "current_call": ("Appel en cours", "Current call"),
    "handled_today": ("Traités aujourd'hui", "Handled today"),
    "missed_today": ("Manqués aujourd'hui", "Missed today"),
    "available_count": ("disponibles", "available"),
    "oncall_count": ("en ligne", "on a call"),
    "wrapup_count": ("en après-appel", "in wrap-up"),
    "away_count": ("absents", "away"),
    "offline_count": ("déconnectés", "offline"),
    "announcement": ("Annonce d'incident", "Incident announcement"),
    "no_announcement": ("Aucune annonce.", "No announcement."),
    "announcement_text": ("Texte de l'annonce ({lang})", "Announcement text ({lang})"),
    "set": ("Diffuser", "Set"),
    "clear": ("Retirer", "Clear"),
    "announcement_set": ("Annonce diffusée ({langs}).", "Announcement set ({langs})."),
    "announcement_cleared": ("Annonce retirée.", "Announcement cleared."),
    "tv_mode": ("Mode TV", "TV mode"),
    "set_state": ("Changer", "Change"),
    "agent_state_of": ("État de {agent}", "State of {agent}"),
    "today": ("Aujourd'hui", "Today"),
    "live_off": (
        "Mise à jour en direct interrompue ; rechargez la page.",
        "Live updates stopped; reload the page.",
    ),
    # queue
    "queue_title": ("File d'attente", "Queue"),
    "position": ("Rang", "Position"),
    "waited": ("Attendu", "Waited"),
    "queue_empty": ("Personne n'attend.", "Nobody is waiting."),
    # users
    "users_title": ("Comptes", "Accounts"),
    "role": ("Rôle", "Role"),
    "name": ("Nom", "Name"),
    "agent_id": ("Agent du planning", "Roster agent"),
    "status": ("Statut", "Status"),
    "active": ("actif", "active"),
    "disabled": ("désactivé", "disabled"),
    "disable": ("Désactiver", "Disable"),
    "reset_password": ("Nouveau mot de passe", "New password"),
    "create_user": ("Créer le compte", "Create account"),
    "new_user": ("Nouveau compte", "New account"),
    "user_created": ("Compte {email} créé.", "Account {email} created."),
    "user_disabled": ("Compte {email} désactivé.", "Account {email} disabled."),
    "password_reset": (
        "Mot de passe de {email} changé ; ses sessions sont fermées.",
        "Password of {email} changed; their sessions are closed.",
    ),
    "role_agent": ("agent", "agent"),
    "role_supervisor": ("superviseur", "supervisor"),
    "role_manager": ("responsable", "manager"),
    "tv_tokens": ("Écrans TV", "TV screens"),
    "tv_label": ("Nom de l'écran", "Screen name"),
    "tv_issue": ("Créer un lien TV", "Create a TV link"),
    "tv_revoke": ("Révoquer", "Revoke"),
    "tv_issued": (
        "Lien TV créé ; copiez-le maintenant, il ne sera plus affiché : {url}",
        "TV link created; copy it now, it will not be shown again: {url}",
    ),
    "tv_revoked": ("Lien TV révoqué.", "TV link revoked."),
    "no_tv_tokens": ("Aucun lien TV.", "No TV link."),
    "created": ("Créé", "Created"),
}


def add_strings(table: dict[str, tuple[str, str]]) -> None:
    """A page module's own words, (French, English) by key; a key defined twice is a
    programming error, caught at import rather than shown as the wrong sentence."""
    clash = sorted(set(table) & set(STRINGS))
    if clash:
        raise ValueError(f"console strings defined twice: {', '.join(clash)}")
    STRINGS.update(table)


def lang() -> str:
    return session.get("lang") if session.get("lang") in LANGS else "fr"


def t(key: str, **fields) -> str:
    fr, en = STRINGS[key]
    text = en if lang() == "en" else fr
    return text.format(**fields) if fields else text


bp = Blueprint("i18n", __name__, url_prefix="/console")


@bp.post("/lang")
def choose():
    chosen = request.form.get("lang")
    if chosen in LANGS:
        session["lang"] = chosen
    back = request.form.get("back") or "/console/"
    return redirect(back if back.startswith("/console/") else "/console/")


def init(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(t=t, lang=lang)
