"""One user task: who may work on it, its view, its completion (the work list itself is worklist.py)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select

from app.engine.access import read_policy, segregation
from app.engine.complaints import decision_letters
from app.engine.config.classification import CODED_VARIABLES, name_of, received_on
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, NotAllowed, NotFound
from app.engine.forms import PinnedForms
from app.engine.models import Complaint, ProcessDefinition, ProcessInstance, UserTask
from app.engine.process import steps
from app.engine.work import prefill

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork


class Workable(Protocol):
    """What ``may_work_on`` reads of a task: a task row, or a task as it would be if no one had it."""

    @property
    def assignee_id(self) -> int | None: ...
    @property
    def candidate_roles(self) -> list: ...
    @property
    def department(self) -> str | None: ...


def may_work_on(actor: Actor, task: Workable, complaint: Complaint | None = None) -> bool:
    """Role of the lane, department of the task, the assignee if any; a customer only on their own case."""
    if not actor.is_staff and (complaint is None or complaint.registered_by_id != actor.user_id):
        return False
    if task.assignee_id is not None:
        return task.assignee_id == actor.user_id
    if not actor.has_any_role(task.candidate_roles or ()):
        return False
    return task.department is None or task.department == actor.department


def _complaint_of(uow: UnitOfWork, task: UserTask) -> Complaint | None:
    return uow.session.get(Complaint, task.complaint_id) if task.complaint_id else None


def get_task(uow: UnitOfWork, actor: Actor, task_id: int) -> UserTask:
    """A task the actor may work on: NotFound for an unknown id, NotAllowed for someone else's task."""
    task = uow.session.get(UserTask, task_id)
    return _check_may_work_on(uow, actor, task_id, task, _complaint_of(uow, task) if task is not None else None)


def _check_may_work_on(uow: UnitOfWork, actor: Actor, task_id: int, task: UserTask | None,
                       complaint: Complaint | None) -> UserTask:
    """The task, if it exists and the actor may work on it. A finished task is nobody's work: whoever asks about
    it must be able to read its case (the read policy), or they learn nothing of it, not even its state."""
    if task is None:
        raise NotFound(f"Task {task_id} does not exist")
    if not may_work_on(actor, task, complaint) or (
            task.state != "ready" and complaint is not None
            and not read_policy.may_read_complaint(uow, actor, complaint)):
        raise NotAllowed(f"You may not work on task {task_id}")
    return task


def task_view(uow: UnitOfWork, actor: Actor, task: UserTask, language: str = "en") -> dict:
    """The task as ``actor`` sees it: its context filtered by the read policy (a customer's feedback task shows
    their own facts, never the findings, drafts or approval comment behind the decision), and ``names``: the
    coded facts of that context (product, cause, place of business, outcome) by name in ``language``."""
    context = read_policy.task_context(uow, actor, task)
    return {
        "id": task.id, "name": task.element_id, "title": task.title, "complaint_id": task.complaint_id,
        "lane": task.lane, "department": task.department, "state": task.state,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "created_at": task.created_at.isoformat(), "context": context,
        "names": _coded_names(uow, context, language), "form": form_schema(uow, task),
        "initial": initial_values(uow, actor, task), "notes": prefill.notes(uow, actor, task),
    }


def initial_values(uow: UnitOfWork, actor: Actor, task: UserTask) -> dict:
    """What the task's form starts with (work/prefill.py): the previous round's answer, or registration's."""
    schema = form_schema(uow, task) or {}
    return prefill.initial_values(uow, actor, task, set(schema.get("properties", {})))


def _coded_names(uow: UnitOfWork, context: dict, language: str) -> dict[str, str]:
    """The names of the context's codes, from the classification in force on the day the case was received."""
    settings = uow.settings
    on = received_on(settings.sla_profile.timezone, context.get("received_at"))
    names = {}
    for variable, kind in CODED_VARIABLES.items():
        name = name_of(settings.classification, kind, context.get(variable), language, on)
        if name is not None:
            names[variable] = name
    return names


def task_forms(uow: UnitOfWork, task: UserTask) -> PinnedForms:
    """The forms of the definition version the task's case runs: what its form renders and validates with.
    A version deployed before forms were pinned has no digest and so reads app/forms/ as it is now."""
    instance = uow.session.get(ProcessInstance, task.instance_id)  # a step has it in the session already
    if instance is None:
        return PinnedForms(None, lambda: None)
    return _version_forms(uow, instance.definition_id)


