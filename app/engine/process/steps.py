"""One step of one process instance: the single path every command takes (register, complete, fire timers).

    load (row, lock version, rows, workflow) -> fire the timers already due by the step's clock -> apply the
    command -> run until the workflow waits -> ONE snapshot -> save the rows that differ -> outcome

The order matters: a timer due by our clock fires *before* the command is applied, so completing a task can
never silently cancel its overdue SLA timer (SpiffWorkflow would). The instance row's lock version makes a
concurrent step lose (StaleInstance). A refusal that still carries a change ("the deadline fired and cancelled
the task you tried to complete") is an outcome: the firing commits, and the adapter reports the refusal after
the commit. Every time the step writes comes from one clock: ``now``.

Every command that changes an instance comes through ``run_step`` (or ``start_process`` for a new one),
migration to another version included (``MoveToVersion``, decided by governance/migration.py): the rules
above live here once.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple, cast

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm.attributes import flag_modified

from app.engine import audit
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, NotFound
from app.engine.core.times import parse_instant
from app.engine.deadlines import sla_warnings
from app.engine.deadlines.expressions import CaseDeadlines, script_functions
from app.engine.deadlines.sla import resolve_sla
from app.engine.models import Complaint, Incident, ProcessDefinition, ProcessInstance, Timer, UserTask
from app.engine.process import incidents
from app.engine.process.service_tasks import ServiceContext, duplicate_message_is_stale
from app.engine.workflow import migrate, runner
from app.engine.workflow.scripting import SandboxedScriptEngine
from app.engine.workflow.serialization import dump_state, load_state

if TYPE_CHECKING:
    from app.engine.config.settings import Settings
    from app.engine.runtime import UnitOfWork
    from app.engine.workflow.serialization import ProcessSpecs, Workflow

# Process variables mirrored onto the complaint row (the process's data contract).
MIRRORED_VARIABLES = ("category", "severity", "urgent", "lead_department", "reopen_count")
# Coded variables mirrored onto their code columns when config/classification.toml knows the value (a version
# deployed before products were coded carries free text in ``product``): variable -> (column, list).
CODED_VARIABLES = {"product": ("product_code", "products"), "place_of_business": ("place_code", "places")}
# Task properties that are expressions, evaluated in the task's data when its row is created.
# ``candidateRole``: one role of the task's lane that alone works on it, named by config at run time (the
# further extension's approval_role of config/sla.toml).
EVALUATED_PROPERTIES = ("assignedDepartment", "candidateRole")
# Timer properties, likewise: the SLA a deadline enforces and when its clock started (warnings, extensions).
TIMER_PROPERTIES = ("sla", "slaClockStart")

# What a worker sees next to the form: the case facts and earlier decisions, never internal bookkeeping.
CONTEXT_FIELDS = ("tracking_number", "customer_name", "channel", "product", "category", "severity", "urgent",
                  "amount_involved", "description", "lead_department", "departments", "department", "findings",
                  "resolution_summary", "remedy_type", "redress_amount", "customer_message", "approval_decision",
                  "approval_comment", "reopen_count", "reopen_reason", "customer_satisfied", "satisfaction_rating",
                  "feedback_comment", "resolution_outcome", "redress_description", "facts_checked", "decision_basis",
                  "ombudsman_consent", "root_cause_code", "reopen_target", "previous_findings")


# --- commands ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StartProcess:
    definition: ProcessDefinition
    data: Mapping
    complaint: Complaint | None = None


@dataclass(frozen=True)
class CompleteTask:
    task: UserTask
    data: Mapping


@dataclass(frozen=True)
class FireTimers:
    """Fire what is due by the step's clock, nothing else (the scheduler's command)."""


@dataclass(frozen=True)
class ExtendDeadline:
    """Ask the process to extend a deadline (services/extensions.py): the BPMN message ``extension_requested``
    with the request as payload. The diagram decides what follows (approval, then the service task that moves
    the waiting timer, in the step that applies it); timers due by the step's clock fire first."""
    payload: Mapping
    message: str = "extension_requested"


@dataclass(frozen=True)
class DeliverMessage:
    """A BPMN message into the waiting process (complaints/verification.py: the customer's ``verification_requested``,
    after the decision, while feedback is awaited or the closed case waits out its verification window). ``event``
    and ``details``: the history event recorded when it is caught; ``refusal``: the Conflict when nothing waits."""
    message: str
    payload: Mapping
    event: str
    details: Mapping
    refusal: str


@dataclass(frozen=True)
class MoveToVersion:
    """Carry the instance over to another version of its process (governance/migration.py). The workflow is
    loaded as for any step, on its own version, and timers due by the step's clock fire first, under that
    version; then SpiffWorkflow's migrate moves it in place (workflow/migrate.py, which refuses what it cannot
    move), waiting timers whose deadline the new version changes are re-armed from their clock's start (and fire
    now if that has passed), the engine runs until it waits, boundary timers the new version adds to the task
    the case is at are armed (due by the scheduler's next pass if their clock has run out) and those it removes
    are stopped, and the ready task rows follow the new version's lanes and forms (a task narrowed to a
    configured role, candidateRole, keeps it). ``extended``: ids of waiting
    timers whose deadline was extended (not to be re-armed)."""
    definition_id: int
    extended: frozenset[str] = frozenset()


