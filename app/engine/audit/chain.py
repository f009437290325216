"""The hash chains over the audit trail, defined once: what of an event is hashed, and how one link follows the
previous one. Used by the sealer (which writes the links) and the verifier (which recomputes them).

Every event is a link of two chains: the global one (``chain_seq`` 1, 2, 3 ..., ``chain_hash``) and its
complaint's (``complaint_seq`` 1, 2, 3 ... per complaint, ``complaint_hash``; events of no complaint have none).
A link's hash is sha256 over the previous link's hash (hex; the first link follows ``GENESIS``) and the event's
canonical JSON: its id, its global sequence number, when, who (name and user id), what, on which complaint and
instance, the detail and the values before and after; keys sorted, no whitespace, UTF-8. Editing any of these,
deleting an event (a gap in the sequence) or moving one (its sequence number and predecessor are in its hash)
breaks the chain from that event on.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from app.engine.models import AuditEvent

GENESIS = "0" * 64

# The columns a link is computed from (and the verifier streams), in one select.
LINK_COLUMNS = (AuditEvent.id, AuditEvent.chain_seq, AuditEvent.occurred_at, AuditEvent.actor, AuditEvent.actor_id,
                AuditEvent.action, AuditEvent.complaint_id, AuditEvent.instance_id, AuditEvent.detail,
                AuditEvent.before, AuditEvent.after, AuditEvent.chain_hash, AuditEvent.complaint_seq,
                AuditEvent.complaint_hash)
select_links = select(*LINK_COLUMNS)


@dataclass(frozen=True)
class Link:
    """An event as the chains see it (a row of ``select_links``)."""

    id: int
    chain_seq: int | None
    occurred_at: datetime
    actor: str
    actor_id: int | None
    action: str
    complaint_id: int | None
    instance_id: int | None
    detail: dict | None
    before: dict | None
    after: dict | None
    chain_hash: str | None = None
    complaint_seq: int | None = None
    complaint_hash: str | None = None


def canonical(link: Link, chain_seq: int | None = None) -> bytes:
    """The event's canonical JSON, at ``chain_seq`` (default: the sequence number it has)."""
    occurred_at = link.occurred_at if link.occurred_at.tzinfo else link.occurred_at.replace(tzinfo=UTC)
    content = {"id": link.id, "chain_seq": link.chain_seq if chain_seq is None else chain_seq,
               "occurred_at": occurred_at.astimezone(UTC).isoformat(), "actor": link.actor,
               "actor_id": link.actor_id, "action": link.action, "complaint_id": link.complaint_id,
               "instance_id": link.instance_id, "detail": link.detail, "before": link.before, "after": link.after}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def next_hash(previous: str, link: Link, chain_seq: int | None = None) -> str:
    """The hash of the link that follows ``previous`` (a hex hash, or GENESIS for the first)."""
    return hashlib.sha256(previous.encode("ascii") + canonical(link, chain_seq)).hexdigest()
