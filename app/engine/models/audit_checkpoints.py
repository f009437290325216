from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class AuditCheckpoint(Base):
    """A signed statement of the audit chain's head: "the chain had this hash at this sequence number", signed
    with the installation's Ed25519 key (app/engine/audit/checkpoints.py). A later rewrite of the chain, even
    one that recomputes every hash, no longer matches it."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_seq: Mapped[int] = mapped_column(BigInteger, unique=True)   # the last event it covers
    chain_hash: Mapped[str] = mapped_column(String(64))               # the chain's hash at that event
    created_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(64))                   # sha256 of the raw public key, hex
    public_key: Mapped[str] = mapped_column(Text)                     # base64 of the raw Ed25519 public key
    signature: Mapped[str] = mapped_column(Text)                      # base64 Ed25519 signature