# --- outcome -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FiredTimer:
    element_id: str
    name: str
    due_at: datetime | None


@dataclass
class Outcome:
    """What a step did, reported by the adapter after the commit."""

    instance_id: int
    completed: bool                             # the command was applied
    fired: tuple[FiredTimer, ...] = ()          # timers that fired first (due by the step's clock)
    refused: str | None = None                  # why the command was not applied although the step committed
    finished: bool = False                      # the process has nothing left to do
    task: UserTask | None = None                # the completed task's row (CompleteTask)
    incidents_resolved: int = 0
    made_ready: tuple[UserTask, ...] = ()       # the task rows this step made ready, in the engine's order
    # Of made_ready, those the caller may work on now (CompleteTask: work/user_tasks.py fills it in)
    next_tasks: tuple[UserTask, ...] = ()

    def raise_if_refused(self) -> None:
        """For adapters, after the commit: a refusal is a Conflict (HTTP 409), the firing stays committed."""
        if self.refused:
            raise Conflict(self.refused)


# --- the step ------------------------------------------------------------------------------------------------

class _FixedClock:
    """The step's clock for scripts (``sla_due_at`` without a start, ``now_iso``) and for the workflow's timers
    (armed and found due by it, not by the machine's clock: workflow/timer_clock.py): one instant per step."""

    def __init__(self, now: datetime):
        self._now = now

    def now(self) -> datetime:
        return self._now


# What a step on an existing instance can be asked to do (``run_step``).
Command = CompleteTask | FireTimers | ExtendDeadline | DeliverMessage | MoveToVersion


@dataclass
class Step:
    uow: UnitOfWork
    actor: Actor
    now: datetime
    row: ProcessInstance
    complaint: Complaint | None
    timer_rows: dict[str, Timer] = field(default_factory=dict)    # waiting/broken timers, by SpiffWorkflow id
    task_rows: dict[str, UserTask] = field(default_factory=dict)  # ready tasks, by SpiffWorkflow id
    # The ready task rows as this process's last save of this very version left them (id, due_at, created_at), by
    # SpiffWorkflow id: set instead of loading task_rows when the workflow came from the cache (see _READY_ROWS).
    ready_rows: dict[str, ReadyRow] | None = None
    workflow: Workflow | None = None
    fired: list[Timer] = field(default_factory=list)
    open_incident: bool = False                                   # an incident is open on this instance
    # The machine's time when the step began: SpiffWorkflow stamps state changes with it, so the snapshot can
    # tell the timers that fired in this step (runner.snapshot ``fired_since``).
    began: float = field(default_factory=time.time)


def start_process(uow: UnitOfWork, actor: Actor, definition: ProcessDefinition, data: Mapping,
                  complaint: Complaint | None = None, *, now: datetime | None = None) -> Outcome:
    """Start a new instance of ``definition`` and run it until it waits (complaints.register_complaint)."""
    now = now or uow.now()
    row = ProcessInstance(definition_id=definition.id, complaint_id=complaint.id if complaint else None,
                          state="", status="running", created_at=now, updated_at=now)
    uow.session.add(row)
    uow.session.flush()
    step = Step(uow=uow, actor=actor, now=now, row=row, complaint=complaint)
    spec, subprocess_specs = _specs(uow, definition.id)
    audit.record(uow, actor, "process_started", at=now, complaint_id=row.complaint_id, instance_id=row.id,
                 process_id=definition.process_id, version=definition.version)
    step.workflow = runner.start(spec, subprocess_specs, _script_engine(step), data)
    return _finish(step, Outcome(instance_id=row.id, completed=True))


def run_step(uow: UnitOfWork, actor: Actor, instance_id: int, command: Command, *, now: datetime | None = None,
             claim: bool = False, preloaded: Preloaded | None = None) -> Outcome | None:
    """One step on an existing instance. ``claim`` (the scheduler) takes the row with FOR UPDATE SKIP LOCKED
    on PostgreSQL and returns None when another process holds it. ``preloaded``: the step's first reads, done
    for several instances at once by ``prefetch`` in this transaction (the scheduler's batches)."""
    now = now or uow.now()
    step = load_instance(uow, actor, instance_id, now, claim=claim, preloaded=preloaded)
    if step is None:
        return None
    due = _fire_due_timers(step)
    if isinstance(command, FireTimers):
        if not due:
            return Outcome(instance_id=instance_id, completed=True)  # nothing to do, nothing written
        return _finish(step, Outcome(instance_id=instance_id, completed=True))
    if isinstance(command, CompleteTask):
        return _complete(step, command)
    if isinstance(command, ExtendDeadline):
        return _extend(step, command)
    if isinstance(command, DeliverMessage):
        return _deliver(step, command)
    if isinstance(command, MoveToVersion):
        return _move(step, command)
    raise TypeError(f"unknown command {command!r}")


_BEFORE_ANY_DEADLINE = datetime(1970, 1, 1, tzinfo=UTC)


