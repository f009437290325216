"""SLA escalation: flag the case, tell its owners and the coordinator, ask the head of complaint management to
intervene (one level further, to an executive, if the head does not act in time), and carry the intervention
out. A breach of a case whose intervention is still open is added to it as a note (no second task)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from app.engine.core.errors import InvalidSubmission
from app.engine.deadlines.sla import resolve_sla
from app.engine.identity.users import active_users
from app.engine.letters import open_work, render_notice
from app.engine.models import DeadlineExtension, Timer, User, UserTask
from app.engine.process.service_tasks import ServiceContext
from app.tasks.registry import operator

# The diagram's intervention tasks (escalation.bpmn): one open at a time per case.
INTERVENTION_TASKS = ("intervene_overdue_complaint", "executive_intervention")
# session.info key: cases whose intervention was opened in this transaction (its task row does not exist yet).
_OPENED = "complaintflow.escalations_opened"


def _users(ctx: ServiceContext, role: str, department: str | None = None) -> list[User]:
    return [u for u in active_users(ctx.session)
            if role in (u.roles or []) and (department is None or u.department == department)]


def _applied(ctx: ServiceContext, sla: str) -> str:
    """The SLA that actually applied to this case: the diagram names the deadline ("decision") before the
    product's track is applied (DISP payment services: payment_services_decision)."""
    complaint = ctx.complaint
    try:
        return resolve_sla(ctx.settings.sla_profile, sla, complaint.product_code if complaint else None).name
    except KeyError:  # a name the profile does not know (an old definition): recorded as the diagram gives it
        return sla


def _notice(ctx: ServiceContext, kind: str, user: User, **facts) -> None:
    """Send ``user`` a staff notice (app/engine/letters/templates), in their language and time zone."""
    complaint = ctx.require_complaint()
    notice = render_notice(kind, user, ctx.settings.sla_profile, tracking_number=complaint.tracking_number,
                           customer_name=complaint.customer_name, **facts)
    ctx.send(kind if kind == "instruction" else "escalation", user.email or user.username, notice.subject,
             notice.body)


@operator("flag_overdue")
def flag_overdue(ctx: ServiceContext, sla: str) -> dict:
    complaint, sla = ctx.require_complaint(), _applied(ctx, sla)
    before = complaint.is_overdue
    complaint.is_overdue = True
    complaint.breached_slas = [*complaint.breached_slas, {"sla": sla, "at": ctx.now.isoformat()}]
    ctx.audit("sla_breached", before={"is_overdue": before}, after={"is_overdue": True}, sla=sla)
    return {"sla": sla, "flagged_at": ctx.now.isoformat()}


@operator("notify_escalation")
def notify_escalation(ctx: ServiceContext, sla: str) -> dict:
    """The owners are whoever holds the case's open tasks: their assignee, else their department's officers."""
    sla = _applied(ctx, sla)
    recipients: dict[str, User] = {}
    for task in ctx.open_tasks():
        if task.assignee_id:
            user = ctx.session.get_one(User, task.assignee_id)
            recipients[user.username] = user
        elif task.department:
            recipients.update({u.username: u for u in _users(ctx, "department_officer", task.department)})
    recipients.update({u.username: u for u in _users(ctx, "coordinator")})
    work = open_work(_work_tasks(ctx), ctx.settings.departments)
    for user in recipients.values():
        _notice(ctx, "escalation_notice", user, sla=sla, open_work=work)
    ctx.audit("escalation_notified", sla=sla, recipients=sorted(recipients))
    return {"notified": sorted(recipients)}


@operator("join_open_escalation")
def join_open_escalation(ctx: ServiceContext, sla: str) -> dict:
    """Repeated breaches of one case add to the open escalation: a note on its intervention task."""
    sla = _applied(ctx, sla)
    open_task = next((t for t in ctx.open_tasks() if t.element_id in INTERVENTION_TASKS), None)
    opened_now = ctx.require_complaint().id in ctx.session.info.get(_OPENED, set())
    if open_task is None and not opened_now:
        return {"joined": False}
    note = {"sla": sla, "at": ctx.now.isoformat(), "note": f"The '{sla}' deadline has also passed"}
    if open_task is not None:
        open_task.context = {**open_task.context,
                             "escalation_notes": [*open_task.context.get("escalation_notes", []), note]}
        flag_modified(open_task, "context")
    ctx.audit("escalation_joined", sla=sla, task_id=open_task.id if open_task else None)
    return {"joined": True, "task_id": open_task.id if open_task else None}


@operator("escalate_to_head")
def escalate_to_head(ctx: ServiceContext, sla: str) -> dict:
    complaint, sla = ctx.require_complaint(), _applied(ctx, sla)
    before = complaint.escalation_level
    complaint.escalation_level = max(complaint.escalation_level, 1)
    ctx.session.info.setdefault(_OPENED, set()).add(complaint.id)
    heads = _users(ctx, "head_of_complaints")
    for user in heads:
        _notice(ctx, "escalated_to_head", user, sla=sla, level=complaint.escalation_level)
    ctx.audit("escalated_to_head", before={"escalation_level": before},
              after={"escalation_level": complaint.escalation_level}, sla=sla, level=complaint.escalation_level,
              heads=[u.username for u in heads])
    return {"level": complaint.escalation_level, "heads": [u.username for u in heads]}


