"""Claim or assign several tasks at once (the inbox's bulk actions and ``POST /api/v1/tasks/bulk``).

A bulk command is the single-task command (assignments.claim / assignments.assign) run once per task, so each
task is checked by exactly the same rules (may work on it or may assign, four eyes, still ready, not claimed by
someone else) and each change leaves the same audit event through the one writer. The whole request is one unit
of work, one transaction; each task runs inside its own SAVEPOINT (``session.begin_nested()``):

- a task that fails rolls back only its own changes (its conditional UPDATE, its audit event), never the others';
- the report the caller gets is what commits: the tasks reported done commit together when the unit of work
  closes, or none of them does (then the adapter reports the error, never a half-true "3 assigned").
  Separate transactions per task would commit some and could still fail on a later one, leaving a report of
  changes nobody will see if the request dies midway.

Nothing is skipped silently: every task id asked for comes back with an outcome. A double submit changes
nothing the second time (claiming one's own task, or assigning a task to the person who has it, records
nothing), and a second request racing the first loses on the conditional UPDATE and is reported as
``unchanged`` when the task already has the wanted assignee: one audit event per change.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine.access import permissions, read_policy
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, DutiesNotSegregated, InvalidSubmission, NotAllowed, NotFound
from app.engine.identity.users import actor_for
from app.engine.models import Complaint, User, UserTask
from app.engine.models.base import MAX_ROW_ID
from app.engine.work import assignments, worklist

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

# At most one inbox page (worklist.MAX_LIMIT) per request: the locks of the claimed rows are held until commit.
MAX_TASKS = 200

DONE = "done"              # changed (and audited)
UNCHANGED = "unchanged"    # already as asked (a double submit): nothing recorded
REFUSED = "refused"        # not changed; ``reason`` says why

# Why a task was refused (the pages translate each into a sentence).
CLAIMED = "claimed"              # someone else holds it (``holder``: who, when the caller may know)
NOT_READY = "not_ready"          # completed or cancelled meanwhile (``state``)
SEGREGATED = "segregated"        # a four-eyes rule (``rule``: its title)
NOT_ELIGIBLE = "not_eligible"    # the assignee may not work on it (lane, department)
NOT_AVAILABLE = "not_available"  # the caller may not work on it, or it does not exist (the same answer)
CHANGED = "changed"              # changed under the caller (another request won): reload


@dataclass(frozen=True)
class TaskOutcome:
    task_id: int
    outcome: str
    reason: str | None = None
    holder: str | None = None          # display name of who holds the task (CLAIMED), for those who may know
    rule: str | None = None            # the segregation rule's title (English; pages translate it)
    state: str | None = None           # the task's state (NOT_READY)
    element_id: str | None = None      # for the report's task title
    title: str | None = None
    department: str | None = None
    complaint_id: int | None = None
    tracking_number: str | None = None

    def as_dict(self) -> dict:
        return {key: value for key, value in vars(self).items() if value is not None}


@dataclass
class BulkOutcome:
    action: str                          # "claim" | "assign"
    assignee: str | None                 # the username assigned to (assign)
    assignee_name: str | None            # their display name
    tasks: list[TaskOutcome] = field(default_factory=list)

    def of(self, outcome: str) -> list[TaskOutcome]:
        return [t for t in self.tasks if t.outcome == outcome]

    def as_dict(self) -> dict:
        return {"action": self.action, "assignee": self.assignee, "done": len(self.of(DONE)),
                "unchanged": len(self.of(UNCHANGED)), "refused": len(self.of(REFUSED)),
                "tasks": [t.as_dict() for t in self.tasks]}


def parse_task_ids(values: Iterable[object]) -> list[int]:
    """The task ids of a bulk request, in order, each once; InvalidSubmission names ``task_ids`` otherwise."""
    ids: list[int] = []
    for value in values:
        try:
            task_id = int(str(value))
        except ValueError:
            raise InvalidSubmission({"task_ids": ["Give task ids as whole numbers"]}) from None
        if not 1 <= task_id <= MAX_ROW_ID:
            raise InvalidSubmission({"task_ids": ["Give task ids as whole numbers"]})
        if task_id not in ids:
            ids.append(task_id)
    if not ids:
        raise InvalidSubmission({"task_ids": ["Select at least one task"]})
    if len(ids) > MAX_TASKS:
        raise InvalidSubmission({"task_ids": [f"Select at most {MAX_TASKS} tasks at once"]})
    return ids


def bulk_claim(uow: UnitOfWork, actor: Actor, task_ids: Iterable[object]) -> BulkOutcome:
    """Claim each task for the actor, by the rules of assignments.claim, each in its own savepoint."""
    ids = parse_task_ids(task_ids)
    result = BulkOutcome(action="claim", assignee=actor.username, assignee_name=None)
    for task_id in ids:
        result.tasks.append(_one(uow, actor, task_id, actor.user_id,
                                 partial(assignments.claim, uow, actor, task_id)))
    return result


def bulk_assign(uow: UnitOfWork, actor: Actor, task_ids: Iterable[object], username: str) -> BulkOutcome:
    """Assign each task to ``username``, by the rules of assignments.assign, each in its own savepoint. Who may
    assign at all, and whether the person exists, are the request's questions, answered once for all tasks."""
    permissions.require(uow, actor, "task.assign",
                        "Only coordinators and the head of complaints assign tasks to other people")
    ids = parse_task_ids(task_ids)
    user = uow.session.scalar(select(User).where(User.username == username, User.active.is_(True))) \
        if username else None
    if user is None:
        raise InvalidSubmission({"assignee": ["Choose the person to assign the tasks to"]})
    result = BulkOutcome(action="assign", assignee=user.username, assignee_name=user.display_name)
    for task_id in ids:
        result.tasks.append(_one(uow, actor, task_id, user.id,
                                 partial(assignments.assign, uow, actor, task_id, user.username)))
    return result


