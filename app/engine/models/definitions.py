from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class ProcessDefinition(Base):
    """One deployed version of one BPMN process. Versions are immutable; instances pin the version they began on."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)     # BPMN process id
    name: Mapped[str] = mapped_column(String(300))
    version: Mapped[int]
    file_name: Mapped[str] = mapped_column(String(300))
    # Large and rarely needed per step: loaded on access only (the spec comes from the cache).
    bpmn_source: Mapped[str] = mapped_column(Text, deferred=True)
    checksum: Mapped[str] = mapped_column(String(64))                    # sha256 of the BPMN source
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)          # parsed spec + called subprocesses
    called_processes: Mapped[list] = mapped_column(default=list)         # [{"process_id", "version"}]
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(100))
    deploy_reason: Mapped[str | None] = mapped_column(Text)              # why (required from the modeler)
    # The forms this version's user tasks name (its own and its called processes'), file name -> content, pinned
    # at deploy: a running case renders and validates the form of its version. None: deployed before forms were
    # pinned (revision 0013); such a version reads app/forms/ as it is now.
    forms: Mapped[dict | None] = mapped_column(deferred=True)
    forms_checksum: Mapped[str | None] = mapped_column(String(64))       # forms_digest of ``forms``
