"""Taking in one e-mail: once (its Message-ID, or its digest, is unique in inbound_messages and written in the
transaction of its effect), then ignored (automatic mail: never answered, never a task), threaded to its case
(a reply from the case's contact) or handed to the intake desk as a "Complete registration" task
(processes/mail_intake.bpmn) with what the mail said."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.engine import audit
from app.engine.access import permissions, read_policy
from app.engine.attachments import files
from app.engine.attachments.storage import FileStorage
from app.engine.complaints import outbox
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, InvalidSubmission
from app.engine.deadlines.sla_warnings import coordinators, owners
from app.engine.governance.definitions import latest_definition
from app.engine.intake import automatic, matching
from app.engine.intake.messages import InboundMail, MailFile
from app.engine.letters import render_notice
from app.engine.models import Complaint, InboundMessage, OutboxMessage, UserTask
from app.engine.process import steps

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

INTAKE_PROCESS = "mail_intake"
DESCRIPTION_LIMIT = 10_000   # register_complaint.schema.json's maxLength
INTAKE, REPLY, IGNORED, NOT_A_COMPLAINT = "intake", "reply", "ignored", "not_a_complaint"


class AlreadyTaken(Conflict):
    """Another reader took this message in first (its row committed while this one was writing its own)."""


@dataclass(frozen=True)
class Taken:
    outcome: str                    # intake | reply | ignored | duplicate
    inbound_id: int | None = None
    complaint_id: int | None = None
    instance_id: int | None = None
    reason: str | None = None


def take_in(uow: UnitOfWork, actor: Actor, mail: InboundMail, source: str) -> Taken:
    """What becomes of ``mail`` (read from a ``source``: maildir, mbox, imap). A message taken in before is left
    (``duplicate``); one another reader is taking in at the same moment raises AlreadyTaken when that reader
    commits (the adapter rolls back and counts it as a duplicate)."""
    permissions.require(uow, actor, "mail.take_in", "Only the system takes in the complaints mailbox")
    key = mail.key
    if uow.session.scalar(select(InboundMessage.id).where(InboundMessage.message_key == key)) is not None:
        return Taken("duplicate")
    now = uow.now()
    row = InboundMessage(message_key=key, message_id=(mail.message_id or "").strip()[:300] or None, source=source,
                         sender=mail.sender.strip()[:300], sender_name=mail.sender_name.strip()[:200] or None,
                         subject=mail.subject, body=mail.text, thread_ids=list(mail.thread_ids),
                         sent_at=mail.sent_at, received_at=now, outcome="pending", held_files=[])
    uow.session.add(row)
    try:
        uow.session.flush()   # the unique key: a second reader waits here for the first, then fails
    except IntegrityError as err:
        raise AlreadyTaken(f"Message {key} was taken in by another reader") from err
    why = automatic.reason(mail)
    if why is not None:
        return _ignore(uow, actor, row, mail, why, now)
    complaint = matching.case_of(uow, mail)
    if complaint is not None and matching.sender_may_reply(complaint, mail.sender):
        return _reply(uow, actor, row, complaint, mail, now)
    return _to_intake(uow, actor, row, mail, now, "sender_not_case_contact" if complaint is not None else None)


def _ignore(uow: UnitOfWork, actor: Actor, row: InboundMessage, mail: InboundMail, why: str,
            now: datetime) -> Taken:
    row.outcome, row.reason = IGNORED, why
    bounced = _bounced_letter(uow, mail) if why == "bounce" else None
    if bounced is not None and bounced.state == outbox.SENT:
        # Our letter did not arrive: its delivery failed after all (the print queue or a resend picks it up).
        bounced.state, bounced.last_error = outbox.FAILED, "bounced: the receiving system returned it"
        audit.record(uow, actor, "message_bounced", at=now, complaint_id=bounced.complaint_id,
                     before={"state": outbox.SENT}, after={"state": outbox.FAILED}, message_id=bounced.id,
                     kind=bounced.kind, inbound_message_id=row.id)
    audit.record(uow, actor, "mail_ignored", at=now, inbound_message_id=row.id, reason_code=why,
                 bounced_message_id=bounced.id if bounced is not None else None)
    return Taken(IGNORED, inbound_id=row.id, reason=why)


def _bounced_letter(uow: UnitOfWork, mail: InboundMail) -> OutboxMessage | None:
    for message_id in (*mail.bounced_ids, *mail.thread_ids):
        found = outbox.sent_message(uow, message_id)
        if found is not None:
            return found
    return None


def _reply(uow: UnitOfWork, actor: Actor, row: InboundMessage, complaint: Complaint, mail: InboundMail,
           now: datetime) -> Taken:
    """The customer's reply: recorded on the case, its files kept with it (as theirs: submitted), and the people
    holding the case's open work (else complaint management) told."""
    row.outcome, row.complaint_id = REPLY, complaint.id
    kept = [attach_file(uow, actor, complaint.id, row, item) for item in mail.files]
    # What the reply said, for the case's history (the read policy shows it to those who read the customer's
    # words; the audit trail keeps it apart as personal data, erased by retention).
    audit.record(uow, actor, "customer_reply_received", at=now, complaint_id=complaint.id,
                 inbound_message_id=row.id, reply_from=row.sender, attachment_ids=[k for k in kept if k is not None],
                 data={"reply_subject": row.subject, "reply_text": row.body[:DESCRIPTION_LIMIT]})
    _tell_staff(uow, complaint, row, len([k for k in kept if k is not None]), now)
    return Taken(REPLY, inbound_id=row.id, complaint_id=complaint.id)


