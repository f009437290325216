"""The one place where errors become HTTP responses: ``{"error": kind, "message": ..., ...}`` as JSON.

Two rules besides the table below. An id in the address of a complaint or task the caller may not see answers
exactly as an id that does not exist (404, same body): a 403 would tell them it exists. Where the caller sees
the object but may not do what they asked, the 403 stays. And a database that cannot be reached is a 503 with
Retry-After, never a 500: the pool reconnects by itself once it is back (pool_pre_ping, app/engine/core/db.py).
"""
from __future__ import annotations

import logging

from flask import Flask, g, json, request
from flask_login import current_user
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.engine.access import read_policy
from app.engine.core.actors import Actor
from app.engine.core.errors import (
    Conflict,
    DomainError,
    DutiesNotSegregated,
    InvalidDefinition,
    InvalidSubmission,
    NotAllowed,
    NotFound,
    ScriptFailed,
    ServiceTaskFailed,
    Unavailable,
)
from app.engine.forms import excerpt
from app.engine.work import assignments
from app.web.messages import say

log = logging.getLogger(__name__)

# A 422 names fields and says what is wrong; it never echoes a rejected value beyond a short excerpt, however
# many fields or however long the value (a 10 MB body once came back as a 10 MB answer).
MAX_REPORTED_FIELDS = 50
MAX_MESSAGE_LENGTH = 300

# Domain error -> (HTTP status, error kind). Looked up along the class hierarchy, most specific first.
DOMAIN_ERRORS: dict[type, tuple[int, str]] = {
    NotFound: (404, "not_found"),
    NotAllowed: (403, "forbidden"),
    Conflict: (409, "conflict"),
    InvalidSubmission: (422, "invalid_submission"),
    Unavailable: (503, "service_unavailable"),
    InvalidDefinition: (422, "invalid_definition"),
    ServiceTaskFailed: (500, "service_task_failed"),
    ScriptFailed: (500, "script_failed"),
    DomainError: (400, "bad_request"),
}


# How long a client waits before asking again while the database is away.
RETRY_AFTER_SECONDS = 30
DATABASE_AWAY = "The database cannot be reached at the moment; please try again shortly. Nothing was half saved."


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(SQLAlchemyError, database_error)
    app.register_error_handler(Exception, unexpected_error)


def http_error(err: HTTPException):
    """Routing and protocol errors (401, 404, 405, 400 ...) keep their status and headers, with a JSON body."""
    response = err.get_response()
    response.content_type = "application/json"
    response.set_data(json.dumps({"error": (err.name or "error").lower().replace(" ", "_"),
                                  "message": _message_of(err)}))
    return response


def _message_of(err: HTTPException) -> str:
    if isinstance(err, RequestEntityTooLarge):
        limit = request.max_content_length  # the app's, or a file upload's (app/web/uploads.py)
        return f"The request body is larger than the limit of {limit} bytes" if limit else err.description
    return excerpt(err.description or "", MAX_MESSAGE_LENGTH)


def status_of(err: DomainError) -> tuple[int, str]:
    return next(DOMAIN_ERRORS[cls] for cls in type(err).__mro__ if cls in DOMAIN_ERRORS)


def domain_error(err: DomainError):
    err = as_the_caller_may_know(err)
    status, kind = status_of(err)
    body = {"error": kind, "message": err.message, **_details(err)}
    if status >= 500:
        log.error("%s: %s %s", kind, err.message, _details(err))
    return body, status


def _details(err: DomainError) -> dict:
    if isinstance(err, InvalidSubmission):  # field -> messages, in the caller's language (app/web/messages.py)
        return {"errors": _short({field: [say(m) for m in messages] for field, messages in err.errors.items()})}
    if isinstance(err, InvalidDefinition):
        return {"errors": [e.as_dict() for e in err.errors]}
    if isinstance(err, ServiceTaskFailed):
        return {"element_id": err.element_id, "operator": err.operator}
    if isinstance(err, ScriptFailed):
        return {"element_id": err.element_id, "element_name": err.element_name}
    if isinstance(err, DutiesNotSegregated):  # the segregation-of-duties rule that refused (config/segregation.toml)
        return {"rule": err.rule, "rule_title": err.title}
    return {}


# --- no existence oracle ---------------------------------------------------------------------------------------

# The address parts naming one object, and what the object is called in the answer.
ADDRESSED = {"complaint_id": "complaint", "task_id": "task"}


def as_the_caller_may_know(err: DomainError) -> DomainError:
    """On a route addressing a complaint or task: a NotFound, or a NotAllowed of one the caller may not see,
    becomes the same NotFound whatever the id (no id in it either: the bodies are identical). A refusal of an
    object the caller does see is left as it is (403: they may see it, not do this)."""
    if not isinstance(err, (NotFound, NotAllowed)):
        return err
    addressed = addressed_object()
    if addressed is None:
        return err
    noun, object_id = addressed
    if _sees(noun, object_id):  # the 403 stays; a NotFound is of something else, and says what
        return err
    return NotFound(f"No such {noun} (or none you may see)")


def addressed_object() -> tuple[str, int] | None:
    for part, noun in ADDRESSED.items():
        value = (request.view_args or {}).get(part)
        if isinstance(value, int):
            return noun, value
    return None


def _sees(noun: str, object_id: int) -> bool:
    """Whether the caller may see the object: the read policy's answer for a complaint, a task's page's for a task
    (those who work on it, and those who assign work on a complaint they may read)."""
    from app.web import current_runtime  # noqa: PLC0415 - app.web imports this module

    actor = _caller()
    if actor is None:
        return False
    try:
        with current_runtime().unit_of_work() as uow:
            if noun == "complaint":
                read_policy.require_complaint(uow, actor, object_id)
            else:
                assignments.open_task(uow, actor, object_id)
    except DomainError:
        return False
    return True


def _caller() -> Actor | None:
    """The API's authenticated caller, else the page's signed-in user."""
    actor = g.get("actor")
    if actor is not None:
        return actor
    try:
        return current_user.actor if current_user.is_authenticated else None
    except AttributeError:  # no Flask-Login on this app
        return None


# --- the database away -----------------------------------------------------------------------------------------

def is_database_away(err: BaseException) -> bool:
    """Could not connect, lost the connection, the pool ran dry, or (SQLite) the file is locked: all pass."""
    if isinstance(err, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)):
        return True
    return isinstance(err, DBAPIError) and err.connection_invalidated


def database_error(err: SQLAlchemyError):
    if not is_database_away(err):
        return unexpected_error(err)
    log.error("The database cannot be reached: %s", excerpt(str(err), MAX_MESSAGE_LENGTH))
    return ({"error": "service_unavailable", "message": DATABASE_AWAY}, 503,
            {"Retry-After": str(RETRY_AFTER_SECONDS)})


def unexpected_error(err: Exception):
    log.exception("Unhandled error", exc_info=err)
    return {"error": "internal_error", "message": "An unexpected error occurred; it has been logged."}, 500


def _short(errors: dict) -> dict:
    """At most MAX_REPORTED_FIELDS fields, each name and message cut to an excerpt."""
    shown = list(errors.items())[:MAX_REPORTED_FIELDS]
    short = {excerpt(str(field), 100): [excerpt(str(m), MAX_MESSAGE_LENGTH) for m in messages[:5]]
             for field, messages in shown}
    if len(errors) > MAX_REPORTED_FIELDS:
        short["..."] = [f"{len(errors) - MAX_REPORTED_FIELDS} more fields have errors"]
    return short
