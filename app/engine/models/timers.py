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
                      Index("ix_timers_state_due_at", "state", "due_at"))

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
