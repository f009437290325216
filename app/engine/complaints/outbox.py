"""The outbox's delivery bookkeeping: claim due messages, record each result, give up into an incident.

Sending itself (SMTP, files) is I/O and happens outside any transaction, in the sender adapter
(app/delivery.py): claim in one unit of work, send, record each message's result in a unit of work of its own.
A claim is a row update (FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite), so any number of
senders run without sending a message twice; a claim is a lease (``state = 'sending'`` until ``lease_until``),
so a message claimed by a sender that died is claimed again once the lease ends. Each claim counts an attempt:
a message whose sender died MAX_ATTEMPTS times (a message that kills the sender itself) is given up into its
incident instead of being claimed for ever. ``attempts`` identifies a claim: a sender records only the result
of its own claim (``_still_claimed``).

Delivery is at least once: the mail server's acceptance and the row's update cannot be one transaction, so a
sender that dies after the server accepted and before ``record_sent`` committed leaves the message to be sent
again when its lease ends. The outbox row is the record of what was sent; the Message-ID, stable per message,
lets a receiving system discard the second copy. The sender never starts a send after half its lease
(``SEND_WITHIN``): what is left of its batch goes back (``release``) rather than outliving the claim.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select

from app.engine import audit
from app.engine.core.actors import SYSTEM, Actor
from app.engine.models import Complaint, Incident, OutboxMessage
from app.engine.process import incidents

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

LEASE = timedelta(minutes=10)           # far longer than one SMTP exchange (30 s timeout)
SEND_WITHIN = LEASE / 2                 # no send starts later than this after the claim
MAX_ATTEMPTS = 6
FIRST_RETRY = incidents.BACKOFF_FIRST   # then 2, 4, 8, 16 minutes: the incidents' backoff
INCIDENT_KIND = "delivery"
# The states of a message (OutboxMessage.state): pending and sending wait for the sender; to_post waits in the
# print queue for staff; sent and failed are final (a failed one is sent again only by retry_failed).
PENDING, SENDING, TO_POST, SENT, FAILED = "pending", "sending", "to_post", "sent", "failed"
# A message's e-mail Message-ID: <outbox-ID.DIGEST@domain>, DIGEST of its idempotency key. Stable per message (a
# copy sent again after a crash has the same one), and read back from a reply's In-Reply-To / References
# (intake/matching.py): the digest binds it to the row, so a made-up "outbox-7" threads nothing.
_MESSAGE_ID = re.compile(r"^<?outbox-([0-9]{1,18})\.([0-9a-f]{16})@", re.IGNORECASE)


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    idempotency_key: str
    complaint_id: int | None
    kind: str
    recipient: str
    subject: str
    body: str
    attempt: int


def message_id(outbox_id: int, idempotency_key: str, domain: str) -> str:
    return f"<outbox-{outbox_id}.{_key_digest(idempotency_key)}@{domain}>"


def sent_message(uow: UnitOfWork, message_id_value: str) -> OutboxMessage | None:
    """The outbox message whose e-mail had this Message-ID, if it is one of ours."""
    match = _MESSAGE_ID.match(message_id_value.strip())
    if match is None:
        return None
    row = uow.session.get(OutboxMessage, int(match[1]))
    return row if row is not None and _key_digest(row.idempotency_key) == match[2].lower() else None


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def claim_due(uow: UnitOfWork, now: datetime, limit: int = 50, lease: timedelta = LEASE) -> list[ClaimedMessage]:
    """Claim up to ``limit`` messages that are due (or whose sender's lease ran out) for this sender."""
    due = or_(and_(OutboxMessage.state == "pending",
                   or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now)),
              and_(OutboxMessage.state == "sending", OutboxMessage.lease_until < now))
    query = select(OutboxMessage).where(due).order_by(OutboxMessage.id).limit(limit)
    if uow.runtime.database.is_postgresql:
        query = query.with_for_update(skip_locked=True)
    rows = list(uow.session.scalars(query).all())
    claimed = []
    for row in rows:
        if row.state == "sending" and row.attempts >= MAX_ATTEMPTS:
            _give_up_abandoned(uow, row, now)
            continue
        row.state, row.lease_until, row.attempts = "sending", now + lease, row.attempts + 1
        claimed.append(row)
    uow.session.flush()
    return [ClaimedMessage(id=r.id, idempotency_key=r.idempotency_key, complaint_id=r.complaint_id, kind=r.kind,
                           recipient=r.recipient, subject=r.subject, body=r.body, attempt=r.attempts)
            for r in claimed]


