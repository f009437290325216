from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.engine.models.base import Base
from app.engine.models.definitions import ProcessDefinition


class ProcessInstance(Base):
    """A running workflow. ``lock_version`` makes two concurrent steps on one instance unable to both win:
    every flush updates WHERE lock_version = <the one we read>, and the loser gets a Conflict."""

    __tablename__ = "process_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    state: Mapped[str] = mapped_column(Text)               # SpiffWorkflow state, without the spec
    status: Mapped[str] = mapped_column(String(20), default="running")   # running | completed
    lock_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    definition: Mapped[ProcessDefinition] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}
