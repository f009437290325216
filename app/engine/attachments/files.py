"""Attaching a file to a complaint, listing a complaint's files and reading one: the service the API, the pages
and the channels share. One command, one transaction: the file is written to storage before the row, so a
committed row always has its bytes (a rolled-back command can leave an unreferenced file, never a row without
one)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app.engine import audit
from app.engine.access import permissions, read_policy
from app.engine.attachments import content, scanner
from app.engine.attachments.storage import FileStorage
from app.engine.core.errors import Conflict, InvalidSubmission, NotFound, Unavailable
from app.engine.core.messages import N_, Message
from app.engine.models import Attachment, Complaint

if TYPE_CHECKING:
    from app.engine.core.actors import Actor
    from app.engine.runtime import UnitOfWork

FIELD = "file"
ERASED_NAME = "(erased)"


@dataclass(frozen=True)
class Added:
    """The answer to an attach command: the file kept (``view``), or refused as infected (``infected``, the
    signature): that refusal is recorded in the audit trail, so the command commits and the adapter says no."""
    view: dict | None = None
    infected: str | None = None


def add(uow: UnitOfWork, actor: Actor, complaint_id: int, filename: str, data: bytes | None,
        field_class: str | None = None, *, source: str | None = None) -> Added:
    """Keep ``data`` (None: no file was sent) under ``filename`` with the complaint, if the actor may. ``source``:
    the channel it came by when the actor does not say it (``email``: e-mail intake, acting as the system)."""
    permissions.require(uow, actor, "attachment.add", "You may not attach files to complaints")
    complaint = read_policy.require_complaint(uow, actor, complaint_id)
    if data is None:
        raise InvalidSubmission({FIELD: [Message(N_("Choose a file to attach"))]})
    if complaint.anonymised_at is not None:
        raise Conflict(f"Complaint {complaint.tracking_number} was anonymised; nothing can be attached to it")
    policy = uow.settings.attachments
    klass = _class_for(uow, actor, field_class)
    held = uow.session.scalar(select(func.count()).select_from(Attachment)
                              .where(Attachment.complaint_id == complaint.id)) or 0
    if held >= policy.max_per_complaint:
        raise InvalidSubmission({FIELD: [Message(N_("This complaint already has %(count)s files, the most it can "
                                                    "have"), count=policy.max_per_complaint)]})
    try:
        checked = content.check(data, filename, policy)
    except content.Refused as err:
        raise InvalidSubmission({FIELD: [err.message]}) from None
    digest = hashlib.sha256(data).hexdigest()
    try:
        verdict = scanner.scan(data, policy)
    except scanner.ScannerUnavailable as err:
        raise Unavailable("The virus scanner cannot be reached, so the file was not kept; please try again "
                          f"shortly ({err})") from None
    if verdict.scan == "infected":
        audit.record(uow, actor, "attachment_refused", complaint_id=complaint.id, filename=checked.filename,
                     sha256=digest, size=len(data), signature=verdict.signature)
        return Added(infected=verdict.signature)
    key = FileStorage(policy.storage_dir).put(data)
    row = Attachment(complaint_id=complaint.id, field_class=klass, source=source or _source(uow, actor),
                     filename=checked.filename, media_type=checked.media_type, size=len(data), sha256=digest,
                     storage_key=key, scan=verdict.scan, uploaded_by=actor.username, uploaded_by_id=actor.user_id,
                     created_at=uow.now())
    uow.session.add(row)
    uow.session.flush()
    audit.record(uow, actor, "attachment_added", complaint_id=complaint.id, attachment_id=row.id,
                 filename=row.filename, media_type=row.media_type, size=row.size, sha256=digest,
                 field_class=klass, scan=verdict.scan)
    return Added(view=view(uow, actor, row))


def may_attach(uow: UnitOfWork, actor: Actor, complaint: Complaint) -> bool:
    """Whether the complaint's page offers this reader the form to attach a file (the command checks again)."""
    return permissions.may(uow, actor, "attachment.add") and complaint.anonymised_at is None


