"""The sealer: it links committed, unsealed audit events into the global and the per-complaint hash chain
(app/engine/audit/chain.py), in id order, under a lock, and signs a checkpoint when one is due
(app/engine/audit/checkpoints.py). The scheduler runs it every few seconds (config/audit.toml
``seal_every_seconds``); `complaintflow audit seal` and `audit verify` run it on demand.

Why after commit, not in the writer. Sealing in the writer, inside the step's transaction, needs the chain's head
from the moment the event is linked until the step commits: every command of every process then waits for the
one before it to commit, on PostgreSQL as on SQLite. Measured with bench/audit_seal.py (bench/lifecycle.py's
persisted targets, ``--count 30``, three alternate rounds; 2 shared cores at load average 8-10, so the CPU
figures are the ones to compare), ms per lifecycle of 8.8 tasks, the sealer as shipped against a before_commit
hook that takes the sealer's lock and links the transaction's events before the commit: SQLite CPU 108.5 ->
149.1 (+37 %), wall 687 -> 878 (+28 %); PostgreSQL CPU 136.1 -> 193.5 (+42 %), wall 1,032 -> 1,251 (+21 %),
with one client (the hook also runs on read-only units of work; a writer hook would run only with events, but
still a flush, the lock and two reads per step). The larger cost is the serialisation: on PostgreSQL the head's
lock is held across the commit's WAL flush, so N application processes commit one at a time, and a step waiting
for the head while holding its instance row can deadlock with one holding the head and waiting for that
instance. A sealer after commit costs a step nothing and takes the lock alone; the price is a window of a few
seconds between commit and seal in which an event is not protected, and `audit verify` reports any event left
unsealed longer than ``unsealed_grace_seconds``. The sealer itself, in batches: 20,000 events sealed in 1.2 s
(SQLite) and 2.4 s (PostgreSQL, 1.4 s CPU) with 20 checkpoints, and verified in 0.6 s and 1.0 s (load average 4).

Several sealers (app processes, schedulers, a CLI run) never fork the chain: on PostgreSQL each batch runs under
a transaction-scoped advisory lock (the scheduler's run skips when another holds it, the CLI waits); on SQLite
every transaction begins IMMEDIATE, which is the database's write lock. The unique indexes on ``chain_seq`` and
(``complaint_id``, ``complaint_seq``) are the backstop: a batch that would still collide fails and is retried
from the new head.

Events are sealed in id order; an event committed late with a lower id than ones already sealed is sealed after
them (its sequence number, not its id, is its place in the chain).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.engine.audit import checkpoints
from app.engine.audit.chain import GENESIS, Link, next_hash, select_links
from app.engine.models import AuditEvent

if TYPE_CHECKING:
    from app.engine.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 500
# pg_advisory_xact_lock's key: any constant the application uses for nothing else ("cfaudit" in ASCII).
LOCK_KEY = 0x6366617564697400
ATTEMPTS = 3


@dataclass
class SealReport:
    sealed: int = 0
    checkpoints: int = 0
    head_seq: int = 0
    busy: bool = False          # another sealer held the lock (a run that does not wait)
    conflicts: int = 0          # batches that collided on the unique index and were retried

    def summary(self) -> str:
        if self.busy and not self.sealed:
            return "audit: another sealer is running"
        return (f"audit: sealed {self.sealed} event(s), head at {self.head_seq}, "
                f"{self.checkpoints} checkpoint(s) signed")


def seal(runtime: Runtime, *, wait: bool = True, batch: int = BATCH, now: datetime | None = None,
         force_checkpoint: bool = False) -> SealReport:
    """Seal every committed, unsealed event, one transaction per ``batch``; sign a checkpoint when one is due
    (``force_checkpoint``: at the end in any case, if events were sealed since the last one). ``wait``: wait for
    another sealer to finish (else return at once, ``busy``)."""
    settings = runtime.settings.audit
    report = SealReport()
    attempts = 0
    while True:
        try:
            with runtime.unit_of_work() as uow:
                session = uow.session
                if not _lock(session, wait):
                    report.busy = True
                    return report
                # A batch ends where a checkpoint by count falls due, so checkpoints land every N events.
                signed = checkpoints.last_checkpoint(session)
                room = settings.checkpoint_every_events - (head(session)[0] - (signed.chain_seq if signed else 0))
                limit = max(1, min(batch, room))
                sealed, head_seq, head_hash = _seal_batch(session, limit)
                at = now or uow.now()
                last = sealed < limit
                if head_seq and (checkpoints.checkpoint_due(session, settings, head_seq, at)
                                 or (force_checkpoint and last and _unsigned(session, head_seq))):
                    checkpoints.sign(session, checkpoints.signing_key(settings.key_file), head_seq, head_hash, at)
                    report.checkpoints += 1
        except IntegrityError:
            # Another sealer linked the same sequence number (no lock held): nothing of this batch happened.
            report.conflicts += 1
            attempts += 1
            if attempts >= ATTEMPTS:
                raise
            continue
        report.sealed += sealed
        report.head_seq = head_seq
        if last:
            if report.sealed or report.checkpoints:
                log.info(report.summary())
            return report


def _lock(session: Session, wait: bool) -> bool:
    """The sealer's lock for this transaction. SQLite: the transaction's own (BEGIN IMMEDIATE, core/db.py)."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(text("SELECT 1"))  # begins the transaction, i.e. takes the write lock
        return True
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}))