def _one(uow: UnitOfWork, actor: Actor, task_id: int, wanted: int | None,
         command: Callable[[], UserTask]) -> TaskOutcome:
    before = uow.session.scalar(select(UserTask.assignee_id).where(UserTask.id == task_id))
    try:
        with uow.session.begin_nested():  # this task's changes only: a refusal rolls back nothing else
            task = command()
    except DutiesNotSegregated as err:
        return _refused(uow, task_id, SEGREGATED, rule=err.title)
    except NotAllowed:
        return _refused(uow, task_id, NOT_AVAILABLE, reveal=False)
    except NotFound:
        return TaskOutcome(task_id=task_id, outcome=REFUSED, reason=NOT_AVAILABLE)
    except InvalidSubmission:
        return _refused(uow, task_id, NOT_ELIGIBLE)
    except Conflict:
        return _after_conflict(uow, actor, task_id, wanted)
    outcome = UNCHANGED if before == wanted else DONE
    return _described(uow, TaskOutcome(task_id=task_id, outcome=outcome), task)


def _after_conflict(uow: UnitOfWork, actor: Actor, task_id: int, wanted: int | None) -> TaskOutcome:
    """Why the task could not be taken, as it stands now (another request may have just committed). Only to
    someone who could have taken it or assigns work on its case; the holder's name only to those who assign."""
    uow.session.expire_all()
    task = uow.session.get(UserTask, task_id)
    complaint = uow.session.get(Complaint, task.complaint_id) if task is not None and task.complaint_id else None
    supervises = assignments.may_assign(uow, actor)
    if task is None or (complaint is not None and not read_policy.may_read_complaint(uow, actor, complaint)) or \
            not (supervises or assignments.may_take(actor, task, complaint)):
        return TaskOutcome(task_id=task_id, outcome=REFUSED, reason=NOT_AVAILABLE)
    if task.state != "ready":
        return _described(uow, TaskOutcome(task_id=task_id, outcome=REFUSED, reason=NOT_READY, state=task.state),
                          task)
    if task.assignee_id is not None and task.assignee_id == wanted:
        return _described(uow, TaskOutcome(task_id=task_id, outcome=UNCHANGED), task)
    if task.assignee_id is not None:
        holder = uow.session.scalar(select(User.display_name).where(User.id == task.assignee_id)) \
            if supervises else None
        return _described(uow, TaskOutcome(task_id=task_id, outcome=REFUSED, reason=CLAIMED, holder=holder), task)
    return _described(uow, TaskOutcome(task_id=task_id, outcome=REFUSED, reason=CHANGED), task)


def _refused(uow: UnitOfWork, task_id: int, reason: str, *, rule: str | None = None,
             reveal: bool = True) -> TaskOutcome:
    outcome = TaskOutcome(task_id=task_id, outcome=REFUSED, reason=reason, rule=rule)
    task = uow.session.get(UserTask, task_id) if reveal else None
    return _described(uow, outcome, task) if task is not None else outcome


def _described(uow: UnitOfWork, outcome: TaskOutcome, task: UserTask) -> TaskOutcome:
    tracking = uow.session.scalar(select(Complaint.tracking_number).where(Complaint.id == task.complaint_id)) \
        if task.complaint_id else None
    return TaskOutcome(**{**vars(outcome), "element_id": task.element_id, "title": task.title,
                          "department": task.department, "complaint_id": task.complaint_id,
                          "tracking_number": tracking})


def assignable_people(uow: UnitOfWork, actor: Actor) -> list[User]:
    """The people a bulk assignment offers, by name: active staff whose roles work in some lane
    (config/roles.toml). Whether each may take each selected task (lane, department, four eyes) is asked per task
    by assignments.assign, as for a single task."""
    permissions.require(uow, actor, "task.assign",
                        "Only coordinators and the head of complaints assign tasks to other people")
    people = uow.session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name))
    return [user for user in people
            if (person := actor_for(user)).is_staff and worklist.lanes_of(uow.settings, person)]


__all__ = ["CHANGED", "CLAIMED", "DONE", "MAX_TASKS", "NOT_AVAILABLE", "NOT_ELIGIBLE", "NOT_READY", "REFUSED",
           "SEGREGATED", "UNCHANGED", "BulkOutcome", "TaskOutcome", "assignable_people", "bulk_assign", "bulk_claim",
           "parse_task_ids"]
