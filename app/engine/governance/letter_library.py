"""Compliance's sign-off of the clause library (config/letters.toml), as for a process definition: someone
submits the library's exact bytes (sha256), a compliance officer who did not submit them approves or rejects
them with a comment (four eyes), and a customer letter the library writes is only written from a library whose
checksum compliance approved (``require_signed_off``/``require_signed_off_for``, asked by the step that sends
it). Every submission and decision is a row of ``letter_library_reviews`` and an audit event."""
from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine import audit
from app.engine.access import permissions
from app.engine.access.permissions import TableSource
from app.engine.config.letter_library import LetterLibrary, LetterLibraryError, library_from_source
from app.engine.core.actors import Actor
from app.engine.core.errors import InvalidSubmission, NotAllowed, NotFound
from app.engine.letters import clauses
from app.engine.models import LetterLibraryReview

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.engine.runtime import UnitOfWork

DECISIONS = ("approved", "rejected")


class LibraryNotSignedOff(InvalidSubmission):
    """Compliance never approved a clause library: no letter the library writes (the decision, and every other
    regulated letter listed there) can be written."""

    def __init__(self, checksum: str, status: str | None):
        said = "rejected" if status == "rejected" else "not signed off"
        message = (f"The clause library config/letters.toml (sha256 {checksum}) is {said} by compliance, and no "
                   "earlier library was ever approved: no customer letter can be written. Submit it for review "
                   "(complaintflow letters submit) and have a compliance officer who did not submit it sign it off.")
        super().__init__({"letter_library": [message]}, message)
        self.checksum = checksum


def may_read(source: TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "letter_library.read")


def may_sign_off(source: TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "letter_library.sign_off")


def latest_decision(session: Session, checksum: str) -> LetterLibraryReview | None:
    return session.scalars(select(LetterLibraryReview).where(
        LetterLibraryReview.checksum == checksum, LetterLibraryReview.action.in_(DECISIONS))
        .order_by(LetterLibraryReview.occurred_at.desc(), LetterLibraryReview.id.desc()).limit(1)).first()


def require_signed_off(session: Session, library: LetterLibrary) -> LetterLibrary:
    """The library letters are written from (``in_force``); LibraryNotSignedOff when compliance never approved
    one."""
    return in_force(session, library)


def require_signed_off_for(session: Session, library: LetterLibrary, regime: str, kind: str) -> LetterLibrary:
    """The same for any letter written from the library (its kind listed there, or mandated by the regulation):
    a letter the library does not write (a plain template) needs no sign-off (``library`` is returned)."""
    if library.elements(regime, kind) or (regime, kind) in clauses.MANDATED:
        return in_force(session, library)
    return library


def in_force(session: Session, library: LetterLibrary) -> LetterLibrary:
    """The library in force, as a deployed process version is: the configured one (``library``) once compliance's
    latest decision on exactly its bytes is an approval; while an edit of config/letters.toml awaits review (or
    was rejected), the newest library compliance approved, from the bytes its submission stored, so that no
    customer letter (an acknowledgement at registration, a decision) waits for the review. LibraryNotSignedOff
    only when compliance never approved any."""
    decision = latest_decision(session, library.checksum)
    if decision is not None and decision.action == "approved":
        return library
    approvals = session.scalars(select(LetterLibraryReview.checksum).where(
        LetterLibraryReview.action == "approved")
        .order_by(LetterLibraryReview.occurred_at.desc(), LetterLibraryReview.id.desc())).all()
    for checksum in dict.fromkeys(approvals):   # newest first, each once
        latest = latest_decision(session, checksum)
        if latest is None or latest.action != "approved":
            continue   # approved, then rejected: no longer in force
        source = session.scalars(select(LetterLibraryReview.source).where(
            LetterLibraryReview.checksum == checksum, LetterLibraryReview.action == "submitted",
            LetterLibraryReview.source.is_not(None)).limit(1)).first()
        if source is not None:
            return _approved_library(checksum, source)
    raise LibraryNotSignedOff(library.checksum, decision.action if decision else None)


@cache
def _approved_library(checksum: str, source: str) -> LetterLibrary:
    # Parsed once per approved checksum: the bytes behind a checksum never change.
    return library_from_source(source)


