"""Who may read what: the one read policy every adapter asks (API, pages, exports, letters).

Two questions, answered here and nowhere else:

* **Which complaints** an actor may read: ``complaint_scope(actor)`` is a SQL where-clause on ``Complaint``, so
  lists, exports and counts filter in the database; ``may_read_complaint`` / ``require_complaint`` evaluate the
  same clause for one complaint, so a single complaint and a list can never disagree.
* **Which fields**: every field of a complaint and every process variable belongs to one *field class*
  (``PUBLIC``, ``SUBMITTED``, ``CASE_FILE``, ``INTERNAL``), declared once as data below; an actor's *audience*
  says which classes it sees. A variable nobody classified is ``INTERNAL``: a new form field stays with
  complaint management until someone decides otherwise.

Scopes (an actor with several roles gets the union; the widest audience wins):

* customer: the complaints they registered; audience ``customer`` = public fields and their own submissions
  (what they entered at registration and as feedback), the customer-facing messages sent to them, milestones
  of the history without names or detail.
* channel (an integration that registers complaints): the complaints it registered; audience ``channel`` =
  public status only (no personal data, no messages).
* department officer: complaints their department leads (``lead_department``) or has, or had, a task on (a
  ``tasks`` row of that department: co-investigation included), plus tasks assigned to or completed by them;
  audience ``case_file``.
* intake agent: the complaints they registered, those with a task they completed, and those with a task
  *waiting* in one of their lanes (``config/roles.toml``: the intake desk classifies, the customer lane records
  feedback). So the desk sees the cases it has to work on and the ones it worked on, not the whole archive.
  Audience ``case_file``: they answer the customer on the phone and need the case, not complaint management's
  own notes.
* coordinator, approver, head of complaints, compliance: every complaint; audience ``internal`` (all fields).
* process owner: no complaint (403): definitions and aggregate figures only (``may_read_definitions``,
  ``may_read_figures``).
* system actors (scheduler, CLI): everything.

Why ``approval_comment`` is case file, not internal: after a rejection the lead department redrafts, and the
approver's reason is what they redraft against. It never reaches a customer or a channel. ``INTERNAL`` holds
complaint management's own notes (classification and triage notes).
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import exists, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement, True_

from app.engine.core.actors import Actor
from app.engine.core.errors import NotAllowed, NotFound
from app.engine.models import AuditEvent, Complaint, Incident, OutboxMessage, UserTask

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

# --- field classes and audiences -------------------------------------------------------------------------

PUBLIC = "public"          # anyone who may read the complaint at all: its status, deadlines, who is in charge
SUBMITTED = "submitted"    # what the customer entered (registration facts, feedback): theirs, and the case file
CASE_FILE = "case_file"    # what the people handling the case need: findings, drafts, decisions, staff names
INTERNAL = "internal"      # complaint management's own notes

AUDIENCE_CLASSES: dict[str, frozenset[str]] = {
    "internal": frozenset({PUBLIC, SUBMITTED, CASE_FILE, INTERNAL}),
    "case_file": frozenset({PUBLIC, SUBMITTED, CASE_FILE}),
    "customer": frozenset({PUBLIC, SUBMITTED}),
    "channel": frozenset({PUBLIC}),
    "none": frozenset(),
}
# Widest first: an actor with several roles gets the first audience one of its roles grants.
ROLE_AUDIENCES: tuple[tuple[str, str], ...] = (
    ("system", "internal"), ("coordinator", "internal"), ("approver", "internal"),
    ("head_of_complaints", "internal"), ("executive", "internal"), ("compliance", "internal"),
    ("department_officer", "case_file"), ("intake_agent", "case_file"),
    ("customer", "customer"), ("channel", "channel"),
)
ALL_COMPLAINT_ROLES = frozenset({"system", "coordinator", "approver", "head_of_complaints", "executive",
                                 "compliance"})
DEFINITION_ROLES = frozenset({"system", "process_owner", "compliance", "head_of_complaints"})
FIGURE_ROLES = frozenset({"system", "process_owner", "compliance", "head_of_complaints", "coordinator"})

# The complaint row, by field class. ``department_in_charge`` is the lead department's *name* (never people).
COMPLAINT_FIELDS: dict[str, str] = {
    "id": PUBLIC, "tracking_number": PUBLIC, "status": PUBLIC, "outcome": PUBLIC,
    "department_in_charge": PUBLIC, "received_at": PUBLIC, "acknowledged_at": PUBLIC, "due_at": PUBLIC,
    "closed_at": PUBLIC,
    "customer_name": SUBMITTED, "customer_contact": SUBMITTED, "customer_reference": SUBMITTED,
    "channel": SUBMITTED, "forwarded_reference": SUBMITTED, "product": SUBMITTED, "category": SUBMITTED,
    "amount_involved": SUBMITTED, "description": SUBMITTED, "customer_satisfied": SUBMITTED,
    "satisfaction_rating": SUBMITTED,
    "severity": CASE_FILE, "urgent": CASE_FILE, "lead_department": CASE_FILE, "is_overdue": CASE_FILE,
    "escalation_level": CASE_FILE, "breached_slas": CASE_FILE, "reopen_count": CASE_FILE,
    "registered_by": CASE_FILE,
}

# Process variables (task context, submitted form data, audit detail), by field class. Unlisted: INTERNAL.
VARIABLE_CLASSES: dict[str, str] = {
    "tracking_number": PUBLIC,
    "customer_name": SUBMITTED, "customer_contact": SUBMITTED, "customer_reference": SUBMITTED,
    "channel": SUBMITTED, "forwarded_reference": SUBMITTED, "product": SUBMITTED, "category": SUBMITTED,
    "amount_involved": SUBMITTED, "description": SUBMITTED, "received_at": SUBMITTED,
    "customer_satisfied": SUBMITTED, "satisfaction_rating": SUBMITTED, "feedback_comment": SUBMITTED,
    "complaint_id": CASE_FILE, "severity": CASE_FILE, "urgent": CASE_FILE, "sla_clock_start": CASE_FILE,
    "review_requested_at": CASE_FILE,
    "lead_department": CASE_FILE, "co_departments": CASE_FILE, "departments": CASE_FILE, "department": CASE_FILE,
    "facts": CASE_FILE, "root_cause": CASE_FILE, "proposed_remedy": CASE_FILE, "finding": CASE_FILE,
    "findings": CASE_FILE, "resolution_summary": CASE_FILE, "remedy_type": CASE_FILE,
    "redress_amount": CASE_FILE, "customer_message": CASE_FILE, "approval_decision": CASE_FILE,
    "approval_comment": CASE_FILE, "reopen_count": CASE_FILE, "reopen_target": CASE_FILE,
    "reopen_reason": CASE_FILE,
    "classification_note": INTERNAL, "triage_note": INTERNAL,
}

# What the public audiences see of the history: milestones only, without who or any detail.
PUBLIC_ACTIONS = frozenset({"complaint_registered", "acknowledgement_sent", "reply_sent", "complaint_closed",
                            "deadline_extended"})
# Outbox kinds addressed to the customer (escalations go to staff).
CUSTOMER_MESSAGE_KINDS = frozenset({"acknowledgement", "reply", "extension_notice", "holding_response"})


def audience(actor: Actor) -> str:
    """``internal`` | ``case_file`` | ``customer`` | ``channel`` | ``none``."""
    return next((aud for role, aud in ROLE_AUDIENCES if role in actor.roles), "none")


def visible_classes(actor: Actor) -> frozenset[str]:
    return AUDIENCE_CLASSES[audience(actor)]


def may_read_definitions(actor: Actor) -> bool:
    return actor.has_any_role(DEFINITION_ROLES)


def may_read_figures(actor: Actor) -> bool:
    return actor.has_any_role(FIGURE_ROLES)


def filter_variables(actor: Actor, data: dict | None) -> dict:
    """Process variables (task context, form data, audit detail) the actor may see."""
    classes = visible_classes(actor)
    return {k: v for k, v in (data or {}).items() if VARIABLE_CLASSES.get(k, INTERNAL) in classes}


# --- which complaints ------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _configured_lane_roles() -> dict[str, tuple[str, ...]]:
    from app.engine.config.settings import load_settings  # noqa: PLC0415 - only when no runtime settings are given
    return load_settings().lane_roles


def complaint_scope(actor: Actor, lane_roles: dict[str, tuple[str, ...]] | None = None) -> ColumnElement[bool]:
    """Where-clause on ``Complaint``: the complaints ``actor`` may read. ``lane_roles`` defaults to config/."""
    if actor.has_any_role(ALL_COMPLAINT_ROLES):
        return true()
    uid = actor.user_id
    clauses = []
    if uid is not None and actor.has_any_role({"customer", "channel", "intake_agent"}):
        clauses.append(Complaint.registered_by_id == uid)
    if actor.has_any_role({"department_officer"}):
        clauses.append(_task_exists(or_(UserTask.assignee_id == uid, UserTask.completed_by_id == uid))
                       if uid is not None else false())
        if actor.department:
            clauses += [Complaint.lead_department == actor.department,
                        _task_exists(UserTask.department == actor.department)]
    if actor.has_any_role({"intake_agent"}):
        lanes = [lane for lane, roles in (lane_roles or _configured_lane_roles()).items() if "intake_agent" in roles]
        waiting = (UserTask.state == "ready") & UserTask.lane.in_(lanes)
        clauses.append(_task_exists(or_(waiting, UserTask.completed_by_id == uid) if uid is not None else waiting))
    return or_(*clauses) if clauses else false()


def _task_exists(condition) -> ColumnElement[bool]:
    return exists(select(UserTask.id).where(UserTask.complaint_id == Complaint.id, condition))


def may_read_complaint(uow: UnitOfWork, actor: Actor, complaint: Complaint) -> bool:
    # The same clause as the lists, evaluated for this one row: a list and a single read never disagree.
    scope = complaint_scope(actor, uow.settings.lane_roles)
    if isinstance(scope, True_):  # every complaint: no need to ask the database
        return True
    query = select(Complaint.id).where(Complaint.id == complaint.id, scope)
    return uow.session.scalar(query) is not None


def require_complaint(uow: UnitOfWork, actor: Actor, complaint_id: int) -> Complaint:
    """The complaint, if the actor may read it: NotFound for an unknown id, NotAllowed for someone else's."""
    complaint = uow.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"Complaint {complaint_id} does not exist")
    if not may_read_complaint(uow, actor, complaint):
        raise NotAllowed(f"You may not read complaint {complaint_id}")
    return complaint


