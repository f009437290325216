"""What the intake desk's answer to a mail does (processes/mail_intake.bpmn, after "Complete registration"):
register the complaint through the registration service, with the mail's files attached and the mail linked to
the case; or close the mail as not a complaint, with the reason. Called by the service tasks (app/tasks)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine import audit
from app.engine.attachments.storage import FileStorage
from app.engine.complaints.registration import register_complaint
from app.engine.core.actors import SYSTEM, Actor
from app.engine.intake.mail import NOT_A_COMPLAINT, attach_file
from app.engine.intake.messages import MailFile
from app.engine.models import Complaint, InboundMessage, UserTask

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

# The registration form's fields the intake task's form shares (complete_registration.schema.json).
REGISTRATION_FIELDS = ("customer_name", "customer_contact", "customer_reference", "language", "product",
                       "place_of_business", "category", "severity", "amount_involved", "description", "received_at")


def register_from_mail(uow: UnitOfWork, actor: Actor, instance_id: int, data: Mapping) -> Complaint:
    """Register the complaint the mail of intake ``instance_id`` made (``data``: the completed form), received by
    e-mail; the mail's files are kept with it as the customer's, and the intake task is linked to the case."""
    fields = {name: data[name] for name in REGISTRATION_FIELDS if data.get(name) not in (None, "")}
    complaint = register_complaint(uow, actor, {**fields, "channel": "email"})
    row = _inbound(uow, instance_id)
    if row is not None:
        row.complaint_id = complaint.id
        storage = FileStorage(uow.settings.attachments.storage_dir)
        for held in row.held_files:
            try:
                kept = storage.get(held["storage_key"])
            except FileNotFoundError:   # storage lost it: the registration goes on, the loss is recorded
                audit.record(uow, SYSTEM, "mail_attachment_refused", at=uow.now(), complaint_id=complaint.id,
                             inbound_message_id=row.id, filename=held["filename"], refusal="missing from storage")
                continue
            # Kept by the system: the customer sent them, whoever completed the registration.
            attach_file(uow, SYSTEM, complaint.id, row, MailFile(held["filename"], kept))
        # The held copies stay in storage unreferenced (as a rolled-back attachment's would): deleting them here
        # could not be undone if this step then lost to another.
        row.held_files = []
    # The intake task belongs to the case's history now (and to its retention: complaints/retention.py).
    for task in uow.session.scalars(select(UserTask).where(UserTask.instance_id == instance_id)):
        task.complaint_id = complaint.id
    return complaint


def close_not_a_complaint(uow: UnitOfWork, actor: Actor, instance_id: int, reason: str) -> None:
    row = _inbound(uow, instance_id)
    if row is not None:
        row.outcome, row.reason = NOT_A_COMPLAINT, reason[:200]
        row.held_files = []   # unreferenced in storage from now on (see register_from_mail)
    audit.record(uow, actor, "mail_not_a_complaint", at=uow.now(), instance_id=instance_id,
                 inbound_message_id=row.id if row is not None else None, reason=reason)


def _inbound(uow: UnitOfWork, instance_id: int) -> InboundMessage | None:
    return uow.session.scalar(select(InboundMessage).where(InboundMessage.instance_id == instance_id))