@operator("escalate_to_executive")
def escalate_to_executive(ctx: ServiceContext, sla: str) -> dict:
    """The head did not act within the escalation_response SLA: one level further."""
    complaint, sla = ctx.require_complaint(), _applied(ctx, sla)
    before = complaint.escalation_level
    complaint.escalation_level = max(complaint.escalation_level, 2)
    executives = _users(ctx, "executive")
    for user in executives:
        _notice(ctx, "escalated_to_executive", user, sla=sla, level=complaint.escalation_level)
    ctx.audit("escalated_to_executive", before={"escalation_level": before},
              after={"escalation_level": complaint.escalation_level}, sla=sla, level=complaint.escalation_level,
              executives=[u.username for u in executives])
    return {"level": complaint.escalation_level, "executives": [u.username for u in executives]}


@operator("apply_intervention")
def apply_intervention(ctx: ServiceContext) -> dict:
    """Reassign the case's open work, grant an extension where the profile allows it, or pass on an
    instruction. Invalid choices refuse the whole step (422/409), so the intervention task stays open."""
    data = ctx.data
    action, instruction = data.get("intervention_action"), str(data.get("instruction") or "")
    if action == "reassign":
        result = _reassign(ctx, data.get("reassign_user"), data.get("reassign_department"))
    elif action == "extend":
        result = _extend(ctx, str(data.get("extension") or ""), instruction)
    elif action == "instruct":
        result = _instruct(ctx, instruction)
    else:
        raise InvalidSubmission({"intervention_action": ["Choose reassign, extend or instruct"]})
    ctx.audit("intervention", intervention=action, instruction=instruction, **result)
    return {"action": action, **result}


def withdraw_open_interventions(ctx: ServiceContext, reason: str) -> list[int]:
    """Record in the history that the open intervention of this case is withdrawn (``reason``: why). The
    diagram does the withdrawing: "Complaint closed" is a terminate end event, which cancels the open
    escalation branch in the same step; the step then marks the task row cancelled."""
    withdrawn = []
    for task in ctx.open_tasks():
        if task.element_id in INTERVENTION_TASKS:
            ctx.audit("intervention_withdrawn", reason=reason, task_id=task.id, element_id=task.element_id,
                      escalation_level=ctx.require_complaint().escalation_level)
            withdrawn.append(task.id)
    return withdrawn


def _work_tasks(ctx: ServiceContext) -> list[UserTask]:
    return [t for t in ctx.open_tasks() if t.element_id not in INTERVENTION_TASKS]


def _reassign(ctx: ServiceContext, username, department) -> dict:
    if not username and not department:
        raise InvalidSubmission({"reassign_user": ["Name a person or a department to reassign to"]})
    tasks = _work_tasks(ctx)
    changed = []
    if department:
        if department not in ctx.settings.departments:
            raise InvalidSubmission({"reassign_department": [f"Unknown department {department!r}"]})
        for task in tasks:
            if task.department is not None and task.department != department:
                task.department, task.assignee_id, task.assigned_at = department, None, None
                changed.append(task.id)
    if username:
        user = ctx.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
        if user is None:
            raise InvalidSubmission({"reassign_user": [f"No active user named {username!r}"]})
        for task in tasks:
            task.assignee_id, task.assigned_at = user.id, ctx.now
            changed.append(task.id)
    return {"reassigned_tasks": sorted(set(changed)), "to_user": username or None, "to_department": department or None}


def _extend(ctx: ServiceContext, extension_name: str, reason: str) -> dict:
    from app.engine.complaints import extensions  # noqa: PLC0415 - the service imports the step machinery
    profile = ctx.settings.sla_profile
    # Running deadlines, and passed ones for an extension that keeps the regulatory point (DISP's holding
    # response may be sent after the 8 weeks): check_allowed then finds the same timer.
    timers = ctx.session.scalars(select(Timer).where(Timer.instance_id == ctx.instance.id,
                                                     Timer.state.in_(("waiting", "fired")), Timer.sla.is_not(None))
                                 .order_by(Timer.id)).all()

    def usable(timer: Timer) -> list[str]:
        return [e.name for e in getattr(profile.slas.get(timer.sla or ""), "extensions", ())
                if timer.state == "waiting" or not e.moves_deadline]

    sla = next((t.sla for t in timers if extension_name in usable(t)), None)
    if sla is None:
        declared = sorted({name for t in timers for name in usable(t)})
        raise InvalidSubmission({"extension": [
            (f"No running deadline of this case allows {extension_name!r}; allowed now: "
            f"{', '.join(declared) or 'none'}")]})
    complaint = ctx.require_complaint()
    allowed = extensions.check_allowed(ctx.session, profile, complaint, ctx.instance.id, sla, extension_name, ctx.now)
    record = DeadlineExtension(complaint_id=complaint.id, instance_id=ctx.instance.id, timer_id=allowed.timer.id,
                               sla=allowed.sla.name, extension=allowed.extension.name, reason=reason,
                               state="requested", requested_by=ctx.actor.username, requested_at=ctx.now)
    ctx.session.add(record)
    ctx.session.flush()
    return extensions.apply(ctx, record)


def _instruct(ctx: ServiceContext, instruction: str) -> dict:
    from app.engine.deadlines.sla_warnings import coordinators, owners  # noqa: PLC0415
    recipients = {**owners(ctx.session, ctx.settings, _work_tasks(ctx)), **coordinators(ctx.session)}
    for _username, user in sorted(recipients.items()):
        _notice(ctx, "instruction", user, instruction=instruction)
    return {"notified": sorted(recipients)}
