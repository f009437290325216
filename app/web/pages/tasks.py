"""A task's page: its form (rendered from the JSON Schema), the case beside it, and claim / assign / follow-up.

Completing goes through user_tasks.complete_user_task, the API's own command, which validates with FormStore:
errors come back next to their fields with what was typed. A task that is no longer ready (a double submit,
another tab, a deadline) is a message on the page, never a second step.
"""
from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.engine.access import read_policy
from app.engine.core.errors import Conflict, InvalidSubmission, NotAllowed, NotFound
from app.engine.core.retry import run_with_retry
from app.engine.core.times import filter_day
from app.engine.process import diagram_state
from app.engine.work import assignments, prefill, user_tasks
from app.web import current_runtime
from app.web.pages import form_renderer, labels, signed_in_with_csrf
from app.web.pages.errors import refusal_text
from app.web.pages.formatting import reader_zone
from app.web.pages.i18n import gettext as _
from app.web.pages.i18n import locale_code
from app.web.pages.session import _safe_next

bp = Blueprint("tasks", __name__)
bp.before_request(signed_in_with_csrf)


@bp.get("/tasks/<int:task_id>")
def show(task_id: int):
    return _render(task_id)


@bp.post("/tasks/<int:task_id>")
def complete(task_id: int):
    actor = current_user.actor
    with current_runtime().unit_of_work() as uow:
        opened = assignments.open_task(uow, actor, task_id)
        schema = user_tasks.form_schema(uow, opened.task) or {}
        title_names = diagram_state.task_names(uow, [task_id]).get(task_id)
    data = form_renderer.parse(schema, request.form)
    try:
        # Retried when a sibling task of the same case won the instance lock (run_with_retry).
        outcome = run_with_retry(current_runtime(),
                                 lambda uow: user_tasks.complete_user_task(uow, actor, task_id, data))
        outcome.raise_if_refused()  # a deadline took the task away: its firing is committed, this is refused
        # outcome.task is set on every completion
        title = labels.task_title(outcome.task, title_names) if outcome.task is not None else ""
    except InvalidSubmission as err:
        return _render(task_id, values=data, errors=err.errors, status=422)
    except Conflict:
        return _render(task_id, values=data, conflict=True, status=409)
    if outcome.next_tasks:
        # The step made the caller's next task on this case: straight to it (a coordinator classifying then
        # triaging goes through no inbox); the inbox stays one click away in the header.
        flash(_("Done: %(task)s. Your next task on this case is below.", task=title), "success")
        return redirect(url_for("tasks.show", task_id=outcome.next_tasks[0].id))
    flash(_("Done: %(task)s. The case has moved on.", task=title), "success")
    return redirect(url_for("inbox.inbox"))


def _render(task_id: int, *, values=None, errors=None, conflict=False, status=200):
    actor = current_user.actor
    with current_runtime().unit_of_work() as uow:
        opened = assignments.open_task(uow, actor, task_id)
        task, complaint = opened.task, opened.complaint
        schema = user_tasks.form_schema(uow, task) or {}
        view = read_policy.complaint_view(uow, actor, complaint, locale_code()) if complaint is not None and \
            read_policy.may_read_complaint(uow, actor, complaint) else None
        clocks = diagram_state.clocks(uow, actor, complaint.id) if complaint is not None and view is not None else []
        names = diagram_state.element_names(uow, actor, complaint.id) if complaint is not None and view is not None \
            else None
        title_names = diagram_state.task_names(uow, [task.id]).get(task.id)  # the title from the task's version
        people = assignments.candidates(uow, actor, task_id) if opened.may_assign else []
        assignee = _display_name(people, task.assignee_id) if task.assignee_id else None
        context = read_policy.task_context(uow, actor, task)
        case_forms = user_tasks.task_forms(uow, task)  # choice titles as the case's version has them
        if values is None:  # a first showing: the previous round's answer or registration's (not after an error)
            values = user_tasks.initial_values(uow, actor, task)
        notes = prefill.notes(uow, actor, task)
    errors = errors or {}
    general = form_renderer.general_errors(schema, errors)
    return render_template(
        "pages/task.html", task=task, opened=opened, schema=schema, view=view, clocks=clocks, names=names,
        title_names=title_names, context=context, notes=notes,
        fields=form_renderer.fields(schema, values, errors,
                                   form_renderer.picker_lists(current_runtime().forms.coded)), general_errors=general,
        conflict=conflict, people=people, assignee=assignee, case_forms=case_forms,
        is_mine=task.assignee_id is not None and task.assignee_id == actor.user_id), status


def _display_name(people, user_id):
    return next((p.display_name for p in people if p.id == user_id), None)


# --- who works on it ----------------------------------------------------------------------------------------

def _back(task_id: int):
    return redirect(_safe_next(request.form.get("next")) or url_for("tasks.show", task_id=task_id))


def _run(task_id: int, command, done_message: str):
    try:
        with current_runtime().unit_of_work() as uow:
            command(uow)
    except Conflict:
        if not _may_open(task_id):  # its state is no business of someone who may not see the task
            raise NotFound(f"Task {task_id} does not exist") from None
        flash(_("This task changed meanwhile (claimed, assigned or completed by someone else)."), "error")
    except InvalidSubmission as err:
        flash(" ".join(form_renderer.friendly(m) for ms in err.errors.values() for m in ms), "error")
    except NotAllowed as err:
        if not _may_open(task_id):  # a task the caller may not even see: the answer of a task that does not exist
            raise NotFound(f"Task {task_id} does not exist") from None
        flash(refusal_text(err, _("You may not do this on this task.")), "error")
    else:
        flash(done_message, "success")
    return _back(task_id)


def _may_open(task_id: int) -> bool:
    """Whether the caller may open the task's page (assignments.open_task): only then does a refusal say more
    than "no such task"."""
    try:
        with current_runtime().unit_of_work() as uow:
            assignments.open_task(uow, current_user.actor, task_id)
    except (NotAllowed, NotFound):
        return False
    return True


@bp.post("/tasks/<int:task_id>/claim")
def claim(task_id: int):
    return _run(task_id, lambda uow: assignments.claim(uow, current_user.actor, task_id),
                _("The task is now yours."))


@bp.post("/tasks/<int:task_id>/unclaim")
def unclaim(task_id: int):
    return _run(task_id, lambda uow: assignments.unclaim(uow, current_user.actor, task_id),
                _("The task is back with its team."))


@bp.post("/tasks/<int:task_id>/assign")
def assign(task_id: int):
    username = request.form.get("assignee", "")
    return _run(task_id, lambda uow: assignments.assign(uow, current_user.actor, task_id, username),
                _("The task has been assigned."))


@bp.post("/tasks/<int:task_id>/follow-up")
def follow_up(task_id: int):
    raw = request.form.get("follow_up_date", "").strip()
    if raw:
        try:
            when = datetime.combine(filter_day(raw), time(8), reader_zone())  # within the range a date can be
        except ValueError:
            flash(_("Please give the follow-up date as a date."), "error")
            return _back(task_id)
    else:
        when = None
    message = _("The task is hidden from Mine until the follow-up date.") if when else _("Follow-up date removed.")
    return _run(task_id, lambda uow: assignments.set_follow_up(uow, current_user.actor, task_id, when), message)
