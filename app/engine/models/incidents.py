from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class Incident(Base):
    """A step that failed on one case (a script error on a timer path, an operator that keeps failing, a
    message that cannot be delivered). Recorded instead of stopping the run; retried with backoff until it
    works, then resolved. Managers see the open ones."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_state_next_retry_at", "state", "next_retry_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))                     # timer | service_task | delivery
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    element_id: Mapped[str | None] = mapped_column(String(200))
    error_type: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="open")   # open | resolved
    attempts: Mapped[int] = mapped_column(default=1)
    first_failed_at: Mapped[datetime]
    last_failed_at: Mapped[datetime]
    next_retry_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
