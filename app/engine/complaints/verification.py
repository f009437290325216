"""核查 (verification), CBIRC Order 2020 No. 3: a customer dissatisfied with the handling decision may, within 30 days
of receiving it, apply to the bank's superior institution (head office) for verification, which gives its opinion
within 30 days of the application.

The request is recorded here, by staff on the customer's behalf or by the customer on their own complaint, checked
(the profile offers verification, a decision was sent, its window has not passed) and handed to the process as the
BPMN message ``verification_requested`` (``steps.DeliverMessage``). The diagram receives it after the decision:
while the customer's feedback is awaited ("Verification requested" on "Record customer feedback"), or once the case
has closed, while it waits out the verification window (the closed case is reopened for it). "Give the verification
opinion" then goes to the verifier role config/sla.toml names (``verifier_role``), under its own ``verification``
deadline; the service task ``send_verification_opinion`` (app/tasks/process_letters.py) writes the letter and closes
the case again. Which profiles offer it is config: those with both a ``verification_request`` (the window) and a
``verification`` (the opinion) deadline.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.engine.access import permissions, read_policy
from app.engine.complaints.instances import running_instance
from app.engine.core.errors import Conflict, InvalidSubmission
from app.engine.core.times import parse_duration
from app.engine.deadlines.sla import due_at
from app.engine.models import Complaint, OutboxMessage, ProcessInstance
from app.engine.process import steps

if TYPE_CHECKING:
    from app.engine.config.settings import SlaProfile
    from app.engine.core.actors import Actor
    from app.engine.runtime import UnitOfWork

WINDOW_SLA = "verification_request"      # how long after the decision the customer may ask
OPINION_SLA = "verification"             # how long the verifier has, from the request
MESSAGE = "verification_requested"
DECISION_LETTER = "reply"                # the outbox kind of the decision letter (app/tasks/customer_messages.py)
MAX_REASON = 2000
FIELDS = ("reason",)


class VerificationRefused(Conflict):
    """A refusal whose English ``template`` is the catalog's msgid: pages translate it and fill in ``params``
    (the API answers the English text)."""

    def __init__(self, template: str, **params: str):
        super().__init__(template % params)
        self.template, self.params = template, params


def offered(profile: SlaProfile) -> bool:
    return WINDOW_SLA in profile.slas and OPINION_SLA in profile.slas


def decision_sent_at(uow: UnitOfWork, complaint: Complaint) -> datetime | None:
    """When the latest decision letter was written (a reopened case's new decision counts from its own date)."""
    return uow.session.scalar(select(OutboxMessage.created_at).where(
        OutboxMessage.complaint_id == complaint.id, OutboxMessage.kind == DECISION_LETTER)
        .order_by(OutboxMessage.id.desc()).limit(1))


def window(uow: UnitOfWork, complaint: Complaint) -> tuple[datetime, datetime] | None:
    """(decision sent, last moment to ask) where this profile offers verification and a decision was sent."""
    profile = uow.settings.sla_profile
    sent = decision_sent_at(uow, complaint) if offered(profile) else None
    return (sent, due_at(profile, WINDOW_SLA, sent)) if sent is not None else None


def open_until(uow: UnitOfWork, actor: Actor, complaint: Complaint) -> datetime | None:
    """Until when ``actor`` may ask for verification of this case's decision (the page's form), else None."""
    if complaint.status == "under_verification" or not permissions.may(uow, actor, "complaint.request_verification"):
        return None
    opened = window(uow, complaint)
    return opened[1] if opened is not None and uow.now() <= opened[1] else None


def request_verification(uow: UnitOfWork, actor: Actor, complaint_id: int, data: object) -> steps.Outcome:
    """Record the customer's request and deliver it to the process. Refused (Conflict, HTTP 409) where the
    profile offers no verification, no decision was sent, the 30 days have passed (naming the decision's date and
    the limit) or the process is not waiting for it (a request already made); a bad body names its field (422)."""
    permissions.require(uow, actor, "complaint.request_verification",
                        "Only coordinators, intake staff and the customer may ask for verification of a decision")
    complaint = read_policy.require_complaint(uow, actor, complaint_id)  # before the body: no existence oracle
    reason = _parse(data)
    profile, now = uow.settings.sla_profile, uow.now()
    if not offered(profile):
        raise VerificationRefused("Verification of a decision by the superior institution is not offered under the SLA "
                                  "profile '%(profile)s' (config/sla.toml defines no verification_request and "
                                  "verification deadlines)", profile=profile.name)
    opened = window(uow, complaint)
    if opened is None:
        raise VerificationRefused("Complaint %(tracking_number)s has no decision sent yet: verification can be asked "
                                  "for only of a decision the customer received",
                                  tracking_number=complaint.tracking_number)
    sent, until = opened
    if now > until:
        raise VerificationRefused("Too late for verification: the decision was sent on %(sent)s, and verification "
                                  "could be asked for until %(until)s (%(days)s calendar days after the decision)",
                                  sent=_local(profile, sent), until=_local(profile, until), days=_days(profile))
    instance = _running_instance(uow, complaint)
    opinion = profile.slas[OPINION_SLA]
    payload = {"requested_at": now.isoformat(), "requested_by": actor.username, "by_customer": not actor.is_staff,
               "reason": reason, "decision_sent_at": sent.isoformat(), "verifier_role": opinion.verifier_role,
               "due_at": due_at(profile, OPINION_SLA, now).isoformat()}
    details = {"reason": reason, "by_customer": not actor.is_staff, "decision_sent_at": sent.isoformat(),
               "due_at": payload["due_at"]}
    refusal = (f"Complaint {complaint.tracking_number} is not waiting for a verification request: one was already "
               "made, or the case is no longer at a stage that can receive it")  # English: DeliverMessage's Conflict
    outcome = steps.run_step(uow, actor, instance.id, steps.DeliverMessage(MESSAGE, payload, "verification_requested",
                                                                          details, refusal), now=now)
    assert outcome is not None  # only a claiming step (the scheduler's) can find the row taken
    return outcome


def _parse(data: object) -> str:
    if not isinstance(data, dict):
        raise InvalidSubmission({"reason": ["Required: a JSON object with the customer's reason"]})
    errors: dict[str, list[str]] = {}
    value = data.get("reason")
    if not isinstance(value, str) or not value.strip():
        errors["reason"] = ["Required: why the customer asks for verification of the decision"]
    elif len(value) > MAX_REASON:
        errors["reason"] = [f"At most {MAX_REASON} characters"]
    for name in sorted(set(data) - set(FIELDS))[:10]:
        errors[name] = ["Unknown field; give reason"]
    if errors:
        raise InvalidSubmission(errors)
    assert isinstance(value, str)
    return value.strip()


def _running_instance(uow: UnitOfWork, complaint: Complaint) -> ProcessInstance:
    instance = running_instance(uow, complaint.id)
    if instance is None:
        raise VerificationRefused("Complaint %(tracking_number)s has no running process to receive a verification "
                                  "request (its verification window is over)",
                                  tracking_number=complaint.tracking_number)
    return instance


def _days(profile: SlaProfile) -> str:
    parts = parse_duration(profile.slas[WINDOW_SLA].duration)  # whole days: the config check refuses others
    return str(parts.get("days", 0) + 7 * parts.get("weeks", 0))


def _local(profile: SlaProfile, instant: datetime) -> str:
    return instant.astimezone(ZoneInfo(profile.timezone)).strftime("%Y-%m-%d %H:%M")
