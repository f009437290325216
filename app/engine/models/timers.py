from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class Timer(Base):
    """A waiting BPMN timer with its due time as an indexed column, so the scheduler finds what is due
    with one query instead of loading every workflow."""

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("instance_id", "spiff_task_id"),
                      Index("ix_timers_state_due_at", "state", "due_at"),
                      Index("ix_timers_state_next_warning_at", "state", "next_warning_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    host_task_id: Mapped[str | None] = mapped_column(String(36))
    due_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(20), default="waiting")   # waiting | fired | cancelled | broken
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    # The SLA behind the timer (its diagram property ``sla``, resolved by product track) and when its clock
    # started (``slaClockStart``; the clock never restarts on a status change): warnings and extensions need both.
    sla: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    # Warnings (services/sla_warnings.py): how many thresholds were warned of, and when the next one is due.
    # Claimed by ``UPDATE ... WHERE warned_level < n``, so each fires once whatever runs in parallel.
    warned_level: Mapped[int] = mapped_column(default=0)
    next_warning_at: Mapped[datetime | None]
