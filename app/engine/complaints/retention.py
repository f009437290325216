"""Record retention (issue 26): the personal data of a closed complaint is kept for its regime's period after
closure (config/retention.toml: DISP 1.9 three years, bank defaults where the regime gives none), then anonymised.

What is anonymised is config ([anonymise]): the customer's name, contact, reference and description on the
complaint; the free text of the process, wherever it sits in the stored workflow (the workflow's data, every
task's data and data changes, message payloads) and in the task rows (context shown with a form, data submitted);
the letters' recipients, subjects and bodies; the reasons of deadline extensions; the messages of incidents. What
returns and statistics need stays: codes, amounts, outcomes, satisfaction, every date and deadline, the tracking
number. Each case gets a ``complaint_anonymised`` event with what was replaced, and ``anonymised_at``.

The audit trail's rows are not touched: its events are hash-chained (app/engine/audit/chain.py), and rewriting one
would break the chain the trail's evidence rests on. Their personal values (a completion's submitted form data, a
failed message's error naming its recipient, reasons, instructions) are kept apart in audit_personal_data
(app/engine/audit/personal.py) with only a commitment in the row: those of the case are erased (counted as
``audit_personal_data``), the commitments stay, and the trail still verifies after anonymisation.

A case is never anonymised while it is held ([legal_hold]): an open incident, a process still running (a
verification or review the customer may still ask for, an escalation, a reopened case) or a letter still waiting to
be delivered, or compliance's legal hold (``hold`` / ``release``, each with a reason, audited).

The job runs in batches, one transaction per batch (``anonymise_batch``), each claiming its complaints with FOR
UPDATE SKIP LOCKED on PostgreSQL so several schedulers share the work without doing a case twice; a case done is
stamped ``anonymised_at`` and never found again, so a re-run does nothing. ``due`` lists what would be anonymised
(the dry run) and changes nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, or_, select
from sqlalchemy.sql import Select

from app.engine import audit
from app.engine.access import permissions
from app.engine.attachments import files
from app.engine.audit import personal
from app.engine.complaints import idempotency
from app.engine.core.errors import Conflict, InvalidSubmission, NotFound
from app.engine.models import (
    Complaint,
    DeadlineExtension,
    InboundMessage,
    Incident,
    OutboxMessage,
    ProcessInstance,
    UserTask,
)

if TYPE_CHECKING:
    from app.engine.config.retention import RegimeRetention, RetentionPolicy
    from app.engine.core.actors import Actor
    from app.engine.runtime import Runtime, UnitOfWork

MAX_REASON = 2000
# Outbox states of a letter not delivered yet (complaints/outbox.py): a case with one is held until it leaves.
UNDELIVERED = ("pending", "sending", "to_post")
# Where a stored workflow keeps process variables (SpiffWorkflow's serialized state): the workflow's and each
# task's data, a task's data changes, an event's payload and correlations. Only these are scrubbed: elsewhere the
# same names (a terminate event's "description") are the diagram's, not the customer's.
STATE_DATA_KEYS = frozenset({"data", "delta", "internal_data", "payload", "correlations"})


@dataclass(frozen=True)
class Candidate:
    """A closed complaint kept past its period, as the dry run lists it."""

    complaint_id: int
    tracking_number: str
    closed_at: datetime
    retained_until: datetime


@dataclass(frozen=True)
class Anonymised:
    complaint_id: int
    tracking_number: str
    counts: dict[str, int]


@dataclass
class RetentionReport:
    regime: str
    keep_for: str
    cutoff: datetime                            # a case closed at or before it has been kept long enough
    dry_run: bool
    due: list[Candidate] = field(default_factory=list)          # the dry run: what would be anonymised
    anonymised: list[Anonymised] = field(default_factory=list)
    batches: int = 0

    def summary(self) -> str:
        what = (f"{len(self.due)} complaint(s) would be anonymised" if self.dry_run else
                f"{len(self.anonymised)} complaint(s) anonymised in {self.batches} batch(es)")
        return (f"retention ({self.regime}, {self.keep_for} after closure; closed on or before "
                f"{self.cutoff.isoformat()}): {what}")


def regime_retention(uow: UnitOfWork) -> RegimeRetention:
    """The retention of the active SLA profile's regime (config/sla.toml ``regime``)."""
    return uow.settings.retention.for_regime(uow.settings.sla_profile.regime)


def cutoff(uow: UnitOfWork, now: datetime) -> datetime:
    return regime_retention(uow).keep_for.before(now)


def _due_query(uow: UnitOfWork, now: datetime) -> Select:
    """Closed, not anonymised, closed at or before the cutoff, and held by nothing."""
    c = Complaint
    open_incident = exists(select(Incident.id).where(Incident.complaint_id == c.id, Incident.state == "open"))
    running = exists(select(ProcessInstance.id).where(ProcessInstance.complaint_id == c.id,
                                                      ProcessInstance.status != "completed"))
    undelivered = exists(select(OutboxMessage.id).where(OutboxMessage.complaint_id == c.id,
                                                        OutboxMessage.state.in_(UNDELIVERED)))
    return (select(c).where(c.status == "closed", c.closed_at.is_not(None), c.closed_at <= cutoff(uow, now),
                            c.anonymised_at.is_(None), c.legal_hold_at.is_(None),
                            ~open_incident, ~running, ~undelivered)
            .order_by(c.id))


