"""Messages to the customer: the acknowledgement (first response) and the reply with the decision."""
from __future__ import annotations

from app.engine.sla import due_at, parse_instant
from app.tasks.registry import ServiceContext, operator

REMEDIES = ("If you disagree with this decision you may ask us to review it within 30 days, "
            "or turn to mediation, arbitration or the courts.")


@operator("send_acknowledgement")
def send_acknowledgement(ctx: ServiceContext) -> dict:
    complaint = ctx.complaint
    profile = ctx.settings.sla_profile
    start = parse_instant(ctx.data.get("sla_clock_start") or complaint.received_at)
    deadline = due_at(profile, "urgent_handling" if ctx.data.get("urgent") else "decision", start,
                      product=complaint.product)
    body = (f"Dear {complaint.customer_name},\n\n"
            f"we have received your complaint about {complaint.product} and registered it under the tracking "
            f"number {complaint.tracking_number}.\n\n"
            "What happens next: a complaint coordinator assigns it to the department(s) responsible, who "
            "investigate it; a resolution is approved and sent to you, and we will then ask whether you are "
            "satisfied.\n\n"
            f"You will receive our decision by {deadline:%d %B %Y %H:%M} UTC at the latest. "
            "Quote your tracking number whenever you contact us.\n")
    message = ctx.send("acknowledgement", complaint.customer_contact,
                       f"Your complaint {complaint.tracking_number} has been received", body)
    complaint.acknowledged_at = ctx.now
    ctx.audit("acknowledgement_sent", message_id=message.id, decision_due_at=deadline.isoformat())
    return {"message_id": message.id, "sent_at": ctx.now.isoformat(), "decision_due_at": deadline.isoformat()}


@operator("send_reply")
def send_reply(ctx: ServiceContext) -> dict:
    complaint, data = ctx.complaint, ctx.data
    lines = [f"Dear {complaint.customer_name},", "",
             f"regarding your complaint {complaint.tracking_number}:", "", str(data.get("customer_message", "")), ""]
    if data.get("redress_amount"):
        lines += [f"Redress offered: {data['redress_amount']}.", ""]
    lines += [REMEDIES, "", "We will contact you shortly to ask whether you are satisfied with this outcome."]
    message = ctx.send("reply", complaint.customer_contact,
                       f"Decision on your complaint {complaint.tracking_number}", "\n".join(lines))
    ctx.audit("reply_sent", message_id=message.id, remedy_type=data.get("remedy_type"))
    return {"message_id": message.id, "sent_at": ctx.now.isoformat()}


@operator("close_complaint")
def close_complaint(ctx: ServiceContext, outcome: str) -> dict:
    complaint = ctx.complaint
    complaint.status = "closed"
    complaint.outcome = outcome
    complaint.closed_at = ctx.now
    complaint.customer_satisfied = ctx.data.get("customer_satisfied")
    complaint.satisfaction_rating = ctx.data.get("satisfaction_rating")
    ctx.audit("complaint_closed", outcome=outcome, reopen_count=ctx.data.get("reopen_count", 0))
    return {"outcome": outcome, "closed_at": ctx.now.isoformat()}
