"""Pages for people: server-rendered HTML over the same engine services and read policy the API uses.

``register(app)`` wires browser sessions (Flask-Login), CSRF on every page form (Flask-WTF, page blueprints
only: the JSON API stays on tokens and Basic), language and time zone (Flask-Babel), the HTML error pages and
the blueprints. A view parses its input, opens one unit of work, calls one service and renders.
"""
from __future__ import annotations

from flask import Flask, request
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def register(app: Flask) -> None:
    from app.web.pages import (  # noqa: PLC0415
        audit_trail,
        complaints,
        errors,
        form_editor,
        form_renderer,
        formatting,
        i18n,
        inbox,
        labels,
        letter_library,
        letters,
        modeler,
        review,
        session,
        tasks,
    )

    # CSRF is checked by the page blueprints themselves (protect_blueprint), not for every route of the app.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)
    i18n.init(app)
    session.init(app)
    formatting.init(app)
    errors.register(app)
    app.jinja_env.filters["form_text"] = form_renderer.localized  # a form's title/description, reader's language
    app.jinja_env.globals.update(labels=labels, locale_code=i18n.locale_code, language_names=i18n.LANGUAGE_NAMES,
                                 nav_allowed=_nav_allowed)
    for blueprint in (session.bp, inbox.bp, tasks.bp, complaints.bp, modeler.bp, form_editor.bp, review.bp,
                      audit_trail.bp, letters.bp, letter_library.bp):
        app.register_blueprint(blueprint)


def signed_in_with_csrf():
    """``before_request`` of the page blueprints: a signed-in user, and a CSRF token on every form post."""
    from app.web.pages.session import login_manager  # noqa: PLC0415 - session imports this package

    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    check_csrf()
    return None


def check_csrf() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def _nav_allowed(item: str) -> bool:
    from app.web.pages import complaints, modeler  # noqa: PLC0415

    if not current_user.is_authenticated:
        return False
    if item == "modeler":
        return modeler.nav_allowed(current_user.actor)
    if item == "review":
        from app.web.pages import review  # noqa: PLC0415
        return review.nav_allowed(current_user.actor)
    if item == "audit":
        from app.web.pages import audit_trail  # noqa: PLC0415
        return audit_trail.nav_allowed(current_user.actor)
    if item == "letter_library":
        from app.web.pages import letter_library  # noqa: PLC0415
        return letter_library.nav_allowed(current_user.actor)
    if item == "letters":
        from app.web.pages import letters  # noqa: PLC0415
        return letters.nav_allowed(current_user.actor)
    return complaints.nav_allowed(current_user.actor, item)