def due(uow: UnitOfWork, now: datetime, limit: int | None = None) -> list[Candidate]:
    """What the job would anonymise now (the dry run): nothing is locked or changed."""
    keep_for = regime_retention(uow).keep_for
    query = _due_query(uow, now)
    if limit is not None:
        query = query.limit(limit)
    return [Candidate(c.id, c.tracking_number, c.closed_at, keep_for.after(c.closed_at))
            for c in uow.session.scalars(query)]


def anonymise_batch(uow: UnitOfWork, actor: Actor, limit: int) -> list[Anonymised]:
    """Claim up to ``limit`` due complaints (those another job holds are skipped) and anonymise each; the caller's
    unit of work is the batch's one transaction."""
    permissions.require(uow, actor, "retention.run", "Only the system runs the retention job")
    now, retention = uow.now(), regime_retention(uow)
    query = _due_query(uow, now).limit(limit)
    if uow.runtime.database.is_postgresql:
        query = query.with_for_update(skip_locked=True, of=Complaint)
    done = []
    for complaint in list(uow.session.scalars(query)):
        counts = _anonymise(uow, complaint, uow.settings.retention)
        # The trail's personal values go too; their commitments stay in the chained rows, which still verify.
        counts["audit_personal_data"] = personal.erase(uow.session, complaint.id, now)
        complaint.anonymised_at = now
        audit.record(uow, actor, "complaint_anonymised", at=now, complaint_id=complaint.id,
                     before={"anonymised_at": None}, after={"anonymised_at": now.isoformat()},
                     regime=retention.regime, keep_for=retention.keep_for.text,
                     closed_at=complaint.closed_at.isoformat() if complaint.closed_at else None, counts=counts)
        done.append(Anonymised(complaint.id, complaint.tracking_number, counts))
    uow.session.flush()
    return done


def run(runtime: Runtime, actor: Actor, *, limit: int | None = None, dry_run: bool = False) -> RetentionReport:
    """The job: every due complaint (at most ``limit``), a batch per transaction until none is left; or, with
    ``dry_run``, the list of what would be anonymised."""
    now = runtime.clock.now()
    with runtime.unit_of_work() as uow:
        retention = regime_retention(uow)
        report = RetentionReport(retention.regime, retention.keep_for.text, cutoff(uow, now), dry_run)
        if dry_run:
            permissions.require(uow, actor, "retention.run", "Only the system runs the retention job")
            report.due = due(uow, now, limit)
            return report
    batch_size = runtime.settings.retention.batch_size
    while limit is None or len(report.anonymised) < limit:
        size = batch_size if limit is None else min(batch_size, limit - len(report.anonymised))
        with runtime.unit_of_work() as uow:
            done = anonymise_batch(uow, actor, size)
        if not done:
            break
        report.anonymised += done
        report.batches += 1
        if len(done) < size:
            break
    return report


# --- anonymising one case ------------------------------------------------------------------------------------

def _anonymise(uow: UnitOfWork, complaint: Complaint, policy: RetentionPolicy) -> dict[str, int]:
    """Replace the case's personal data; how many values were replaced, by place."""
    marker, session = policy.placeholder, uow.session
    counts = {"complaint_fields": _replace_columns(complaint, policy.complaint_fields, marker),
              "variables": 0, "tasks": 0, "messages": 0, "extensions": 0, "incidents": 0,
              "inbound_messages": 0}
    # The e-mail intake that made the case ran in a process of its own (processes/mail_intake.bpmn): its state
    # and its "Complete registration" task hold what the mail said.
    intake = select(InboundMessage.instance_id).where(InboundMessage.complaint_id == complaint.id,
                                                      InboundMessage.instance_id.is_not(None))
    for instance in session.scalars(select(ProcessInstance).where(
            or_(ProcessInstance.complaint_id == complaint.id, ProcessInstance.id.in_(intake)))):
        state, replaced = _scrub_state(instance.state, policy.variables, marker)
        if replaced:
            instance.state = state
            counts["variables"] += replaced
    for task in session.scalars(select(UserTask).where(or_(UserTask.complaint_id == complaint.id,
                                                           UserTask.instance_id.in_(intake)))):
        context, in_context = _scrub(task.context, policy.variables, marker, inside=True)
        submitted, in_submitted = _scrub(task.submitted_data, policy.variables, marker, inside=True)
        if in_context or in_submitted:
            task.context, task.submitted_data = context, submitted   # new objects: the JSON columns see the change
            counts["tasks"] += 1
            counts["variables"] += in_context + in_submitted
    places: tuple[tuple[type[OutboxMessage | DeadlineExtension | Incident | InboundMessage], tuple[str, ...], str],
                  ...] = (
        (OutboxMessage, policy.outbox_fields, "messages"), (DeadlineExtension, policy.extension_fields, "extensions"),
        (Incident, policy.incident_fields, "incidents"), (InboundMessage, policy.inbound_fields, "inbound_messages"))
    for model, fields, key in places:
        for row in session.scalars(select(model).where(model.complaint_id == complaint.id)):
            counts[key] += bool(_replace_columns(row, fields, marker))
            if isinstance(row, OutboxMessage) and "recipient" in fields:
                # The key repeats the recipient (process/service_tasks.py send): unique still by the row's id.
                row.idempotency_key = f"{marker}:{row.id}"
    # The digest of the request that made the case (an API client's Idempotency-Key) goes with it.
    counts["request_keys"] = idempotency.purge(uow, complaint.id)
    counts["attachments"] = files.erase(uow, complaint.id, uow.now())
    return counts


