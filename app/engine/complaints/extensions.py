"""Deadline extensions as a user action: a coordinator asks, with a reason, for one of the extensions the
active SLA profile declares for a deadline (CBIRC complex_case 15 -> 30 days and further_extension +30 with the
head's approval; DISP holding_response; CFPB in_progress).

The request is checked here (declared, not used yet, its prerequisite granted, the deadline still waiting),
recorded as a ``DeadlineExtension`` row and handed to the process as one step (``steps.ExtendDeadline``): the
diagram's "Deadline extension requested" event decides whether approval is needed; the service task
``apply_extension`` (app/tasks/deadlines.py) then moves the waiting timer, in the workflow and its row, in the
transaction of the step that applies it, records it in the history and writes the customer's letter to the
outbox. The head's intervention on an overdue case grants extensions through the same ``apply``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine.access import permissions, read_policy
from app.engine.complaints.instances import running_instance
from app.engine.config.settings import SlaDefinition, SlaExtension
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, InvalidSubmission
from app.engine.core.times import parse_instant
from app.engine.deadlines.case_calendars import case_profile
from app.engine.deadlines.sla import ANSWER_SLAS, add_duration, resolve_sla
from app.engine.governance import letter_library
from app.engine.models import Complaint, DeadlineExtension, ProcessInstance, Timer
from app.engine.process import steps

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.engine.config.settings import Settings, SlaProfile
    from app.engine.process.service_tasks import ServiceContext
    from app.engine.runtime import UnitOfWork

MAX_REASON = 2000
LIVE_STATES = ("requested", "awaiting_approval", "applied")


@dataclass(frozen=True)
class Allowed:
    """A request that passed every check: what would be applied, and to which timer."""

    sla: SlaDefinition
    extension: SlaExtension
    timer: Timer
    new_due_at: datetime


def new_due_at(profile: SlaProfile, sla: SlaDefinition, extension: SlaExtension, timer: Timer,
               target: datetime | None = None, now: datetime | None = None) -> datetime:
    """``total``: the new total counted from the clock's start; ``add``: added to the current deadline. Both
    count the way the SLA counts (CBIRC's 30 days are calendar days, DISP's 35 business days business days).
    An extension that keeps the regulatory point (``moves_deadline = false``) moves the bank's own ``target``
    instead: from that target (else the regulatory point), or from ``now`` once both have passed."""
    if not extension.moves_deadline:
        assert extension.add is not None and timer.due_at is not None
        base = max(d for d in (target or timer.due_at, now) if d is not None)
        return add_duration(profile, sla.counting, extension.add, base)
    if extension.total:
        return add_duration(profile, sla.counting, extension.total, timer.started_at or timer.created_at)
    # The profile gives every extension a total or an add (config check); a waiting timer has its due time.
    assert extension.add is not None and timer.due_at is not None
    return add_duration(profile, sla.counting, extension.add, timer.due_at)


def check_allowed(session: Session, profile: SlaProfile, complaint: Complaint, instance_id: int, sla_name: str,
                  extension_name: str, now: datetime | None = None) -> Allowed:
    """Refuse, naming why, an extension the profile does not allow for this case now (Conflict, HTTP 409)."""
    try:
        sla = resolve_sla(profile, sla_name, complaint.product_code)
    except KeyError:
        raise InvalidSubmission({"sla": [(f"Profile {profile.name!r} has no deadline named {sla_name!r}; known: "
                                         f"{', '.join(sorted(profile.slas))}")]}) from None
    named = f"the '{sla.name}' deadline of profile {profile.name!r}"
    if not sla.extensions:
        raise Conflict(f"No extension is allowed: {named} declares none")
    extension = next((e for e in sla.extensions if e.name == extension_name), None)
    if extension is None:
        raise Conflict(f"Extension {extension_name!r} is not allowed for {named}; it allows: "
                       f"{', '.join(e.name for e in sla.extensions)}")
    earlier = {row.extension: row for row in session.scalars(
        select(DeadlineExtension).where(DeadlineExtension.complaint_id == complaint.id,
                                        DeadlineExtension.sla == sla.name,
                                        DeadlineExtension.state.in_(LIVE_STATES)).order_by(DeadlineExtension.id))}
    used = earlier.get(extension.name)
    if used is not None:
        what = "is awaiting approval" if used.state == "awaiting_approval" else "was already granted"
        raise Conflict(f"Extension {extension.name!r} of {named} {what} ({used.requested_at:%Y-%m-%d}); "
                       "each extension can be used once")
    if extension.requires and getattr(earlier.get(extension.requires), "state", None) != "applied":
        raise Conflict(f"Extension {extension.name!r} of {named} requires the {extension.requires!r} extension "
                       "to have been granted first")
    # A holding response (the point never moves) may come before or after the point: a passed deadline counts.
    states = ("waiting",) if extension.moves_deadline else ("waiting", "fired")
    timer = session.scalar(select(Timer).where(Timer.instance_id == instance_id, Timer.state.in_(states),
                                               Timer.sla == sla.name).order_by(Timer.id.desc()).limit(1))
    if timer is None or timer.due_at is None:
        raise Conflict(f"There is no running '{sla.name}' deadline on this case to extend (not started yet, met, "
                       "or already passed)")
    due = new_due_at(profile, sla, extension, timer, complaint.target_due_at, now)
    return Allowed(sla=sla, extension=extension, timer=timer,
                   new_due_at=_within_forwarding_deadline(profile, complaint, sla, extension, timer, due, named))


def _within_forwarding_deadline(profile: SlaProfile, complaint: Complaint, sla: SlaDefinition,
                                extension: SlaExtension, timer: Timer, due: datetime, named: str) -> datetime:
    """The earliest deadline governs (deadlines/sla.py decision_due_at): an extension of the regulatory deadline
    for the answer (decision, its product track, the urgent one) never carries the answer past the deadline the
    forwarding body set; it stops there, and is refused (Conflict) when the answer is already due by then."""
    if not extension.moves_deadline or complaint.forwarded_due_at is None:
        return due
    answers = {resolve_sla(profile, name, complaint.product_code).name for name in ANSWER_SLAS if name in profile.slas}
    if sla.name not in answers:
        return due
    body_due = parse_instant(complaint.forwarded_due_at)
    if due <= body_due:
        return due
    if timer.due_at is not None and parse_instant(timer.due_at) >= body_due:
        raise Conflict(f"The deadline the forwarding body set ({body_due.isoformat()}) governs this case: an "
                       f"extension of {named} cannot move the answer past it. Ask the body for more time.")
    return body_due


def request_extension(uow: UnitOfWork, actor: Actor, complaint_id: int,
                      data: dict) -> tuple[DeadlineExtension, steps.Outcome]:
    """The coordinator's request (API and page). Returns the extension row and the step's outcome (the adapter
    raises a refusal after the commit: a deadline that fired first stays fired)."""
    permissions.require(uow, actor, "deadline.extend",
                        "Only coordinators and the head of complaint management may extend a deadline")
    sla_name, extension_name, reason = _parse(data)
    complaint = read_policy.require_complaint(uow, actor, complaint_id)
    instance = _running_instance(uow, complaint)
    now = uow.now()
    # Counted on the case's calendar (a UK customer's nation's bank holidays: deadlines/case_calendars.py).
    allowed = check_allowed(uow.session, case_profile(uow.settings.sla_profile, complaint.calendar_code), complaint,
                            instance.id, sla_name, extension_name, now)
    record = DeadlineExtension(complaint_id=complaint.id, instance_id=instance.id, timer_id=allowed.timer.id,
                               sla=allowed.sla.name, extension=allowed.extension.name, reason=reason,
                               state="awaiting_approval" if allowed.extension.approval_role else "requested",
                               requested_by=actor.username, requested_at=now,
                               previous_due_at=allowed.timer.due_at, new_due_at=allowed.new_due_at)
    uow.session.add(record)
    uow.session.flush()
    payload = {"extension_id": record.id, "sla": record.sla, "extension": record.extension, "reason": reason,
               "approval_role": allowed.extension.approval_role, "requested_by": actor.username,
               # A request that keeps the regulatory point names no timer: one that fired first refuses nothing.
               "timer": allowed.timer.spiff_task_id if allowed.extension.moves_deadline else None,
               "previous_due_at": allowed.timer.due_at.isoformat() if allowed.timer.due_at else None,
               "new_due_at": allowed.new_due_at.isoformat()}
    outcome = steps.run_step(uow, actor, instance.id, steps.ExtendDeadline(payload), now=now)
    assert outcome is not None  # only a claiming step (the scheduler's) can find the row taken
    if outcome.refused:
        record.state, record.comment, record.decided_at = "refused", outcome.refused, now
    return record, outcome


def apply(ctx: ServiceContext, record: DeadlineExtension, *, comment: str | None = None) -> dict:
    """Move the deadline (called by the service tasks inside the step): the workflow's timer through
    ``ctx.reschedule_timer`` (the step saves its row and re-arms its warnings), the record, the history and the
    customer's letter. A deadline that passed while the request waited for approval is not moved."""
    from app.engine.letters import language_for, render_letter  # noqa: PLC0415 - Jinja only when applying

    profile = case_profile(ctx.settings.sla_profile, getattr(ctx.complaint, "calendar_code", None))
    sla = profile.slas.get(record.sla)
    extension = next((e for e in (sla.extensions if sla else ()) if e.name == record.extension), None)
    timer = ctx.session.get(Timer, record.timer_id) if record.timer_id else None
    record.decided_by, record.decided_at = ctx.actor.username, ctx.now
    if comment:
        record.comment = comment
    if extension is not None and not extension.moves_deadline and timer is not None and timer.due_at is not None:
        return _apply_target(ctx, record, extension, timer)
    if sla is None or extension is None or timer is None or timer.state != "waiting" or timer.due_at is None:
        record.state = "refused"
        record.comment = "The deadline was no longer running when the extension was to be applied"
        ctx.audit("extension_refused", extension_id=record.id, sla=record.sla, extension=record.extension,
                  reason=record.comment)
        return {"applied": False, "extension_id": record.id}
    previous = timer.due_at
    due = new_due_at(profile, sla, extension, timer)
    if ctx.complaint is not None:
        try:
            due = _within_forwarding_deadline(profile, ctx.complaint, sla, extension, timer, due,
                                              f"the '{sla.name}' deadline")
        except Conflict as refused:   # checked at the request too; the body's deadline governs by now
            record.state, record.comment = "refused", refused.message
            ctx.audit("extension_refused", extension_id=record.id, sla=record.sla, extension=record.extension,
                      reason=record.comment)
            return {"applied": False, "extension_id": record.id}
    try:
        ctx.reschedule_timer(timer.spiff_task_id, due)
    except Conflict:  # it fired earlier in this very step (timers first): the deadline was not met
        record.state = "refused"
        record.comment = "The deadline passed before the extension was applied"
        ctx.audit("extension_refused", extension_id=record.id, sla=record.sla, extension=record.extension,
                  reason=record.comment)
        return {"applied": False, "extension_id": record.id}
    record.state, record.previous_due_at, record.new_due_at = "applied", previous, due
    ctx.audit("deadline_extended", before={"due_at": previous.isoformat()}, after={"due_at": due.isoformat()},
              extension_id=record.id, sla=record.sla, extension=record.extension, reason=record.reason,
              requested_by=record.requested_by,
              approved_by=ctx.actor.username if extension.approval_role else None)
    message_id = None
    complaint = ctx.complaint
    if extension.customer_notice and complaint is not None:
        language = language_for(complaint.language or ctx.data.get("language"), profile)
        library = letter_library.require_signed_off_for(ctx.session, ctx.settings.letter_library, profile.regime,
                                                        extension.letter)
        letter = render_letter(extension.letter, language, profile, library=library,
                               customer_name=complaint.customer_name,
                               tracking_number=complaint.tracking_number, previous_deadline=previous,
                               deadline=due, reason=record.reason, referral_from=due, may_refer_now=False)
        message_id = ctx.send(extension.letter, complaint.customer_contact, letter.subject, letter.body).id
    return {"applied": True, "extension_id": record.id, "new_due_at": due.isoformat(), "message_id": message_id}


