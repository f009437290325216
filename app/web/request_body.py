"""Reading a JSON request body that may have been written by an attacker or a careless script.

Every way a body can be wrong becomes a 4xx that says what to fix: not JSON (400), nested too deeply (400, the
parser's own RecursionError would be a 500), NaN/Infinity (400, not JSON), text no database can store: NUL
characters and unpaired surrogates (422 naming the field). Bodies above MAX_CONTENT_LENGTH never get here:
Werkzeug answers 413 when the body is read.
"""
from __future__ import annotations

import json

from flask import request
from werkzeug.exceptions import BadRequest

from app.engine.core.errors import InvalidSubmission
from app.engine.forms import excerpt, text_problems

MAX_DEPTH = 32  # forms are flat; a list of departments is depth 3. Deep bodies only cost recursion downstream.
NOT_AN_OBJECT = "The request body must be a JSON object, sent with 'Content-Type: application/json'"


def json_object() -> dict:
    if not request.is_json:
        raise BadRequest(NOT_AN_OBJECT)
    body = parse(request.get_data(cache=True))
    if not isinstance(body, dict):
        raise BadRequest(NOT_AN_OBJECT)
    return body


def parse(raw: bytes):
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise BadRequest(f"The JSON body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as err:  # includes UnicodeDecodeError and integers of more than 4300 digits
        raise BadRequest(f"The request body must be a JSON object; it is not valid JSON: {excerpt(str(err), 120)}"
                         ) from None
    deep = _too_deep_at(body)
    if deep is not None:
        raise BadRequest(f"The JSON body is nested too deeply at {excerpt(deep, 80) or 'the top'!r} "
                         f"(at most {MAX_DEPTH} levels)")
    problems = text_problems(body)
    if problems:
        raise InvalidSubmission(problems, "The request contains text that cannot be stored")
    return body


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _too_deep_at(body) -> str | None:
    """The path of the first value nested deeper than MAX_DEPTH, or None. Iterative: depth costs no stack."""
    stack = [(body, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            return path
        items = value.items() if isinstance(value, dict) else enumerate(value)
        stack.extend((item, depth + 1, f"{path}.{key}" if path else str(key)) for key, item in items)
    return None


def refuse_unstorable_query() -> None:
    """``before_request``: a NUL in a query-string value would reach a database search (PostgreSQL refuses it)."""
    problems = text_problems(dict(request.args.items()))
    if problems:
        raise InvalidSubmission(problems, "The query string contains text that cannot be stored")
