from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class DefinitionReview(Base):
    """One entry of a version's review trail, append-only: a submission for review (by its author, with the
    source under review) or compliance's decision on it. Keyed by the file's checksum, so an approval covers
    exactly the bytes that were reviewed: a draft approved before deployment and the version deployed from it
    share it, and any later edit needs a new sign-off."""

    __tablename__ = "definition_reviews"
    __table_args__ = (Index("ix_definition_reviews_checksum", "checksum"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    checksum: Mapped[str] = mapped_column(String(64))                   # sha256 of the BPMN source
    action: Mapped[str] = mapped_column(String(20))                      # submitted | approved | rejected
    actor: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(300))
    bpmn_source: Mapped[str | None] = mapped_column(Text, deferred=True)  # submissions: what is reviewed
    occurred_at: Mapped[datetime]
    # A decision: forms_digest of the forms the reviewed file's own user tasks name, as the review showed them.
    # The deploy gate requires the same digest, so an unreviewed form change is not deployed under an approval.
    forms_checksum: Mapped[str | None] = mapped_column(String(64))
    # A submission of a draft: the content of the forms the file's own user tasks name, as the review shows them
    # (its digest in forms_checksum). None: a file submitted as it is, whose forms are read from app/forms/.
    forms: Mapped[dict | None] = mapped_column(deferred=True)
