"""Signed checkpoints of the audit chain: at an interval (config/audit.toml: every N sealed events or T minutes),
the sealer signs "complaintflow-audit-checkpoint\\n<chain_seq>\\n<chain_hash>\\n<created_at ISO>" with the
installation's Ed25519 key and stores it with the public key and its id (sha256 of the raw public key). Someone
who rewrites the table and recomputes every hash cannot sign the new head with the bank's key; pinning the
expected public key (`audit verify --public-key`) catches a chain re-signed with another key.

The private key is a PKCS#8 PEM file (config/audit.toml ``key_file``, or $COMPLAINTFLOW_AUDIT_KEY). When it is
absent it is generated on first use, written with mode 0600 and logged; it never belongs in git.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.engine.models import AuditCheckpoint, AuditEvent

if TYPE_CHECKING:
    from app.engine.config.audit import AuditSettings
    from app.engine.runtime import UnitOfWork

log = logging.getLogger(__name__)

CONTEXT = "complaintflow-audit-checkpoint"


def message(chain_seq: int, chain_hash: str, created_at: datetime) -> bytes:
    """What a checkpoint's signature covers."""
    return f"{CONTEXT}\n{chain_seq}\n{chain_hash}\n{_iso(created_at)}".encode("ascii")


def _iso(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


# --- the signing key -----------------------------------------------------------------------------------------

def signing_key(path: Path) -> Ed25519PrivateKey:
    """The private key at ``path``, generated there first when the file does not exist. Two processes starting
    at once agree on one key: the new key is written to a temporary file and linked into place, which fails
    for the second, who then reads the first's."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")
        try:
            os.fchmod(handle, 0o600)
            os.write(handle, pem)
            os.close(handle)
            os.link(temporary, path)
            log.warning("audit: generated a new checkpoint signing key at %s (key id %s); back it up apart from "
                        "the database and keep it out of git", path, key_id(raw_public_key(key.public_key())))
        except FileExistsError:
            pass  # another process generated it first: use theirs
        finally:
            os.unlink(temporary)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return loaded


def load_public_key(path: Path) -> bytes:
    """A pinned public key from a file: PEM (SubjectPublicKeyInfo), or the raw key in base64 as checkpoints
    store it; a private key's file gives its public key. Returns the raw 32 bytes."""
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 key")
        return raw_public_key(private.public_key())
    if b"-----BEGIN" in data:
        public = serialization.load_pem_public_key(data)
        if not isinstance(public, Ed25519PublicKey):
            raise ValueError(f"{path}: not an Ed25519 public key")
        return raw_public_key(public)
    raw = base64.b64decode(data.strip(), validate=True)
    if len(raw) != 32:
        raise ValueError(f"{path}: not an Ed25519 public key (PEM, or 32 bytes in base64)")
    return raw


def public_key_pem(private: Ed25519PrivateKey) -> str:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


# --- writing and checking checkpoints ------------------------------------------------------------------------

def sign(session: Session, key: Ed25519PrivateKey, chain_seq: int, chain_hash: str,
         at: datetime) -> AuditCheckpoint:
    """A checkpoint of the chain's head (``chain_seq``, ``chain_hash``), added to the session."""
    created_at = at.astimezone(UTC).replace(microsecond=0)  # what every database stores and gives back alike
    raw = raw_public_key(key.public_key())
    checkpoint = AuditCheckpoint(chain_seq=chain_seq, chain_hash=chain_hash, created_at=created_at,
                                 key_id=key_id(raw), public_key=base64.b64encode(raw).decode("ascii"),
                                 signature=base64.b64encode(key.sign(message(chain_seq, chain_hash, created_at)))
                                 .decode("ascii"))
    session.add(checkpoint)
    return checkpoint


def signature_problem(checkpoint: AuditCheckpoint, pinned: bytes | None = None) -> str | None:
    """Why a checkpoint's signature does not hold (None: it does): a public key that is not the pinned one or
    not its key id, or a signature that does not verify over its sequence number, hash and time."""
    try:
        raw = base64.b64decode(checkpoint.public_key, validate=True)
        signature = base64.b64decode(checkpoint.signature, validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return "its public key or signature is not valid base64 Ed25519"
    if key_id(raw) != checkpoint.key_id:
        return "its key id is not the sha256 of its public key"
    if pinned is not None and raw != pinned:
        return f"signed with key {checkpoint.key_id[:16]}…, not the pinned key {key_id(pinned)[:16]}…"
    try:
        public.verify(signature, message(checkpoint.chain_seq, checkpoint.chain_hash, checkpoint.created_at))
    except InvalidSignature:
        return "its signature does not verify"
    return None


def last_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.chain_seq.desc()).limit(1)).first()


