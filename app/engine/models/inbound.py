"""Mail that came in (app/engine/intake/mail.py): one row per message, the record that it was taken in once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class InboundMessage(Base):
    """One e-mail read from a mailbox. ``message_key`` (its Message-ID, else ``sha256:`` and the digest of its
    bytes) is unique: the row is written in the transaction of the message's effect, so two readers of one
    mailbox take each message in once. ``outcome``: ``intake`` (a "Complete registration" task, ``instance_id``),
    ``reply`` (threaded to ``complaint_id``), ``ignored`` (an auto-reply or a bounce, ``reason`` says which) or
    ``not_a_complaint`` (staff closed the intake task). Sender, subject and text are the customer's words
    (personal data: retention replaces them with the case's other personal data)."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(String(300), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    source: Mapped[str] = mapped_column(String(20))            # maildir | mbox | imap
    sender: Mapped[str] = mapped_column(String(300))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    thread_ids: Mapped[list] = mapped_column(default=list)     # In-Reply-To, then References
    sent_at: Mapped[datetime | None]                           # its Date header
    received_at: Mapped[datetime]                              # when we read it
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    # Files of a mail that is not yet a complaint, kept in storage until registration attaches them:
    # [{"filename": ..., "storage_key": ...}]. Emptied when they are attached.
    held_files: Mapped[list] = mapped_column(default=list)
