"""Work lists and task completion."""
from __future__ import annotations

from sqlalchemy import or_, select

from app.engine import read_policy
from app.engine.actors import Actor
from app.engine.errors import Conflict, NotAllowed, NotFound
from app.engine.models import Complaint, UserTask
from app.engine.services import audit, instances
from app.engine.workflow import runner


def may_work_on(actor: Actor, task: UserTask, complaint: Complaint | None = None) -> bool:
    """Role of the lane, department of the task, the assignee if any; a customer only on their own case."""
    if not actor.is_staff and (complaint is None or complaint.registered_by_id != actor.user_id):
        return False
    if task.assignee_id is not None:
        return task.assignee_id == actor.user_id
    if not actor.has_any_role(task.candidate_roles or ()):
        return False
    return task.department is None or task.department == actor.department


def list_ready_tasks(uow, actor: Actor) -> list[UserTask]:
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


def _complaint_of(uow, task: UserTask) -> Complaint | None:
    return uow.session.get(Complaint, task.complaint_id) if task.complaint_id else None


def get_task(uow, actor: Actor, task_id: int) -> UserTask:
    """A task the actor may work on: NotFound for an unknown id, NotAllowed for someone else's task."""
    task = uow.session.get(UserTask, task_id)
    if task is None:
        raise NotFound(f"Task {task_id} does not exist")
    if not may_work_on(actor, task, _complaint_of(uow, task)):
        raise NotAllowed(f"You may not work on task {task_id} ('{task.title}')")
    return task


def task_view(uow, actor: Actor, task: UserTask) -> dict:
    """The task as ``actor`` sees it: its context filtered by the read policy (a customer's feedback task shows
    their own facts, never the findings, drafts or approval comment behind the decision)."""
    return {
        "id": task.id, "name": task.element_id, "title": task.title, "complaint_id": task.complaint_id,
        "lane": task.lane, "department": task.department, "state": task.state,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "created_at": task.created_at.isoformat(), "context": read_policy.task_context(actor, task),
        "form": uow.runtime.forms.schema_for_client(task.form) if task.form else None,
    }


def complete_user_task(uow, actor: Actor, task_id: int, data: dict) -> UserTask:
    task = get_task(uow, actor, task_id)
    if task.state != "ready":
        raise Conflict(f"Task {task_id} ('{task.title}') is already {task.state}")
    if task.form:
        uow.runtime.forms.validate(task.form, data)
    loaded = instances.load_instance(uow, task.instance_id, actor)
    # An SLA that passed while the task was open fires first: completing the task must not cancel it unseen.
    instances.fire_due_timers_of(uow, loaded)
    try:
        runner.complete_user_task(loaded.workflow, task.spiff_task_id, data)
    except Conflict as err:
        if loaded.fired_timers:  # the overdue timer interrupted this task: keep the firing, refuse the completion
            instances.save_instance(uow, loaded)
            raise Conflict(f"{err.message}: its deadline passed before it was completed",
                           persist_changes=True) from err
        raise
    task.completed_by = actor.username
    task.completed_by_id = actor.user_id
    task.completed_at = uow.now()
    task.submitted_data = data
    audit.record(uow, actor, "task_completed", complaint_id=task.complaint_id, instance_id=task.instance_id,
                 task_id=task.id, element_id=task.element_id, data=data)
    instances.save_instance(uow, loaded)
    return task


def completion_result(uow, actor: Actor, task: UserTask) -> dict:
    """What a caller sees after completing: the task as it now stands and its complaint's new summary, both as
    the read policy lets this actor see them (no summary if the step took the complaint out of their reach)."""
    complaint = _complaint_of(uow, task)
    readable = complaint is not None and read_policy.may_read_complaint(uow, actor, complaint)
    return {"task": task_view(uow, actor, task),
            "complaint": read_policy.complaint_summary(uow, actor, complaint) if readable else None}