def attach_file(uow: UnitOfWork, actor: Actor, complaint_id: int, row: InboundMessage, item: MailFile) -> int | None:
    """Keep one file of the mail with the case (config/attachments.toml decides which); one refused is recorded
    and the rest of the mail still taken in."""
    try:
        added = files.add(uow, actor, complaint_id, item.filename, item.data, read_policy.SUBMITTED, source="email")
    except InvalidSubmission as err:
        audit.record(uow, actor, "mail_attachment_refused", at=uow.now(), complaint_id=complaint_id,
                     inbound_message_id=row.id, filename=item.filename,
                     refusal="; ".join(m for messages in err.errors.values() for m in messages))
        return None
    return added.view["id"] if added.view is not None else None


def _tell_staff(uow: UnitOfWork, complaint: Complaint, row: InboundMessage, attachments: int, now: datetime) -> None:
    open_tasks = list(uow.session.scalars(select(UserTask).where(UserTask.complaint_id == complaint.id,
                                                                 UserTask.state == "ready")))
    recipients = owners(uow.session, uow.settings, open_tasks) or coordinators(uow.session)
    for username, user in sorted(recipients.items()):
        notice = render_notice("customer_reply_notice", user, uow.settings.sla_profile,
                               tracking_number=complaint.tracking_number, customer_name=complaint.customer_name,
                               attachments=attachments)
        uow.session.add(OutboxMessage(idempotency_key=f"inbound:{row.id}:{username}", complaint_id=complaint.id,
                                      kind="customer_reply", recipient=user.email or user.username,
                                      subject=notice.subject, body=notice.body, created_at=now))


def _to_intake(uow: UnitOfWork, actor: Actor, row: InboundMessage, mail: InboundMail, now: datetime,
               why: str | None) -> Taken:
    """A new complaint (or a mail that may not join the case it names): the intake desk completes its
    registration, starting from what the mail said. Its files wait in storage until then."""
    row.outcome, row.reason = INTAKE, why
    storage = FileStorage(uow.settings.attachments.storage_dir)
    row.held_files = [{"filename": item.filename, "storage_key": storage.put(item.data)} for item in mail.files]
    received = min(mail.sent_at, now) if mail.sent_at is not None else now
    name = mail.sender_name.strip() or matching.normalised_address(mail.sender).split("@")[0] or mail.sender
    description = f"{mail.subject.strip()}\n\n{mail.text.strip()}".strip()[:DESCRIPTION_LIMIT]
    data = {"inbound_message_id": row.id, "customer_name": name[:200],
            "customer_contact": mail.sender.strip(),
            "description": description, "received_at": received.isoformat(), "channel": "email",
            "intake_reason": why}
    started = steps.start_process(uow, actor, latest_definition(uow.session, INTAKE_PROCESS), data, None, now=now)
    row.instance_id = started.instance_id
    audit.record(uow, actor, "mail_received", at=now, instance_id=started.instance_id, inbound_message_id=row.id,
                 reason_code=why, files=len(row.held_files))
    return Taken(INTAKE, inbound_id=row.id, instance_id=started.instance_id, reason=why)
