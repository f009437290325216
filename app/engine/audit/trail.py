"""The audit trail as the adapters ask about it: its state (sealed, unsealed, the last checkpoint), a
verification on demand, and the latest event of some kind (the deploy gate compares it with the review table)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app.engine.audit import checkpoints
from app.engine.audit.sealer import head
from app.engine.audit.verify import Verification, verify
from app.engine.models import AuditCheckpoint, AuditEvent

if TYPE_CHECKING:
    from collections.abc import Collection

    from app.engine.runtime import UnitOfWork


@dataclass(frozen=True)
class TrailState:
    sealed: int                                 # the global chain's length (its head's sequence number)
    unsealed: int                               # events committed and not sealed yet
    head_hash: str
    last_checkpoint: AuditCheckpoint | None
    checkpoints: int
    key_id: str                                 # the key this installation signs with
    checkpoint_every_events: int
    checkpoint_every_minutes: int


def trail_state(uow: UnitOfWork) -> TrailState:
    session, settings = uow.session, uow.settings.audit
    seq, chain_hash = head(session)
    key = checkpoints.signing_key(settings.key_file)
    return TrailState(sealed=seq, unsealed=session.scalar(select(func.count(AuditEvent.id))
                                                          .where(AuditEvent.chain_seq.is_(None))) or 0,
                      head_hash=chain_hash, last_checkpoint=checkpoints.last_checkpoint(session),
                      checkpoints=session.scalar(select(func.count(AuditCheckpoint.id))) or 0,
                      key_id=checkpoints.key_id(checkpoints.raw_public_key(key.public_key())),
                      checkpoint_every_events=settings.checkpoint_every_events,
                      checkpoint_every_minutes=settings.checkpoint_every_minutes)


def verify_trail(uow: UnitOfWork, *, complaint_id: int | None = None, pinned: bytes | None = None) -> Verification:
    """Verify the whole trail (or one complaint's chain) as it is committed now."""
    return verify(uow.session, uow.settings.audit, uow.now(), complaint_id=complaint_id, pinned=pinned)


def latest_event(uow: UnitOfWork, actions: Collection[str], **detail: str) -> AuditEvent | None:
    """The latest event (by its instant, then id) of one of ``actions`` whose detail has these string values."""
    query = select(AuditEvent).where(AuditEvent.action.in_(list(actions)))
    for key, value in detail.items():
        query = query.where(AuditEvent.detail[key].as_string() == value)
    return uow.session.scalars(query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(1)).first()