def _move(step: Step, command: MoveToVersion) -> Outcome:
    """The same whether the workflow came from this process's cache or from its stored row: both are the state
    the last step saved, moved by the same code (tests/engine/test_migration.py runs one case of each)."""
    uow, row, now = step.uow, step.row, step.now
    old = uow.session.get_one(ProcessDefinition, row.definition_id)
    new = uow.session.get_one(ProcessDefinition, command.definition_id)
    new_specs = _specs(uow, new.id)
    moving = migrate.plan(step.workflow, new_specs, extended=command.extended)
    timer_rows = step.timer_rows
    # The move itself fires no timer: SpiffWorkflow's checks during it (the timers now decide on the script
    # engine's clock) see an instant before any deadline, and the timer rows decide after it, each firing
    # audited (_fire_due_timers below).
    workflow = step.workflow
    assert workflow is not None  # a move is a step on a loaded workflow
    live_engine, workflow.script_engine = workflow.script_engine, _script_engine(step, _BEFORE_ANY_DEADLINE)
    try:
        rearmed = migrate.migrate(
            workflow, new_specs, moving, evaluate=TIMER_PROPERTIES,
            clock_start=lambda task_id: _clock_start(timer_rows.get(task_id), now),
            engine_at=lambda start: _script_engine(step, start))
    finally:
        workflow.script_engine = live_engine
    row.definition_id = new.id
    before, after = _rearm_timer_rows(step, rearmed)
    _fire_due_timers(step)  # a re-armed deadline that has already passed fires now, as any due timer
    runner.advance(step.workflow)
    # Boundary timers the new version adds to the task the case is at: armed once the move has run, on the clock
    # of when that task became ready; a due one fires on the scheduler's next pass (its own audited step).
    armed = migrate.arm(step.workflow, new_specs, moving, evaluate=TIMER_PROPERTIES,
                        ready_at=lambda task_id: _ready_at(step, task_id),
                        engine_at=lambda start: _script_engine(step, start))
    stopped = _stopped_timers(step, moving.stop, new.version)
    armed_rows = _arm_timer_rows(step, armed)
    audit.record(uow, step.actor, "instance_migrated", at=now, complaint_id=row.complaint_id, instance_id=row.id,
                 before={"definition_id": old.id, "version": old.version, "timers": before},
                 after={"definition_id": new.id, "version": new.version, "timers": after},
                 process_id=new.process_id, from_version=old.version, to_version=new.version,
                 active=list(moving.active), **({"armed": armed_rows} if armed_rows else {}),
                 **({"stopped": stopped} if stopped else {}))
    outcome = _finish(step, Outcome(instance_id=row.id, completed=True))
    _retarget_task_rows(step)
    return outcome


def _clock_start(timer: Timer | None, now: datetime) -> datetime:
    return (timer.started_at or timer.created_at) if timer is not None else now


def _rearm_timer_rows(step: Step, rearmed: tuple[migrate.Rearmed, ...]) -> tuple[list[dict], list[dict]]:
    """The rows of the re-armed timers follow the new version (due time, SLA, clock start, warnings); returns
    them as they were and as they are, for the audit event."""
    before, after = [], []
    for timer in rearmed:
        row = step.timer_rows[timer.task_id]
        before.append({"element_id": row.element_id, "sla": row.sla, "due_at": _iso(row.due_at)})
        sla = _sla_of(step, timer)
        row.sla = sla["sla"]
        if timer.values.get("slaClockStart"):
            row.started_at = sla["started_at"]
        row.due_at = timer.due_after
        row.state = "waiting" if timer.due_after else "broken"
        sla_warnings.arm(row, step.uow.settings.sla_profile, step.now)
        after.append({"element_id": timer.element_id, "sla": row.sla, "due_at": _iso(row.due_at)})
    return before, after


def _ready_at(step: Step, task_id: str) -> datetime:
    """When the task ``task_id`` became ready (its row), else the step's time (a running subprocess has none)."""
    row = step.task_rows.get(task_id)
    if row is not None:
        return row.created_at
    known = step.ready_rows.get(task_id) if step.ready_rows is not None else None
    return known.created_at if known is not None else step.now


def _arm_timer_rows(step: Step, armed: tuple[migrate.Armed, ...]) -> list[dict]:
    """The rows of the timers a migration armed, made as the save makes a new timer's row but with the clock of
    their task (when it became ready) unless their slaClockStart names another; returned for the audit event."""
    rows = []
    for timer in armed:
        sla = _sla_of(step, timer)
        row = Timer(instance_id=step.row.id, complaint_id=step.row.complaint_id, spiff_task_id=timer.task_id,
                    element_id=timer.element_id, name=timer.name, host_task_id=timer.host_task_id,
                    created_at=step.now, warned_level=0, sla=sla["sla"], due_at=timer.due_at,
                    started_at=sla["started_at"] if timer.values.get("slaClockStart") else timer.started_at,
                    state="waiting" if timer.due_at else "broken")
        step.uow.session.add(row)
        step.timer_rows[timer.task_id] = row
        sla_warnings.arm(row, step.uow.settings.sla_profile, step.now)
        rows.append({"element_id": row.element_id, "sla": row.sla, "due_at": _iso(row.due_at),
                     "started_at": _iso(row.started_at)})
    return rows


