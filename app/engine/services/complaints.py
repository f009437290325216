"""Registering complaints and reading one complaint's state."""
from __future__ import annotations

import secrets
from decimal import Decimal

from sqlalchemy import select

from app.engine.actors import Actor
from app.engine.errors import NotAllowed, NotFound
from app.engine.models import AuditEvent, Complaint, OutboxMessage, UserTask
from app.engine.services import audit, instances
from app.engine.services.definitions import latest_definition

REGISTRATION_FORM = "register_complaint.schema.json"
COMPLAINT_PROCESS = "complaint_handling"
REGISTERING_ROLES = {"intake_agent", "coordinator", "customer", "channel"}
# Process variables that may be shown to whoever may read the complaint.
PUBLIC_VARIABLES = ("category", "severity", "urgent", "lead_department", "departments", "approval_decision",
                    "approval_comment", "customer_satisfied", "satisfaction_rating", "reopen_count")


def new_tracking_number(now) -> str:
    # Random, not sequential: customers use it to follow their case, so it must not be guessable.
    return f"CF-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"


def start_data(complaint: Complaint) -> dict:
    """The process's start data: the registered facts plus the variables the gateways read."""
    received = complaint.received_at.isoformat()
    return {
        "complaint_id": complaint.id, "tracking_number": complaint.tracking_number,
        "customer_name": complaint.customer_name, "customer_contact": complaint.customer_contact,
        "channel": complaint.channel, "product": complaint.product, "category": complaint.category,
        "severity": complaint.severity, "urgent": complaint.urgent,
        "amount_involved": str(complaint.amount_involved) if complaint.amount_involved is not None else None,
        "description": complaint.description, "received_at": received, "sla_clock_start": received,
        "reopen_count": 0, "reopen_target": None,
    }


def register_complaint(uow, actor: Actor, data: dict) -> Complaint:
    if not actor.has_any_role(REGISTERING_ROLES):
        raise NotAllowed("Only intake staff, coordinators, channel integrations and customers may register complaints")
    uow.runtime.forms.validate(REGISTRATION_FORM, data)
    now = uow.now()
    severity = data.get("severity", "general")
    complaint = Complaint(
        tracking_number=new_tracking_number(now), customer_name=data["customer_name"].strip(),
        customer_contact=data["customer_contact"].strip(), customer_reference=data.get("customer_reference"),
        channel=data["channel"], forwarded_reference=data.get("forwarded_reference"), product=data["product"],
        category=data["category"], severity=severity,
        urgent=severity == "urgent" or data["category"] == "fund_security",
        amount_involved=Decimal(data["amount_involved"]) if data.get("amount_involved") else None,
        description=data["description"], status="registered", received_at=now,
        registered_by=actor.username, registered_by_id=actor.user_id)
    uow.session.add(complaint)
    uow.session.flush()
    audit.record(uow, actor, "complaint_registered", complaint_id=complaint.id,
                 tracking_number=complaint.tracking_number, channel=complaint.channel)
    definition = latest_definition(uow.session, COMPLAINT_PROCESS)
    loaded = instances.start_instance(uow, actor, definition, start_data(complaint), complaint)
    instances.save_instance(uow, loaded)
    return complaint


def may_read(actor: Actor, complaint: Complaint) -> bool:
    return actor.is_staff or (actor.user_id is not None and complaint.registered_by_id == actor.user_id)


def get_complaint(uow, actor: Actor, complaint_id: int) -> dict:
    complaint = uow.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"Complaint {complaint_id} does not exist")
    if not may_read(actor, complaint):
        raise NotAllowed("You may only follow your own complaints")
    session = uow.session
    open_tasks = session.scalars(select(UserTask).where(UserTask.complaint_id == complaint_id,
                                                        UserTask.state == "ready").order_by(UserTask.id)).all()
    history = session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == complaint_id)
                              .order_by(AuditEvent.occurred_at, AuditEvent.id)).all()
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.complaint_id == complaint_id)
                               .order_by(OutboxMessage.id)).all()
    variables = _public_variables(uow, complaint_id)
    return {
        **summary(complaint),
        "variables": variables,
        "open_tasks": [{"id": t.id, "name": t.element_id, "title": t.title, "lane": t.lane,
                        "department": t.department, "due_at": _iso(t.due_at)} for t in open_tasks],
        "history": [{"at": _iso(e.occurred_at), "actor": e.actor, "action": e.action, "detail": e.detail}
                    for e in history] if actor.is_staff else
                   [{"at": _iso(e.occurred_at), "action": e.action} for e in history],
        "messages": [{"kind": m.kind, "subject": m.subject, "created_at": _iso(m.created_at)} for m in messages],
    }


def summary(complaint: Complaint) -> dict:
    return {
        "id": complaint.id, "tracking_number": complaint.tracking_number, "status": complaint.status,
        "customer_name": complaint.customer_name, "channel": complaint.channel, "product": complaint.product,
        "category": complaint.category, "severity": complaint.severity, "urgent": complaint.urgent,
        "amount_involved": str(complaint.amount_involved) if complaint.amount_involved is not None else None,
        "lead_department": complaint.lead_department, "outcome": complaint.outcome,
        "is_overdue": complaint.is_overdue, "escalation_level": complaint.escalation_level,
        "breached_slas": complaint.breached_slas, "reopen_count": complaint.reopen_count,
        "received_at": _iso(complaint.received_at), "acknowledged_at": _iso(complaint.acknowledged_at),
        "due_at": _iso(complaint.due_at), "closed_at": _iso(complaint.closed_at),
    }


def _public_variables(uow, complaint_id: int) -> dict:
    """The gateway variables as the most recent completed or open task saw them (read from task rows)."""
    rows = uow.session.scalars(select(UserTask).where(UserTask.complaint_id == complaint_id)
                               .order_by(UserTask.id)).all()
    merged: dict = {}
    for row in rows:
        merged.update({k: v for k, v in (row.context or {}).items() if k in PUBLIC_VARIABLES})
        merged.update({k: v for k, v in (row.submitted_data or {}).items() if k in PUBLIC_VARIABLES})
    return merged


def _iso(value):
    return value.isoformat() if value is not None else None
