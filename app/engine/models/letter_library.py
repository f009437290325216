from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class LetterLibraryReview(Base):
    """One entry of the clause library's review trail (config/letters.toml), append-only: a submission of the
    file's exact bytes for review, or compliance's decision on them. Keyed by the file's sha256 checksum: an
    approval covers exactly the bytes reviewed, and any edit of the library needs a new sign-off before a decision
    letter is written from it (app/engine/governance/letter_library.py)."""

    __tablename__ = "letter_library_reviews"
    __table_args__ = (Index("ix_letter_library_reviews_checksum", "checksum"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checksum: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))                  # submitted | approved | rejected
    actor: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text, deferred=True)  # submissions: the library as reviewed
    occurred_at: Mapped[datetime]
