"""The JSON API, /api/v1. Each view parses its input, opens one unit of work, calls one service, shapes the
result; errors become HTTP responses in app/web/errors.py."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import g, request, url_for
from flask_smorest import Blueprint
from werkzeug.exceptions import BadRequest

from app.engine.access import read_policy
from app.engine.attachments import files
from app.engine.complaints import extensions, redress, registration, verification
from app.engine.core.errors import InvalidSubmission
from app.engine.core.retry import run_with_retry
from app.engine.process import diagram_state, incidents
from app.engine.reporting import reports
from app.engine.work import assignments, user_tasks, worklist
from app.web import auth, current_runtime, downloads, openapi, request_body, uploads
from app.web.openapi import documented
from app.web.pages import labels
from app.web.pages.i18n import locale_code  # names of codes in the caller's language (Accept-Language)

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Complaints and user tasks")
bp.before_request(auth.require_actor)
bp.before_request(request_body.refuse_unstorable_query)


@bp.get("")
@documented(bp, "index")
def index():
    return {"version": "v1", "endpoints": {
        "register_complaint": "POST /api/v1/complaints  (body: the register_complaint form fields)",
        "get_complaint": "GET /api/v1/complaints/<id>",
        "list_tasks": "GET /api/v1/tasks?view=mine|team|all&department=&due_before=&overdue=&category=&channel="
                      "&urgent=&lane=&q=&after=&limit=  (your work list, by due time; a next link per page)",
        "request_extension": 'POST /api/v1/complaints/<id>/extensions  (body: {"sla", "extension", "reason"}; '
                             "coordinators: move a deadline as the SLA profile allows)",
        "request_verification": 'POST /api/v1/complaints/<id>/verification  (body: {"reason"}; within 30 days '
                                "of the decision, CBIRC: the superior institution verifies it)",
        "record_redress_paid": 'POST /api/v1/complaints/<id>/redress-paid  (body: {"redress_paid", "paid_on"}; '
                               "complaint management, after the final response)",
        "add_attachment": "POST /api/v1/complaints/<id>/attachments  (multipart/form-data: file, staff also "
                          "field_class)",
        "list_attachments": "GET /api/v1/complaints/<id>/attachments",
        "get_attachment": "GET /api/v1/attachments/<id>  (the file, as a download)",
        "get_task": "GET /api/v1/tasks/<id>",
        "complete_task": 'POST /api/v1/tasks/<id>/complete  (body: {"data": {...}})',
        "list_definitions": "GET /api/v1/definitions  (process owners: deployed versions and instance counts)",
        "figures": "GET /api/v1/figures  (aggregate complaint counts, no personal data)",
        "list_incidents": "GET /api/v1/incidents  (open incidents: cases whose timer-driven step keeps failing)",
    }}


@bp.post("/complaints")
@documented(bp, "register_complaint")
def register_complaint():
    data = request_body.json_object()
    with current_runtime().unit_of_work() as uow:
        complaint, replayed = registration.register_once(uow, g.actor, data, request.headers.get("Idempotency-Key"))
        body = {**registration.summary(uow, g.actor, complaint, locale_code()),
                "receipt": registration.receipt(uow, complaint)}
    headers = {"Location": url_for("api.get_complaint", complaint_id=body["id"])}
    if replayed:  # the same answer as the first time, said so (a retry made nothing new)
        headers["Idempotent-Replayed"] = "true"
    return body, 201, headers


@bp.get("/complaints/<id:complaint_id>")
@documented(bp, "get_complaint")
def get_complaint(complaint_id: int):
    with current_runtime().unit_of_work() as uow:
        return registration.get_complaint(uow, g.actor, complaint_id, locale_code())


@bp.post("/complaints/<id:complaint_id>/attachments")
@uploads.accepts_files
@documented(bp, "add_attachment")
def add_attachment(complaint_id: int):
    filename, data = uploads.file_part() or ("", None)
    with current_runtime().unit_of_work() as uow:
        added = files.add(uow, g.actor, complaint_id, filename, data, request.form.get("field_class") or None)
    if added.view is None:  # refused as infected: recorded in the audit trail, committed above
        raise InvalidSubmission({"file": ["The virus scanner found a threat in the file; it was not kept"]})
    return added.view, 201, {"Location": url_for("api.get_attachment", attachment_id=added.view["id"])}


@bp.get("/complaints/<id:complaint_id>/attachments")
@documented(bp, "list_attachments")
def list_attachments(complaint_id: int):
    with current_runtime().unit_of_work() as uow:
        return {"attachments": files.list_for(uow, g.actor, complaint_id)}


@bp.get("/attachments/<id:attachment_id>")
@documented(bp, "get_attachment")
def get_attachment(attachment_id: int):
    with current_runtime().unit_of_work() as uow:
        meta, data = files.read(uow, g.actor, attachment_id)
    return downloads.file_response(data, meta["filename"], meta["media_type"])


@bp.post("/complaints/<id:complaint_id>/extensions")
@documented(bp, "request_extension")
def request_extension(complaint_id: int):
    """Extend a deadline of the complaint (services/extensions.py): applied at once (state ``applied``), or
    waiting for the head's approval task (``awaiting_approval``); 409 names why an extension is not allowed."""
    data = request_body.json_object()

    def extend(uow: UnitOfWork):
        record, outcome = extensions.request_extension(uow, g.actor, complaint_id, data)
        return outcome, extensions.view(record)

    outcome, body = run_with_retry(current_runtime(), extend)
    outcome.raise_if_refused()  # after the commit: a deadline that passed first stays fired
    return body, 201


