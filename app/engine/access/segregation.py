"""Segregation of duties: which rule of config/segregation.toml, if any, keeps a person from a piece of work.

Roles and lanes say who may do a kind of work (permissions.py, the diagram's lanes); these rules say who may not
do this piece of it, for the earlier work they did, and they are answered here from the rows the database keeps,
never from the diagram: a deployed model cannot switch them off.

    refusal(uow, actor, task)            -> the first rule keeping the actor from a user task, or None
    check_task(uow, actor, task)         -> None, or DutiesNotSegregated naming the rule (HTTP 403)
    refused_tasks(uow, actor, task_ids)  -> {task id: rule} for a page of tasks, in a few queries
    check_action(uow, actor, action, checksum=...)  -> the same for an action (a definition's sign-off)

Who a rule excludes:

- ``completed_tasks``: whoever completed one of the rule's tasks in the guarded task's round (``tasks`` rows of
  the same process instance, ``completed_by_id`` / ``completed_by``). The round begins after the latest
  completion of one of ``round_starts_after`` among the rows created before the guarded task (row ids grow
  with time); with none, at the start of the case. The file's comments say why a reopen starts a round and a
  rejection does not.
- ``extension_requester``: whoever requested the extension the guarded approval task decides: the
  ``deadline_extensions`` row of the instance awaiting approval, requested at the instant the task was created
  (the request is the step that creates the task), or the latest one before it.
- ``draft_authors``: whoever saved or imported content of a draft that led to the reviewed checksum: every
  ``draft_saved`` audit event of such a draft, from its opening up to its last save of exactly those bytes
  (later edits did not lead to them). Saves of earlier drafts of the same process do not count: their content
  became (or never became) a deployed version of its own, with its own review, and a draft's diff under review
  is against that version; an earlier draft that held exactly these bytes is caught by the checksum itself.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select

from app.engine.config.segregation import (
    COMPLETED_TASKS,
    DRAFT_AUTHORS,
    EXTENSION_REQUESTER,
    Segregation,
    SegregationRule,
)
from app.engine.config.settings import Settings
from app.engine.core.actors import Actor
from app.engine.core.errors import DutiesNotSegregated
from app.engine.models import AuditEvent, DeadlineExtension, UserTask

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.engine.access.permissions import HasSettings
    from app.engine.runtime import UnitOfWork

# The audit events of a draft's life (governance/drafts.py): its opening, and every save of content into it.
DRAFT_STARTS = ("draft_opened", "draft_imported")
DRAFT_SAVED = "draft_saved"


class GuardedTask(Protocol):
    """What the rules read of a user task."""

    @property
    def id(self) -> int: ...
    @property
    def instance_id(self) -> int: ...
    @property
    def element_id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True)
class Excluded:
    """The people one rule keeps from one piece of work."""

    rule: SegregationRule
    user_ids: frozenset[int] = frozenset()
    usernames: frozenset[str] = frozenset()

    def covers(self, person: Actor) -> bool:
        return (person.user_id is not None and person.user_id in self.user_ids) or person.username in self.usernames


def rules_of(source: Segregation | Settings | HasSettings) -> Segregation:
    if isinstance(source, Segregation):
        return source
    if isinstance(source, Settings):
        return source.segregation
    return source.settings.segregation


# --- user tasks ----------------------------------------------------------------------------------------------

def exclusions(session: Session, segregation: Segregation, tasks: Iterable[GuardedTask]) -> dict[int, list[Excluded]]:
    """task id -> who each rule guarding it excludes (tasks no rule guards are left out), in the file's order."""
    guarded = [t for t in tasks if t.element_id in segregation.guarded_tasks]
    found: dict[int, list[Excluded]] = {t.id: [] for t in guarded}
    for rule in segregation.rules:
        ruled = [t for t in guarded if t.element_id == rule.task]
        if not ruled:
            continue
        if rule.excludes == COMPLETED_TASKS:
            answers = _task_completers(session, rule, ruled)
        elif rule.excludes == EXTENSION_REQUESTER:
            answers = _extension_requesters(session, rule, ruled)
        else:
            raise ValueError(f"rule {rule.name!r}: excludes {rule.excludes!r} does not guard a task")
        for task in ruled:
            found[task.id].append(answers[task.id])
    return found


def refusal(uow: UnitOfWork, person: Actor, task: GuardedTask) -> SegregationRule | None:
    """The first rule that keeps ``person`` from ``task``, or None."""
    segregation = rules_of(uow)
    if task.element_id not in segregation.guarded_tasks:
        return None
    for excluded in exclusions(uow.session, segregation, [task]).get(task.id, []):
        if excluded.covers(person):
            return excluded.rule
    return None


