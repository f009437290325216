"""Which case a mail answers, and whether its sender may add to that case.

A reply is threaded by the messages it answers (In-Reply-To, References): one of our letters (its Message-ID
names the outbox row, complaints/outbox.py) or an earlier mail already threaded to a case; failing that, by a
tracking number in its subject. It joins the case only if its sender is the case's contact
(``sender_may_reply``): anyone can write a tracking number in a subject, and a forwarded letter carries our
Message-ID to whoever it was forwarded to."""
from __future__ import annotations

import re
from email.utils import parseaddr
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine.complaints import contacts, outbox
from app.engine.intake.messages import InboundMail
from app.engine.models import Complaint, InboundMessage

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

# registration.new_tracking_number: CF-<yyyymmdd>-<8 hex digits>
TRACKING_NUMBER = re.compile(r"\bCF-[0-9]{8}-[0-9A-F]{8}\b", re.IGNORECASE)


def case_of(uow: UnitOfWork, mail: InboundMail) -> Complaint | None:
    """The complaint ``mail`` answers, if it names one."""
    for message_id in mail.thread_ids:
        letter = outbox.sent_message(uow, message_id)
        if letter is not None and letter.complaint_id is not None:
            return uow.session.get(Complaint, letter.complaint_id)
        earlier = uow.session.scalar(select(InboundMessage.complaint_id).where(
            InboundMessage.message_id == message_id[:300], InboundMessage.complaint_id.is_not(None)).limit(1))
        if earlier is not None:
            return uow.session.get(Complaint, earlier)
    for number in TRACKING_NUMBER.findall(mail.subject):
        found = uow.session.scalar(select(Complaint).where(Complaint.tracking_number == number.upper()))
        if found is not None:
            return found
    return None


def sender_may_reply(complaint: Complaint, sender: str) -> bool:
    """Whether mail from ``sender`` may join ``complaint``: the case's verified contact wrote it. Until customers
    have a record with verified contacts, the contact the complaint was registered with stands for it. The one
    place that decides; the customer record replaces its body."""
    if complaint.anonymised_at is not None or not complaint.customer_contact:
        return False
    if contacts.kind_of(complaint.customer_contact) != contacts.EMAIL:
        return False
    return normalised_address(sender) == normalised_address(complaint.customer_contact) != ""


def normalised_address(value: str) -> str:
    """An address compared as mail systems do in practice: without its display name, case-insensitive."""
    address = parseaddr(value)[1].strip()
    return address.casefold() if address.count("@") == 1 else ""