def _stopped_timers(step: Step, stop: Mapping[str, str], version: int) -> list[dict]:
    """The waiting timers whose boundary event the new version removed, as the audit event names them (the save
    marks their rows cancelled: they are no longer waiting)."""
    stopped = []
    for task_id, element_id in stop.items():
        row = step.timer_rows.get(task_id)
        if row is None:
            continue  # not a timer (a message boundary event has no row)
        stopped.append({"element_id": element_id, "sla": row.sla, "due_at": _iso(row.due_at),
                        "reason": f"version {version} removes this boundary event from the task the case is at"})
    return stopped


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _retarget_task_rows(step: Step) -> None:
    """Ready task rows were made from the old version: who works on them (lane, roles) and their form follow
    the new one (a task moved to another lane changes hands on migration). All of them: a step on a cached
    workflow has loaded only the rows it changed."""
    settings = step.uow.settings
    # Evaluated as at creation: a task narrowed to one configured role (candidateRole: the further extension's
    # approver, the verifier) keeps it, instead of widening to the whole lane.
    ready = {t.task_id: t for t in runner.snapshot(step.workflow, evaluate=EVALUATED_PROPERTIES).ready}
    for row in _open_task_rows(step):
        task = ready.get(row.spiff_task_id)
        if row.state != "ready" or task is None:
            continue
        row.lane = task.lane
        row.candidate_roles = _candidate_roles(settings, task)
        row.form = task.properties.get("formJsonSchemaFilename")
    step.uow.session.flush()


# The step's reads, built once (building a select costs more than SQLAlchemy's cached compile of it). One
# round trip for the instance, its complaint and whether an incident is open on it (only then does a successful
# firing look incidents up to resolve them); then the rows the save compares against.
_INSTANCES = (select(ProcessInstance, Complaint,
                     exists().where(Incident.instance_id == ProcessInstance.id, Incident.state == "open"))
              .outerjoin(Complaint, Complaint.id == ProcessInstance.complaint_id))
_INSTANCE = _INSTANCES.where(ProcessInstance.id == bindparam("instance_id"))
_INSTANCE_CLAIMED = _INSTANCE.with_for_update(of=ProcessInstance, skip_locked=True)
_WAITING_TIMERS = select(Timer).where(or_(Timer.state == "waiting", Timer.state == "broken"))  # no expanding IN
_TIMER_ROWS = _WAITING_TIMERS.where(Timer.instance_id == bindparam("instance_id"))
_READY_TASKS = select(UserTask).where(UserTask.state == "ready")
_TASK_ROWS = _READY_TASKS.where(UserTask.instance_id == bindparam("instance_id"))


@dataclass
class Preloaded:
    """A step's first reads, done ahead: for several instances at once (``prefetch``) or with the task a
    completion names (``load_task``). ``None``: not read yet, the step reads it."""
    row: ProcessInstance
    complaint: Complaint | None
    open_incident: bool
    timer_rows: dict[str, Timer] | None = field(default_factory=dict)
    task_rows: dict[str, UserTask] | None = field(default_factory=dict)


# A completion's first read: the task, its instance, complaint and open-incident flag in one round trip (the
# service checks the caller's right on task and complaint, the step goes on from the instance row).
_TASK_WITH_INSTANCE = (select(UserTask, ProcessInstance, Complaint,
                              exists().where(Incident.instance_id == ProcessInstance.id, Incident.state == "open"))
                       .join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
                       .outerjoin(Complaint, Complaint.id == ProcessInstance.complaint_id)
                       .where(UserTask.id == bindparam("task_id")))


def load_task(uow: UnitOfWork, task_id: int) -> tuple[UserTask, Preloaded] | None:
    """A task with what a step on its instance reads first (None if no such task). The rows are read without a
    lock, as a step always reads them: the instance's lock version decides at the save."""
    found = uow.session.execute(_TASK_WITH_INSTANCE, {"task_id": task_id}).one_or_none()
    if found is None:
        return None
    task, row, complaint, has_incident = found
    return task, Preloaded(row, complaint, bool(has_incident), timer_rows=None, task_rows=None)


def prefetch(uow: UnitOfWork, instance_ids: list[int], *, claim: bool = False) -> dict[int, Preloaded]:
    """The first reads of the steps on ``instance_ids`` in three queries, whatever their number: instances with
    complaint and open-incident flag (``claim``: FOR UPDATE SKIP LOCKED on PostgreSQL, so an instance another
    process holds is left out), their waiting timers and their ready tasks."""
    ids = list(instance_ids)
    query = _INSTANCES.where(ProcessInstance.id.in_(ids))
    if claim and uow.runtime.database.is_postgresql:
        query = query.with_for_update(of=ProcessInstance, skip_locked=True)
    loaded = {row.id: Preloaded(row, complaint, bool(has_incident))
              for row, complaint, has_incident in uow.session.execute(query)}
    if loaded:
        for timer in uow.session.scalars(_WAITING_TIMERS.where(Timer.instance_id.in_(list(loaded)))):
            timer_rows = loaded[timer.instance_id].timer_rows
            assert timer_rows is not None  # made above with empty dicts
            timer_rows[timer.spiff_task_id] = timer
        for task in uow.session.scalars(_READY_TASKS.where(UserTask.instance_id.in_(list(loaded)))):
            task_rows = loaded[task.instance_id].task_rows
            assert task_rows is not None
            task_rows[task.spiff_task_id] = task
    return loaded


