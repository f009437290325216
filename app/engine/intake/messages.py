"""A mail as the engine reads it: the adapter (app/intake.py) decodes the MIME, the engine decides."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class MailFile:
    filename: str
    data: bytes


@dataclass(frozen=True)
class InboundMail:
    """One decoded message. ``headers``: the header fields the auto-reply rules read, names in lower case
    (auto-submitted, x-autoreply, x-autorespond, precedence, list-id, return-path); ``content_type`` and
    ``report_type`` of the whole message (a delivery status notification is multipart/report;
    report-type=delivery-status); ``bounced_ids``: the Message-IDs of the original message a bounce returns."""

    digest: str                                   # sha256 of the raw bytes
    sender: str                                   # the From address (addr-spec, no display name)
    sender_name: str = ""
    subject: str = ""
    text: str = ""
    message_id: str | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    sent_at: datetime | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"
    report_type: str | None = None
    bounced_ids: tuple[str, ...] = ()
    files: tuple[MailFile, ...] = ()

    @property
    def key(self) -> str:
        """What makes it this message: its Message-ID, else the digest of its bytes."""
        return self.message_id.strip()[:300] if self.message_id and self.message_id.strip() else f"sha256:{self.digest}"

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """The messages it answers, nearest first: In-Reply-To, then References from the last."""
        seen: list[str] = []
        for value in (*self.in_reply_to, *reversed(self.references)):
            if value not in seen:
                seen.append(value)
        return tuple(seen)
