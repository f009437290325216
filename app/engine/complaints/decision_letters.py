"""The decision letter's structured data and its mandated-element check at the steps that lead to it.

The letter is written from what staff wrote for the customer (the read policy's ``letter_facts``: never the
internal resolution summary) and from the case: who forwarded it (the CFPB wording), and on a reopened case the
date of the earlier decision it reviews. The same check (app/engine/letters/clauses.py) runs when the draft is
completed, when the approver approves it, and when the letter is sent, so a letter missing an element the
regime mandates is refused at the first of them, naming the element and the field it needs."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.engine.access import read_policy
from app.engine.config.classification import name_of
from app.engine.governance import letter_library
from app.engine.letters import check_letter, language_for
from app.engine.models import Complaint, UserTask

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.engine.config.letter_library import LetterLibrary
    from app.engine.config.settings import Settings
    from app.engine.runtime import UnitOfWork

KIND = "decision"
# The user tasks whose completion the decision letter depends on (BPMN element ids of processes/, stable: they
# live in persisted state): the draft, and its approval (only when it approves).
DRAFT_TASK = "draft_resolution"
APPROVAL_TASK = "approve_resolution"


def letter_language(settings: Settings, complaint: Complaint, data: Mapping[str, object]) -> str:
    language = data.get("language")
    return language_for(complaint.language or (language if isinstance(language, str) else None),
                        settings.sla_profile)


def decision_facts(settings: Settings, complaint: Complaint, data: Mapping[str, object]) -> dict[str, object]:
    """The letter's structured data: outcome, reasons, redress, basis and facts (for the customer), the
    forwarding body, and the date of the earlier decision a reopened case's new decision refers to."""
    facts = read_policy.letter_facts(data)
    facts["forwarded_by"] = getattr(complaint, "forwarded_by", None)
    facts["reopen_count"] = complaint.reopen_count or 0
    if complaint.reopen_count and complaint.final_response_at is not None:
        zone = ZoneInfo(settings.sla_profile.timezone)
        facts["previous_decision_date"] = complaint.final_response_at.astimezone(zone).date()
    language = letter_language(settings, complaint, data)
    facts["outcome_name"] = name_of(settings.classification, "outcomes", facts.get("resolution_outcome"), language)
    return facts


def check(settings: Settings, complaint: Complaint, data: Mapping[str, object],
          library: LetterLibrary | None = None) -> None:
    """Refuse (InvalidSubmission naming element and field) a decision that would miss a mandated element of
    ``library`` (the one in force: governance/letter_library.in_force; the configured one by default)."""
    check_letter(KIND, letter_language(settings, complaint, data), settings.sla_profile,
                 library or settings.letter_library, decision_facts(settings, complaint, data))


def latest_draft(session: Session, complaint_id: int) -> dict:
    """What the latest completed draft of the resolution submitted (empty when none was completed)."""
    row = session.scalars(select(UserTask).where(
        UserTask.complaint_id == complaint_id, UserTask.element_id == DRAFT_TASK, UserTask.state == "completed")
        .order_by(UserTask.completed_at.desc(), UserTask.id.desc()).limit(1)).first()
    return dict(row.submitted_data or {}) if row is not None else {}


def check_completion(uow: UnitOfWork, task: UserTask, data: Mapping[str, object]) -> None:
    """Called before a user task is completed (work/user_tasks.py): the draft and its approval are refused while
    the decision letter they lead to would miss a mandated element."""
    if task.element_id not in (DRAFT_TASK, APPROVAL_TASK) or task.complaint_id is None:
        return
    if task.element_id == APPROVAL_TASK and data.get("approval_decision") != "approve":
        return
    complaint = uow.session.get(Complaint, task.complaint_id)
    if complaint is None:
        return
    letter_data = data if task.element_id == DRAFT_TASK else latest_draft(uow.session, complaint.id)
    # Against the library the letter will be written from: an edit still awaiting compliance is not yet in force.
    library = letter_library.in_force(uow.session, uow.settings.letter_library)
    check(uow.settings, complaint, {**(task.context or {}), **letter_data}, library)
