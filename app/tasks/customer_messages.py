"""Messages to the customer: the acknowledgement (first response) and the reply with the decision.

A step writes the letter into the outbox; it leaves later (app/delivery.py) by e-mail, SMS or the print queue. So
the step records ``acknowledgement_queued``/``reply_queued``, and the history says sent only at ``message_sent``
(recorded by the sender, or by the person who posts a printed letter)."""
from __future__ import annotations

from app.engine.access import read_policy
from app.engine.complaints import extensions
from app.engine.core.times import parse_instant
from app.engine.deadlines.sla import due_at
from app.engine.letters import language_for, render_letter
from app.engine.process.service_tasks import ServiceContext
from app.tasks.escalation import withdraw_open_interventions
from app.tasks.registry import operator


def _letter(ctx: ServiceContext, kind: str, **facts):
    """A letter in the customer's language with the regime's mandated content (app/engine/letters)."""
    complaint, profile = ctx.require_complaint(), ctx.settings.sla_profile
    language = language_for(complaint.language or ctx.data.get("language"), profile)
    return render_letter(kind, language, profile, customer_name=complaint.customer_name,
                         tracking_number=complaint.tracking_number, **facts)


@operator("send_acknowledgement")
def send_acknowledgement(ctx: ServiceContext) -> dict:
    complaint = ctx.require_complaint()
    profile = ctx.settings.sla_profile
    start = parse_instant(ctx.data.get("sla_clock_start") or complaint.received_at)
    deadline = due_at(profile, "urgent_handling" if ctx.data.get("urgent") else "decision", start,
                      product=complaint.product)
    letter = _letter(ctx, "acknowledgement", product=complaint.product, deadline=deadline)
    message = ctx.send("acknowledgement", complaint.customer_contact, letter.subject, letter.body)
    ctx.flush()  # the message id goes into the history and the task's data
    complaint.acknowledged_at = ctx.now
    ctx.audit("acknowledgement_queued", message_id=message.id, decision_due_at=deadline.isoformat(),
              language=letter.language)
    return {"message_id": message.id, "sent_at": ctx.now.isoformat(), "decision_due_at": deadline.isoformat()}


@operator("send_reply")
def send_reply(ctx: ServiceContext) -> dict:
    """The decision letter: the approved message plus what the regime requires (CBIRC: facts, basis and the
    remaining remedies; DISP: the ombudsman referral right and its six months; CFPB: the response category)."""
    # Only what staff wrote for the customer (the read policy's letter classes): never the internal summary.
    complaint, data = ctx.require_complaint(), read_policy.letter_facts(ctx.data)
    letter = _letter(ctx, "decision", customer_message=str(data.get("customer_message", "")),
                     facts_checked=data.get("facts_checked"), decision_basis=data.get("decision_basis"),
                     redress_amount=data.get("redress_amount"), remedy_type=data.get("remedy_type"))
    message = ctx.send("reply", complaint.customer_contact, letter.subject, letter.body)
    ctx.flush()  # the message id goes into the history and the task's data
    ctx.audit("reply_queued", message_id=message.id, remedy_type=data.get("remedy_type"), language=letter.language)
    return {"message_id": message.id, "sent_at": ctx.now.isoformat()}


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
