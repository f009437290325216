"""Letters that did not reach the customer by wire: the print queue (``to_post``) and the failed ones.

A letter to a postal address is put in the print queue by the sender (app/delivery.py, outbox.record_to_post).
Staff with ``letter.dispatch`` (config/permissions.toml) list the queue oldest first, print each letter (the page
adapter renders it to PDF) and mark it dispatched once it is in the post: then, and only then, the message is
``sent`` (with ``sent_at``) and the history says so (``message_sent``, channel ``post``, by that person). The same
list shows the letters the sender gave up on, with the reason, so staff can correct the contact and **resend**
one: it goes back to the sender (``pending``, attempts counted afresh), the history says ``message_resent``, and
its incident is resolved with a note of who resent it (a new failure opens a new one). Resending a letter that is
not failed (a double click, another person was quicker) is a Conflict, never a second send.

Only the complaints the actor may read are listed (the read policy's scope).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine import audit
from app.engine.access import permissions, read_policy
from app.engine.complaints import outbox
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, NotFound
from app.engine.models import Complaint, OutboxMessage

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

REFUSAL = "Only coordinators and the head of complaints handle the letters to post."


@dataclass(frozen=True)
class Undelivered:
    id: int
    complaint_id: int | None
    tracking_number: str | None
    kind: str
    state: str                 # to_post | failed
    recipient: str
    subject: str
    created_at: datetime
    reason: str | None         # why a failed message was given up


@dataclass(frozen=True)
class PrintableLetter:
    id: int
    tracking_number: str | None
    language: str | None       # the complaint's language: the letter was written in it
    recipient_lines: list[str]
    subject: str
    body: str
    created_at: datetime
    state: str


def may_dispatch(source: permissions.TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "letter.dispatch")


def _require_dispatcher(uow: UnitOfWork, actor: Actor) -> None:
    permissions.require(uow, actor, "letter.dispatch", REFUSAL)


def undelivered(uow: UnitOfWork, actor: Actor) -> tuple[list[Undelivered], list[Undelivered]]:
    """(letters to post, letters given up), each oldest first, of the complaints the actor may read."""
    _require_dispatcher(uow, actor)
    scope = read_policy.complaint_scope(uow.settings, actor)
    query = (select(OutboxMessage, Complaint.tracking_number)
             .join(Complaint, Complaint.id == OutboxMessage.complaint_id)
             .where(OutboxMessage.state.in_((outbox.TO_POST, outbox.FAILED)), scope)
             .order_by(OutboxMessage.created_at, OutboxMessage.id))
    rows = [Undelivered(id=m.id, complaint_id=m.complaint_id, tracking_number=number, kind=m.kind, state=m.state,
                        recipient=m.recipient, subject=m.subject, created_at=m.created_at, reason=m.last_error)
            for m, number in uow.session.execute(query)]
    return [r for r in rows if r.state == outbox.TO_POST], [r for r in rows if r.state == outbox.FAILED]


def letter_to_print(uow: UnitOfWork, actor: Actor, message_id: int) -> PrintableLetter:
    """A letter of the print queue (or one already posted, to print it again) as it is printed."""
    row, complaint = _postal_letter(uow, actor, message_id)
    return PrintableLetter(id=row.id, tracking_number=complaint.tracking_number, language=complaint.language,
                           recipient_lines=row.recipient.splitlines(), subject=row.subject, body=row.body,
                           created_at=row.created_at, state=row.state)


def mark_dispatched(uow: UnitOfWork, actor: Actor, message_id: int) -> None:
    """The letter is in the post: it is sent now, by this person (Conflict when it is not waiting to be posted)."""
    row, _ = _postal_letter(uow, actor, message_id, for_update=True)
    if row.state != outbox.TO_POST:
        raise Conflict(f"Letter {message_id} is not waiting to be posted (it is {row.state})")
    now = uow.now()
    row.state, row.sent_at = outbox.SENT, now
    audit.record(uow, actor, "message_sent", at=now, complaint_id=row.complaint_id,
                 before={"state": outbox.TO_POST}, after={"state": outbox.SENT}, message_id=row.id, kind=row.kind,
                 channel="post")
    outbox.mark_delivered(uow, row, now)
    uow.session.flush()


def resend(uow: UnitOfWork, actor: Actor, message_id: int) -> int:
    """Send a failed letter again (staff corrected the cause, e.g. the customer's contact): back to the sender at
    once, with a fresh count of attempts. NotFound for a letter of a complaint the actor may not read, Conflict
    for a letter that is not failed (already resent, sent, still being tried). Returns the letter's complaint."""
    _require_dispatcher(uow, actor)
    # Locked: two people resending at once: the second waits, then finds it pending (Conflict), so one resend.
    row = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update())
    complaint = uow.session.get(Complaint, row.complaint_id) if row is not None and row.complaint_id else None
    if row is None or complaint is None or not read_policy.may_read_complaint(uow, actor, complaint):
        raise NotFound(f"No letter with id {message_id}")
    if row.state != outbox.FAILED:
        raise Conflict(f"Letter {message_id} is not failed (it is {row.state}): only a failed letter is resent")
    now = uow.now()
    reason = row.last_error
    row.state, row.next_attempt_at, row.lease_until, row.attempts, row.last_error = outbox.PENDING, now, None, 0, None
    audit.record(uow, actor, "message_resent", at=now, complaint_id=row.complaint_id,
                 before={"state": outbox.FAILED}, after={"state": outbox.PENDING}, message_id=row.id, kind=row.kind,
                 error=(reason or "")[:500])
    outbox.resolve_incident(uow, row.id, now, f"Resent by {actor.username}")
    uow.session.flush()
    return complaint.id


def _postal_letter(uow: UnitOfWork, actor: Actor, message_id: int, *,
                   for_update: bool = False) -> tuple[OutboxMessage, Complaint]:
    _require_dispatcher(uow, actor)
    query = select(OutboxMessage).where(OutboxMessage.id == message_id)
    if for_update:
        query = query.with_for_update()  # two people marking the same letter: the second waits, then sees it sent
    row = uow.session.scalar(query)
    complaint = uow.session.get(Complaint, row.complaint_id) if row is not None and row.complaint_id else None
    # A letter of the print queue, or one that was posted (printed again): never one that went by e-mail or SMS.
    postal = row is not None and (row.state == outbox.TO_POST or (row.state == outbox.SENT and complaint is not None
                                  and "post" in read_policy.delivery_channels(uow, complaint.id).get(row.id, ())))
    if row is None or complaint is None or not postal or not read_policy.may_read_complaint(uow, actor, complaint):
        raise NotFound(f"No letter to post with id {message_id}")
    return row, complaint
