"""Registering complaints and reading one complaint's state."""
from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from app.engine import audit
from app.engine.access import permissions, read_policy
from app.engine.complaints import classification, contacts, forwarding, idempotency
from app.engine.complaints import receipt as receipt_time
from app.engine.complaints.instances import COMPLAINT_PROCESS
from app.engine.core.actors import Actor
from app.engine.core.errors import InvalidSubmission, NotFound
from app.engine.deadlines import case_calendars
from app.engine.deadlines.urgency import is_urgent
from app.engine.governance.definitions import latest_definition
from app.engine.models import Complaint
from app.engine.process import steps

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

# Read from app/forms/ as it is now, never pinned: a registration comes before any case and so before any
# definition version; it is validated by the service, not by a user task of the diagram, and no version names it.
REGISTRATION_FORM = "register_complaint.schema.json"


def new_tracking_number(now: datetime) -> str:
    # Random, not sequential: customers use it to follow their case, so it must not be guessable.
    return f"CF-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"


def start_data(complaint: Complaint) -> dict:
    """The process's start data: the registered facts plus the variables the gateways read."""
    received = complaint.received_at.isoformat()
    return {
        "complaint_id": complaint.id, "tracking_number": complaint.tracking_number,
        "customer_name": complaint.customer_name, "customer_contact": complaint.customer_contact,
        # Codes (config/classification.toml): ``product`` picks the product's deadline track in sla_due_at.
        "channel": complaint.channel, "product": complaint.product_code, "category": complaint.category,
        "place_of_business": complaint.place_code,
        "severity": complaint.severity, "urgent": complaint.urgent,
        "amount_involved": str(complaint.amount_involved) if complaint.amount_involved is not None else None,
        "description": complaint.description, "received_at": received, "sla_clock_start": received,
        "reopen_count": 0, "reopen_target": None, "language": complaint.language,
        # The case's deadline facts, for the task context: the engine reads them from the complaint row
        # (deadlines/expressions.py CaseDeadlines), so no script can change them.
        "calendar": complaint.calendar_code, "forwarded_by": complaint.forwarded_by,
        "forwarded_due_at": complaint.forwarded_due_at.isoformat() if complaint.forwarded_due_at else None,
    }


def register_once(uow: UnitOfWork, actor: Actor, data: dict, idempotency_key: str | None
                  ) -> tuple[Complaint, bool]:
    """``register_complaint``, once per ``idempotency_key`` (the API's Idempotency-Key header): a retry of the same
    request answers with the complaint the first one made. Returns the complaint and whether it was made before."""
    if idempotency_key is None:
        return register_complaint(uow, actor, data), False
    _require_register(uow, actor)  # before the key is looked at: a caller who may not register learns nothing
    held, earlier = idempotency.hold(uow, actor, idempotency.check_key(idempotency_key), data)
    if earlier is not None:
        if not may_read(uow, actor, earlier):  # the key is the caller's own; never answer with another's case
            raise NotFound("complaint")
        return earlier, True
    assert held is not None
    complaint = register_complaint(uow, actor, data)
    idempotency.made(uow, held, complaint)
    return complaint, False


def _require_register(uow: UnitOfWork, actor: Actor) -> None:
    permissions.require(uow, actor, "complaint.register",
                        "Only intake staff, coordinators, channel integrations and customers may register complaints")


def register_complaint(uow: UnitOfWork, actor: Actor, data: dict) -> Complaint:
    _require_register(uow, actor)
    now = uow.now()
    text, coded, received, forwarded = _validated(uow, actor, data, now)
    severity = data.get("severity", "general")
    place = data.get("place_of_business") or uow.settings.classification.channel_places.get(data["channel"])
    calendar = case_calendars.choose(uow.settings.sla_profile, place=place, explicit=data.get("calendar_code"),
                                     address=text["customer_contact"] if contacts.kind_of(
                                         text["customer_contact"]) == contacts.POSTAL else None)
    complaint = Complaint(
        tracking_number=new_tracking_number(now), customer_name=text["customer_name"],
        customer_contact=text["customer_contact"], customer_reference=text.get("customer_reference"),
        channel=data["channel"], forwarded_reference=text.get("forwarded_reference"),
        # The product's English name as registered stays beside its code: the history reads as it was then.
        product=coded["product"].en, product_code=coded["product"].code, place_code=place,
        category=data["category"], severity=severity,
        urgent=is_urgent(uow.settings.urgent_categories, data["category"], severity),
        amount_involved=Decimal(data["amount_involved"]) if data.get("amount_involved") else None,
        description=text["description"], status="registered", received_at=received, registered_at=now,
        forwarded_by=forwarded.forwarded_by, forwarded_at=forwarded.forwarded_at,
        forwarded_due_at=forwarded.forwarded_due_at, reply_route=forwarded.reply_route, calendar_code=calendar,
        # The customer's letters: the language they chose, else the regime's usual one (config/sla.toml).
        language=data.get("language") or uow.settings.sla_profile.language,
        registered_by=actor.username, registered_by_id=actor.user_id)
    uow.session.add(complaint)
    uow.session.flush()
    # The registration's one instant (registered_at, the process start): the history then reads "registered"
    # before "process started" (same time, then the order written), not the other way round. When it reached
    # the bank (received_at, which starts the clocks) may be earlier: the event says both.
    audit.record(uow, actor, "complaint_registered", at=now, complaint_id=complaint.id,
                 tracking_number=complaint.tracking_number, channel=complaint.channel,
                 received_at=received.isoformat(), calendar=calendar, forwarded_by=forwarded.forwarded_by)
    definition = latest_definition(uow.session, COMPLAINT_PROCESS)
    steps.start_process(uow, actor, definition, start_data(complaint), complaint, now=now)
    return complaint


