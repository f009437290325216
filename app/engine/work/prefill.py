"""What a task's form starts with, and what was said that it answers (issue 27, items 2, 3 and 5).

A rejected or reopened draft starts from the latest completed draft of its case; a department's second-round
investigation from that department's previous findings; classification from what registration captured. Above
the form: the approver's rejection comment or the reopen reason (whichever came last), and for investigations
the triage note for the departments. Everything passes the read policy: what the actor may not read is neither
pre-filled nor shown.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine.access import read_policy
from app.engine.core.actors import Actor
from app.engine.models import Complaint, InboundMessage, UserTask

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

DRAFT = "draft_resolution.schema.json"
INVESTIGATE = "investigate_complaint.schema.json"
CLASSIFY = "classify_complaint.schema.json"
APPROVE = "approve_resolution.schema.json"
REOPEN = "decide_reopen.schema.json"
TRIAGE = "triage_complaint.schema.json"
FEEDBACK = "record_feedback.schema.json"
COMPLETE_REGISTRATION = "complete_registration.schema.json"


def initial_values(uow: UnitOfWork, actor: Actor, task: UserTask, declared: set[str]) -> dict:
    """The values the task's form starts with: only fields it declares (``declared``), only what the read policy
    lets ``actor`` see. Empty for a task with nothing to carry over, or one that is no longer ready."""
    if task.state == "ready" and task.form == COMPLETE_REGISTRATION:
        values = _mailed(uow, task)
    elif task.state != "ready" or task.complaint_id is None:
        return {}
    elif task.form == DRAFT:
        values = _latest_submitted(uow, task, DRAFT)
    elif task.form == INVESTIGATE:
        values = _latest_submitted(uow, task, INVESTIGATE, department=task.department)
    elif task.form == CLASSIFY:
        values = _registered(uow, task)
    else:
        values = {}
    visible = read_policy.filter_variables(uow, actor, values)
    return {k: v for k, v in visible.items() if k in declared and v is not None and v != ""}


def _mailed(uow: UnitOfWork, task: UserTask) -> dict:
    """What the mail of an e-mail intake said (app/engine/intake), as the registration fields it fills."""
    mail = uow.session.scalar(select(InboundMessage).where(InboundMessage.instance_id == task.instance_id))
    if mail is None:
        return {}
    name = mail.sender_name or mail.sender.split("@")[0]
    received = min(mail.sent_at, mail.received_at) if mail.sent_at is not None else mail.received_at
    return {"customer_name": name, "customer_contact": mail.sender,
            "description": f"{mail.subject.strip()}\n\n{mail.body.strip()}".strip()[:10_000],
            "received_at": received.isoformat()}


def notes(uow: UnitOfWork, actor: Actor, task: UserTask) -> dict[str, str]:
    """What was said that this task answers, by variable: ``approval_comment`` (a rejection) or, after a reopening,
    ``feedback_comment`` and ``reopen_reason``, whichever came last, for a draft or an investigation; and
    ``triage_note`` for an investigation."""
    if task.state != "ready" or task.complaint_id is None or task.form not in (DRAFT, INVESTIGATE):
        return {}
    said: dict = {}
    last = _latest(uow, task, (APPROVE, REOPEN))
    if last is not None and last.form == REOPEN:
        # the customer's own words (their feedback) and the complaints unit's reason for reopening
        said["feedback_comment"] = _latest_submitted(uow, task, FEEDBACK).get("feedback_comment")
        said["reopen_reason"] = (last.submitted_data or {}).get("reopen_reason")
    elif last is not None and (last.submitted_data or {}).get("approval_decision") == "reject" and task.form == DRAFT:
        said["approval_comment"] = (last.submitted_data or {}).get("approval_comment")
    if task.form == INVESTIGATE:
        said["triage_note"] = _latest_submitted(uow, task, TRIAGE).get("triage_note")
    visible = read_policy.task_notes(uow, actor, task, said)
    return {k: v for k, v in visible.items() if isinstance(v, str) and v.strip()}


def _latest(uow: UnitOfWork, task: UserTask, forms: tuple[str, ...],
            department: str | None = None) -> UserTask | None:
    """The case's last completed task with one of ``forms`` (of ``department``, if given) before ``task``."""
    query = (select(UserTask).where(UserTask.complaint_id == task.complaint_id, UserTask.state == "completed",
                                    UserTask.form.in_(forms), UserTask.id != task.id)
             .order_by(UserTask.completed_at.desc(), UserTask.id.desc()).limit(1))
    if department is not None:
        query = query.where(UserTask.department == department)
    return uow.session.scalar(query)


def _latest_submitted(uow: UnitOfWork, task: UserTask, form: str, department: str | None = None) -> dict:
    found = _latest(uow, task, (form,), department)
    return dict(found.submitted_data or {}) if found is not None else {}


def _registered(uow: UnitOfWork, task: UserTask) -> dict:
    """What registration captured: the task's own facts, and the place of business the complaint row keeps."""
    values = {k: task.context.get(k) for k in ("category", "severity", "product")}
    complaint = uow.session.get(Complaint, task.complaint_id)
    if complaint is not None:
        values["place_of_business"] = complaint.place_code
    return values