def classes_to_choose(uow: UnitOfWork, actor: Actor) -> list[str]:
    """The classes a reader may give a file, the default first; empty: the reader does not choose (customers)."""
    if not read_policy.reads_case_file(uow, actor):
        return []
    allowed = read_policy.attachment_classes(uow, actor)
    return [c for c in (read_policy.CASE_FILE, read_policy.SUBMITTED, read_policy.INTERNAL) if c in allowed]


def list_for(uow: UnitOfWork, actor: Actor, complaint_id: int) -> list[dict]:
    """The complaint's files the actor may read, oldest first."""
    complaint = read_policy.require_complaint(uow, actor, complaint_id)
    classes = read_policy.attachment_classes(uow, actor)
    rows = uow.session.scalars(select(Attachment).where(Attachment.complaint_id == complaint.id,
                                                        Attachment.field_class.in_(classes))
                               .order_by(Attachment.id))
    return [view(uow, actor, row) for row in rows]


def read(uow: UnitOfWork, actor: Actor, attachment_id: int) -> tuple[dict, bytes]:
    """One file and its bytes, if the actor may read its complaint and its class (else NotFound: whether a file
    of another class exists is not said)."""
    row = uow.session.get(Attachment, attachment_id)
    complaint = uow.session.get(Complaint, row.complaint_id) if row is not None else None
    if (row is None or complaint is None or not read_policy.may_read_complaint(uow, actor, complaint)
            or row.field_class not in read_policy.attachment_classes(uow, actor)):
        raise NotFound(f"Attachment {attachment_id} does not exist")
    if row.storage_key is None:
        raise Conflict("The file was erased when its complaint's retention period ended")
    try:
        data = FileStorage(uow.settings.attachments.storage_dir).get(row.storage_key)
    except FileNotFoundError:
        raise Conflict("The file is missing from storage; tell the system administrator") from None
    if hashlib.sha256(data).hexdigest() != row.sha256:  # evidence: never hand out bytes that changed
        raise Conflict("The stored file no longer matches its digest; tell the system administrator")
    return view(uow, actor, row), data


def erase(uow: UnitOfWork, complaint_id: int, now: datetime) -> int:
    """Retention: the files' bytes and names go; digest, size, type and dates stay. How many were erased."""
    storage = FileStorage(uow.settings.attachments.storage_dir)
    erased = 0
    for row in uow.session.scalars(select(Attachment).where(Attachment.complaint_id == complaint_id,
                                                            Attachment.erased_at.is_(None))):
        if row.storage_key is not None:
            storage.delete(row.storage_key)
        row.storage_key, row.filename, row.erased_at = None, ERASED_NAME, now
        erased += 1
    return erased


def view(uow: UnitOfWork, actor: Actor, row: Attachment) -> dict:
    answer: dict = {"id": row.id, "complaint_id": row.complaint_id, "filename": row.filename,
                    "media_type": row.media_type, "size": row.size, "sha256": row.sha256,
                    "field_class": row.field_class, "source": row.source, "scan": row.scan,
                    "created_at": row.created_at.isoformat(), "erased": row.erased_at is not None}
    if read_policy.reads_case_file(uow, actor):  # a staff name: the case file's
        answer["uploaded_by"] = row.uploaded_by
    return answer


def _source(uow: UnitOfWork, actor: Actor) -> str:
    kind = read_policy.audience(uow, actor)
    return kind if kind in {"customer", "channel"} else "staff"


def _class_for(uow: UnitOfWork, actor: Actor, asked: str | None) -> str:
    """Customers and channels attach the customer's documents (``submitted``); staff choose, by default the
    case file, and never a class they could not read back."""
    allowed = read_policy.attachment_classes(uow, actor)
    if not read_policy.reads_case_file(uow, actor):
        if asked not in (None, read_policy.SUBMITTED):
            raise InvalidSubmission({"field_class": [Message(N_("Files you attach are kept as yours"))]})
        return read_policy.SUBMITTED
    chosen = asked or read_policy.CASE_FILE
    if chosen not in allowed:
        raise InvalidSubmission({"field_class": [f"Choose one of: {', '.join(sorted(allowed))}"]})
    return chosen