# --- which fields ----------------------------------------------------------------------------------------

def complaint_summary(uow: UnitOfWork, actor: Actor, complaint: Complaint) -> dict:
    """The complaint row's fields this actor sees (no history, tasks or messages). Does not check the scope."""
    classes = visible_classes(actor)
    values = _complaint_values(uow, complaint)
    return {name: values[name] for name, cls in COMPLAINT_FIELDS.items() if cls in classes}


def complaint_view(uow: UnitOfWork, actor: Actor, complaint: Complaint) -> dict:
    """The complaint as this actor may see it: fields, process variables, open tasks, history and messages by
    audience. Call it on a complaint from ``require_complaint`` (it does not check the scope itself)."""
    aud = audience(actor)
    view = complaint_summary(uow, actor, complaint)
    if aud == "none":
        return view
    view["history"] = _history(uow, actor, complaint)
    if aud == "channel":
        return view
    view["messages"] = _messages(uow, actor, complaint)
    if aud == "customer":
        return view
    tasks = list(uow.session.scalars(select(UserTask).where(UserTask.complaint_id == complaint.id)
                                     .order_by(UserTask.id)))
    view["variables"] = _variables(actor, tasks)
    view["open_tasks"] = [{"id": t.id, "name": t.element_id, "title": t.title, "lane": t.lane,
                           "department": t.department, "due_at": _iso(t.due_at)}
                          for t in tasks if t.state == "ready"]
    # Staff handling the case see when its timer-driven step keeps failing (and is being retried).
    view["incidents"] = [incident_view(i) for i in _open_incidents(uow, complaint.id)]
    return view