def _replace_columns(row: object, fields: tuple[str, ...], marker: str) -> int:
    replaced = 0
    for name in fields:
        value = getattr(row, name)
        if value is not None and value != marker:
            setattr(row, name, marker)
            replaced += 1
    return replaced


def _scrub_state(state: str, names: frozenset[str], marker: str) -> tuple[str, int]:
    """A stored workflow with its variables of ``names`` replaced, wherever the state keeps variables."""
    if not state:
        return state, 0
    scrubbed, replaced = _scrub(json.loads(state), names, marker, inside=False)
    return (json.dumps(scrubbed), replaced) if replaced else (state, 0)


def _scrub(value: Any, names: frozenset[str], marker: str, *, inside: bool) -> tuple[Any, int]:
    """``value`` with every entry named in ``names`` replaced by ``marker``, at any depth; ``inside``: within
    process variables already (else only under the state's STATE_DATA_KEYS)."""
    if isinstance(value, list):
        items = [_scrub(item, names, marker, inside=inside) for item in value]
        return [v for v, _ in items], sum(n for _, n in items)
    if not isinstance(value, dict):
        return value, 0
    result: dict[str, Any] = {}
    replaced = 0
    for key, item in value.items():
        if inside and key in names and item not in (None, "", marker):
            result[key], replaced = marker, replaced + 1
            continue
        result[key], n = _scrub(item, names, marker, inside=inside or key in STATE_DATA_KEYS)
        replaced += n
    return result, replaced


# --- the legal hold ------------------------------------------------------------------------------------------

def hold(uow: UnitOfWork, actor: Actor, tracking_number: str, reason: object) -> Complaint:
    """Put the complaint on legal hold: retention never anonymises it until the hold is released."""
    permissions.require(uow, actor, "complaint.legal_hold", "Only compliance may put a complaint on legal hold")
    text = _reason(reason)
    complaint = _by_tracking_number(uow, tracking_number)
    if complaint.anonymised_at is not None:
        raise Conflict(f"Complaint {complaint.tracking_number} was anonymised on "
                       f"{complaint.anonymised_at.date().isoformat()}: there is no personal data left to hold")
    if complaint.legal_hold_at is not None:
        raise Conflict(f"Complaint {complaint.tracking_number} is already on legal hold since "
                       f"{complaint.legal_hold_at.date().isoformat()} ({complaint.legal_hold_reason})")
    now = uow.now()
    complaint.legal_hold_at, complaint.legal_hold_by, complaint.legal_hold_reason = now, actor.username, text
    audit.record(uow, actor, "legal_hold_set", at=now, complaint_id=complaint.id, before={"legal_hold": False},
                 after={"legal_hold": True}, reason=text)
    return complaint


def release(uow: UnitOfWork, actor: Actor, tracking_number: str, reason: object) -> Complaint:
    """Lift the complaint's legal hold: retention treats it as any other closed case again."""
    permissions.require(uow, actor, "complaint.legal_hold", "Only compliance may release a legal hold")
    text = _reason(reason)
    complaint = _by_tracking_number(uow, tracking_number)
    if complaint.legal_hold_at is None:
        raise Conflict(f"Complaint {complaint.tracking_number} is not on legal hold")
    held_since, held_for = complaint.legal_hold_at, complaint.legal_hold_reason
    complaint.legal_hold_at = complaint.legal_hold_by = complaint.legal_hold_reason = None
    audit.record(uow, actor, "legal_hold_released", complaint_id=complaint.id, before={"legal_hold": True},
                 after={"legal_hold": False}, reason=text, held_since=held_since.isoformat(), held_for=held_for)
    return complaint


def _reason(reason: object) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise InvalidSubmission({"reason": ["Give the reason (e.g. the litigation or the inquiry)"]})
    if len(text) > MAX_REASON:
        raise InvalidSubmission({"reason": [f"At most {MAX_REASON} characters"]})
    return text


def _by_tracking_number(uow: UnitOfWork, tracking_number: str) -> Complaint:
    complaint = uow.session.scalars(select(Complaint).where(Complaint.tracking_number == tracking_number.strip())
                                    ).first()
    if complaint is None:
        raise NotFound(f"No complaint has the tracking number {tracking_number!r}")
    return complaint
