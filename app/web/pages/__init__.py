"""Pages for people: server-rendered HTML over the same engine services and read policy the API uses.

``register(app)`` wires browser sessions (Flask-Login), CSRF on every page form (Flask-WTF, page blueprints
only: the JSON API stays on tokens and Basic), language and time zone (Flask-Babel), the HTML error pages and
the blueprints. A view parses its input, opens one unit of work, calls one service and renders.
"""
from __future__ import annotations

from flask import Blueprint, Flask, request
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def register(app: Flask) -> None:
    from app.web.pages import (complaints, errors, formatting, i18n, inbox, labels, session,  # noqa: PLC0415
                               tasks)

    # CSRF is checked by the page blueprints themselves (protect_blueprint), not for every route of the app.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)
    i18n.init(app)
    session.init(app)
    formatting.init(app)
    errors.register(app)
    app.jinja_env.globals.update(labels=labels, get_locale=get_locale, language_names=i18n.LANGUAGE_NAMES,
                                 nav_allowed=_nav_allowed)
    session.bp.before_request(_check_csrf)
    for blueprint in (inbox.bp, tasks.bp, complaints.bp):
        protect_blueprint(blueprint)
    for blueprint in (session.bp, inbox.bp, tasks.bp, complaints.bp):
        app.register_blueprint(blueprint)


def protect_blueprint(bp: Blueprint) -> None:
    """Every view of a page blueprint needs a signed-in staff member, and every form post a CSRF token."""
    from app.web.pages.session import login_manager  # noqa: PLC0415

    @bp.before_request
    def _signed_in_and_csrf():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        _check_csrf()
        return None


def _check_csrf() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def _nav_allowed(item: str) -> bool:
    from app.web.pages import complaints  # noqa: PLC0415

    if not current_user.is_authenticated:
        return False
    return complaints.nav_allowed(current_user.actor, item)
