"""The one place where errors become HTTP responses: ``{"error": kind, "message": ..., ...}`` as JSON."""
from __future__ import annotations

import logging

from flask import Flask, current_app, json
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

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
)
from app.engine.forms import excerpt

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
    InvalidDefinition: (422, "invalid_definition"),
    ServiceTaskFailed: (500, "service_task_failed"),
    ScriptFailed: (500, "script_failed"),
    DomainError: (400, "bad_request"),
}


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DomainError, domain_error)
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
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return f"The request body is larger than the limit of {limit} bytes" if limit else err.description
    return excerpt(err.description or "", MAX_MESSAGE_LENGTH)


def domain_error(err: DomainError):
    status, kind = next(DOMAIN_ERRORS[cls] for cls in type(err).__mro__ if cls in DOMAIN_ERRORS)
    body = {"error": kind, "message": err.message, **_details(err)}
    if status >= 500:
        log.error("%s: %s %s", kind, err.message, _details(err))
    return body, status


def _details(err: DomainError) -> dict:
    if isinstance(err, InvalidSubmission):
        return {"errors": _short(err.errors)}
    if isinstance(err, InvalidDefinition):
        return {"errors": [e.as_dict() for e in err.errors]}
    if isinstance(err, ServiceTaskFailed):
        return {"element_id": err.element_id, "operator": err.operator}
    if isinstance(err, ScriptFailed):
        return {"element_id": err.element_id, "element_name": err.element_name}
    if isinstance(err, DutiesNotSegregated):  # the segregation-of-duties rule that refused (config/segregation.toml)
        return {"rule": err.rule, "rule_title": err.title}
    return {}


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