def check_task(uow: UnitOfWork, person: Actor, task: GuardedTask, *, named: str | None = None) -> None:
    """DutiesNotSegregated (HTTP 403) naming the rule when one keeps ``person`` from ``task``; ``named``: the
    person's name when they are not the one asking (an assignment)."""
    rule = refusal(uow, person, task)
    if rule is not None:
        who = f"{named} may not take task {task.id}" if named else f"You may not work on task {task.id}"
        raise DutiesNotSegregated(rule.name, rule.title, f"{who}: {rule.title} (rule {rule.name})")


def refused_tasks(uow: UnitOfWork, person: Actor, task_ids: Sequence[int]) -> dict[int, SegregationRule]:
    """For a page of tasks: task id -> the rule keeping ``person`` from it, for the tasks one rule does."""
    segregation = rules_of(uow)
    if not task_ids:
        return {}
    tasks = list(uow.session.execute(
        select(UserTask.id, UserTask.instance_id, UserTask.element_id, UserTask.created_at)
        .where(UserTask.id.in_(list(task_ids)), UserTask.element_id.in_(sorted(segregation.guarded_tasks)))))
    refused = {}
    for task_id, excluded in exclusions(uow.session, segregation, tasks).items():
        rule = next((e.rule for e in excluded if e.covers(person)), None)
        if rule is not None:
            refused[task_id] = rule
    return refused


def _task_completers(session: Session, rule: SegregationRule, tasks: list[GuardedTask]) -> dict[int, Excluded]:
    names = sorted({*rule.tasks, *rule.round_starts_after})
    rows = session.execute(
        select(UserTask.id, UserTask.instance_id, UserTask.element_id, UserTask.completed_by_id,
               UserTask.completed_by)
        .where(UserTask.instance_id.in_(sorted({t.instance_id for t in tasks})), UserTask.state == "completed",
               UserTask.element_id.in_(names))).all()
    answers = {}
    for task in tasks:
        earlier = [r for r in rows if r.instance_id == task.instance_id and r.id < task.id]
        start = max((r.id for r in earlier if r.element_id in rule.round_starts_after), default=0)
        mine = [r for r in earlier if r.id > start and r.element_id in rule.tasks]
        answers[task.id] = Excluded(rule, frozenset(r.completed_by_id for r in mine if r.completed_by_id is not None),
                                    frozenset(r.completed_by for r in mine if r.completed_by))
    return answers


def _extension_requesters(session: Session, rule: SegregationRule,
                          tasks: list[GuardedTask]) -> dict[int, Excluded]:
    rows = session.execute(
        select(DeadlineExtension.instance_id, DeadlineExtension.requested_at, DeadlineExtension.requested_by)
        .where(DeadlineExtension.instance_id.in_(sorted({t.instance_id for t in tasks})),
               DeadlineExtension.state == "awaiting_approval")).all()
    answers = {}
    for task in tasks:
        earlier = [r for r in rows if r.instance_id == task.instance_id and r.requested_at <= task.created_at]
        latest = max((r.requested_at for r in earlier), default=None)
        answers[task.id] = Excluded(rule, usernames=frozenset(r.requested_by for r in earlier
                                                              if r.requested_at == latest))
    return answers


# --- actions -------------------------------------------------------------------------------------------------

def check_action(uow: UnitOfWork, person: Actor, action: str, *, checksum: str) -> None:
    """DutiesNotSegregated naming the first rule guarding ``action`` that keeps ``person`` from taking it on the
    file with this sha256 ``checksum``."""
    for rule in rules_of(uow).for_action(action):
        if rule.excludes != DRAFT_AUTHORS:
            raise ValueError(f"rule {rule.name!r}: excludes {rule.excludes!r} does not guard an action")
        authors = draft_authors(uow.session, checksum)
        if person.username in authors:
            raise DutiesNotSegregated(rule.name, rule.title, f"You saved content of this file: {rule.title} "
                                                             f"(rule {rule.name})")


def draft_authors(session: Session, checksum: str) -> set[str]:
    """Everyone who saved or imported content of a draft that led to these bytes (see the module's docstring)."""
    matching = session.execute(
        select(AuditEvent.id, AuditEvent.detail["draft_id"].as_integer())
        .where(AuditEvent.action == DRAFT_SAVED, AuditEvent.detail["checksum"].as_string() == checksum)).all()
    last_save: dict[int, int] = {}
    for event_id, draft_id in matching:
        last_save[draft_id] = max(event_id, last_save.get(draft_id, 0))
    authors: set[str] = set()
    for draft_id, last in last_save.items():
        events = session.execute(
            select(AuditEvent.id, AuditEvent.action, AuditEvent.actor)
            .where(AuditEvent.action.in_((DRAFT_SAVED, *DRAFT_STARTS)), AuditEvent.id <= last,
                   AuditEvent.detail["draft_id"].as_integer() == draft_id)).all()
        # A draft id can come back after its draft was deleted (SQLite reuses the highest row id): its life
        # begins at its latest opening.
        opened = max((e.id for e in events if e.action in DRAFT_STARTS), default=0)
        authors.update(e.actor for e in events if e.action == DRAFT_SAVED and e.id >= opened)
    return authors
