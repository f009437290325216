"""Verifying the audit trail: recompute both hash chains and check every signed checkpoint, reporting the first
broken or missing entry of each (`complaintflow audit verify`, the compliance page "Audit trail").

It streams: the global chain in batches by ``chain_seq`` (its unique index), then the complaints' chains in
batches by (``complaint_id``, ``complaint_seq``) (theirs), holding one batch and a few links at a time, so a
trail of millions of events is checked in constant memory.

What a break is called:
- a gap in a chain's sequence numbers (or a checkpoint beyond the chain's end): an entry was **deleted**;
- a hash that does not follow, where the event's own hash is found at another place among its neighbours:
  the rows were **reordered**; where it is not: the event was **edited**;
- a checkpoint whose hash is not the chain's at its sequence number, or whose signature does not verify or is
  not by the pinned key: the **checkpoint** is wrong (a rewritten chain re-signed with another key is caught
  by pinning the public key);
- a personal value kept apart from its event (audit/personal.py) that does not match the commitment the event
  holds: **edited**;
- events committed but left unsealed longer than config/audit.toml ``unsealed_grace_seconds``: **unsealed**.

What it cannot see: events deleted after the last checkpoint from the end of the chain (the next checkpoint
covers them once signed), and events not sealed yet (reported once older than the grace period).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from app.engine.audit import checkpoints, personal
from app.engine.audit.chain import GENESIS, Link, next_hash, select_links
from app.engine.config.audit import AuditSettings
from app.engine.models import AuditCheckpoint, AuditEvent

BATCH = 2000
# How many neighbours on each side a hash that does not follow is looked for among (to tell a move from an edit).
NEIGHBOURS = 16

EDITED, DELETED, REORDERED, CHECKPOINT, UNSEALED = "edited", "deleted", "reordered", "checkpoint", "unsealed"


@dataclass(frozen=True)
class Finding:
    kind: str                       # EDITED | DELETED | REORDERED | CHECKPOINT | UNSEALED
    chain: str                      # "global", "complaint", "checkpoint" or "unsealed"
    message: str
    chain_seq: int | None = None    # the place in the chain (global: chain_seq; complaint: complaint_seq)
    event_id: int | None = None
    complaint_id: int | None = None


@dataclass
class Verification:
    events: int = 0                 # links of the global chain checked
    complaint_links: int = 0        # links of complaint chains checked
    checkpoints: int = 0            # checkpoints checked
    head_seq: int = 0
    head_hash: str = GENESIS
    last_checkpoint: AuditCheckpoint | None = None
    unsealed: int = 0               # events not sealed yet (any age)
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def summary(self) -> str:
        if self.intact:
            text = (f"audit trail intact: {self.events} event(s) in the global chain (head {self.head_seq}, "
                    f"{self.head_hash[:16]}…), {self.complaint_links} in complaint chains, "
                    f"{self.checkpoints} checkpoint(s) verified")
            if self.unsealed:
                text += f"; {self.unsealed} recent event(s) not sealed yet"
            return text
        return f"audit trail BROKEN: {self.findings[0].message}"


def verify(session: Session, settings: AuditSettings, now: datetime, *, complaint_id: int | None = None,
           pinned: bytes | None = None, batch: int = BATCH) -> Verification:
    """Check the trail (``complaint_id``: that complaint's chain only). ``pinned``: the raw public key every
    checkpoint must be signed with."""
    result = Verification()
    if complaint_id is None:
        _global_chain(session, result, pinned, batch)
    _complaint_chains(session, result, complaint_id, batch)
    _personal_data(session, result, complaint_id, batch)
    _unsealed(session, result, settings, now, complaint_id)
    return result


# --- the global chain ----------------------------------------------------------------------------------------

def _global_chain(session: Session, result: Verification, pinned: bytes | None, batch: int) -> None:
    expected, previous = 1, GENESIS
    behind: deque[Link] = deque(maxlen=NEIGHBOURS)
    for links in _batches(session, batch):
        due = {c.chain_seq: c for c in session.scalars(select(AuditCheckpoint).where(
            AuditCheckpoint.chain_seq >= expected, AuditCheckpoint.chain_seq <= links[-1].chain_seq))}
        for i, link in enumerate(links):
            assert link.chain_seq is not None
            if link.chain_seq != expected:
                missing = (f"entry {expected}" if link.chain_seq == expected + 1
                           else f"entries {expected} to {link.chain_seq - 1}")
                return _found(result, Finding(DELETED, "global", f"global chain: {missing} missing (deleted): "
                                              f"entry {link.chain_seq} (event {link.id}) follows entry "
                                              f"{expected - 1}", expected, link.id, link.complaint_id))
            computed = next_hash(previous, link)
            if computed != link.chain_hash:
                ahead = links[i + 1:i + 1 + NEIGHBOURS]
                return _found(result, _broken("global", link, link.chain_seq, link.chain_hash,
                                              [previous, *(n.chain_hash for n in (*behind, *ahead))],
                                              _around(link.chain_seq)))
            if link.complaint_id is not None and link.complaint_seq is None:
                return _found(result, Finding(EDITED, "global", f"global chain: entry {link.chain_seq} (event "
                                              f"{link.id}) was taken out of complaint {link.complaint_id}'s chain",
                                              link.chain_seq, link.id, link.complaint_id))
            checkpoint = due.get(link.chain_seq)
            if checkpoint is not None:
                problem = _checkpoint_problem(checkpoint, computed, pinned)
                if problem:
                    return _found(result, problem)
                result.checkpoints += 1
                result.last_checkpoint = checkpoint
            previous, expected = computed, expected + 1
            behind.append(link)
            result.events += 1
        result.head_seq, result.head_hash = expected - 1, previous
    beyond = session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.chain_seq >= expected)
                             .order_by(AuditCheckpoint.chain_seq).limit(1)).first()
    if beyond is not None:
        _found(result, Finding(DELETED, "global", f"global chain: entries {expected} to {beyond.chain_seq} missing "
                               f"(deleted): checkpoint {beyond.id} signed the chain up to entry "
                               f"{beyond.chain_seq}, and it ends at entry {expected - 1}", expected))


def _batches(session: Session, batch: int) -> Iterator[list[Link]]:
    last = 0
    while True:
        links = [Link(*row) for row in session.execute(
            select_links.where(AuditEvent.chain_seq > last).order_by(AuditEvent.chain_seq).limit(batch))]
        if not links:
            return
        yield links
        last = links[-1].chain_seq or 0


def _checkpoint_problem(checkpoint: AuditCheckpoint, computed: str, pinned: bytes | None) -> Finding | None:
    where = f"checkpoint {checkpoint.id} (entry {checkpoint.chain_seq}, {checkpoint.created_at.isoformat()})"
    if checkpoint.chain_hash != computed:
        return Finding(CHECKPOINT, "checkpoint", f"{where}: the chain's hash at entry {checkpoint.chain_seq} is "
                       f"{computed[:16]}…, the checkpoint signed {checkpoint.chain_hash[:16]}…",
                       checkpoint.chain_seq)
    problem = checkpoints.signature_problem(checkpoint, pinned)
    if problem:
        return Finding(CHECKPOINT, "checkpoint", f"{where}: {problem}", checkpoint.chain_seq)
    return None


# --- the complaints' chains ----------------------------------------------------------------------------------

def _complaint_chains(session: Session, result: Verification, complaint_id: int | None, batch: int) -> None:
    current, expected, previous = None, 1, GENESIS
    behind: deque[Link] = deque(maxlen=NEIGHBOURS)
    for links in _complaint_batches(session, complaint_id, batch):
        for i, link in enumerate(links):
            assert link.complaint_seq is not None and link.chain_seq is not None
            if link.complaint_id != current:
                current, expected, previous = link.complaint_id, 1, GENESIS
                behind.clear()
            if link.complaint_seq != expected:
                missing = (f"entry {expected}" if link.complaint_seq == expected + 1
                           else f"entries {expected} to {link.complaint_seq - 1}")
                return _found(result, Finding(DELETED, "complaint", f"complaint {current}'s chain: {missing} "
                                              f"missing (deleted): entry {link.complaint_seq} (event {link.id}) "
                                              f"follows entry {expected - 1}", expected, link.id, current))
            computed = next_hash(previous, link)
            if computed != link.complaint_hash:
                ahead = [n for n in links[i + 1:i + 1 + NEIGHBOURS] if n.complaint_id == current]
                return _found(result, _broken("complaint", link, link.complaint_seq, link.complaint_hash,
                                              [previous, *(n.complaint_hash for n in (*behind, *ahead))],
                                              _around(link.chain_seq)))
            previous, expected = computed, expected + 1
            behind.append(link)
            result.complaint_links += 1


def _complaint_batches(session: Session, complaint_id: int | None, batch: int) -> Iterator[list[Link]]:
    query = select_links.where(AuditEvent.complaint_id.is_not(None), AuditEvent.complaint_seq.is_not(None))
    if complaint_id is not None:
        query = query.where(AuditEvent.complaint_id == complaint_id)
    last: tuple[int, int] = (0, 0)
    while True:
        links = [Link(*row) for row in session.execute(
            query.where(tuple_(AuditEvent.complaint_id, AuditEvent.complaint_seq) > tuple_(*last))
            .order_by(AuditEvent.complaint_id, AuditEvent.complaint_seq).limit(batch))]
        if not links:
            return
        yield links
        last = (links[-1].complaint_id or 0, links[-1].complaint_seq or 0)


# --- what a broken link is -----------------------------------------------------------------------------------

def _around(seq: int) -> range:
    return range(max(1, seq - NEIGHBOURS), seq + NEIGHBOURS + 1)


def _broken(chain: str, link: Link, place: int, stored: str | None, previous: Iterable[str | None],
            places: range) -> Finding:
    """A link whose hash does not follow: reordered when its stored hash is what it had at another place among its
    neighbours (after one of their hashes, at one of their sequence numbers), else edited."""
    label = "global chain" if chain == "global" else f"complaint {link.complaint_id}'s chain"
    candidates = {p for p in (*previous, GENESIS) if p}
    for before in candidates:
        for seq in places:
            if stored and next_hash(before, link, seq) == stored:
                moved = f"sealed as global entry {seq}" if seq != link.chain_seq else "sealed after another entry"
                return Finding(REORDERED, chain, f"{label}: entry {place} (event {link.id}) is out of order: it was "
                               f"{moved}; rows were reordered", place, link.id, link.complaint_id)
    return Finding(EDITED, chain, f"{label}: entry {place} (event {link.id}, {link.action} by {link.actor}) does not "
                   "match its hash: the event was edited", place, link.id, link.complaint_id)


def _found(result: Verification, finding: Finding) -> None:
    result.findings.append(finding)


# --- personal data kept apart from the chain -----------------------------------------------------------------

def _personal_data(session: Session, result: Verification, complaint_id: int | None, batch: int) -> None:
    # The content is not chained (retention erases it), its commitment is: a content that no longer matches
    # the commitment its event holds was edited.
    for mismatch in personal.check(session, complaint_id, batch):
        return _found(result, Finding(EDITED, "personal", mismatch.message, None, mismatch.event_id,
                                      mismatch.complaint_id))


# --- events not sealed ---------------------------------------------------------------------------------------

def _unsealed(session: Session, result: Verification, settings: AuditSettings, now: datetime,
              complaint_id: int | None) -> None:
    unsealed = select(AuditEvent).where(AuditEvent.chain_seq.is_(None))
    if complaint_id is not None:
        unsealed = unsealed.where(AuditEvent.complaint_id == complaint_id)
    result.unsealed = session.scalar(select(func.count()).select_from(unsealed.subquery())) or 0
    grace = timedelta(seconds=settings.unsealed_grace_seconds)
    oldest = session.scalars(unsealed.where(AuditEvent.occurred_at < now - grace)
                             .order_by(AuditEvent.id).limit(1)).first()
    if oldest is not None:
        _found(result, Finding(UNSEALED, "unsealed", f"event {oldest.id} ({oldest.action}, "
                               f"{oldest.occurred_at.isoformat()}) is not sealed into the chain "
                               f"{settings.unsealed_grace_seconds} s after it happened: is the scheduler's sealer "
                               "running?", None, oldest.id, oldest.complaint_id))