def _apply_target(ctx: ServiceContext, record: DeadlineExtension, extension: SlaExtension, timer: Timer) -> dict:
    """DISP's holding response: the regulatory point (the timer, waiting or already passed) stays where it is, on
    the clock and in the breach record; the bank's own target moves and the customer gets the holding letter."""
    assert timer.due_at is not None  # apply() hands over only a timer with its point
    complaint = ctx.require_complaint()
    sla = ctx.settings.sla_profile.slas[record.sla]
    previous = complaint.target_due_at
    target = new_due_at(case_profile(ctx.settings.sla_profile, complaint.calendar_code), sla, extension, timer,
                        previous, ctx.now)
    message_id = send_holding_response(ctx, regulatory_point=timer.due_at, target=target, reason=record.reason)
    record.state, record.previous_due_at, record.new_due_at = "applied", previous or timer.due_at, target
    ctx.audit("holding_response_sent", before={"target_due_at": _iso(previous)},
              after={"target_due_at": target.isoformat()}, extension_id=record.id, sla=record.sla,
              extension=record.extension, reason=record.reason, regulatory_due_at=timer.due_at.isoformat(),
              message_id=message_id)
    return {"applied": True, "extension_id": record.id, "target_due_at": target.isoformat(),
            "regulatory_due_at": timer.due_at.isoformat(), "message_id": message_id}