def checkpoint_due(session: Session, settings: AuditSettings, head_seq: int, now: datetime) -> bool:
    """Whether the sealed head ``head_seq`` needs a checkpoint now: N events or T minutes after the last one
    (with no checkpoint yet, T minutes after the first event sealed)."""
    last = last_checkpoint(session)
    signed = last.chain_seq if last is not None else 0
    if head_seq <= signed:
        return False
    if head_seq - signed >= settings.checkpoint_every_events:
        return True
    since = last.created_at if last is not None else session.scalar(
        select(AuditEvent.occurred_at).where(AuditEvent.chain_seq == 1))
    return since is None or now - since >= timedelta(minutes=settings.checkpoint_every_minutes)


# --- the receipt ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReceiptCheckpoint:
    """Which checkpoint includes an event: an existing one (``checkpoint_id``, ``chain_seq``, signed at
    ``at``), or the next one, due by ``at`` (``checkpoint_id`` None). ``key_id``: the key that signs it."""

    at: datetime
    key_id: str
    checkpoint_id: int | None = None
    chain_seq: int | None = None

    @property
    def pending(self) -> bool:
        return self.checkpoint_id is None


def receipt_checkpoint(uow: UnitOfWork, event: AuditEvent | datetime) -> ReceiptCheckpoint:
    """The checkpoint that will include ``event`` (an event of this unit of work, or the instant of one): the
    existing checkpoint covering it once it is sealed and signed, else "the checkpoint due by <at>": the next
    one by the time interval (the last checkpoint's time + T, or the event's if later), plus one sealing
    period for the scheduler to seal and sign it. A checkpoint by count may come sooner, never later while the
    scheduler runs."""
    settings = uow.settings.audit
    session = uow.session
    key = key_id(raw_public_key(signing_key(settings.key_file).public_key()))
    chain_seq = event.chain_seq if isinstance(event, AuditEvent) else None
    if chain_seq is not None:
        covering = session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.chain_seq >= chain_seq)
                                   .order_by(AuditCheckpoint.chain_seq).limit(1)).first()
        if covering is not None:
            return ReceiptCheckpoint(at=covering.created_at, key_id=covering.key_id, checkpoint_id=covering.id,
                                     chain_seq=covering.chain_seq)
    at = event.occurred_at if isinstance(event, AuditEvent) else event
    # As checkpoint_due counts: from the last checkpoint, else from the chain's first event (the first to be
    # sealed, when none is yet).
    since = session.scalar(select(func.max(AuditCheckpoint.created_at))) or session.scalar(
        select(AuditEvent.occurred_at).where(AuditEvent.chain_seq == 1)) or session.scalar(
        select(AuditEvent.occurred_at).order_by(AuditEvent.id).limit(1)) or at
    due = max(at, since + timedelta(minutes=settings.checkpoint_every_minutes))
    due += timedelta(seconds=settings.seal_every_seconds)
    if due.microsecond:  # a whole second, not before
        due = due.replace(microsecond=0) + timedelta(seconds=1)
    return ReceiptCheckpoint(at=due, key_id=key)