def submit(uow: UnitOfWork, actor: Actor, source: str | None = None, comment: str | None = None) -> LetterLibraryReview:
    """Ask compliance to review these bytes (default: the library the runtime writes letters from)."""
    permissions.require(uow, actor, "letter_library.submit", "Only compliance and process owners submit the "
                                                              "letter library for sign-off")
    text = source if source is not None else uow.settings.letter_library.source
    try:
        library = library_from_source(text)
    except LetterLibraryError as err:
        raise InvalidSubmission({"source": [str(err)]}) from None
    now = uow.now()
    row = LetterLibraryReview(checksum=library.checksum, action="submitted", actor=actor.username,
                              comment=(comment or "").strip() or None, source=library.source, occurred_at=now)
    uow.session.add(row)
    uow.session.flush()
    audit.record(uow, actor, "letter_library_submitted", at=now, checksum=library.checksum, comment=row.comment)
    return row


def submitters(session: Session, checksum: str) -> set[str]:
    return set(session.scalars(select(LetterLibraryReview.actor).where(
        LetterLibraryReview.checksum == checksum, LetterLibraryReview.action == "submitted")))


def decide(uow: UnitOfWork, actor: Actor, checksum: str, decision: str, comment: str) -> LetterLibraryReview:
    """Compliance approves or rejects submitted library bytes by their checksum, with a comment; never its own
    submission (four eyes)."""
    permissions.require(uow, actor, "letter_library.sign_off", "Only compliance signs off the letter library")
    if decision not in DECISIONS:
        raise InvalidSubmission({"decision": ["Choose approve or reject"]})
    comment = (comment or "").strip()
    if not comment:
        raise InvalidSubmission({"comment": ["Say why (the comment is part of the audit trail)"]})
    authors = submitters(uow.session, checksum)
    if not authors:
        raise NotFound(f"No letter library with checksum {checksum} was submitted for review")
    if actor.username in authors:
        raise NotAllowed("You submitted this letter library: another compliance officer must sign it off "
                         "(four eyes)")
    previous = latest_decision(uow.session, checksum)
    now = uow.now()
    row = LetterLibraryReview(checksum=checksum, action=decision, actor=actor.username, comment=comment,
                              occurred_at=now)
    uow.session.add(row)
    uow.session.flush()
    audit.record(uow, actor, "letter_library_" + decision, at=now, before={"review": previous and previous.action},
                 after={"review": decision}, checksum=checksum, comment=comment)
    return row


def status(uow: UnitOfWork, actor: Actor) -> dict:
    """The library letters are written from (its checksum, elements by regime and kind, review status) and the
    review trail of every checksum submitted, newest first."""
    permissions.require(uow, actor, "letter_library.read", "Only compliance, process owners and the head of "
                                                            "complaints read the letter library")
    library = uow.settings.letter_library
    decision = latest_decision(uow.session, library.checksum)
    trail = list(uow.session.scalars(select(LetterLibraryReview)
                                     .order_by(LetterLibraryReview.occurred_at.desc(), LetterLibraryReview.id.desc())))
    return {"checksum": library.checksum, "library": library,
            "review": None if decision is None else {"status": decision.action, "reviewer": decision.actor,
                                                     "comment": decision.comment, "at": decision.occurred_at},
            "signed_off": decision is not None and decision.action == "approved",
            "submitted_by": sorted(submitters(uow.session, library.checksum)),
            "trail": [{"checksum": r.checksum, "action": r.action, "actor": r.actor, "comment": r.comment,
                       "at": r.occurred_at} for r in trail],
            "may_sign_off": may_sign_off(uow, actor),
            "may_submit": permissions.may(uow, actor, "letter_library.submit")}


def bootstrap(uow: UnitOfWork, submitter: Actor, signer: Actor) -> bool:
    """The demo's first sign-off of the shipped library (app/engine/demo/loader.py): only into a database where
    no library was ever signed off, so a later edit of config/letters.toml still needs compliance's review."""
    if uow.session.scalars(select(LetterLibraryReview.id).where(
            LetterLibraryReview.action.in_(DECISIONS)).limit(1)).first() is not None:
        return False
    checksum = submit(uow, submitter, comment="The shipped clause library").checksum
    decide(uow, signer, checksum, "approved", "Demo data: the shipped clause library, signed off for the demo")
    return True
