from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class DeadlineExtension(Base):
    """One request to move an SLA deadline (CBIRC complex case, DISP holding response, CFPB in progress), with
    its reason and its fate: the history a regulator asks for ("extensions are recorded with their reason")
    and what tells the service that an extension was already used."""

    __tablename__ = "deadline_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    timer_id: Mapped[int | None] = mapped_column(ForeignKey("timers.id"))
    sla: Mapped[str] = mapped_column(String(64))              # the SLA as the profile resolves it for the case
    extension: Mapped[str] = mapped_column(String(64))        # its name in config/sla.toml
    reason: Mapped[str] = mapped_column(Text)
    # requested | awaiting_approval | applied | refused | withdrawn (the case closed first)
    state: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    previous_due_at: Mapped[datetime | None]
    new_due_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
