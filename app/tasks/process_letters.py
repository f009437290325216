"""Letters the diagram sends at points of the process other than the acknowledgement and the decision: the DISP
1.5 summary resolution communication, the feedback request, the review notice on a reopened case, the reopen
decisions that close the case (the decision maintained, the case referred), the answer at the regulatory point
(DISP: the final or a holding response) and the verification opinion (CBIRC 核查).

Each writes its letter to the outbox in the step that reaches it and records ``<kind>_queued`` in the history; the
deadlines a letter states come from config/sla.toml (``due_at``), never from the template."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.engine.access import read_policy
from app.engine.complaints import extensions
from app.engine.config.classification import name_of
from app.engine.core.errors import InvalidSubmission
from app.engine.core.times import parse_instant
from app.engine.deadlines.case_calendars import case_profile
from app.engine.deadlines.sla import due_at, resolve_sla
from app.engine.governance import letter_library
from app.engine.letters import language_for, render_letter
from app.engine.models import Timer
from app.engine.process.service_tasks import ServiceContext
from app.tasks.registry import operator

SUMMARY_SLA = "summary_resolution"


def _queue(ctx: ServiceContext, kind: str, **facts) -> int:
    complaint, profile = ctx.require_complaint(), ctx.settings.sla_profile
    language = language_for(complaint.language or ctx.data.get("language"), profile)
    # From the runtime's clause library (config/letters.toml): a kind it mandates elements of is refused, naming
    # the element and its field, rather than sent without them.
    library = letter_library.require_signed_off_for(ctx.session, ctx.settings.letter_library, profile.regime,
                                                    kind)
    letter = render_letter(kind, language, profile, library=library,
                           customer_name=complaint.customer_name, tracking_number=complaint.tracking_number, **facts)
    message = ctx.send(kind, complaint.customer_contact, letter.subject, letter.body)
    ctx.flush()  # the message id goes into the history and the task's data
    ctx.audit(f"{kind}_queued", message_id=message.id, language=letter.language)
    return message.id


def _local(ctx: ServiceContext, instant: datetime) -> str:
    return instant.astimezone(ZoneInfo(ctx.settings.sla_profile.timezone)).strftime("%Y-%m-%d %H:%M")


def _clock_start(ctx: ServiceContext) -> datetime:
    return parse_instant(ctx.data.get("sla_clock_start") or ctx.require_complaint().received_at)


@operator("send_summary_resolution")
def send_summary_resolution(ctx: ServiceContext) -> dict:
    """DISP 1.5: only where the profile has the summary_resolution deadline and only until it passes; otherwise
    the triage is refused (its field named) and stays open."""
    profile = ctx.settings.sla_profile
    if SUMMARY_SLA not in profile.slas:
        raise InvalidSubmission({"summary_resolution": [(
            f"A summary resolution communication is not part of the SLA profile {profile.name!r} (config/sla.toml "
            "has no summary_resolution deadline); investigate the complaint")]})
    # Three business days on the case's calendar (a Scottish customer's, not England's: case_calendars.py).
    deadline = due_at(case_profile(profile, ctx.require_complaint().calendar_code), SUMMARY_SLA, _clock_start(ctx))
    if ctx.now > deadline:
        raise InvalidSubmission({"summary_resolution": [(
            f"Too late for a summary resolution communication: it was possible until {_local(ctx, deadline)} (close of "
            "business on the third business day after receipt); investigate the complaint and send a final response")]})
    # DISP 1 Annex 3R: the time-limit wording follows whether we consent to waive the six months (default: not).
    message_id = _queue(ctx, "summary_resolution", ombudsman_consent=ctx.data.get("ombudsman_consent"))
    return {"message_id": message_id, "sent_at": ctx.now.isoformat(), "allowed_until": deadline.isoformat()}


@operator("send_feedback_request")
def send_feedback_request(ctx: ServiceContext) -> dict:
    """Are you satisfied? By when we need the answer: the feedback_wait deadline, counted from now as the
    diagram's "No feedback received" timer is."""
    deadline = due_at(ctx.settings.sla_profile, "feedback_wait", ctx.now)
    return {"message_id": _queue(ctx, "feedback_request", deadline=deadline), "answer_by": deadline.isoformat()}


@operator("send_review_notice")
def send_review_notice(ctx: ServiceContext) -> dict:
    """The reopened case's letter: we received the request for a review, and the review deadline (the review SLA
    from review_requested_at, the clock the diagram's handling deadline runs on)."""
    complaint = ctx.require_complaint()
    requested = parse_instant(ctx.data.get("review_requested_at") or ctx.now)
    deadline = due_at(ctx.settings.sla_profile, "review", requested, product=complaint.product_code)
    return {"message_id": _queue(ctx, "review_notice", deadline=deadline), "review_due_at": deadline.isoformat()}