def load_instance(uow: UnitOfWork, actor: Actor, instance_id: int, now: datetime, *, claim: bool = False,
                  preloaded: Preloaded | None = None) -> Step | None:
    params = {"instance_id": instance_id}
    if preloaded is not None:
        row, complaint, has_incident = preloaded.row, preloaded.complaint, preloaded.open_incident
    else:
        claimed = claim and uow.runtime.database.is_postgresql
        found = uow.session.execute(_INSTANCE_CLAIMED if claimed else _INSTANCE, params).one_or_none()
        if found is None:
            if claim:
                return None
            raise NotFound(f"Process instance {instance_id} does not exist")
        row, complaint, has_incident = found
    step = Step(uow=uow, actor=actor, now=now, row=row, complaint=complaint, open_incident=bool(has_incident))
    # The rows the save compares against, read once: the step never re-queries what it writes.
    # Timer rows are always read: their due times decide what fires first, and a deadline may be moved in the
    # database. Ready task rows change only in steps, each of which moves the lock version: on the version this
    # process saved they are known, and a row is fetched (by id, usually from the identity map) only to change it.
    timer_rows = preloaded.timer_rows if preloaded is not None else None
    step.timer_rows = (timer_rows if timer_rows is not None else
                       {t.spiff_task_id: t for t in uow.session.scalars(_TIMER_ROWS, params)})
    step.workflow = _workflow(uow, row, step)
    step.ready_rows = getattr(step.workflow, _READY_ROWS, None)
    if step.ready_rows is None:
        task_rows = preloaded.task_rows if preloaded is not None else None
        step.task_rows = (task_rows if task_rows is not None else
                          {t.spiff_task_id: t for t in uow.session.scalars(_TASK_ROWS, params)})
    return step


def _workflow(uow: UnitOfWork, row: ProcessInstance, step: Step) -> Workflow:
    # The live workflow this process saved at this very version, if any (runtime.workflows): no deserialization.
    workflow = uow.runtime.workflows.take(row.id, row.lock_version, row.state)
    if workflow is None:
        spec, subprocess_specs = _specs(uow, row.definition_id)
        workflow = load_state(row.state, spec, subprocess_specs)  # carries no _READY_ROWS: rows are read
    # Deserializing resets the script engine to SpiffWorkflow's unsandboxed default: set ours every time.
    workflow.script_engine = _script_engine(step)
    return workflow


def _fire_due_timers(step: Step) -> list[Timer]:
    """Fire this instance's waiting timers due by the step's clock; returns the rows that were due."""
    due = sorted((t for t in step.timer_rows.values()
                  if t.state == "waiting" and t.due_at is not None and t.due_at <= step.now),
                 key=lambda t: t.due_at or step.now)  # every one has a due_at (the filter)
    if not due:
        return []
    fired_ids = set(runner.fire_timers(step.workflow, [t.spiff_task_id for t in due]))
    fired = [t for t in due if t.spiff_task_id in fired_ids]
    step.fired += fired  # a migration fires twice: what was due before it, then a re-armed deadline now past
    for timer in fired:
        audit.record(step.uow, step.actor, "timer_fired", at=step.now, complaint_id=step.row.complaint_id,
                     instance_id=step.row.id, element_id=timer.element_id,
                     due_at=timer.due_at.isoformat() if timer.due_at else None,
                     sla=timer.sla)
    return due


def _complete(step: Step, command: CompleteTask) -> Outcome:
    task, now = command.task, step.now
    if task.instance_id != step.row.id:
        raise NotFound(f"Task {task.id} is not part of process instance {step.row.id}")
    try:
        runner.complete_user_task(step.workflow, task.spiff_task_id, command.data)
    except (Conflict, NotFound) as err:
        if not step.fired:
            raise  # nothing happened: roll back
        # An overdue timer interrupted this task: keep the firing, refuse the completion.
        refusal = f"{err.message}: its deadline passed before it was completed"
        return _finish(step, Outcome(instance_id=step.row.id, completed=False, refused=refusal, task=task))
    task.completed_by = step.actor.username
    task.completed_by_id = step.actor.user_id
    task.completed_at = now
    task.submitted_data = dict(command.data)
    # The submitted data is what the completion set (an approval's decision included): its ``after``.
    audit.record(step.uow, step.actor, "task_completed", at=now, complaint_id=task.complaint_id,
                 instance_id=task.instance_id, after=dict(command.data), task_id=task.id,
                 element_id=task.element_id)
    return _finish(step, Outcome(instance_id=step.row.id, completed=True, task=task))


def _extend(step: Step, command: ExtendDeadline) -> Outcome:
    if any(t.spiff_task_id == command.payload.get("timer") for t in step.fired):
        # Timers first: the deadline to extend passed before the request and has just fired (and escalated).
        refusal = "The deadline passed before it could be extended: it has fired and the case is escalated"
        return _finish(step, Outcome(instance_id=step.row.id, completed=False, refused=refusal))
    if runner.catch_message(step.workflow, command.message, command.payload):
        audit.record(step.uow, step.actor, "extension_requested", at=step.now, complaint_id=step.row.complaint_id,
                     instance_id=step.row.id, **{k: command.payload.get(k) for k in ("sla", "extension", "reason")})
        return _finish(step, Outcome(instance_id=step.row.id, completed=True))
    refusal = "The case is not at a stage whose deadline can be extended (handling has not started or is over)"
    if not step.fired:
        raise Conflict(refusal)
    return _finish(step, Outcome(instance_id=step.row.id, completed=False, refused=refusal))