def _unsigned(session: Session, head_seq: int) -> bool:
    last = checkpoints.last_checkpoint(session)
    return last is None or last.chain_seq < head_seq


def head(session: Session) -> tuple[int, str]:
    """The sealed chain's last sequence number and hash ((0, GENESIS) when nothing is sealed)."""
    row = session.execute(select(AuditEvent.chain_seq, AuditEvent.chain_hash).where(AuditEvent.chain_seq.is_not(None))
                          .order_by(AuditEvent.chain_seq.desc()).limit(1)).first()
    if row is None or row[0] is None or row[1] is None:
        return 0, GENESIS
    return int(row[0]), str(row[1])


def _seal_batch(session: Session, batch: int) -> tuple[int, int, str]:
    """Link up to ``batch`` unsealed events (lowest ids first); returns how many, and the new head."""
    seq, chain_hash = head(session)
    links = [Link(*row) for row in session.execute(
        select_links.where(AuditEvent.chain_seq.is_(None)).order_by(AuditEvent.id).limit(batch))]
    if not links:
        return 0, seq, chain_hash
    complaint_heads = _complaint_heads(session, {link.complaint_id for link in links if link.complaint_id is not None})
    updates = []
    for link in links:
        seq += 1
        chain_hash = next_hash(chain_hash, link, seq)
        values: dict[str, object] = {"id": link.id, "chain_seq": seq, "chain_hash": chain_hash,
                                     "complaint_seq": None, "complaint_hash": None}
        if link.complaint_id is not None:
            complaint_seq, complaint_hash = complaint_heads.get(link.complaint_id, (0, GENESIS))
            complaint_heads[link.complaint_id] = (complaint_seq + 1, next_hash(complaint_hash, link, seq))
            values["complaint_seq"], values["complaint_hash"] = complaint_heads[link.complaint_id]
        updates.append(values)
    session.execute(update(AuditEvent), updates)  # by primary key, one executemany
    return len(links), seq, chain_hash


def _complaint_heads(session: Session, complaint_ids: set[int]) -> dict[int, tuple[int, str]]:
    """complaint id -> its chain's last sequence number and hash, for those with sealed events."""
    if not complaint_ids:
        return {}
    last = (select(AuditEvent.complaint_id, func.max(AuditEvent.complaint_seq).label("seq"))
            .where(AuditEvent.complaint_id.in_(sorted(complaint_ids)), AuditEvent.complaint_seq.is_not(None))
            .group_by(AuditEvent.complaint_id).subquery())
    rows = session.execute(select(AuditEvent.complaint_id, AuditEvent.complaint_seq, AuditEvent.complaint_hash)
                           .join(last, (AuditEvent.complaint_id == last.c.complaint_id)
                                 & (AuditEvent.complaint_seq == last.c.seq)))
    return {cid: (seq, digest) for cid, seq, digest in rows
            if cid is not None and seq is not None and digest is not None}
