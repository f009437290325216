"""The JSON API, /api/v1. Each view parses its input, opens one unit of work, calls one service, shapes the
result; errors become HTTP responses in app/web/errors.py."""
from __future__ import annotations

from flask import Blueprint, g, request, url_for
from werkzeug.exceptions import BadRequest

from app.engine.retry import run_with_retry
from app.engine.services import complaints, incidents, reports, user_tasks
from app.web import auth, current_runtime

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(auth.require_actor)


@bp.get("")
def index():
    return {"version": "v1", "endpoints": {
        "register_complaint": "POST /api/v1/complaints  (body: the register_complaint form fields)",
        "get_complaint": "GET /api/v1/complaints/<id>",
        "list_tasks": "GET /api/v1/tasks  (ready tasks you may work on)",
        "get_task": "GET /api/v1/tasks/<id>",
        "complete_task": 'POST /api/v1/tasks/<id>/complete  (body: {"data": {...}})',
        "list_definitions": "GET /api/v1/definitions  (process owners: deployed versions and instance counts)",
        "figures": "GET /api/v1/figures  (aggregate complaint counts, no personal data)",
        "list_incidents": "GET /api/v1/incidents  (open incidents: cases whose timer-driven step keeps failing)",
    }}


@bp.post("/complaints")
def register_complaint():
    data = _json_object()
    with current_runtime().unit_of_work() as uow:
        body = complaints.summary(uow, g.actor, complaints.register_complaint(uow, g.actor, data))
    return body, 201, {"Location": url_for("api.get_complaint", complaint_id=body["id"])}


@bp.get("/complaints/<int:complaint_id>")
def get_complaint(complaint_id: int):
    with current_runtime().unit_of_work() as uow:
        return complaints.get_complaint(uow, g.actor, complaint_id)


@bp.get("/tasks")
def list_tasks():
    with current_runtime().unit_of_work() as uow:
        return {"tasks": [user_tasks.task_view(uow, g.actor, row) for row in user_tasks.list_ready_tasks(uow, g.actor)]}


@bp.get("/tasks/<int:task_id>")
def get_task(task_id: int):
    with current_runtime().unit_of_work() as uow:
        return user_tasks.task_view(uow, g.actor, user_tasks.get_task(uow, g.actor, task_id))


@bp.post("/tasks/<int:task_id>/complete")
def complete_task(task_id: int):
    data = _json_object().get("data")
    if not isinstance(data, dict):
        raise BadRequest('The body must be a JSON object with the form data under "data": {"data": {...}}')

    def complete(uow):
        outcome = user_tasks.complete_user_task(uow, g.actor, task_id, data)
        return outcome, None if outcome.refused else user_tasks.completion_result(uow, g.actor, outcome.task)

    # Retried when a sibling task of the same case won the instance lock; 409 only if this task is gone.
    outcome, body = run_with_retry(current_runtime(), complete)
    outcome.raise_if_refused()  # after the commit: the deadline that took the task away stays fired
    return body


@bp.get("/incidents")
def list_incidents():
    """Open incidents (a case whose timer-driven step keeps failing): coordinators, head, compliance."""
    with current_runtime().unit_of_work() as uow:
        return {"incidents": [incidents.view(i) for i in incidents.list_open(uow, g.actor)]}


@bp.get("/definitions")
def list_definitions():
    with current_runtime().unit_of_work() as uow:
        return {"definitions": reports.list_definitions(uow, g.actor)}


@bp.get("/figures")
def figures():
    with current_runtime().unit_of_work() as uow:
        return reports.figures(uow, g.actor)


def _json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object, sent with 'Content-Type: application/json'")
    return body