def _deliver(step: Step, command: DeliverMessage) -> Outcome:
    if runner.catch_message(step.workflow, command.message, command.payload):
        audit.record(step.uow, step.actor, command.event, at=step.now, complaint_id=step.row.complaint_id,
                     instance_id=step.row.id, **command.details)
        return _finish(step, Outcome(instance_id=step.row.id, completed=True))
    if not step.fired:
        raise Conflict(command.refusal)
    return _finish(step, Outcome(instance_id=step.row.id, completed=False, refused=command.refusal))


def _finish(step: Step, outcome: Outcome) -> Outcome:
    """One snapshot, the rows brought in line with it, the state written; the flush checks the lock version."""
    known = set(step.ready_rows if step.ready_rows is not None else step.task_rows)
    snapshot = runner.snapshot(step.workflow, evaluate=EVALUATED_PROPERTIES, known=known,
                               evaluate_timers=TIMER_PROPERTIES, known_timers=step.timer_rows.keys(),
                               fired_since=step.began)
    with step.uow.session.no_autoflush:
        _save_codes(step, snapshot)   # first: a new timer's SLA follows the product as classified
        waiting = _save_timers(step, snapshot)
        ready = _save_tasks(step, snapshot, waiting)
        _save_complaint(step, snapshot, ready, waiting)
    row = step.row
    row.state = dump_state(step.workflow)
    row.status = "completed" if snapshot.finished else "running"
    row.updated_at = step.now
    # Always write the row, even if nothing in it changed: the UPDATE carries the lock-version check, so a
    # step decided on a stale read can never commit its task, timer or complaint rows.
    flag_modified(row, "state")
    with duplicate_message_is_stale():   # the service tasks' queued messages are written here too
        step.uow.session.flush()
    # The ready rows as written (ids are known after the flush), for the next step on this version.
    setattr(step.workflow, _READY_ROWS, {task.task_id: ReadyRow(r.id, r.due_at, r.created_at) if isinstance(r, UserTask)
                                         else r for r, task in ready})
    # Back into the cache under the version just written, once (and only if) the transaction commits.
    step.uow.runtime.workflows.after_commit(step.uow.session, row.id, lambda: row.lock_version, row.state,
                                            step.workflow)
    outcome.fired = tuple(FiredTimer(t.element_id, t.name, t.due_at) for t in step.fired)
    outcome.made_ready = tuple(r for r, task in ready if isinstance(r, UserTask) and task.task_id not in known)
    outcome.finished = snapshot.finished
    if step.fired and step.open_incident:
        # A timer path that works again: an incident left by an earlier failing attempt is over.
        outcome.incidents_resolved = incidents.resolve_open(step.uow, row.id, step.now)
    return outcome


def _save_timers(step: Step, snapshot: runner.Snapshot) -> list[Timer]:
    rows, now = step.timer_rows, step.now
    fired_ids = {t.spiff_task_id for t in step.fired}
    waiting = {w.task_id: w for w in snapshot.timers}
    row: Timer | None
    for task_id, row in rows.items():
        if task_id not in waiting:
            fired = task_id in fired_ids or task_id in snapshot.completed
            row.state = "fired" if fired else "cancelled"
            row.fired_at = now if fired else None
    result: list[Timer] = []
    for task_id, timer in waiting.items():
        row = rows.get(task_id)
        if row is None:
            row = Timer(instance_id=step.row.id, complaint_id=step.row.complaint_id, spiff_task_id=task_id,
                        element_id=timer.element_id, name=timer.name, host_task_id=timer.host_task_id,
                        created_at=now, warned_level=0, **_sla_of(step, timer))
            step.uow.session.add(row)
        if row.due_at != timer.due_at:
            row.due_at = timer.due_at
            if timer.due_at is not None:
                sla_warnings.arm(row, step.uow.settings.sla_profile, now)
        row.state = "waiting" if timer.due_at else "broken"
        if row.state == "waiting":
            result.append(row)
    _record_fired_when_armed(step, snapshot)
    return result


def _record_fired_when_armed(step: Step, snapshot: runner.Snapshot) -> None:
    """A timer whose deadline had already passed when its task began (a back-dated receipt, a case moved to a
    version with a new deadline) fires in the step that arms it, before it ever waited: it gets its row, fired,
    and its ``timer_fired`` event like any other, so the case's clocks and history show the breach."""
    for timer in snapshot.fired:
        if timer.task_id in step.timer_rows:
            continue
        row = Timer(instance_id=step.row.id, complaint_id=step.row.complaint_id, spiff_task_id=timer.task_id,
                    element_id=timer.element_id, name=timer.name, host_task_id=timer.host_task_id,
                    created_at=step.now, warned_level=0, due_at=timer.due_at, state="fired", fired_at=step.now,
                    **_sla_of(step, timer))
        step.uow.session.add(row)
        step.timer_rows[timer.task_id] = row
        audit.record(step.uow, step.actor, "timer_fired", at=step.now, complaint_id=step.row.complaint_id,
                     instance_id=step.row.id, element_id=timer.element_id,
                     due_at=timer.due_at.isoformat() if timer.due_at else None, sla=row.sla, when_armed=True)


