"""Load a workflow, apply one step, and write it back with every row the step changed.

This is the only service module that drives the workflow package. The order inside a step matters:
timers already due by our clock fire *before* the caller's change is applied, so completing a task can never
silently cancel its overdue SLA timer; and the instance row's lock version makes a concurrent step lose.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from app.engine.actors import Actor
from app.engine.errors import NotFound
from app.engine.models import Complaint, ProcessDefinition, ProcessInstance, Timer, UserTask
from app.engine.services import audit
from app.engine.workflow import runner
from app.engine.workflow.scripting import SandboxedScriptEngine, script_functions
from app.engine.workflow.serialization import dump_state, load_state
from app.tasks.registry import ServiceContext

# Process variables mirrored onto the complaint row (the process's data contract).
MIRRORED_VARIABLES = ("category", "severity", "urgent", "lead_department", "reopen_count")


@dataclass
class LoadedInstance:
    row: ProcessInstance
    workflow: object
    complaint: Complaint | None
    actor: Actor
    fired_timers: list[str] = field(default_factory=list)


def _script_engine(uow, loaded: LoadedInstance) -> SandboxedScriptEngine:
    operators = uow.runtime.operators

    def call_service(task, operation_name, params):
        handler = operators.get(operation_name)
        if handler is None:
            raise LookupError(f"no service-task operator named {operation_name!r} is registered in app/tasks")
        ctx = ServiceContext(session=uow.session, settings=uow.settings, now=uow.now(), instance=loaded.row,
                             complaint=loaded.complaint, element_id=task.task_spec.bpmn_id,
                             spiff_task_id=str(task.id), data=dict(task.data), actor=loaded.actor.username)
        return handler(ctx, **params)

    return SandboxedScriptEngine(script_functions(uow.runtime.clock, uow.settings.sla_profile), call_service)


def _specs(uow, definition_id: int):
    def serialized() -> str:
        return uow.session.scalar(select(ProcessDefinition.spec_json).where(ProcessDefinition.id == definition_id))
    return uow.runtime.specs.get(definition_id, serialized)


def start_instance(uow, actor: Actor, definition: ProcessDefinition, data: dict,
                   complaint: Complaint | None) -> LoadedInstance:
    now = uow.now()
    row = ProcessInstance(definition_id=definition.id, complaint_id=complaint.id if complaint else None,
                          state="", status="running", created_at=now, updated_at=now)
    uow.session.add(row)
    uow.session.flush()
    loaded = LoadedInstance(row=row, workflow=None, complaint=complaint, actor=actor)
    spec, subprocess_specs = _specs(uow, definition.id)
    loaded.workflow = runner.start(spec, subprocess_specs, _script_engine(uow, loaded), data)
    audit.record(uow, actor, "process_started", complaint_id=row.complaint_id, instance_id=row.id,
                 process_id=definition.process_id, version=definition.version)
    return loaded


def load_instance(uow, instance_id: int, actor: Actor, *, lock: bool = False, skip_locked: bool = False):
    """Load an instance and its workflow; returns None when ``skip_locked`` and another process holds it."""
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
    if lock and uow.runtime.database.is_postgresql:
        query = query.with_for_update(skip_locked=skip_locked)
    row = uow.session.scalars(query).one_or_none()
    if row is None:
        if skip_locked:
            return None
        raise NotFound(f"Process instance {instance_id} does not exist")
    complaint = uow.session.get(Complaint, row.complaint_id) if row.complaint_id else None
    loaded = LoadedInstance(row=row, workflow=None, complaint=complaint, actor=actor)
    spec, subprocess_specs = _specs(uow, row.definition_id)
    workflow = load_state(row.state, spec, subprocess_specs)
    # Deserializing resets the script engine to SpiffWorkflow's unsandboxed default: set ours every time.
    workflow.script_engine = _script_engine(uow, loaded)
    loaded.workflow = workflow
    return loaded


def fire_due_timers_of(uow, loaded: LoadedInstance, now=None) -> list[Timer]:
    """Fire this instance's waiting timers that are due by ``now`` (our clock, not SpiffWorkflow's)."""
    now = now or uow.now()
    due = uow.session.scalars(select(Timer).where(Timer.instance_id == loaded.row.id, Timer.state == "waiting",
                                                  Timer.due_at <= now).order_by(Timer.due_at)).all()
    if not due:
        return []
    fired_ids = set(runner.fire_timers(loaded.workflow, [t.spiff_task_id for t in due]))
    fired = [t for t in due if t.spiff_task_id in fired_ids]
    for timer in fired:
        audit.record(uow, loaded.actor, "timer_fired", complaint_id=loaded.row.complaint_id,
                     instance_id=loaded.row.id, element_id=timer.element_id, due_at=timer.due_at.isoformat())
    loaded.fired_timers += [t.spiff_task_id for t in fired]
    return fired


def save_instance(uow, loaded: LoadedInstance) -> None:
    """Write the workflow state and bring task, timer and complaint rows in line with it; then flush, which
    bumps the lock version (a concurrent winner turns this into a Conflict)."""
    now = uow.now()
    with uow.session.no_autoflush:  # the sync's reads need not write the step's pending rows first
        timers = _sync_timers(uow, loaded, now)
        tasks = _sync_tasks(uow, loaded, now, timers)
        _sync_complaint(loaded, tasks, timers)
    row = loaded.row
    row.state = dump_state(loaded.workflow)
    row.status = "completed" if runner.is_completed(loaded.workflow) else "running"
    row.updated_at = now
    # Always write the row, even if nothing in it changed: the UPDATE carries the lock-version check, so a
    # step decided on a stale read can never commit its task, timer or complaint rows.
    flag_modified(row, "state")
    uow.session.flush()


def _sync_timers(uow, loaded: LoadedInstance, now) -> list[Timer]:
    rows = {t.spiff_task_id: t for t in uow.session.scalars(
        select(Timer).where(Timer.instance_id == loaded.row.id, Timer.state.in_(("waiting", "broken"))))}
    waiting = {w.task_id: w for w in runner.waiting_timers(loaded.workflow)}
    for task_id, row in rows.items():
        if task_id not in waiting:
            fired = task_id in loaded.fired_timers or runner.is_task_completed(loaded.workflow, task_id)
            row.state = "fired" if fired else "cancelled"
            row.fired_at = now if row.state == "fired" else None
    for task_id, timer in waiting.items():
        row = rows.get(task_id)
        if row is None:
            row = Timer(instance_id=loaded.row.id, complaint_id=loaded.row.complaint_id, spiff_task_id=task_id,
                        element_id=timer.element_id, name=timer.name, host_task_id=timer.host_task_id,
                        created_at=now)
            uow.session.add(row)
            rows[task_id] = row
        row.due_at = timer.due_at
        row.state = "waiting" if timer.due_at else "broken"
    return [r for r in rows.values() if r.state == "waiting"]


def _sync_tasks(uow, loaded: LoadedInstance, now, timers: list[Timer]) -> list[tuple[UserTask, str | None]]:
    """Returns the ready task rows, each with its ``complaintStatus`` label from the diagram."""
    settings = uow.settings
    rows = {t.spiff_task_id: t for t in uow.session.scalars(
        select(UserTask).where(UserTask.instance_id == loaded.row.id, UserTask.state == "ready"))}
    ready = runner.ready_user_tasks(loaded.workflow)
    ready_ids = {t.task_id for t in ready}
    for task_id, row in rows.items():
        if task_id not in ready_ids:
            row.state = "completed" if runner.is_task_completed(loaded.workflow, task_id) else "cancelled"
            row.completed_at = row.completed_at or now
    current = []
    for task in ready:
        row = rows.get(task.task_id)
        if row is None:
            department = _evaluate_property(loaded, task, "assignedDepartment")
            title = task.title + (f" ({settings.departments.get(department, department)})" if department else "")
            row = UserTask(instance_id=loaded.row.id, complaint_id=loaded.row.complaint_id,
                           spiff_task_id=task.task_id, element_id=task.element_id, title=title, lane=task.lane,
                           candidate_roles=list(settings.lane_roles.get(task.lane, ())), department=department,
                           form=task.properties.get("formJsonSchemaFilename"), context=_context(task.data),
                           state="ready", created_at=now)
            uow.session.add(row)
        hosts = set(runner.enclosing_task_ids(loaded.workflow, task.task_id))
        dues = [t.due_at for t in timers if t.host_task_id in hosts and t.due_at]
        row.due_at = min(dues) if dues else None
        current.append((row, task.properties.get("complaintStatus")))
    return current


def _evaluate_property(loaded: LoadedInstance, task, name: str):
    expression = task.properties.get(name)
    return runner.evaluate(loaded.workflow, task.task_id, expression) if expression else None


# What a worker sees next to the form: the case facts and earlier decisions, never internal bookkeeping.
CONTEXT_FIELDS = ("tracking_number", "customer_name", "channel", "product", "category", "severity", "urgent",
                  "amount_involved", "description", "lead_department", "departments", "department", "findings",
                  "resolution_summary", "remedy_type", "redress_amount", "customer_message", "approval_decision",
                  "approval_comment", "reopen_count", "reopen_reason", "customer_satisfied", "satisfaction_rating",
                  "feedback_comment")


def _context(data) -> dict:
    return {k: data[k] for k in CONTEXT_FIELDS if k in data}


def _sync_complaint(loaded: LoadedInstance, tasks, timers: list[Timer]) -> None:
    complaint = loaded.complaint
    if complaint is None:
        return
    if tasks:
        # The newest ready task says where the case stands; among tasks of one step, the engine's order.
        _, (newest, label) = max(enumerate(tasks), key=lambda item: (item[1][0].created_at, item[0]))
        data = runner.task_data(loaded.workflow, newest.spiff_task_id)
        for name in MIRRORED_VARIABLES:
            if name in data and data[name] is not None:
                setattr(complaint, name, data[name])
        if complaint.status != "closed":
            complaint.status = label or complaint.status
    dues = [t.due_at for t in timers if t.due_at]
    complaint.due_at = min(dues) if dues else None
