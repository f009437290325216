"""Where a complaint's process stands, for its diagram and its SLA clocks.

Read from the rows every step keeps in line with the workflow (tasks and timers), not from the workflow itself:
no deserialization for a page view, and the rows are what people did. Per BPMN element: how many times it was
done (a rework loop shows as 2x, 3x) and its state now: ``overdue`` (a ready task past its deadline, or an SLA
timer that fired), ``active`` (a ready task, a running clock) or ``completed``.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine.access import read_policy
from app.engine.core.actors import Actor
from app.engine.core.errors import NotFound
from app.engine.models import Complaint, ProcessDefinition, ProcessInstance, Timer, UserTask
from app.engine.workflow import names as bpmn_names
from app.engine.workflow.names import ElementNames

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

STATE_ORDER = ("completed", "active", "overdue")   # a later state wins when an element has several


@dataclass(frozen=True)
class Clock:
    """One SLA timer of the case: when it started, when it is due, whether it ran out. ``sla`` names the
    deadline it enforces: one timer element may run several clocks over a case's life (a reopened case runs
    the review clock where the first pass ran the decision clock), each its own row."""

    element_id: str
    name: str
    state: str                      # waiting | fired | cancelled | broken
    started_at: datetime
    due_at: datetime | None
    fired_at: datetime | None
    sla: str | None = None

    @property
    def breached(self) -> bool:
        return self.state == "fired"


def _instance(uow: UnitOfWork, complaint: Complaint) -> ProcessInstance:
    # The complaint's own process (the escalation runs inside it as a call activity): the first one started.
    instance = uow.session.scalar(select(ProcessInstance).where(ProcessInstance.complaint_id == complaint.id)
                                  .order_by(ProcessInstance.id).limit(1))
    if instance is None:
        raise NotFound(f"Complaint {complaint.id} has no process instance")
    return instance


def definition_xml(uow: UnitOfWork, actor: Actor, complaint_id: int) -> str:
    """The BPMN source of the definition version this complaint's instance runs on (not the newest one): the
    case file's (its scripts and escalation paths are the bank's, not the customer's)."""
    complaint = read_policy.require_case_file(uow, actor, complaint_id)
    instance = _instance(uow, complaint)
    return uow.session.execute(select(ProcessDefinition.bpmn_source)
                               .where(ProcessDefinition.id == instance.definition_id)).scalar_one()


def element_names(uow: UnitOfWork, actor: Actor, complaint_id: int) -> ElementNames:
    """Element id -> name as drawn in the version this complaint runs on (and the versions it calls: the
    escalation), in English and, where the owner gave one (``name.zh``), in Chinese: not as the files on disk
    say today, so a task renamed or added in a later version keeps, for this case, the name its own version gave
    it. Pages show a Chinese reader the version's Chinese name, else the catalog's translation of the English."""
    complaint = read_policy.require_complaint(uow, actor, complaint_id)
    instance = _instance(uow, complaint)
    own = uow.session.execute(select(ProcessDefinition.id, ProcessDefinition.checksum,
                                     ProcessDefinition.called_processes)
                              .where(ProcessDefinition.id == instance.definition_id)).one()
    return _version_names(uow, own.id, own.checksum, own.called_processes)


def task_names(uow: UnitOfWork, task_ids: Collection[int]) -> dict[int, ElementNames]:
    """task id -> the names of the version its case runs on (the row's instance -> its definition), for the
    titles of task rows in the reader's language: one query for any number of tasks, and one per version not
    read yet. The caller may already show these tasks (a work list page, an opened task)."""
    if not task_ids:
        return {}
    rows = uow.session.execute(
        select(UserTask.id, ProcessDefinition.id.label("definition_id"), ProcessDefinition.checksum,
               ProcessDefinition.called_processes)
        .join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(UserTask.id.in_(sorted(set(task_ids))))).all()
    versions: dict[str, ElementNames] = {}
    names: dict[int, ElementNames] = {}
    for row in rows:
        if row.checksum not in versions:
            versions[row.checksum] = _version_names(uow, row.definition_id, row.checksum, row.called_processes)
        names[row.id] = versions[row.checksum]
    return names


