from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class ProcessDraft(Base):
    """A process owner's unfinished edit of one BPMN file. Drafts are mutable and never run; deploying one
    creates an immutable ProcessDefinition version and removes the draft."""

    __tablename__ = "process_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)    # the file's executable process
    file_name: Mapped[str] = mapped_column(String(300))                  # replaces this file of the bundle
    bpmn_source: Mapped[str] = mapped_column(Text, deferred=True)
    base_version: Mapped[int | None]                                     # the version it was opened from
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The forms this draft edits or adds, file name -> content, over app/forms/ for the others it names: opened
    # from a version, the forms that version pinned; imported, app/forms/ as it was (governance/draft_forms.py).
    forms: Mapped[dict | None] = mapped_column(deferred=True)
