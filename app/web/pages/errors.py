"""Error pages for browser routes, in the reader's language; /api/v1 (and /healthz) keep their JSON answers.

The statuses come from app/web/errors.py (the one domain-error-to-HTTP table); this module only decides
*how* an error is shown: HTML for people, JSON for programs.
"""
from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from app.engine.core.errors import DomainError, DutiesNotSegregated, InvalidSubmission, NotAllowed
from app.engine.forms import excerpt
from app.web import errors as api_errors
from app.web.pages.i18n import gettext

log = logging.getLogger(__name__)

TITLES = {
    400: _l("The request could not be understood"),
    401: _l("Please sign in"),
    403: _l("You may not open this page"),
    404: _l("Page not found"),
    405: _l("This action is not available here"),
    409: _l("This was changed meanwhile"),
    413: _l("The upload is too large"),
    422: _l("The data could not be accepted"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("The service is briefly unavailable"),
}
MESSAGES = {
    400: _l("Please go back, reload the page and try again."),
    401: _l("Your session has ended. Please sign in again."),
    403: _l("Your role or department does not give you access to this case or task. "
            "If you think it should, ask your coordinator."),
    404: _l("There is no such page, case or task. Check the address or start again from your inbox."),
    405: _l("Please go back and use the buttons on the page."),
    409: _l("Someone else changed this case at the same time. Reload the page to see where it stands now."),
    413: _l("Please send a smaller file."),
    422: _l("Please go back and correct the form."),
    429: _l("Please wait a minute before trying again."),
    500: _l("The error has been logged. Please try again in a moment; nothing was half saved."),
    503: _l("The database cannot be reached at the moment. Please try again in a minute; nothing was half saved."),
}
CSRF_MESSAGE = _l("The form had expired or was not sent from this site. Please reload the page and send it again.")


def register(app: Flask) -> None:
    # Registered after app/web/errors.py: these wrap its handlers and hand programs' requests back to them.
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(Exception, _unexpected_error)


# The blueprints whose errors are pages; everything else (the API, /healthz, static files) keeps JSON.
PAGE_BLUEPRINTS = frozenset({"session", "inbox", "tasks", "complaints", "modeler", "review"})


def is_browser_route() -> bool:
    """A page of the workspace, or an address that matches no route asked for by a browser (text/html named
    in Accept; programs sending */* keep the JSON answer), outside /api."""
    if request.blueprint in PAGE_BLUEPRINTS:
        return True
    if request.url_rule is None and not (request.path == "/api" or request.path.startswith("/api/")):
        return "text/html" in request.accept_mimetypes.values()
    return False


def render_error(status: int, message=None):
    shown = status if status in TITLES else (500 if status >= 500 else 400)
    if shown >= 500 and "_login_user" not in g:
        # The signed-in user was never loaded (the database may be why we are here): the page's header would
        # load them. Show it as to a visitor instead of failing a second time with a bare 500.
        g._login_user = AnonymousUserMixin()
    return render_template("pages/error.html", status=status, title=TITLES[shown],
                           message=message or MESSAGES[shown]), status


def _http_error(err: HTTPException):
    if not is_browser_route():
        return api_errors.http_error(err)
    if isinstance(err, CSRFError):
        return render_error(400, CSRF_MESSAGE)
    response = render_error(err.code or 500)
    return _with_headers(response, err)


def _with_headers(rendered, err: HTTPException):
    body, status = rendered
    headers = [(k, v) for k, v in err.get_headers() if k.lower() in ("allow", "retry-after", "www-authenticate")]
    return body, status, headers


def _domain_error(err: DomainError):
    if not is_browser_route():
        return api_errors.domain_error(err)
    err = api_errors.as_the_caller_may_know(err)  # 404, not 403, for a case or task the reader may not see
    status, _kind = api_errors.status_of(err)
    if status >= 500:
        log.error("%s on %s: %s", type(err).__name__, request.path, err.message)
    if isinstance(err, DutiesNotSegregated):
        return render_error(status, refusal_text(err))
    if isinstance(err, InvalidSubmission) and err.errors:  # e.g. a NUL in ?q=, a date out of range: name them
        fields = ", ".join(excerpt(name, 60) for name in list(err.errors)[:10])
        return render_error(status, gettext("Please check: %(fields)s.", fields=fields))
    return render_error(status)


def refusal_text(err: NotAllowed, default=None):
    """What a page says of a refusal: a segregation-of-duties rule by its title in the reader's language (the
    titles of config/segregation.toml are in the catalog), any other refusal ``default``."""
    if isinstance(err, DutiesNotSegregated):
        return gettext("Segregation of duties: %(rule)s", rule=gettext(err.title))
    return default


def _database_error(err: SQLAlchemyError):
    if not is_browser_route():
        return api_errors.database_error(err)
    if not api_errors.is_database_away(err):
        return _unexpected_error(err)
    log.error("The database cannot be reached on %s: %s", request.path, excerpt(str(err), 300))
    headers = {"Retry-After": str(api_errors.RETRY_AFTER_SECONDS)}
    try:
        body, status = render_error(503)
    except Exception:  # the error page must not fail in turn: then the plainest page of all
        log.exception("The 503 page could not be rendered")
        body, status = PLAIN_503, 503
    return body, status, headers


PLAIN_503 = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>Complaintflow</title></head><body>"
             "<h1>The service is briefly unavailable</h1><p>" + api_errors.DATABASE_AWAY + "</p></body></html>")


def _unexpected_error(err: Exception):
    if not is_browser_route():
        return api_errors.unexpected_error(err)
    log.exception("Unhandled error on %s", request.path, exc_info=err)
    return render_error(500)
