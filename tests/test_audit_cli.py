"""`complaintflow audit`: seal, checkpoint, public-key and verify, invoked as an operator would. Verify exits 0
on an intact trail and 1 naming the first broken entry (finding M7)."""
from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text

from app.engine.models import AuditEvent
from tests.test_cli import driver


def test_seal_checkpoint_and_verify_an_intact_trail(demo_cli, runtime, tmp_path):
    case = driver(runtime)
    case.classify(case.register())
    sealed = demo_cli("audit", "seal")
    assert sealed.output.startswith("audit: sealed ") and "head at" in sealed.output
    assert "1 checkpoint(s) signed" in demo_cli("audit", "checkpoint").output
    result = demo_cli("audit", "verify")
    assert result.output.startswith("audit trail intact: ") and "1 checkpoint(s) verified" in result.output
    assert "last checkpoint: entry " in result.output

    key = tmp_path / "public.pem"
    key.write_text(demo_cli("audit", "public-key").output)
    assert key.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    demo_cli("audit", "verify", "--public-key", key)
    other = tmp_path / "other.pem"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    refused = demo_cli("audit", "verify", "--public-key", other, exit_code=1)
    assert "audit trail BROKEN: checkpoint" in refused.output and "not the pinned key" in refused.output


def test_verify_seals_first_and_names_a_deleted_and_an_edited_entry(demo_cli, runtime):
    case = driver(runtime)
    cid = case.register()
    case.classify(cid)
    assert "audit trail intact" in demo_cli("audit", "verify").output  # sealed what was committed, then verified
    with runtime.unit_of_work() as uow:
        victim = uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid)
                                     .order_by(AuditEvent.chain_seq)).first()
    with runtime.database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'ghost' WHERE id = :id"), {"id": victim.id})
    edited = demo_cli("audit", "verify", exit_code=1)
    assert (f"audit trail BROKEN: global chain: entry {victim.chain_seq} (event {victim.id}, "
            in edited.output) and "was edited" in edited.output
    assert f"also: complaint {cid}'s chain: entry 1 (event {victim.id}" in edited.output
    only = demo_cli("audit", "verify", "--complaint", cid, exit_code=1)
    assert f"audit trail BROKEN: complaint {cid}'s chain: entry 1" in only.output

    with runtime.database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": victim.id})
    deleted = demo_cli("audit", "verify", "--no-seal", exit_code=1)
    assert f"global chain: entry {victim.chain_seq} missing (deleted)" in deleted.output
