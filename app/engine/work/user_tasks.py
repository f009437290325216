"""Work lists and task completion."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from app.engine.access import read_policy
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, NotAllowed, NotFound
from app.engine.models import Complaint, UserTask
from app.engine.process import steps

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork


def may_work_on(actor: Actor, task: UserTask, complaint: Complaint | None = None) -> bool:
    """Role of the lane, department of the task, the assignee if any; a customer only on their own case."""
    if not actor.is_staff and (complaint is None or complaint.registered_by_id != actor.user_id):
        return False
    if task.assignee_id is not None:
        return task.assignee_id == actor.user_id
    if not actor.has_any_role(task.candidate_roles or ()):
        return False
    return task.department is None or task.department == actor.department


def list_ready_tasks(uow: UnitOfWork, actor: Actor) -> list[UserTask]:
    # Each task with its complaint in one query: a customer's right depends on owning the complaint.
    query = select(UserTask, Complaint).outerjoin(Complaint, Complaint.id == UserTask.complaint_id).where(
        UserTask.state == "ready")
    if actor.department:
        query = query.where(or_(UserTask.department.is_(None), UserTask.department == actor.department))
    else:
        query = query.where(UserTask.department.is_(None))
    if not actor.is_staff:
        query = query.where(Complaint.registered_by_id == actor.user_id)
    rows = uow.session.execute(query.order_by(UserTask.due_at.is_(None), UserTask.due_at, UserTask.id)).all()
    return [task for task, complaint in rows if may_work_on(actor, task, complaint)]


def _complaint_of(uow: UnitOfWork, task: UserTask) -> Complaint | None:
    return uow.session.get(Complaint, task.complaint_id) if task.complaint_id else None


def get_task(uow: UnitOfWork, actor: Actor, task_id: int) -> UserTask:
    """A task the actor may work on: NotFound for an unknown id, NotAllowed for someone else's task."""
    task = uow.session.get(UserTask, task_id)
    _check_may_work_on(actor, task_id, task, _complaint_of(uow, task) if task is not None else None)
    return task


def _check_may_work_on(actor: Actor, task_id: int, task: UserTask | None, complaint: Complaint | None) -> None:
    if task is None:
        raise NotFound(f"Task {task_id} does not exist")
    if not may_work_on(actor, task, complaint):
        raise NotAllowed(f"You may not work on task {task_id} ('{task.title}')")


def task_view(uow: UnitOfWork, actor: Actor, task: UserTask) -> dict:
    """The task as ``actor`` sees it: its context filtered by the read policy (a customer's feedback task shows
    their own facts, never the findings, drafts or approval comment behind the decision)."""
    return {
        "id": task.id, "name": task.element_id, "title": task.title, "complaint_id": task.complaint_id,
        "lane": task.lane, "department": task.department, "state": task.state,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "created_at": task.created_at.isoformat(), "context": read_policy.task_context(actor, task),
        "form": uow.runtime.forms.schema_for_client(task.form) if task.form else None,
    }


def complete_user_task(uow: UnitOfWork, actor: Actor, task_id: int, data: dict) -> steps.Outcome:
    """Complete a task: one step (timers due by now fire first). The outcome is ``refused`` when such a timer
    took the task away: that firing commits, and the adapter reports the refusal (409) after the commit."""
    # The task, its complaint (for the caller's right) and the step's instance row in one read.
    found = steps.load_task(uow, task_id)
    task, preloaded = found if found is not None else (None, None)
    _check_may_work_on(actor, task_id, task, preloaded.complaint if preloaded else None)
    if task.state != "ready":
        raise Conflict(f"Task {task_id} ('{task.title}') is already {task.state}")
    if task.form:
        uow.runtime.forms.validate(task.form, data)
    return steps.run_step(uow, actor, task.instance_id, steps.CompleteTask(task, data), preloaded=preloaded)


def completion_result(uow: UnitOfWork, actor: Actor, task: UserTask) -> dict:
    """What a caller sees after completing: the task as it now stands and its complaint's new summary, both as
    the read policy lets this actor see them (no summary if the step took the complaint out of their reach)."""
    complaint = _complaint_of(uow, task)
    readable = complaint is not None and read_policy.may_read_complaint(uow, actor, complaint)
    return {"task": task_view(uow, actor, task),
            "complaint": read_policy.complaint_summary(uow, actor, complaint) if readable else None}
