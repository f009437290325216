"""Who works on a ready task: claim, release, assign to a named person, and a follow-up date.

Each command is one unit of work and leaves an audit event on the case. The change itself is a conditional
UPDATE (``WHERE assignee_id IS <what the caller saw> AND state = 'ready'``): two people claiming the same task
at the same moment cannot both win, and nobody claims a task that was completed meanwhile. Who may work on a
task at all is user_tasks.may_work_on; who may not, for earlier work on the same case, is access/segregation.py
(checked on claim and on the assignee of an assignment; completion checks it again); who sees which tasks is
services/worklist.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.engine import audit
from app.engine.access import permissions, read_policy, segregation
from app.engine.access.permissions import TableSource
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, InvalidSubmission, NotAllowed, NotFound
from app.engine.identity.users import actor_for
from app.engine.models import Complaint, User, UserTask
from app.engine.work.user_tasks import may_work_on

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

    from app.engine.config.segregation import SegregationRule
    from app.engine.runtime import UnitOfWork

def may_assign(source: TableSource, actor: Actor) -> bool:
    """Whether the actor hands work to other people (and takes it back from them): config/permissions.toml."""
    return permissions.may(source, actor, "task.assign")


def claim(uow: UnitOfWork, actor: Actor, task_id: int) -> UserTask:
    """Take an unclaimed task into "Mine". Claiming one's own task again changes nothing."""
    task, complaint = _ready_task(uow, task_id)
    if task.assignee_id == actor.user_id:
        return task
    if task.assignee_id is not None:
        raise Conflict(f"Task {task_id} has already been claimed by someone else")
    if actor.user_id is None or not may_work_on(actor, task, complaint):
        raise NotAllowed(f"You may not work on task {task_id} ('{task.title}')")
    segregation.check_task(uow, actor, task)  # config/segregation.toml, whatever the lane says
    _set_assignee(uow, task, expected=None, assignee_id=actor.user_id)
    audit.record(uow, actor, "task_claimed", complaint_id=task.complaint_id, instance_id=task.instance_id,
                 before={"assignee": None}, after={"assignee": actor.username}, task_id=task.id,
                 element_id=task.element_id)
    return task


def unclaim(uow: UnitOfWork, actor: Actor, task_id: int) -> UserTask:
    """Give a task back to its team: its assignee may, and so may those who assign work."""
    task, _ = _ready_task(uow, task_id)
    if task.assignee_id is None:
        return task
    if task.assignee_id != actor.user_id and not may_assign(uow, actor):
        raise NotAllowed(f"Task {task_id} is assigned to someone else")
    previous = _username(uow, task.assignee_id)
    _set_assignee(uow, task, expected=task.assignee_id, assignee_id=None)
    audit.record(uow, actor, "task_unclaimed", complaint_id=task.complaint_id, instance_id=task.instance_id,
                 before={"assignee": previous}, after={"assignee": None}, task_id=task.id,
                 element_id=task.element_id)
    return task


def assign(uow: UnitOfWork, actor: Actor, task_id: int, username: str) -> UserTask:
    """Assign (or reassign) a task to a named person who may work on it; coordinators and heads only."""
    permissions.require(uow, actor, "task.assign",
                        "Only coordinators and the head of complaints assign tasks to other people")
    task, complaint = _ready_task(uow, task_id)
    user = uow.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise InvalidSubmission({"assignee": [f"No active user named {username!r}"]})
    person = actor_for(user)
    if not may_take(person, task, complaint):
        raise InvalidSubmission({"assignee": [f"{user.display_name} may not work on this task"]})
    segregation.check_task(uow, person, task, named=user.display_name)
    if task.assignee_id == user.id:
        return task
    previous = _username(uow, task.assignee_id)
    _set_assignee(uow, task, expected=task.assignee_id, assignee_id=user.id)
    audit.record(uow, actor, "task_assigned", complaint_id=task.complaint_id, instance_id=task.instance_id,
                 before={"assignee": previous}, after={"assignee": user.username}, task_id=task.id,
                 element_id=task.element_id)
    return task


def set_follow_up(uow: UnitOfWork, actor: Actor, task_id: int, follow_up_at: datetime | None) -> UserTask:
    """Hide one's own task from "Mine" until ``follow_up_at`` (None shows it again)."""
    task, _ = _ready_task(uow, task_id)
    if task.assignee_id != actor.user_id:
        raise NotAllowed("Claim the task first: a follow-up date belongs to the task's assignee")
    if follow_up_at is not None and follow_up_at <= uow.now():
        raise InvalidSubmission({"follow_up_at": ["Choose a date in the future"]})
    before = task.follow_up_at
    task.follow_up_at = follow_up_at
    audit.record(uow, actor, "task_follow_up_set", complaint_id=task.complaint_id, instance_id=task.instance_id,
                 before={"follow_up_at": before.isoformat() if before else None},
                 after={"follow_up_at": follow_up_at.isoformat() if follow_up_at else None}, task_id=task.id,
                 element_id=task.element_id)
    uow.session.flush()
    return task


