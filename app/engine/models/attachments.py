"""Files attached to a complaint: the row is the evidence (who, when, what digest), the bytes live in storage."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class Attachment(Base):
    """One file kept with a complaint. Its type was decided from its content; ``field_class`` is the read policy's
    class (``submitted``: from the customer; ``case_file``: the bank's evidence; ``internal``: complaint
    management's), so who may read it is decided like a field's. Retention erases the bytes and the name
    (``erased_at``) and keeps the digest, size and type: the history can still say a file was there."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_complaint_id", "complaint_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    field_class: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))         # customer | channel | staff | email
    filename: Mapped[str] = mapped_column(String(255))      # as given, made safe (no path, no control characters)
    media_type: Mapped[str] = mapped_column(String(100))    # sniffed from the content
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(100))  # None once erased
    scan: Mapped[str] = mapped_column(String(20))           # clean | unscanned (no scanner configured)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    erased_at: Mapped[datetime | None]
