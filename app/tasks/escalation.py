"""SLA escalation: flag the case, tell its owners and the coordinator, escalate to the head of complaints."""
from __future__ import annotations

from sqlalchemy import select

from app.engine.models import User, UserTask
from app.tasks.registry import ServiceContext, operator


def _users(ctx: ServiceContext, role: str, department: str | None = None) -> list[User]:
    users = ctx.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    return [u for u in users if role in (u.roles or []) and (department is None or u.department == department)]


def _describe(ctx: ServiceContext, sla: str) -> str:
    c = ctx.complaint
    return (f"Complaint {c.tracking_number} ({c.category}, {c.severity}) has passed its '{sla}' deadline. "
            f"Customer: {c.customer_name}. Status: {c.status}.")


@operator("flag_overdue")
def flag_overdue(ctx: ServiceContext, sla: str) -> dict:
    complaint = ctx.complaint
    complaint.is_overdue = True
    complaint.breached_slas = [*complaint.breached_slas, {"sla": sla, "at": ctx.now.isoformat()}]
    ctx.audit("sla_breached", sla=sla)
    return {"sla": sla, "flagged_at": ctx.now.isoformat()}


@operator("notify_escalation")
def notify_escalation(ctx: ServiceContext, sla: str) -> dict:
    """The owners are whoever holds the case's open tasks: their assignee, else their department's officers."""
    open_tasks = ctx.session.scalars(select(UserTask).where(UserTask.instance_id == ctx.instance.id,
                                                            UserTask.state == "ready")).all()
    recipients: dict[str, User] = {}
    for task in open_tasks:
        if task.assignee_id:
            user = ctx.session.get(User, task.assignee_id)
            recipients[user.username] = user
        elif task.department:
            recipients.update({u.username: u for u in _users(ctx, "department_officer", task.department)})
    recipients.update({u.username: u for u in _users(ctx, "coordinator")})
    for user in recipients.values():
        ctx.send("escalation", user.email or user.username, f"Overdue: complaint {ctx.complaint.tracking_number}",
                 _describe(ctx, sla))
    ctx.audit("escalation_notified", sla=sla, recipients=sorted(recipients))
    return {"notified": sorted(recipients)}


@operator("escalate_to_head")
def escalate_to_head(ctx: ServiceContext, sla: str) -> dict:
    complaint = ctx.complaint
    complaint.escalation_level += 1
    heads = _users(ctx, "head_of_complaints")
    for user in heads:
        ctx.send("escalation", user.email or user.username,
                 f"Escalated (level {complaint.escalation_level}): complaint {complaint.tracking_number}",
                 _describe(ctx, sla) + " It has been escalated to you as head of complaint management.")
    ctx.audit("escalated_to_head", sla=sla, level=complaint.escalation_level, heads=[u.username for u in heads])
    return {"level": complaint.escalation_level, "heads": [u.username for u in heads]}