def candidates(uow: UnitOfWork, actor: Actor, task_id: int) -> list[User]:
    """The active people a task can be assigned to, by name; for those who assign work."""
    permissions.require(uow, actor, "task.assign",
                        "Only coordinators and the head of complaints assign tasks to other people")
    task, complaint = _ready_task(uow, task_id)
    query = select(User).where(User.active.is_(True)).order_by(User.display_name)
    if task.department:
        query = query.where(User.department == task.department)
    people = [(u, actor_for(u)) for u in uow.session.scalars(query)]
    excluded = segregation.exclusions(uow.session, segregation.rules_of(uow), [task]).get(task.id, [])
    return [u for u, person in people
            if may_take(person, task, complaint) and not any(e.covers(person) for e in excluded)]


def may_take(person: Actor, task: UserTask, complaint: Complaint | None) -> bool:
    """Whether the person could work on the task if it were theirs: the same rule, without the current assignee."""
    if not person.is_staff:
        return False
    unassigned = SimpleNamespace(assignee_id=None, candidate_roles=task.candidate_roles, department=task.department)
    return may_work_on(person, unassigned, complaint)


def _ready_task(uow: UnitOfWork, task_id: int) -> tuple[UserTask, Complaint | None]:
    task = uow.session.get(UserTask, task_id)
    if task is None:
        raise NotFound(f"Task {task_id} does not exist")
    if task.state != "ready":
        raise Conflict(f"Task {task_id} ('{task.title}') is already {task.state}")
    complaint = uow.session.get(Complaint, task.complaint_id) if task.complaint_id else None
    return task, complaint


def _set_assignee(uow: UnitOfWork, task: UserTask, *, expected: int | None, assignee_id: int | None) -> None:
    seen = UserTask.assignee_id.is_(None) if expected is None else UserTask.assignee_id == expected
    now = uow.now() if assignee_id is not None else None
    # An UPDATE gives a CursorResult (its rowcount); SQLAlchemy 2.1 types every execute() as a plain Result.
    result = cast("CursorResult", uow.session.execute(
        update(UserTask).where(UserTask.id == task.id, UserTask.state == "ready", seen)
        .values(assignee_id=assignee_id, assigned_at=now, follow_up_at=None)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        raise Conflict(f"Task {task.id} changed meanwhile; reload and try again")
    # Keep the loaded row in step with what the database now holds (without writing it a second time).
    for name, value in (("assignee_id", assignee_id), ("assigned_at", now), ("follow_up_at", None)):
        set_committed_value(task, name, value)


def _username(uow: UnitOfWork, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return uow.session.scalar(select(User.username).where(User.id == user_id))


@dataclass(frozen=True)
class OpenedTask:
    task: UserTask
    complaint: Complaint | None
    may_work: bool       # the actor may fill in and complete it
    may_assign: bool     # the actor may hand it to someone (coordinators and heads, while it is ready)
    refused_by: SegregationRule | None = None   # a rule of config/segregation.toml keeps the actor from it


def open_task(uow: UnitOfWork, actor: Actor, task_id: int) -> OpenedTask:
    """A task as its page shows it: to whoever may work on it, and to those who assign work on a complaint they
    may read (they see it to hand it on, not to complete it). Anyone else: NotAllowed."""
    task = uow.session.get(UserTask, task_id)
    if task is None:
        raise NotFound(f"Task {task_id} does not exist")
    complaint = uow.session.get(Complaint, task.complaint_id) if task.complaint_id else None
    # A task shows its case's facts, so whoever opens it must be able to read the case: the read policy's scope,
    # not the lane alone. A finished task is no one's work any more: reading it is reading the case file, which
    # the lane's role does not give (an intake agent reads the classify tasks of cases the desk worked on, not
    # every case's).
    readable = complaint is None or read_policy.may_read_complaint(uow, actor, complaint)
    works = readable and may_work_on(actor, task, complaint)
    supervises = may_assign(uow, actor) and complaint is not None and readable
    if not works and not supervises:
        raise NotAllowed(f"You may not work on task {task_id}")
    refused = segregation.refusal(uow, actor, task) if works and task.state == "ready" else None
    return OpenedTask(task=task, complaint=complaint, may_work=works and refused is None,
                      may_assign=supervises and task.state == "ready", refused_by=refused)
