"""The inbox: Mine / My team / All open, from services/worklist.py (filters, sort and keyset pages live there);
bulk claim / assign (work/bulk_assignments.py) and the reader's saved filters (work/saved_filters.py)."""
from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from app.engine.core.errors import InvalidSubmission
from app.engine.core.times import OutOfRange, filter_day
from app.engine.process import diagram_state
from app.engine.work import assignments, bulk_assignments, saved_filters, worklist
from app.web import current_runtime
from app.web.pages import form_renderer, labels, signed_in_with_csrf
from app.web.pages.formatting import reader_zone
from app.web.pages.i18n import gettext as _
from app.web.pages.session import _safe_next

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
        saved = saved_filters.list_filters(uow, actor) if actor.is_staff else []
        may_assign = actor.is_staff and assignments.may_assign(uow, actor)
        people = bulk_assignments.assignable_people(uow, actor) if may_assign and page.items else []
    return render_template("pages/inbox.html", page=page, counts=counts, view=view, errors=errors, names=names,
                           filters={name: args.get(name, "") for name in FILTER_NAMES},
                           has_filters=any(args.get(name) for name in FILTER_NAMES), saved_filters=saved,
                           current_query=_savable(args, view), may_assign=may_assign, people=people)


def _savable(args, view: str) -> str | None:
    """The page's filters as a saved filter keeps them, or None when there is nothing (valid) to save."""
    try:
        query = saved_filters.normalise({**args.to_dict(), "view": view})
    except InvalidSubmission:
        return None
    return query if any(args.get(name) for name in FILTER_NAMES) else None


# --- bulk claim / assign --------------------------------------------------------------------------------------

@bp.post("/inbox/bulk")
def bulk():
    """Claim, or assign to one person, the tasks ticked on the page; one report per outcome, in the reader's
    language. The same POST sent twice changes nothing the second time (bulk_assignments)."""
    actor, form = current_user.actor, request.form
    action = form.get("action")
    if action not in ("claim", "assign"):
        raise BadRequest("action: claim or assign")
    back = _safe_next(form.get("next")) or url_for("inbox.inbox")
    try:
        with current_runtime().unit_of_work() as uow:
            if action == "assign":
                outcome = bulk_assignments.bulk_assign(uow, actor, form.getlist("task_ids"), form.get("assignee", ""))
            else:
                outcome = bulk_assignments.bulk_claim(uow, actor, form.getlist("task_ids"))
            names = diagram_state.task_names(uow, [t.task_id for t in outcome.tasks if t.element_id])
    except InvalidSubmission as err:
        flash(" ".join(form_renderer.friendly(m) for ms in err.errors.values() for m in ms), "error")
        return redirect(back)
    for category, message in bulk_report(outcome, names):
        flash(message, category)
    return redirect(back)


def bulk_report(outcome: bulk_assignments.BulkOutcome, names) -> list[tuple[str, str]]:
    """The flash messages of a bulk command: how many were changed, how many already were, and each one that was
    not with why ("3 tasks assigned to Li Wei." / "1 task not assigned: CF-... Investigate: already claimed ...")."""
    done, same = outcome.of(bulk_assignments.DONE), outcome.of(bulk_assignments.UNCHANGED)
    refused = outcome.of(bulk_assignments.REFUSED)
    name = outcome.assignee_name or ""
    messages = []
    if outcome.action == "assign":
        if done:
            messages.append(("success", ngettext("%(num)d task assigned to %(name)s.",
                                                 "%(num)d tasks assigned to %(name)s.", len(done), name=name)))
        if same:
            messages.append(("info", ngettext("%(num)d task was already assigned to %(name)s.",
                                              "%(num)d tasks were already assigned to %(name)s.", len(same),
                                              name=name)))
        if refused:
            head = ngettext("%(num)d task not assigned:", "%(num)d tasks not assigned:", len(refused))
    else:
        if done:
            messages.append(("success", ngettext("%(num)d task claimed.", "%(num)d tasks claimed.", len(done))))
        if same:
            messages.append(("info", ngettext("%(num)d task was already yours.", "%(num)d tasks were already yours.",
                                              len(same))))
        if refused:
            head = ngettext("%(num)d task not claimed:", "%(num)d tasks not claimed:", len(refused))
    if refused:
        lines = "; ".join(_("%(task)s: %(reason)s", task=_task_label(t, names), reason=_reason(t, name))
                          for t in refused)
        messages.append(("error", f"{head} {lines}."))
    return messages


def _task_label(task: bulk_assignments.TaskOutcome, names) -> str:
    if not task.element_id:
        return _("task %(id)s", id=str(task.task_id))
    title = labels.task_title(task, names.get(task.task_id))
    return f"{task.tracking_number} {title}" if task.tracking_number else title


def _reason(task: bulk_assignments.TaskOutcome, assignee: str) -> str:
    reason = task.reason
    if reason == bulk_assignments.CLAIMED:
        return _("already claimed by %(name)s", name=task.holder) if task.holder else \
            _("already claimed by someone else")
    if reason == bulk_assignments.NOT_READY:
        return _("no longer open")
    if reason == bulk_assignments.SEGREGATED:
        return _("segregation of duties: %(rule)s", rule=_(task.rule or ""))
    if reason == bulk_assignments.NOT_ELIGIBLE:
        return _("%(name)s may not work on it", name=assignee)
    if reason == bulk_assignments.CHANGED:
        return _("it changed meanwhile; reload and try again")
    return _("not available to you")


# --- saved filters --------------------------------------------------------------------------------------------

@bp.post("/inbox/saved-filters")
def save_filter():
    query = request.form.get("query", "")
    try:
        with current_runtime().unit_of_work() as uow:
            saved = saved_filters.save_filter(uow, current_user.actor, request.form.get("name", ""), query)
            name, query = saved.name, saved.query
    except InvalidSubmission as err:
        flash(" ".join(form_renderer.friendly(m) for ms in err.errors.values() for m in ms), "error")
    else:
        flash(_("Filter saved as “%(name)s”.", name=name), "success")
    return redirect(url_for("inbox.inbox") + (f"?{query}" if query else ""))


@bp.get("/inbox/saved-filters")
def manage_filters():
    with current_runtime().unit_of_work() as uow:
        saved = saved_filters.list_filters(uow, current_user.actor)
    return render_template("pages/saved_filters.html", saved_filters=saved,
                           limit=saved_filters.MAX_PER_USER)


@bp.post("/inbox/saved-filters/<int:filter_id>/rename")
def rename_filter(filter_id: int):
    try:
        with current_runtime().unit_of_work() as uow:
            saved_filters.rename_filter(uow, current_user.actor, filter_id, request.form.get("name", ""))
    except InvalidSubmission as err:
        flash(" ".join(form_renderer.friendly(m) for ms in err.errors.values() for m in ms), "error")
    else:
        flash(_("Filter renamed."), "success")
    return redirect(url_for("inbox.manage_filters"))


@bp.post("/inbox/saved-filters/<int:filter_id>/delete")
def delete_filter(filter_id: int):
    with current_runtime().unit_of_work() as uow:
        saved_filters.delete_filter(uow, current_user.actor, filter_id)
    flash(_("Filter deleted."), "success")
    return redirect(url_for("inbox.manage_filters"))


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