def _open_incidents(uow: UnitOfWork, complaint_id: int) -> list[Incident]:
    """The complaint's open incidents; the caller has checked the actor may read the complaint's case file."""
    return list(uow.session.scalars(select(Incident).where(Incident.complaint_id == complaint_id,
                                                           Incident.state == "open").order_by(Incident.id)))


def incident_view(incident: Incident) -> dict:
    """An incident as staff who may see incidents read it (the API's list, the complaint's case file)."""
    iso = (lambda v: v.isoformat() if v is not None else None)
    return {"id": incident.id, "kind": incident.kind, "state": incident.state,
            "complaint_id": incident.complaint_id, "instance_id": incident.instance_id,
            "element_id": incident.element_id, "error_type": incident.error_type, "message": incident.message,
            "attempts": incident.attempts, "first_failed_at": iso(incident.first_failed_at),
            "last_failed_at": iso(incident.last_failed_at), "next_retry_at": iso(incident.next_retry_at),
            "resolved_at": iso(incident.resolved_at)}


def task_context(actor: Actor, task: UserTask) -> dict:
    """The facts shown next to a task's form, filtered for this actor."""
    return filter_variables(actor, task.context)


def _complaint_values(uow: UnitOfWork, complaint: Complaint) -> dict:
    c = complaint
    lead = c.lead_department
    return {
        "id": c.id, "tracking_number": c.tracking_number, "status": c.status, "outcome": c.outcome,
        "department_in_charge": uow.settings.departments.get(lead, lead) if lead else None,
        "received_at": _iso(c.received_at), "acknowledged_at": _iso(c.acknowledged_at), "due_at": _iso(c.due_at),
        "closed_at": _iso(c.closed_at), "customer_name": c.customer_name, "customer_contact": c.customer_contact,
        "customer_reference": c.customer_reference, "channel": c.channel, "forwarded_reference": c.forwarded_reference,
        "product": c.product, "category": c.category,
        "amount_involved": str(c.amount_involved) if c.amount_involved is not None else None,
        "description": c.description, "customer_satisfied": c.customer_satisfied,
        "satisfaction_rating": c.satisfaction_rating, "severity": c.severity, "urgent": c.urgent,
        "lead_department": lead, "is_overdue": c.is_overdue, "escalation_level": c.escalation_level,
        "breached_slas": c.breached_slas, "reopen_count": c.reopen_count, "registered_by": c.registered_by,
    }