@bp.post("/complaints/<id:complaint_id>/verification")
@documented(bp, "request_verification")
def request_verification(complaint_id: int):
    """The customer's verification request (complaints/verification.py); 201 with where the case stands."""
    data = request_body.json_object()
    outcome = run_with_retry(current_runtime(),
                             lambda uow: verification.request_verification(uow, g.actor, complaint_id, data))
    outcome.raise_if_refused()
    return {"complaint_id": complaint_id, "requested": outcome.completed}, 201


@bp.post("/complaints/<id:complaint_id>/redress-paid")
@documented(bp, "record_redress_paid")
def record_redress_paid(complaint_id: int):
    """The redress paid after the final response (complaints/redress.py); 200 with the complaint's summary."""
    data = request_body.json_object()
    with current_runtime().unit_of_work() as uow:
        complaint = redress.record_redress_paid(uow, g.actor, complaint_id, data)
        return read_policy.complaint_summary(uow, g.actor, complaint, locale_code())


@bp.get("/tasks")
@documented(bp, "list_tasks")
def list_tasks():
    """One page of the work list (services/worklist.py): ``view`` mine | team (default) | all, the filters,
    ``after`` (the cursor of the ``next`` link) and ``limit`` (default 50, at most 200). Badge counts per
    view come with the first page only."""
    args = request.args
    filters, limit = worklist.parse_filters(args), worklist.parse_limit(args.get("limit"))
    with current_runtime().unit_of_work() as uow:
        page = worklist.list_tasks(uow, g.actor, view=args.get("view", "team"), filters=filters,
                                   after=args.get("after"), limit=limit)
        counts = None if args.get("after") else worklist.count_tasks(uow, g.actor)
    query: dict[str, Any] = {**args.to_dict(), "after": page.next_cursor}  # url_for's **values are Any
    following = url_for("api.list_tasks", **query) if page.next_cursor else None
    return {"view": page.view, "tasks": [item.as_dict() for item in page.items], "next": following,
            **({"counts": counts} if counts is not None else {})}


@bp.get("/tasks/<id:task_id>")
@documented(bp, "get_task")
def get_task(task_id: int):
    """The task to whoever may work on it and to those who assign work on complaints they may read: the same
    rule as the task's page (assignments.open_task); completing it is still for those who work on it."""
    with current_runtime().unit_of_work() as uow:
        return user_tasks.task_view(uow, g.actor, assignments.open_task(uow, g.actor, task_id).task,
                                    locale_code())


@bp.post("/tasks/<id:task_id>/complete")
@documented(bp, "complete_task")
def complete_task(task_id: int):
    data = request_body.json_object().get("data")
    if not isinstance(data, dict):
        raise BadRequest('The body must be a JSON object with the form data under "data": {"data": {...}}')

    def complete(uow: UnitOfWork):
        outcome = user_tasks.complete_user_task(uow, g.actor, task_id, data)
        task = outcome.task  # the completed task's row (set on every completion)
        if outcome.refused or task is None:
            return outcome, None, {}
        return (outcome, user_tasks.completion_result(uow, g.actor, task, outcome.next_tasks),
                diagram_state.task_names(uow, [t.id for t in outcome.next_tasks]))

    # Retried when a sibling task of the same case won the instance lock; 409 only if this task is gone.
    outcome, body, names = run_with_retry(current_runtime(), complete)
    outcome.raise_if_refused()  # after the commit: the deadline that took the task away stays fired
    # The caller's next tasks as the workspace names them (its language, the case's version) and where to get them.
    for task, shown in zip(outcome.next_tasks, body["next_tasks"], strict=True):
        shown.update(display_title=labels.task_title(task, names.get(task.id)),
                     url=url_for("api.get_task", task_id=task.id))
    return body


@bp.get("/incidents")
@documented(bp, "list_incidents")
def list_incidents():
    """Open incidents (a case whose timer-driven step keeps failing): coordinators, head, compliance."""
    with current_runtime().unit_of_work() as uow:
        return {"incidents": [read_policy.incident_view(i) for i in incidents.list_open(uow, g.actor)]}


@bp.get("/definitions")
@documented(bp, "list_definitions")
def list_definitions():
    with current_runtime().unit_of_work() as uow:
        return {"definitions": reports.list_definitions(uow, g.actor)}


@bp.get("/figures")
@documented(bp, "figures")
def figures():
    with current_runtime().unit_of_work() as uow:
        return reports.figures(uow, g.actor)


def register(app) -> None:
    """The blueprint with its OpenAPI document (/api/v1/openapi.json) and the ``id`` route converter."""
    openapi.register(app, bp, app.extensions["complaintflow"].forms.schema_for_client(
        registration.REGISTRATION_FORM))
