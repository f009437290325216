"""Warnings before a deadline: at each threshold of an SLA (config ``warn_at``, default 75 % and 90 % of the
time between the clock's start and the deadline) the owner of the task the deadline bounds and the coordinators
are told (outbox), once.

Each waiting timer row carries its SLA, its clock's start (never restarted by a status change), how many
thresholds were warned of (``warned_level``) and when the next one is due (``next_warning_at``, indexed), so the
job finds what is due with one query. A warning is claimed like a timer: ``UPDATE timers SET warned_level = n
WHERE id = :id AND warned_level < n``; only the run that updated the row writes the messages, in the same
transaction, whatever number of schedulers run in parallel.

The colours where tasks are listed come from the same thresholds (``sla_state``): amber ("warning") from the
first threshold, red ("breached") once the deadline passed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import select, update

from app.engine import audit
from app.engine.core.actors import SCHEDULER
from app.engine.identity.users import active_users
from app.engine.letters import open_work, render_notice
from app.engine.models import Complaint, OutboxMessage, Timer, User, UserTask

if TYPE_CHECKING:
    from sqlalchemy import CursorResult
    from sqlalchemy.orm import Session

    from app.engine.config.settings import Settings, SlaProfile
    from app.engine.runtime import Runtime, UnitOfWork

log = logging.getLogger(__name__)

DEFAULT_THRESHOLDS = (0.75, 0.9)
BATCH = 100


# --- thresholds ----------------------------------------------------------------------------------------------

def thresholds(profile: SlaProfile, sla: str | None) -> tuple[float, ...]:
    """The warning shares of an SLA, ascending (an SLA the profile lacks warns at the defaults)."""
    definition = profile.slas.get(sla) if sla else None
    return tuple(sorted(definition.warn_at if definition is not None else DEFAULT_THRESHOLDS))


def sla_state(profile: SlaProfile, sla: str | None, used: float | None) -> str:
    """'breached' | 'warning' | 'ok' from the share of the SLA used ('' without a deadline)."""
    if used is None:
        return ""
    if used >= 1:
        return "breached"
    shares = thresholds(profile, sla) if sla else DEFAULT_THRESHOLDS
    return "warning" if shares and used >= shares[0] else "ok"


def threshold_at(timer: Timer, share: float) -> datetime:
    assert timer.due_at is not None  # only a deadline that is running has thresholds
    start = timer.started_at or timer.created_at
    return start + (timer.due_at - start) * share


def levels_passed(profile: SlaProfile, timer: Timer, now: datetime) -> int:
    if timer.due_at is None:
        return 0
    return sum(1 for share in thresholds(profile, timer.sla) if threshold_at(timer, share) <= now)


def arm(timer: Timer, profile: SlaProfile, now: datetime) -> None:
    """Set the next warning of a new or moved timer. A moved (extended) deadline may push thresholds already
    warned of back into the future: those are warned of again for the new deadline, never twice for one."""
    shares = thresholds(profile, timer.sla)
    if timer.due_at is None or not shares:
        timer.next_warning_at = None
        return
    timer.warned_level = min(timer.warned_level or 0, levels_passed(profile, timer, now))
    level = timer.warned_level
    timer.next_warning_at = threshold_at(timer, shares[level]) if level < len(shares) else None


# --- the job ---------------------------------------------------------------------------------------------------

@dataclass
class WarningReport:
    sent: int = 0                                     # warnings claimed and written (one per timer and level)
    messages: int = 0
    timers: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return f"warned {self.sent} time(s) ({self.messages} message(s))"


def due_timer_ids(uow: UnitOfWork, now: datetime, limit: int = BATCH) -> list[int]:
    query = (select(Timer.id).where(Timer.state == "waiting", Timer.next_warning_at <= now)
             .order_by(Timer.next_warning_at, Timer.id).limit(limit))
    return list(uow.session.scalars(query))


def warn_timer(uow: UnitOfWork, timer_id: int, now: datetime) -> int:
    """Warn of the highest threshold the timer passed by ``now``; 0 when there is nothing to do or another run
    claimed it first, else the number of messages written."""
    profile = uow.settings.sla_profile
    timer = uow.session.get(Timer, timer_id)
    if timer is None or timer.state != "waiting" or timer.due_at is None:
        return 0
    level = levels_passed(profile, timer, now)
    shares = thresholds(profile, timer.sla)
    following = threshold_at(timer, shares[level]) if level < len(shares) else None
    if level <= timer.warned_level:
        return 0
    warned = timer.warned_level
    # An UPDATE gives a CursorResult (its rowcount); SQLAlchemy 2.1 types every execute() as a plain Result.
    claimed = cast("CursorResult", uow.session.execute(
        update(Timer).where(Timer.id == timer_id, Timer.warned_level < level, Timer.state == "waiting")
        .values(warned_level=level, next_warning_at=following)
        .execution_options(synchronize_session=False))).rowcount
    if claimed != 1:
        return 0   # another scheduler warned of this level first
    uow.session.refresh(timer)
    return _notify(uow, timer, warned, level, shares[level - 1], now)


def fire_due_warnings(runtime: Runtime, now: datetime | None = None, *, batch: int = BATCH) -> WarningReport:
    """Every warning due by ``now`` (default: the runtime's clock), one transaction per timer."""
    now = now or runtime.clock.now()
    report = WarningReport()
    seen: set[int] = set()
    while True:
        with runtime.unit_of_work() as uow:
            ids = [i for i in due_timer_ids(uow, now, batch + len(seen)) if i not in seen][:batch]
        if not ids:
            return report
        for timer_id in ids:
            seen.add(timer_id)
            try:
                with runtime.unit_of_work() as uow:
                    written = warn_timer(uow, timer_id, now)
            except Exception:
                log.exception("warning of timer %s failed", timer_id)
                continue
            if written:
                report.sent += 1
                report.messages += written
                report.timers.append(timer_id)


# --- who is told -----------------------------------------------------------------------------------------------

def owners(session: Session, settings: Settings, tasks: list[UserTask]) -> dict[str, User]:
    """Whoever holds the tasks: the assignee, else the task department's officers, else the lane's roles."""
    users = active_users(session)
    found: dict[str, User] = {}
    for task in tasks:
        if task.assignee_id:
            found.update({u.username: u for u in users if u.id == task.assignee_id})
        elif task.department:
            found.update({u.username: u for u in users
                          if "department_officer" in (u.roles or []) and u.department == task.department})
        else:
            roles = set(settings.lane_roles.get(task.lane or "", ()))
            found.update({u.username: u for u in users if roles & set(u.roles or [])})
    return found


def coordinators(session: Session) -> dict[str, User]:
    users = active_users(session)
    return {u.username: u for u in users if "coordinator" in (u.roles or [])}


def _notify(uow: UnitOfWork, timer: Timer, warned: int, level: int, share: float, now: datetime) -> int:
    assert timer.due_at is not None  # warn_timer warns only of a running deadline
    session = uow.session
    complaint = session.get(Complaint, timer.complaint_id) if timer.complaint_id else None
    # The tasks this deadline bounds: the ready tasks of the instance whose due time is this timer's.
    tasks = list(session.scalars(select(UserTask).where(UserTask.instance_id == timer.instance_id,
                                                        UserTask.state == "ready", UserTask.due_at == timer.due_at)))
    recipients = {**owners(session, uow.settings, tasks), **coordinators(session)}
    tracking = complaint.tracking_number if complaint else f"instance {timer.instance_id}"
    work = open_work(tasks, uow.settings.departments)
    for username, user in sorted(recipients.items()):
        # In the recipient's language and time zone (app/engine/letters/templates/deadline_warning.txt.j2).
        notice = render_notice("deadline_warning", user, uow.settings.sla_profile, tracking_number=tracking,
                               percent=round(share * 100), sla=timer.sla or timer.name, due_at=timer.due_at,
                               open_work=work)
        # Per deadline: an extended deadline warns again of the same level, never twice of one.
        key = f"warning:{timer.id}:{timer.due_at.isoformat()}:{level}:{username}"
        session.add(OutboxMessage(idempotency_key=key,
                                  complaint_id=timer.complaint_id, kind="sla_warning",
                                  recipient=user.email or user.username, subject=notice.subject,
                                  body=notice.body, created_at=now))
    # The warning job is the scheduler's: the level warned of is the timer's change.
    audit.record(uow, SCHEDULER, "sla_warning", at=now, complaint_id=timer.complaint_id,
                 instance_id=timer.instance_id, before={"warned_level": warned}, after={"warned_level": level},
                 sla=timer.sla, level=level, share=share, due_at=timer.due_at.isoformat(),
                 recipients=sorted(recipients), tasks=[t.id for t in tasks])
    session.flush()
    return len(recipients)
