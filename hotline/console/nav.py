"""The console's navigation bar: which pages a role sees, in order.

A page appears once its blueprint is registered (`create_app`), so a link never points
at a page this console does not serve. The least role here must match the page's own
`requires(...)`: the bar only hides links, the views refuse.
"""

from __future__ import annotations

from flask import current_app, url_for

from ..accounts.users import role_at_least

# (endpoint, label key in i18n.STRINGS, least role)
ENTRIES: tuple[tuple[str, str, str], ...] = (
    ("wallboard.page", "nav_wallboard", "supervisor"),
    ("wallboard.queue", "nav_queue", "supervisor"),
    ("roster.week", "nav_roster", "agent"),
    ("coverage.page", "nav_coverage", "supervisor"),
    ("reports.page", "nav_reports", "supervisor"),
    ("staffing.page", "nav_staffing", "supervisor"),
    ("drills.page", "nav_drills", "manager"),
    ("admin.users", "nav_users", "manager"),
)


def items(user) -> list[tuple[str, str, str]]:
    """(endpoint, url, label key) of every page `user` may open, in bar order."""
    if not getattr(user, "is_authenticated", False):
        return []
    views = current_app.view_functions
    return [
        (endpoint, url_for(endpoint), label)
        for endpoint, label, least in ENTRIES
        if endpoint in views and role_at_least(user.role, least)
    ]


def init(app) -> None:
    app.jinja_env.globals.update(nav_items=items)