def _sla_of(step: Step, timer: runner.WaitingTimer | migrate.Rearmed | migrate.Armed) -> dict:
    """The SLA a new timer enforces (resolved by the case's product track) and when its clock started."""
    name, start = timer.values.get("sla"), timer.values.get("slaClockStart")
    if name:
        product = step.complaint.product_code if step.complaint else None
        try:
            name = resolve_sla(step.uow.settings.sla_profile, str(name), product).name
        except KeyError:
            pass  # the deployment check refuses unknown SLAs; an old definition keeps its name
    started = parse_instant(cast("str | datetime", start)) if start else step.now  # the expression gives either
    return {"sla": str(name) if name else None, "started_at": started}


class ReadyRow(NamedTuple):
    id: int
    due_at: datetime | None
    created_at: datetime


# Attribute of a live workflow: its ready task rows as the save that cached it left them (Step.ready_rows).
_READY_ROWS = "_complaintflow_ready_rows"


def _task_row(step: Step, task_id: str) -> UserTask:
    """The row of a ready task, to change it: loaded with the step, or fetched by id (identity map first)."""
    row = step.task_rows.get(task_id)
    if row is None:
        assert step.ready_rows is not None  # a ready row the step did not load is one it knows by id
        row = step.uow.session.get_one(UserTask, step.ready_rows[task_id].id)
        step.task_rows[task_id] = row
    return row


def _open_task_rows(step: Step) -> list[UserTask]:
    """The instance's ready task rows, by id (the service tasks' view of the case's open work): those the step
    loaded, or, on a step that knew only their ids (a cached workflow), all of them in one query, kept for the
    rest of the step."""
    if step.ready_rows is not None and len(step.task_rows) < len(step.ready_rows):
        loaded = {t.spiff_task_id: t for t in step.uow.session.scalars(_TASK_ROWS, {"instance_id": step.row.id})}
        step.task_rows.update((k, v) for k, v in loaded.items() if k not in step.task_rows)
    return sorted((t for t in step.task_rows.values() if t.id is not None), key=lambda t: t.id)


def _save_tasks(step: Step, snapshot: runner.Snapshot, waiting: list[Timer]) -> list[tuple[UserTask | ReadyRow,
                                                                                      runner.ReadyTask]]:
    """Returns the ready tasks, each as (its row, or a ReadyRow if the row did not change, snapshot entry), in the
    engine's order."""
    now, settings = step.now, step.uow.settings
    known = step.ready_rows if step.ready_rows is not None else {
        task_id: ReadyRow(row.id, row.due_at, row.created_at) for task_id, row in step.task_rows.items()}
    ready_ids = {t.task_id for t in snapshot.ready}
    for task_id in known:
        if task_id not in ready_ids:
            row = _task_row(step, task_id)
            row.state = "completed" if task_id in snapshot.completed else "cancelled"
            row.completed_at = row.completed_at or now
    due_by_host: dict[str, datetime] = {}
    for timer in waiting:
        if timer.host_task_id and timer.due_at and (timer.host_task_id not in due_by_host
                                   or timer.due_at < due_by_host[timer.host_task_id]):
            due_by_host[timer.host_task_id] = timer.due_at
    # A timer waiting beside the flow, on nothing that holds open work (an urgent case's 12-hour promise, on its
    # own subprocess), bounds all the case's work.
    holding = {h for task in snapshot.ready for h in task.hosts}
    beside = [timer.due_at for timer in waiting if timer.due_at and timer.host_task_id not in holding]
    breached_by_host = _breached_by_host(step)
    current: list[tuple[UserTask | ReadyRow, runner.ReadyTask]] = []
    for task in snapshot.ready:
        seen = known.get(task.task_id)
        dues = [due_by_host[h] for h in task.hosts if h in due_by_host] + beside
        dues += [breached_by_host[h] for h in task.hosts if h in breached_by_host]
        if seen is not None and seen.due_at is not None and seen.due_at <= now:
            dues.append(seen.due_at)  # breached in an earlier step: its timer row is no longer read
        due = min(dues) if dues else None
        if seen is None:
            department = cast("str | None", task.values.get("assignedDepartment"))  # a department's code
            title = task.title + (f" ({settings.departments.get(department, department)})" if department else "")
            row = UserTask(instance_id=step.row.id, complaint_id=step.row.complaint_id,
                           spiff_task_id=task.task_id, element_id=task.element_id, title=title, lane=task.lane,
                           candidate_roles=_candidate_roles(settings, task), department=department,
                           form=task.properties.get("formJsonSchemaFilename"), context=_context(task.data),
                           state="ready", created_at=now, due_at=due)
            step.uow.session.add(row)
            current.append((row, task))
        elif seen.due_at != due:
            row = _task_row(step, task.task_id)
            row.due_at = due
            current.append((row, task))
        else:
            current.append((seen, task))
    return current


