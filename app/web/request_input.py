"""One check of the text a request carries outside a JSON body (that is request_body.py): query-string values,
the text parts of the address and form fields, before any view reads them.

Text no database can store (a NUL character: PostgreSQL refuses it in a parameter, ``?q=%00`` was a 500;
unpaired surrogates) is refused everywhere with a 422 naming the parameter. Query-string and address values
are one line of text besides: a control character (a line break in ``next=`` became a header of the redirect,
a 500) has no business in a filter, a cursor or an address. Form fields may hold line breaks (a textarea).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from flask import request

from app.engine.core.errors import InvalidSubmission
from app.engine.forms import excerpt, text_problems

CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
ONE_LINE = "Contains a control character (such as a line break), which this parameter cannot hold"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_unusable_input() -> None:
    """``before_request`` of the whole app: InvalidSubmission (422) naming every parameter that is refused."""
    problems = _problems(request.args.items(multi=True), one_line=True)
    problems.update(_problems(((name, value) for name, value in (request.view_args or {}).items()
                               if isinstance(value, str)), one_line=True))
    if request.mimetype in FORM_TYPES:  # never parse a JSON or XML body as a form
        problems.update(_problems(request.form.items(multi=True), one_line=False))
    if problems:
        names = ", ".join(sorted(problems))
        raise InvalidSubmission(problems, excerpt(f"The request contains text that cannot be used in: {names}", 300))


def _problems(values: Iterable[tuple[str, str]], *, one_line: bool) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for name, value in values:
        found = text_problems({name: value})
        if not found and one_line and CONTROL_CHARACTER.search(value):
            found = {excerpt(name, 100): [ONE_LINE]}
        for field, messages in found.items():
            problems.setdefault(field, []).extend(messages)
    return problems