def release(uow: UnitOfWork, messages: list[ClaimedMessage]) -> None:
    """Give back claimed messages this sender will not send now (its lease is running out): due again at once,
    the claim not counted as an attempt. A message another sender has claimed since is left alone."""
    for message in messages:
        row = uow.session.get(OutboxMessage, message.id)
        if row is not None and _still_claimed(row, message):
            row.state, row.lease_until, row.attempts = "pending", None, row.attempts - 1


def _still_claimed(row: OutboxMessage, message: ClaimedMessage) -> bool:
    return row.state == "sending" and row.attempts == message.attempt


def _give_up_abandoned(uow: UnitOfWork, row: OutboxMessage, now: datetime) -> None:
    """A message whose sender died at every one of its attempts (its lease ran out each time): it may well be
    what kills the sender, so it is not claimed again but given up into its incident."""
    error = (f"the sender stopped while sending it, {row.attempts} times (each lease ran out); "
             "it may be what stops the sender")
    row.state, row.lease_until, row.next_attempt_at, row.last_error = "failed", None, None, error
    audit.record(uow, SYSTEM, "message_failed", at=now, complaint_id=row.complaint_id,
                 before={"state": "sending"}, after={"state": "failed"}, message_id=row.id, kind=row.kind,
                 attempt=row.attempts, error=error, gave_up=True)
    _record_incident(uow, row, error, now, gave_up=True)


def record_sent(uow: UnitOfWork, actor: Actor, message: ClaimedMessage, now: datetime, *,
                channel: str = "email") -> None:
    """``channel``: how the message left (``email``, ``sms``; ``file`` and ``sms_file`` in development)."""
    row = uow.session.get_one(OutboxMessage, message.id)  # a claimed message: its row exists
    before = row.state
    row.state, row.sent_at, row.lease_until, row.last_error = "sent", now, None, None
    audit.record(uow, actor, "message_sent", at=now, complaint_id=row.complaint_id, before={"state": before},
                 after={"state": "sent"}, message_id=row.id, kind=row.kind, channel=channel,
                 attempt=row.attempts)
    mark_delivered(uow, row, now)
    incident = _open_incident(uow, message.id)
    if incident is not None:
        incident.state, incident.resolved_at, incident.next_retry_at = "resolved", now, None


def mark_delivered(uow: UnitOfWork, row: OutboxMessage, now: datetime) -> None:
    """What a message's delivery (not its writing) means for its complaint: the complaint is acknowledged when the
    first acknowledgement reaches the customer (sent by wire, or posted), not when the step wrote it."""
    if row.kind != "acknowledgement" or row.complaint_id is None:
        return
    complaint = uow.session.get(Complaint, row.complaint_id)
    if complaint is not None and complaint.acknowledged_at is None:
        complaint.acknowledged_at = now


def record_to_post(uow: UnitOfWork, actor: Actor, message: ClaimedMessage, now: datetime) -> None:
    """A letter to a postal address: nothing leaves by wire, it goes into the print queue (``to_post``) until
    staff print and post it (app/engine/complaints/print_queue.py). Not sent yet: the history says queued."""
    row = uow.session.get_one(OutboxMessage, message.id)  # a claimed message: its row exists
    if not _still_claimed(row, message):
        return
    before = row.state
    row.state, row.lease_until, row.next_attempt_at, row.last_error = TO_POST, None, None, None
    audit.record(uow, actor, "message_queued_for_post", at=now, complaint_id=row.complaint_id,
                 before={"state": before}, after={"state": TO_POST}, message_id=row.id, kind=row.kind,
                 channel="post")
    incident = _open_incident(uow, message.id)  # an earlier attempt (e.g. before post existed) is now handled
    if incident is not None:
        incident.state, incident.resolved_at, incident.next_retry_at = "resolved", now, None