@operator("send_decision_maintained")
def send_decision_maintained(ctx: ServiceContext) -> dict:
    """The reopen decision "maintain": the letter says the decision of its date stands, gives complaint
    management's reasons and restates the referral rights of the regime's final response (the clause library's
    decision_maintained letter, whose referral elements are the decision letter's own); refused, naming the
    element and its field, rather than sent without one."""
    complaint = ctx.require_complaint()
    decided = complaint.final_response_at
    previous = decided.astimezone(ZoneInfo(ctx.settings.sla_profile.timezone)).date() if decided else None
    message_id = _queue(ctx, "decision_maintained", previous_decision_date=previous,
                        maintain_reasons=ctx.data.get("maintain_reasons"),
                        ombudsman_consent=ctx.data.get("ombudsman_consent"))
    return {"message_id": message_id, "sent_at": ctx.now.isoformat()}


@operator("refer_complaint")
def refer_complaint(ctx: ServiceContext) -> dict:
    """The reopen decision "refer": the referral to the outside body (a referral_bodies code of
    config/classification.toml) and its reason go into the history, and the customer's letter names the body in
    their language."""
    complaint, settings = ctx.require_complaint(), ctx.settings
    body = ctx.data.get("referral_body")
    if not settings.classification.knows("referral_bodies", body):
        raise InvalidSubmission({"referral_body": [f"{body!r} is not a referral body of config/classification.toml"]})
    language = language_for(complaint.language or ctx.data.get("language"), settings.sla_profile)
    ctx.audit("complaint_referred", referral_body=body, reason=ctx.data.get("referral_reason"))
    message_id = _queue(ctx, "referral_notice", referral_reason=ctx.data.get("referral_reason"),
                        referral_body_name=name_of(settings.classification, "referral_bodies", body, language))
    return {"message_id": message_id, "referral_body": body, "referred_at": ctx.now.isoformat()}


@operator("respond_at_regulatory_point")
def respond_at_regulatory_point(ctx: ServiceContext) -> dict:
    """"Send final or holding response": a holding response goes out now (the regulatory point has passed, so
    the letter says the customer may refer to the Ombudsman now) and only our own target moves; or the
    coordinator records that the final response is on its way."""
    complaint, profile = ctx.require_complaint(), ctx.settings.sla_profile
    choice = ctx.data.get("breach_response")
    sla = resolve_sla(profile, "decision", complaint.product_code)
    timer = ctx.session.scalar(select(Timer).where(Timer.instance_id == ctx.instance.id, Timer.sla == sla.name)
                               .order_by(Timer.id.desc()).limit(1))
    point = timer.due_at if timer is not None and timer.due_at is not None else ctx.now
    if choice != "holding_response":
        ctx.audit("final_response_confirmed", sla=sla.name, regulatory_due_at=point.isoformat(),
                  note=ctx.data.get("breach_response_note"))
        return {"response": "final_response", "regulatory_due_at": point.isoformat()}
    holding = next((e for e in sla.extensions if not e.moves_deadline and e.add), None)
    if holding is None or timer is None:
        raise InvalidSubmission({"breach_response": [(
            f"The '{sla.name}' deadline of profile {profile.name!r} declares no holding response; confirm the final "
            "response instead")]})
    before = complaint.target_due_at
    target = extensions.new_due_at(profile, sla, holding, timer, before, ctx.now)
    reason = ctx.data.get("breach_response_note")
    message_id = extensions.send_holding_response(ctx, regulatory_point=point, target=target, reason=reason)
    ctx.audit("holding_response_sent", before={"target_due_at": before.isoformat() if before else None},
              after={"target_due_at": target.isoformat()}, sla=sla.name, reason=reason,
              regulatory_due_at=point.isoformat(), message_id=message_id)
    return {"response": "holding_response", "message_id": message_id, "target_due_at": target.isoformat(),
            "regulatory_due_at": point.isoformat()}


@operator("record_verification_request")
def record_verification_request(ctx: ServiceContext) -> dict:
    """核查: the case (closed, or awaiting feedback) is under verification until the opinion is sent; the request
    itself is in the history (``verification_requested``, recorded by complaints/verification.py)."""
    complaint = ctx.require_complaint()
    request = dict(ctx.data.get("verification_request") or {})
    before = complaint.status
    complaint.status = "under_verification"
    ctx.audit("verification_started", before={"status": before}, after={"status": complaint.status},
              due_at=request.get("due_at"), verifier_role=request.get("verifier_role"))
    return {"requested_at": request.get("requested_at"), "due_at": request.get("due_at"), "status_before": before}


@operator("send_verification_opinion")
def send_verification_opinion(ctx: ServiceContext) -> dict:
    """The verifier's opinion to the customer (upheld or changed, its text, its basis and the recourse left:
    mediation, arbitration, court), then the case closes again."""
    complaint, data = ctx.require_complaint(), read_policy.letter_facts(ctx.data)  # what was written for the customer
    request = dict(ctx.data.get("verification_request") or {})
    opinion = str(data.get("verification_opinion") or "")
    message_id = _queue(ctx, "verification_opinion", opinion=opinion,
                        opinion_text=str(data.get("verification_opinion_text") or ""),
                        basis=str(data.get("verification_basis") or ""),
                        requested_on=parse_instant(request.get("requested_at") or ctx.now))
    before = complaint.status
    complaint.status, complaint.closed_at = "closed", ctx.now
    ctx.audit("verification_closed", before={"status": before}, after={"status": "closed"}, opinion=opinion,
              message_id=message_id)
    return {"message_id": message_id, "opinion": opinion, "closed_at": ctx.now.isoformat()}
