"""Keys of submissions a client may retry (the ``Idempotency-Key`` header of POST /api/v1/complaints)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class IdempotencyKey(Base):
    """One client's key for one registration. The same caller sending the same key again within the window gets
    the complaint its first request made, never a second one. Only a digest of the request is kept (to refuse the
    key on a different request), no personal data."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "key"),
                      Index("ix_idempotency_keys_complaint_id", "complaint_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(String(100))        # the actor's username: a person or an integration
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))    # sha256 of the canonical JSON body
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    created_at: Mapped[datetime]