# The process variables a complaint view shows (the gateway inputs and decisions), before field filtering.
VIEW_VARIABLES = ("category", "severity", "urgent", "lead_department", "departments", "approval_decision",
                  "approval_comment", "customer_satisfied", "satisfaction_rating", "reopen_count")


def _variables(actor: Actor, tasks: list[UserTask]) -> dict:
    """The variables as the most recent task saw or set them (the complaint's task rows in id order, not the
    workflow)."""
    merged: dict = {}
    for row in tasks:
        for data in (row.context, row.submitted_data):
            merged.update({k: v for k, v in (data or {}).items() if k in VIEW_VARIABLES})
    return filter_variables(actor, merged)


def _history(uow: UnitOfWork, actor: Actor, complaint: Complaint) -> list[dict]:
    events = uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == complaint.id)
                                 .order_by(AuditEvent.occurred_at, AuditEvent.id))
    if CASE_FILE not in visible_classes(actor):
        return [{"at": _iso(e.occurred_at), "action": e.action} for e in events if e.action in PUBLIC_ACTIONS]
    return [{"at": _iso(e.occurred_at), "actor": e.actor, "action": e.action, "detail": _detail(actor, e.detail)}
            for e in events]


def _detail(actor: Actor, detail: dict | None) -> dict:
    # Bookkeeping keys (element ids, SLA names, recipients) are case file; submitted form data is filtered.
    detail = dict(detail or {})
    if isinstance(detail.get("data"), dict):
        detail["data"] = filter_variables(actor, detail["data"])
    return detail


def _messages(uow: UnitOfWork, actor: Actor, complaint: Complaint) -> list[dict]:
    messages = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.complaint_id == complaint.id)
                                   .order_by(OutboxMessage.id))
    if CASE_FILE in visible_classes(actor):
        return [{"kind": m.kind, "recipient": m.recipient, "subject": m.subject, "created_at": _iso(m.created_at),
                 "sent_at": _iso(m.sent_at)} for m in messages]
    # The customer reads what was sent to them, and only that.
    return [{"kind": m.kind, "subject": m.subject, "body": m.body, "created_at": _iso(m.created_at),
             "sent_at": _iso(m.sent_at)} for m in messages
            if m.kind in CUSTOMER_MESSAGE_KINDS and m.recipient == complaint.customer_contact]


def _iso(value):
    return value.isoformat() if value is not None else None