def _version_names(uow: UnitOfWork, definition_id: int, checksum: str, called_processes: list | None
                   ) -> ElementNames:
    names = ElementNames()
    for called in called_processes or ():            # the bytes it was deployed with (checksum)
        if called["checksum"] not in _NAMES:
            called_id = uow.session.scalar(select(ProcessDefinition.id).where(
                ProcessDefinition.process_id == called["process_id"],
                ProcessDefinition.checksum == called["checksum"]).limit(1))
            if called_id is None:
                continue
            _names_of(uow, called_id, called["checksum"])
        names = names.merged(_NAMES[called["checksum"]])
    return names.merged(_names_of(uow, definition_id, checksum))   # the case's own version wins over what it calls


# A version never changes: its names are read once per process, keyed by its content's checksum.
_NAMES: dict[str, ElementNames] = {}


def _names_of(uow: UnitOfWork, definition_id: int, checksum: str) -> ElementNames:
    if checksum not in _NAMES:
        source = uow.session.execute(select(ProcessDefinition.bpmn_source)
                                     .where(ProcessDefinition.id == definition_id)).scalar_one()
        _NAMES[checksum] = bpmn_names.element_names(source)
    return _NAMES[checksum]


def element_states(uow: UnitOfWork, actor: Actor, complaint_id: int) -> dict[str, dict]:
    """``{element_id: {"state": ..., "count": times done}}`` for the diagram's highlights (the case file's)."""
    complaint = read_policy.require_case_file(uow, actor, complaint_id)
    instance = _instance(uow, complaint)
    now = uow.now()
    elements: dict[str, dict] = {}
    tasks = uow.session.execute(select(UserTask.element_id, UserTask.state, UserTask.due_at)
                                .where(UserTask.instance_id == instance.id)).all()
    for element_id, state, due_at in tasks:
        if state == "completed":
            _mark(elements, element_id, "completed", done=1)
        elif state == "ready":
            _mark(elements, element_id, "overdue" if due_at is not None and due_at <= now else "active")
    timers = uow.session.execute(select(Timer.element_id, Timer.state)
                                 .where(Timer.instance_id == instance.id)).all()
    for element_id, state in timers:
        if state == "fired":
            _mark(elements, element_id, "overdue", done=1)
        elif state == "waiting":
            _mark(elements, element_id, "active")
    return elements


def _mark(elements: dict, element_id: str, state: str, *, done: int = 0) -> None:
    entry = elements.setdefault(element_id, {"state": state, "count": 0})
    if STATE_ORDER.index(state) > STATE_ORDER.index(entry["state"]):
        entry["state"] = state
    entry["count"] += done


def clocks(uow: UnitOfWork, actor: Actor, complaint_id: int) -> list[Clock]:
    """The case's SLA clocks, oldest first (running, breached, or stopped when the work was done in time)."""
    complaint = read_policy.require_complaint(uow, actor, complaint_id)
    # By the instance (timers.instance_id is indexed; timers.complaint_id is not): a lookup, not a table scan.
    instance = _instance(uow, complaint)
    rows = uow.session.scalars(select(Timer).where(Timer.instance_id == instance.id)
                               .order_by(Timer.created_at, Timer.id))
    # The SLA's own start (e.g. receipt), not the timer row's creation: a status change never restarts a clock.
    return [Clock(element_id=t.element_id, name=t.name, state=t.state, started_at=t.started_at or t.created_at,
                  due_at=t.due_at, fired_at=t.fired_at, sla=t.sla) for t in rows
            if read_policy.visible_sla(uow, actor, t.sla)]  # a customer: the deadlines owed to them, no escalation
