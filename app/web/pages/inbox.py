"""The inbox: Mine / My team / All open, from services/worklist.py (filters, sort and keyset pages live there)."""
from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, render_template, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from app.engine.core.errors import InvalidSubmission
from app.engine.core.times import OutOfRange, filter_day
from app.engine.process import diagram_state
from app.engine.work import worklist
from app.web import current_runtime
from app.web.pages import signed_in_with_csrf
from app.web.pages.formatting import reader_zone

bp = Blueprint("inbox", __name__)
bp.before_request(signed_in_with_csrf)
FILTER_NAMES = ("due_before", "overdue", "category", "channel", "urgent", "department", "q")


@bp.get("/inbox")
def inbox():
    actor = current_user.actor
    args = request.args
    errors: dict = {}
    try:
        filters = worklist.parse_filters(_worklist_args(args))
    except InvalidSubmission as err:
        filters, errors = worklist.TaskFilters(), err.errors
    try:
        limit = worklist.parse_limit(args.get("limit"))
    except InvalidSubmission:
        limit = worklist.DEFAULT_LIMIT
    with current_runtime().unit_of_work() as uow:
        counts = worklist.count_tasks(uow, actor)
        view = args.get("view") or ("mine" if counts.get("mine") else "team")
        if view not in counts:
            view = "team"
        try:
            page = worklist.list_tasks(uow, actor, view=view, filters=filters, after=args.get("after") or None,
                                      limit=limit)
        except InvalidSubmission as err:  # a stale or hand-made cursor: show page one and say so
            errors.update(err.errors)
            page = worklist.list_tasks(uow, actor, view=view, filters=filters, limit=limit)
        # Each row's element names from its case's version, for its title in the reader's language.
        names = diagram_state.task_names(uow, [item.id for item in page.items])
    return render_template("pages/inbox.html", page=page, counts=counts, view=view, errors=errors, names=names,
                           filters={name: args.get(name, "") for name in FILTER_NAMES},
                           has_filters=any(args.get(name) for name in FILTER_NAMES))


def _worklist_args(args) -> MultiDict:
    """The page's fields as worklist.parse_filters reads them: a calendar date is the start of that day in
    the reader's time zone."""
    values = MultiDict({k: v for k, v in args.items() if k in FILTER_NAMES and v != ""})
    if values.get("due_before"):
        try:
            day = filter_day(values["due_before"])
        except OutOfRange as err:
            raise InvalidSubmission({"due_before": [str(err)]}) from None
        except ValueError:
            raise InvalidSubmission({"due_before": ["Give a date as YYYY-MM-DD"]}) from None
        values["due_before"] = datetime.combine(day, time(), reader_zone()).isoformat()
    return values