def send_holding_response(ctx: ServiceContext, *, regulatory_point: datetime, target: datetime,
                          reason: str | None) -> int:
    """The holding letter (DISP 1.6.2(2)): why not yet, when we expect to answer (our ``target``, recorded on the
    case) and the Ombudsman: "now" only once the regulatory point has passed, else from that point. Returns the
    outbox message's id."""
    from app.engine.letters import language_for, render_letter  # noqa: PLC0415 - Jinja only when sending

    complaint, profile = ctx.require_complaint(), ctx.settings.sla_profile
    complaint.target_due_at = target
    language = language_for(complaint.language or ctx.data.get("language"), profile)
    library = letter_library.require_signed_off_for(ctx.session, ctx.settings.letter_library, profile.regime,
                                                    "holding_response")
    letter = render_letter("holding_response", language, profile, library=library,
                           customer_name=complaint.customer_name,
                           tracking_number=complaint.tracking_number, deadline=target, reason=reason,
                           referral_from=regulatory_point, may_refer_now=ctx.now >= regulatory_point)
    message = ctx.send("holding_response", complaint.customer_contact, letter.subject, letter.body)
    ctx.flush()  # its id goes into the history
    return message.id


def refuse(ctx: ServiceContext, record: DeadlineExtension, comment: str | None) -> dict:
    record.state, record.decided_by, record.decided_at, record.comment = ("refused", ctx.actor.username, ctx.now,
                                                                          comment)
    ctx.audit("extension_refused", extension_id=record.id, sla=record.sla, extension=record.extension,
              reason=comment)
    return {"applied": False, "extension_id": record.id}