def _breached_by_host(step: Step) -> dict[str, datetime]:
    """The earliest deadline that fired in this step (or fired as it was armed), by the task it bounds.

    The one rule for a task's due time: the earliest of its waiting timers, the timers beside the flow and the
    deadlines it has already breached. A non-interrupting deadline that fired leaves its task open and overdue
    since that deadline: the task keeps the breached due time (so the inbox's "Overdue only", its badge and the
    diagram agree with the case's ``is_overdue``) rather than losing its deadline; it keeps it until it is done.
    """
    breached: dict[str, datetime] = {}
    for timer in step.timer_rows.values():
        if timer.state == "fired" and timer.host_task_id and timer.due_at is not None and (
                timer.host_task_id not in breached or timer.due_at < breached[timer.host_task_id]):
            breached[timer.host_task_id] = timer.due_at
    return breached


def _candidate_roles(settings: Settings, task: runner.ReadyTask) -> list[str]:
    """The lane's roles, narrowed to the one ``candidateRole`` names when it is one of them."""
    roles = list(settings.lane_roles.get(task.lane or "", ()))
    chosen = task.values.get("candidateRole")
    return [chosen] if isinstance(chosen, str) and chosen in roles else roles


def _context(data: Mapping) -> dict:
    return {k: data[k] for k in CONTEXT_FIELDS if k in data}


def _save_codes(step: Step, snapshot: runner.Snapshot) -> None:
    """The classification's codes of the case (product, place of business) as the ready tasks' data holds them
    (one value per case: only registration and classification set them)."""
    complaint, classification = step.complaint, step.uow.settings.classification
    if complaint is None:
        return
    for name, (column, kind) in CODED_VARIABLES.items():
        values = {t.data.get(name) for t in snapshot.ready} - {None}
        if len(values) == 1:
            value = values.pop()
            if classification.knows(kind, value) and getattr(complaint, column) != value:
                setattr(complaint, column, value)


def _save_complaint(step: Step, snapshot: runner.Snapshot, ready: list[tuple[UserTask | ReadyRow, runner.ReadyTask]],
                    waiting: list[Timer]) -> None:
    complaint = step.complaint
    if complaint is None:
        return
    if ready:
        # The newest ready task says where the case stands; among tasks of one step, the engine's order.
        _, (_newest, task) = max(enumerate(ready), key=lambda item: (item[1][0].created_at, item[0]))
        for name in MIRRORED_VARIABLES:
            value = task.data.get(name)
            if value is not None and getattr(complaint, name) != value:
                setattr(complaint, name, value)
        label = task.properties.get("complaintStatus")
        if complaint.status != "closed" and label and complaint.status != label:
            complaint.status = label
    dues = [t.due_at for t in waiting if t.due_at]
    due = min(dues) if dues else None
    if complaint.due_at != due:
        complaint.due_at = due


# --- the workflow's surroundings -----------------------------------------------------------------------------

def _script_engine(step: Step, clock_at: datetime | None = None) -> SandboxedScriptEngine:
    """The step's script engine; ``clock_at``: with a clock that reads another instant (a re-armed deadline)."""
    uow = step.uow
    operators = uow.runtime.operators

    def call_service(task, operation_name, params):
        handler = operators.get(operation_name)
        if handler is None:
            raise LookupError(f"no service-task operator named {operation_name!r} is registered in app/tasks")
        ctx = ServiceContext(session=uow.session, settings=uow.settings, now=step.now, instance=step.row,
                             complaint=step.complaint, element_id=task.task_spec.bpmn_id,
                             spiff_task_id=str(task.id), data=dict(task.data), actor=step.actor,
                             reschedule_timer=lambda timer_id, due: runner.reschedule_timer(step.workflow, timer_id,
                                                                                            due),
                             open_tasks=lambda: _open_task_rows(step), uow=uow)
        # The handler's queries need none of the step's pending writes (its rows are saved after the run): no
        # autoflush, so the complaint and audit rows go out in the step's one flush, not one per query.
        with uow.session.no_autoflush:
            return handler(ctx, **params)

    clock = _FixedClock(clock_at or step.now)
    # The case's calendar and a forwarding body's deadline come from its complaint row (deadlines/expressions.py).
    functions = script_functions(clock, uow.settings, CaseDeadlines.of(step.complaint))
    return SandboxedScriptEngine(functions, call_service, clock=clock)


def expression_engine(uow: UnitOfWork, at: datetime, complaint: Complaint | None = None) -> SandboxedScriptEngine:
    """A script engine whose clock reads ``at``, to evaluate the diagram's expressions outside a step (the
    migration's dry run: when a timer would be due), for the case of ``complaint``; it runs no service task."""
    clock = _FixedClock(at)
    return SandboxedScriptEngine(script_functions(clock, uow.settings, CaseDeadlines.of(complaint)), clock=clock)


def _specs(uow: UnitOfWork, definition_id: int) -> ProcessSpecs:
    def serialized() -> str:
        return uow.session.execute(select(ProcessDefinition.spec_json)
                                   .where(ProcessDefinition.id == definition_id)).scalar_one()
    return uow.runtime.specs.get(definition_id, serialized)