def _validated(uow: UnitOfWork, actor: Actor, data: dict, now: datetime
               ) -> tuple[dict, dict[str, classification.Entry], datetime, forwarding.Forwarded]:
    """The form's rules (lengths, choices, required text with content), when it was received
    (complaints/receipt.py), the codes against the classification in force on the day of receipt, the forwarding
    facts (complaints/forwarding.py), then the contact typed and normalised (app/engine/complaints/contacts.py),
    every error in one InvalidSubmission; the trimmed text, the coded fields' entries, the receipt and the
    forwarding facts."""
    errors: dict[str, list[str]] = {}
    try:
        uow.runtime.forms.validate(REGISTRATION_FORM, data)
    except InvalidSubmission as err:
        errors = dict(err.errors)
        if not isinstance(data, dict):
            raise
    text = _trimmed(data)
    coded: dict[str, classification.Entry] = {}
    received, receipt_errors = receipt_time.received_at(uow, actor, data, now)
    errors.update(receipt_errors)
    received_on = received.astimezone(ZoneInfo(uow.settings.sla_profile.timezone)).date()   # the regime's day
    forwarded, forwarding_errors = forwarding.checked(uow.settings, data, received, received_on)
    for name, messages in forwarding_errors.items():
        errors.setdefault(name, messages)   # the form's own message first (a reference too long ...)
    try:
        coded = classification.coded(uow.settings.classification,
                                     {k: v for k, v in data.items() if k not in errors}, received_on)
    except InvalidSubmission as err:
        errors.update(err.errors)
    if "customer_contact" in text and "customer_contact" not in errors:
        calendar = uow.settings.sla_profile.calendar
        try:
            text["customer_contact"] = contacts.parse(text["customer_contact"],
                                                      calendar.country if calendar else None).value
        except contacts.InvalidContact as err:
            errors["customer_contact"] = [err.message]
    if errors:
        raise InvalidSubmission(errors)
    return text, coded, received, forwarded


def _trimmed(data: dict) -> dict:
    """The free-text fields without surrounding spaces; an optional one left blank is absent (stored NULL)."""
    fields = ("customer_name", "customer_contact", "customer_reference", "forwarded_reference", "description")
    return {name: data[name].strip() for name in fields
            if isinstance(data.get(name), str) and data[name].strip()}


def may_read(uow: UnitOfWork, actor: Actor, complaint: Complaint) -> bool:
    return read_policy.may_read_complaint(uow, actor, complaint)


def get_complaint(uow: UnitOfWork, actor: Actor, complaint_id: int, language: str = "en") -> dict:
    """The complaint as the read policy lets this actor see it, its codes named in ``language`` (NotFound /
    NotAllowed otherwise)."""
    return read_policy.complaint_view(uow, actor, read_policy.require_complaint(uow, actor, complaint_id), language)


def summary(uow: UnitOfWork, actor: Actor, complaint: Complaint, language: str = "en") -> dict:
    """The complaint row's fields this actor may see (no history, tasks or messages), codes named in ``language``."""
    return read_policy.complaint_summary(uow, actor, complaint, language)


def receipt(uow: UnitOfWork, complaint: Complaint) -> dict:
    """What the registrant keeps as evidence of the registration: its tracking number and time, and the signed
    checkpoint of the audit trail that will include the registration (audit/checkpoints.py): once that checkpoint
    is signed, the bank cannot move or remove the registration without ``complaintflow audit verify`` showing it.
    Call it in the registering unit of work."""
    checkpoint = audit.receipt_checkpoint(uow, uow.now())
    return {"tracking_number": complaint.tracking_number, "registered_at": uow.now().isoformat(),
            "received_at": complaint.received_at.isoformat(),
            "audit_checkpoint_due_by": checkpoint.at.isoformat(), "audit_key_id": checkpoint.key_id}
