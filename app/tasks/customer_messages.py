"""Messages to the customer: the acknowledgement (first response) and the reply with the decision.

A step writes the letter into the outbox; it leaves later (app/delivery.py) by e-mail, SMS or the print queue. So
the step records ``acknowledgement_queued``/``reply_queued``, and the history says sent only at ``message_sent``
(recorded by the sender, or by the person who posts a printed letter)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from app.engine.complaints import decision_letters, extensions, forwarding
from app.engine.config.classification import names_for
from app.engine.core.times import parse_instant
from app.engine.deadlines.sla import decision_due_at
from app.engine.governance import letter_library
from app.engine.letters import language_for, render_letter
from app.engine.process.service_tasks import ServiceContext
from app.tasks.escalation import withdraw_open_interventions
from app.tasks.registry import operator


def _letter(ctx: ServiceContext, kind: str, **facts):
    """A letter in the customer's language with the regime's mandated content (app/engine/letters)."""
    complaint, profile = ctx.require_complaint(), ctx.settings.sla_profile
    language = language_for(complaint.language or ctx.data.get("language"), profile)
    # From the runtime's signed-off clause library, refused rather than sent without a mandated element.
    library = letter_library.require_signed_off_for(ctx.session, ctx.settings.letter_library, profile.regime,
                                                    kind)
    return render_letter(kind, language, profile, library=library,
                         customer_name=complaint.customer_name, tracking_number=complaint.tracking_number, **facts)


@operator("send_acknowledgement")
def send_acknowledgement(ctx: ServiceContext) -> dict:
    complaint = ctx.require_complaint()
    profile = ctx.settings.sla_profile
    start = parse_instant(ctx.data.get("sla_clock_start") or complaint.received_at)
    # The handling timer's own rule (deadlines/sla.py): the case's calendar, the earlier forwarding deadline.
    sla = "urgent_handling" if ctx.data.get("urgent") else "decision"
    deadline = decision_due_at(profile, start, complaint.product_code, complaint.forwarded_due_at,
                               complaint.calendar_code, sla_name=sla)
    # The product by its name in the letter's language (config/classification.toml), not the English text the
    # registration kept for the history.
    language = language_for(complaint.language or ctx.data.get("language"), profile)
    product = names_for(ctx.settings.classification, profile.timezone, complaint, language)["product_name"]
    letter = _letter(ctx, "acknowledgement", product=product or complaint.product, deadline=deadline)
    message = ctx.send("acknowledgement", complaint.customer_contact, letter.subject, letter.body)
    ctx.flush()  # the message id goes into the history and the task's data
    ctx.audit("acknowledgement_queued", message_id=message.id, decision_due_at=deadline.isoformat(),
              language=letter.language)
    return {"message_id": message.id, "sent_at": ctx.now.isoformat(), "decision_due_at": deadline.isoformat()}


@operator("send_reply")
def send_reply(ctx: ServiceContext) -> dict:
    """The decision letter, written from the signed-off clause library (config/letters.toml) with the elements
    the regime mandates (CBIRC: facts, basis, decision, verification within 30 days; DISP: outcome, reasons,
    redress, the Ombudsman's leaflet, the six months and the Annex 3 wording; CFPB: the response category, and
    "recorded with the CFPB" only for CFPB cases; after a reopen, the earlier decision it reviews). Refused,
    naming the element and its field, or the unsigned library's checksum, rather than sent without them. Records
    the outcome data of the final response on the complaint."""
    complaint, settings = ctx.require_complaint(), ctx.settings
    library = letter_library.require_signed_off(ctx.session, settings.letter_library)
    # Only what staff wrote for the customer (the read policy's letter classes): never the internal summary.
    facts = decision_letters.decision_facts(settings, complaint, ctx.data)
    letter = render_letter("decision", decision_letters.letter_language(settings, complaint, ctx.data),
                           settings.sla_profile, library=library, **{
                               **facts, "customer_name": complaint.customer_name,
                               "tracking_number": complaint.tracking_number})
    # To the customer and/or the forwarding body, by the complaint's reply route (complaints/forwarding.py).
    message = forwarding.send_reply(ctx, complaint, letter)
    before = _outcome_data(complaint)
    complaint.resolution_outcome = _text(ctx.data.get("resolution_outcome"))
    complaint.redress_offered = _amount(ctx.data.get("redress_amount"))
    complaint.root_cause_code = _text(ctx.data.get("root_cause_code"))
    complaint.final_response_at = ctx.now
    ctx.flush()  # the message id goes into the history and the task's data
    ctx.audit("reply_queued", before=before, after=_outcome_data(complaint), message_id=message.id,
              remedy_type=facts.get("remedy_type"), language=letter.language, letter_library=library.checksum,
              refers_to_decision_of=str(facts["previous_decision_date"]) if facts.get("previous_decision_date")
              else None)
    return {"message_id": message.id, "sent_at": ctx.now.isoformat()}


def _outcome_data(complaint) -> dict:
    return {"resolution_outcome": complaint.resolution_outcome,
            "redress_offered": str(complaint.redress_offered) if complaint.redress_offered is not None else None,
            "root_cause_code": complaint.root_cause_code,
            "final_response_at": complaint.final_response_at.isoformat() if complaint.final_response_at else None}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _amount(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:   # the form's pattern admits only amounts: a stored oddity is left unrecorded
        return None


@operator("close_complaint")
def close_complaint(ctx: ServiceContext, outcome: str) -> dict:
    complaint = ctx.require_complaint()
    complaint.status = "closed"
    complaint.outcome = outcome
    complaint.closed_at = ctx.now
    complaint.customer_satisfied = ctx.data.get("customer_satisfied")
    complaint.satisfaction_rating = ctx.data.get("satisfaction_rating")
    ctx.audit("complaint_closed", outcome=outcome, reopen_count=ctx.data.get("reopen_count", 0))
    # The terminate end event after this task ends an escalation still open beside the main flow.
    withdrawn = withdraw_open_interventions(ctx, "complaint_closed")
    extensions_withdrawn = extensions.withdraw_pending(ctx, "The complaint closed before the extension was decided")
    return {"outcome": outcome, "closed_at": ctx.now.isoformat(), "interventions_withdrawn": withdrawn,
            "extensions_withdrawn": extensions_withdrawn}