def record_failure(uow: UnitOfWork, actor: Actor, message: ClaimedMessage, error: str, now: datetime, *,
                   permanent: bool = False, channel: str = "email") -> bool:
    """Schedule a retry with backoff; after MAX_ATTEMPTS, or at once for a permanent refusal, give up and open
    an incident for managers. Returns True when the message was given up."""
    row = uow.session.get_one(OutboxMessage, message.id)  # a claimed message: its row exists
    if not _still_claimed(row, message):
        return False  # this sender's lease ran out and another sender claimed it since: its result counts
    error = printable(error)
    before = row.state
    row.last_error, row.lease_until = error[:2000], None
    give_up = permanent or row.attempts >= MAX_ATTEMPTS
    if give_up:
        row.state, row.next_attempt_at = "failed", None
    else:
        row.state, row.next_attempt_at = "pending", now + incidents.backoff(row.attempts)
    # Every failed attempt is in the history: a retry is "pending" again, a given-up message "failed".
    audit.record(uow, actor, "message_failed", at=now, complaint_id=row.complaint_id, before={"state": before},
                 after={"state": row.state}, message_id=row.id, kind=row.kind, channel=channel,
                 attempt=row.attempts, error=row.last_error[:500], gave_up=give_up)
    _record_incident(uow, row, error, now, give_up)
    return give_up


def retry_failed(uow: UnitOfWork, message_id: int, now: datetime) -> None:
    """A manager fixed the cause (e.g. the customer's address): send the given-up message again."""
    row = uow.session.get(OutboxMessage, message_id)
    if row is not None and row.state == "failed":
        row.state, row.next_attempt_at, row.attempts = "pending", now, 0


def resolve_incident(uow: UnitOfWork, message_id: int, now: datetime, note: str) -> None:
    """Close the message's open incident by a person's action (a resend), noting what was done; a new failure of
    the message opens a new incident."""
    incident = _open_incident(uow, message_id)
    if incident is not None:
        incident.state, incident.resolved_at, incident.next_retry_at = "resolved", now, None
        incident.message = f"{incident.message} | {note}"[:4000]


def _incident_element(message_id: int) -> str:
    return f"outbox_message:{message_id}"


def _open_incident(uow: UnitOfWork, message_id: int) -> Incident | None:
    return uow.session.scalar(select(Incident).where(Incident.kind == INCIDENT_KIND, Incident.state == "open",
                                                     Incident.element_id == _incident_element(message_id)))


def _record_incident(uow: UnitOfWork, row: OutboxMessage, error: str, now: datetime, gave_up: bool) -> None:
    # One incident per message, opened at the first failure so managers see a message that is struggling,
    # updated by every further attempt; it stays open when the sender gives up and resolves when it is sent.
    incident = _open_incident(uow, row.id)
    message = (f"{'Gave up sending' if gave_up else 'Could not send'} the {row.kind} message to "
               f"{one_line(row.recipient)} (attempt {row.attempts}): {error}")[:4000]
    if incident is None:
        uow.session.add(Incident(kind=INCIDENT_KIND, complaint_id=row.complaint_id,
                                 element_id=_incident_element(row.id), error_type="delivery_failed",
                                 message=message, state="open", attempts=row.attempts, first_failed_at=now,
                                 last_failed_at=now, next_retry_at=row.next_attempt_at))
    else:
        incident.message, incident.attempts, incident.last_failed_at = message, row.attempts, now
        incident.next_retry_at = row.next_attempt_at


def one_line(text: str) -> str:
    """A recipient as one printable line (a postal address has several; an old row may hold anything)."""
    return printable(", ".join(part.strip() for part in text.splitlines() if part.strip()))


def printable(text: str) -> str:
    """Text a history, an incident and PostgreSQL can hold: control characters but the line break escaped."""
    return "".join(c if c == "\n" or c.isprintable() else repr(c)[1:-1] for c in text)