def complaint_forms(uow: UnitOfWork, complaint_id: int) -> PinnedForms:
    """The forms of the version the complaint's case runs (its first process instance): what its pages take
    choice titles from. No case yet: none (app/forms/)."""
    definition_id = uow.session.scalar(select(ProcessInstance.definition_id).where(
        ProcessInstance.complaint_id == complaint_id).order_by(ProcessInstance.id).limit(1))
    if definition_id is None:
        return PinnedForms(None, lambda: None)
    return _version_forms(uow, definition_id)


def _version_forms(uow: UnitOfWork, definition_id: int) -> PinnedForms:
    def load() -> tuple[str | None, dict | None]:
        row = uow.session.execute(select(ProcessDefinition.forms_checksum, ProcessDefinition.forms)
                                  .where(ProcessDefinition.id == definition_id)).first()
        return (row[0], row[1]) if row is not None else (None, None)
    return uow.runtime.forms.of_version(definition_id, load)


def form_schema(uow: UnitOfWork, task: UserTask) -> dict | None:
    """The task's form as clients get it (None: the task has no form)."""
    return uow.runtime.forms.schema_for_client(task.form, task_forms(uow, task)) if task.form else None


def complete_user_task(uow: UnitOfWork, actor: Actor, task_id: int, data: dict) -> steps.Outcome:
    """Complete a task: one step (timers due by now fire first). The outcome is ``refused`` when such a timer
    took the task away: that firing commits, and the adapter reports the refusal (409) after the commit."""
    # The task, its complaint (for the caller's right) and the step's instance row in one read.
    found = steps.load_task(uow, task_id)
    found_task, preloaded = found if found is not None else (None, None)
    task = _check_may_work_on(uow, actor, task_id, found_task, preloaded.complaint if preloaded else None)
    if task.state != "ready":
        raise Conflict(f"Task {task_id} ('{task.title}') is already {task.state}")
    segregation.check_task(uow, actor, task)  # config/segregation.toml, whatever the diagram's lanes say
    if task.form:  # the data as the form reads it: a field left out has the form's default (none: no co-departments)
        data = uow.runtime.forms.validate(task.form, data, task_forms(uow, task))
    decision_letters.check_completion(uow, task, data)  # a decision letter missing a mandated element: refused
    outcome = steps.run_step(uow, actor, task.instance_id, steps.CompleteTask(task, data), preloaded=preloaded)
    assert outcome is not None  # only a claiming step (the scheduler's) can find the row taken
    outcome.next_tasks = next_tasks(uow, actor, outcome.made_ready)
    return outcome


def next_tasks(uow: UnitOfWork, actor: Actor, made_ready: Sequence[UserTask]) -> tuple[UserTask, ...]:
    """Of the tasks a step made ready (all of one case), those ``actor`` may work on now: the rule of completing
    (may_work_on: theirs, or open to a role and department they hold) less those a segregation rule keeps them
    from. What they would find next for this case in their inbox, without asking it."""
    if not made_ready:
        return ()
    complaint = _complaint_of(uow, made_ready[0])  # in the session already: the step saved it
    return tuple(t for t in made_ready
                 if may_work_on(actor, t, complaint) and segregation.refusal(uow, actor, t) is None)


def completion_result(uow: UnitOfWork, actor: Actor, task: UserTask, ready: Sequence[UserTask] = ()) -> dict:
    """What a caller sees after completing: the task as it now stands and its complaint's new summary, both as
    the read policy lets this actor see them (no summary if the step took the complaint out of their reach),
    and ``next_tasks``: ``ready``, the tasks of the case the completion made ready for this caller (next_tasks),
    so a client need not ask the work list which one is theirs now."""
    complaint = _complaint_of(uow, task)
    readable = complaint is not None and read_policy.may_read_complaint(uow, actor, complaint)
    return {"task": task_view(uow, actor, task),
            "complaint": read_policy.complaint_summary(uow, actor, complaint)
            if complaint is not None and readable else None,
            "next_tasks": [{"id": t.id, "name": t.element_id, "title": t.title,
                            "complaint_id": t.complaint_id, "department": t.department,
                            "due_at": t.due_at.isoformat() if t.due_at else None} for t in ready]}
