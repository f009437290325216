from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.engine.models.base import Base


class AuditEvent(Base):
    """Who did what, when. Append-only; written in the same transaction as the change it records, and only by
    app/engine/audit/writer.py; sealed into the hash chains after commit by app/engine/audit/sealer.py."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_chain_seq", "chain_seq", unique=True),
                      Index("ix_audit_events_complaint_seq", "complaint_id", "complaint_seq", unique=True))

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(60), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    detail: Mapped[dict] = mapped_column(default=dict)
    # The values the event changed, as they were and as they became (an assignee, a deadline, a definition
    # version; a completion's submitted data as ``after``). None where nothing changed or was not recorded.
    before: Mapped[dict | None]
    after: Mapped[dict | None]
    # The seal (app/engine/audit/chain.py), None until the sealer reaches the event: its place in the global
    # chain (1, 2, 3 ... without a gap) and the chain's hash up to it; the same within its complaint's chain.
    chain_seq: Mapped[int | None] = mapped_column(BigInteger)
    chain_hash: Mapped[str | None] = mapped_column(String(64))
    complaint_seq: Mapped[int | None]
    complaint_hash: Mapped[str | None] = mapped_column(String(64))


class AuditPersonalData(Base):
    """A personal value an audit event recorded (app/engine/audit/personal.py), kept out of the chained row: the
    row holds {"personal": HMAC-SHA256(salt, the value's canonical JSON)} in its place, so the retention job can
    erase the value (``content`` NULL, ``erased_at`` set) and the chain, which hashes the row as stored, still
    verifies; `audit verify` checks each content left against its commitment."""

    __tablename__ = "audit_personal_data"

    # Made here, not by the database: with its key known before the INSERT, a step's personal values are written
    # in one statement (executemany) instead of one INSERT ... RETURNING each (tests/engine/test_step_statements.py).
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: secrets.token_hex(16))
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id", ondelete="CASCADE"), index=True)
    salt: Mapped[str] = mapped_column(String(64))                # hex of random bytes, the HMAC key
    commitment: Mapped[str] = mapped_column(String(64))          # hex HMAC, as it stands in the event
    content: Mapped[dict | None]                                 # {"value": the value}; NULL once erased
    erased_at: Mapped[datetime | None]
    event: Mapped[AuditEvent] = relationship()


class OutboxMessage(Base):
    """A message to a customer or to staff, written in the step's transaction (so it exists exactly when the
    step committed) and delivered after commit by the sender job (app/delivery.py), which claims it, sends it
    and records the result; a message that keeps failing becomes an incident."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))          # acknowledgement | reply | escalation | ...
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20), default="pending")   # pending | sending | to_post | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]               # None: as soon as possible
    lease_until: Mapped[datetime | None]                   # a sender's claim; after it, another may retry
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
