"""The service tasks of processes/mail_intake.bpmn: what the intake desk's answer to a mail does."""
from __future__ import annotations

from app.engine.intake import completion
from app.engine.process.service_tasks import ServiceContext
from app.tasks.registry import operator


@operator("register_mail_complaint")
def register_mail_complaint(ctx: ServiceContext) -> dict:
    """Register the complaint with what the desk completed (a refusal names the field and keeps the task open)."""
    assert ctx.uow is not None  # the step always hands its unit of work
    complaint = completion.register_from_mail(ctx.uow, ctx.actor, ctx.instance.id, ctx.data)
    return {"complaint_id": complaint.id, "tracking_number": complaint.tracking_number}


@operator("close_mail_intake")
def close_mail_intake(ctx: ServiceContext) -> dict:
    assert ctx.uow is not None
    reason = str(ctx.data.get("not_complaint_reason") or "")
    completion.close_not_a_complaint(ctx.uow, ctx.actor, ctx.instance.id, reason)
    return {"closed": True}