def withdraw_pending(ctx: ServiceContext, reason: str) -> list[int]:
    """Requests of this case still waiting (for the head's approval) when it closes: withdrawn, with the reason
    in the record and the history. The diagram cancels their approval task in the same step (the terminate
    end event); without this the record would say "awaiting approval" for ever."""
    if ctx.complaint is None:  # a process without a case has no requests
        return []
    pending = ctx.session.scalars(select(DeadlineExtension).where(
        DeadlineExtension.complaint_id == ctx.complaint.id,
        DeadlineExtension.state.in_(("requested", "awaiting_approval"))).order_by(DeadlineExtension.id)).all()
    for record in pending:
        record.state, record.decided_at, record.comment = "withdrawn", ctx.now, reason
        ctx.audit("extension_withdrawn", extension_id=record.id, sla=record.sla, extension=record.extension,
                  reason=reason)
    return [record.id for record in pending]


def view(record: DeadlineExtension) -> dict:
    return {"id": record.id, "complaint_id": record.complaint_id, "sla": record.sla, "extension": record.extension,
            "reason": record.reason, "state": record.state, "requested_by": record.requested_by,
            "requested_at": _iso(record.requested_at), "previous_due_at": _iso(record.previous_due_at),
            "new_due_at": _iso(record.new_due_at), "decided_by": record.decided_by,
            "decided_at": _iso(record.decided_at), "comment": record.comment}


def list_extensions(uow: UnitOfWork, actor: Actor, complaint_id: int) -> list[dict]:
    complaint = read_policy.require_complaint(uow, actor, complaint_id)
    if read_policy.audience(uow, actor) != "internal":
        return []
    return [view(r) for r in uow.session.scalars(select(DeadlineExtension).where(
        DeadlineExtension.complaint_id == complaint.id).order_by(DeadlineExtension.id))]


def choices(settings: Settings, complaint: Complaint) -> list[dict]:
    """The extensions the profile declares for this case's deadlines (the page's form offers these)."""
    profile = settings.sla_profile
    seen, out = set(), []
    for name in profile.slas:
        sla = resolve_sla(profile, name, complaint.product_code)
        if sla.name in seen:
            continue
        seen.add(sla.name)
        out += [{"sla": sla.name, "extension": e.name, "description": e.description,
                 "approval": e.approval_role} for e in sla.extensions]
    return out


def _parse(data: object) -> tuple[str, str, str]:
    errors: dict[str, list[str]] = {}
    values = {}
    for name in ("sla", "extension", "reason"):
        value = data.get(name) if isinstance(data, dict) else None
        if not isinstance(value, str) or not value.strip():
            errors[name] = ["Required: a non-empty text"]
        elif len(value) > (MAX_REASON if name == "reason" else 64):
            errors[name] = [f"At most {MAX_REASON if name == 'reason' else 64} characters"]
        else:
            values[name] = value.strip()
    unknown = sorted(set(data) - {"sla", "extension", "reason"}) if isinstance(data, dict) else []
    for name in unknown[:10]:
        errors[name] = ["Unknown field; give sla, extension and reason"]
    if errors:
        raise InvalidSubmission(errors)
    return values["sla"], values["extension"], values["reason"]


def _running_instance(uow: UnitOfWork, complaint: Complaint) -> ProcessInstance:
    instance = running_instance(uow, complaint.id)
    if instance is None:
        raise Conflict(f"Complaint {complaint.tracking_number} has no running process; its deadlines are over")
    return instance


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
