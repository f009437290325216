"""The tamper-evident audit trail (finding M7): the sealer links every committed event into the global and its
complaint's hash chain, signs checkpoints of the head, and ``verify_trail`` names the first edited, deleted or
reordered entry and any checkpoint that does not hold. Rows are tampered with in SQL, behind the application's
back, as someone with database access would."""
from __future__ import annotations

import base64
import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.engine import audit
from app.engine.audit import checkpoints
from app.engine.audit.chain import GENESIS
from app.engine.core.actors import SYSTEM
from app.engine.models import AuditCheckpoint, AuditEvent
from app.scheduler import fire_due_timers


@pytest.fixture(autouse=True)
def signing_key_file(tmp_path_factory, monkeypatch):
    """The installation's signing key, out of the project's instance/ directory (generated on first use)."""
    path = tmp_path_factory.getbasetemp() / "audit-signing-key.pem"
    monkeypatch.setenv("COMPLAINTFLOW_AUDIT_KEY", str(path))
    return path


def configure(runtime, **changes):
    runtime.settings = dataclasses.replace(runtime.settings,
                                           audit=dataclasses.replace(runtime.settings.audit, **changes))
    return runtime


@pytest.fixture
def trail(demo, case, clock):
    """A realistic run, sealed: one case to the customer's feedback, one rejected once and re-approved, one
    escalated by the scheduler after its first-response deadline; a checkpoint every 10 events."""
    configure(demo, checkpoint_every_events=10)
    done = case.handle_until_approval()
    case.reject(done, "Explain the refund")
    case.draft(done, "We refunded the fee and the interest.")
    case.approve(done)
    case.feedback(done, satisfied=True, rating=5)
    late = case.register(2)
    clock.advance(hours=30)
    assert fire_due_timers(demo).fired >= 1
    case.classify(case.register(3))
    report = audit.seal(demo)
    assert report.sealed == events_count(demo) and report.checkpoints >= 2
    return {"done": done, "late": late}


def events_count(runtime) -> int:
    with runtime.unit_of_work() as uow:
        return uow.session.scalar(select(func.count(AuditEvent.id)))


def verification(runtime, **options) -> audit.Verification:
    with runtime.unit_of_work() as uow:
        return audit.verify_trail(uow, **options)


def sql(runtime, statement, **params) -> None:
    with runtime.database.engine.begin() as connection:
        connection.execute(text(statement) if isinstance(statement, str) else statement, params)


def event_at(runtime, chain_seq: int) -> AuditEvent:
    with runtime.unit_of_work() as uow:
        return uow.session.scalars(select(AuditEvent).where(AuditEvent.chain_seq == chain_seq)).one()


def a_complaint_event_in_the_middle(runtime) -> AuditEvent:
    with runtime.unit_of_work() as uow:
        head = uow.session.scalar(select(func.max(AuditEvent.chain_seq)))
        return uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id.is_not(None),
                                                            AuditEvent.chain_seq >= head // 2)
                                   .order_by(AuditEvent.chain_seq).limit(1)).one()


# --- sealing -------------------------------------------------------------------------------------------------

def test_an_untouched_trail_of_a_realistic_run_verifies(demo, trail):
    with demo.unit_of_work() as uow:
        rows = uow.session.execute(select(AuditEvent.chain_seq, AuditEvent.complaint_id, AuditEvent.complaint_seq)
                                   .order_by(AuditEvent.id)).all()
        signed = list(uow.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.chain_seq)))
    assert sorted(seq for seq, _, _ in rows) == list(range(1, len(rows) + 1))  # every event, no gap
    for complaint_id in (trail["done"], trail["late"]):
        assert sorted(c for _, cid, c in rows if cid == complaint_id) == list(
            range(1, sum(cid == complaint_id for _, cid, _ in rows) + 1))
    assert [c.chain_seq for c in signed][:2] == [10, 20]
    result = verification(demo)
    assert result.intact, result.findings
    assert (result.events, result.checkpoints, result.unsealed) == (len(rows), len(signed), 0)
    assert result.complaint_links == sum(cid is not None for _, cid, _ in rows)
    assert verification(demo, complaint_id=trail["done"]).intact


def test_events_are_sealed_after_commit_and_a_late_run_continues_the_chain(demo, trail, case, clock):
    head = verification(demo).head_seq
    cid = case.register(4)
    with demo.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).where(AuditEvent.chain_seq.is_(None))) >= 1
    assert verification(demo).intact  # recent unsealed events are not a finding ...
    clock.advance(seconds=demo.settings.audit.unsealed_grace_seconds + 1)
    stale = verification(demo)        # ... until they are older than the grace period
    assert [(f.kind, f.complaint_id) for f in stale.findings] == [("unsealed", cid)]
    assert audit.seal(demo).sealed >= 1
    result = verification(demo)
    assert result.intact and result.head_seq > head


def test_a_checkpoint_is_due_by_count_or_by_time(runtime, clock):
    configure(runtime, checkpoint_every_events=5, checkpoint_every_minutes=10)
    record_events(runtime, 3)
    assert audit.seal(runtime).checkpoints == 0
    clock.advance(minutes=10)
    assert audit.seal(runtime).checkpoints == 1    # 10 minutes after the first event sealed
    assert audit.seal(runtime).checkpoints == 0    # nothing sealed since
    record_events(runtime, 1)
    assert audit.seal(runtime).checkpoints == 0
    record_events(runtime, 5)
    assert audit.seal(runtime).checkpoints == 1    # 5 events since the last one: signed at the 5th
    with runtime.unit_of_work() as uow:
        assert list(uow.session.scalars(select(AuditCheckpoint.chain_seq).order_by(AuditCheckpoint.id))) == [3, 8]
    assert audit.seal(runtime).sealed == 0 and verification(runtime).intact


def record_events(runtime, n: int, action: str = "test_event") -> None:
    with runtime.unit_of_work() as uow:
        for i in range(n):
            audit.record(uow, SYSTEM, action, n=i, note="审计")


# --- tampering -----------------------------------------------------------------------------------------------

def test_an_edited_detail_is_named_with_its_place_and_event(demo, trail):
    target = a_complaint_event_in_the_middle(demo)
    sql(demo, update(AuditEvent).where(AuditEvent.id == target.id).values(detail={"forged": True}))
    result = verification(demo)
    first = result.first
    assert (first.kind, first.chain, first.chain_seq, first.event_id) == ("edited", "global", target.chain_seq,
                                                                          target.id)
    # the complaint's own chain breaks at the same event
    assert [(f.kind, f.chain, f.event_id) for f in result.findings[1:]] == [("edited", "complaint", target.id)]
    assert f"entry {target.chain_seq} (event {target.id}" in first.message


def test_an_edited_actor_is_found(demo, trail):
    target = event_at(demo, 3)
    sql(demo, "UPDATE audit_events SET actor = 'someone_else' WHERE id = :id", id=target.id)
    assert (verification(demo).first.kind, verification(demo).first.chain_seq) == ("edited", 3)


def test_a_deleted_row_is_a_gap(demo, trail):
    target = a_complaint_event_in_the_middle(demo)
    sql(demo, "DELETE FROM audit_events WHERE id = :id", id=target.id)
    first = verification(demo).first
    assert (first.kind, first.chain, first.chain_seq) == ("deleted", "global", target.chain_seq)
    assert f"entry {target.chain_seq} missing" in first.message
    # its complaint's chain has the gap too
    first = verification(demo, complaint_id=target.complaint_id).first
    assert (first.kind, first.chain, first.chain_seq) == ("deleted", "complaint", target.complaint_seq)


def test_deleting_the_signed_end_of_the_chain_is_found_by_its_checkpoint(demo, trail):
    with demo.unit_of_work() as uow:
        signed = checkpoints.last_checkpoint(uow.session).chain_seq
    sql(demo, "DELETE FROM audit_events WHERE chain_seq >= :seq", seq=signed)
    first = verification(demo).first
    assert (first.kind, first.chain_seq) == ("deleted", signed)
    assert "checkpoint" in first.message


def test_two_rows_swapped_are_reordered(demo, trail):
    a, b = event_at(demo, 10), event_at(demo, 11)
    sql(demo, "UPDATE audit_events SET chain_seq = -1 WHERE id = :id", id=a.id)
    sql(demo, "UPDATE audit_events SET chain_seq = 10 WHERE id = :id", id=b.id)
    sql(demo, "UPDATE audit_events SET chain_seq = 11 WHERE id = :id", id=a.id)
    first = verification(demo).first
    assert (first.kind, first.chain, first.chain_seq, first.event_id) == ("reordered", "global", 10, b.id)
    assert "sealed as global entry 11" in first.message


def test_two_events_of_a_complaint_swapped_in_its_chain_are_reordered(demo, trail):
    with demo.unit_of_work() as uow:
        a, b = uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == trail["done"],
                                                            AuditEvent.complaint_seq.in_([4, 5]))
                                   .order_by(AuditEvent.complaint_seq)).all()
    for event_id, seq in ((a.id, -1), (b.id, 4), (a.id, 5)):
        sql(demo, "UPDATE audit_events SET complaint_seq = :seq WHERE id = :id", id=event_id, seq=seq)
    first = verification(demo).first
    assert (first.kind, first.chain, first.chain_seq, first.event_id, first.complaint_id) == (
        "reordered", "complaint", 4, b.id, trail["done"])


def test_a_tampered_checkpoint_signature_or_hash_is_found(demo, trail):
    with demo.unit_of_work() as uow:
        first_checkpoint = uow.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.chain_seq)).first()
    forged = base64.b64encode(bytes(64)).decode()
    sql(demo, "UPDATE audit_checkpoints SET signature = :s WHERE id = :id", s=forged, id=first_checkpoint.id)
    first = verification(demo).first
    assert (first.kind, first.chain_seq) == ("checkpoint", first_checkpoint.chain_seq)
    assert "signature does not verify" in first.message
    sql(demo, "UPDATE audit_checkpoints SET signature = :s, chain_hash = :h WHERE id = :id",
        s=first_checkpoint.signature, h=GENESIS, id=first_checkpoint.id)
    first = verification(demo).first
    assert first.kind == "checkpoint" and "the checkpoint signed 0000" in first.message


def test_a_chain_rewritten_and_re_signed_with_another_key_is_caught_when_the_key_is_pinned(demo, trail, tmp_path,
                                                                                         signing_key_file):
    pinned = checkpoints.load_public_key(signing_key_file)
    assert verification(demo, pinned=pinned).intact
    target = a_complaint_event_in_the_middle(demo)
    # Someone with the database but not the key edits an event, recomputes every hash and signs a new head.
    sql(demo, update(AuditEvent).where(AuditEvent.id == target.id).values(actor="someone_else"))
    sql(demo, "UPDATE audit_events SET chain_seq = NULL, chain_hash = NULL, complaint_seq = NULL, "
              "complaint_hash = NULL")
    sql(demo, "DELETE FROM audit_checkpoints")
    configure(demo, key_file=tmp_path / "another-key.pem")
    audit.seal(demo, force_checkpoint=True)
    assert verification(demo).intact  # every hash and signature holds: only the key tells
    first = verification(demo, pinned=pinned).first
    assert first.kind == "checkpoint" and "not the pinned key" in first.message


# --- several sealers -----------------------------------------------------------------------------------------

def test_two_concurrent_sealers_make_one_chain(runtime, clock):
    record_events(runtime, 300)
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def run():
        try:
            barrier.wait(timeout=30)
            reports.append(audit.seal(runtime, batch=10))
        except Exception as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert sum(r.sealed for r in reports) == 300 and sum(r.conflicts for r in reports) == 0
    with runtime.unit_of_work() as uow:
        assert sorted(uow.session.scalars(select(AuditEvent.chain_seq))) == list(range(1, 301))
    assert verification(runtime).intact


def test_a_sealer_that_does_not_wait_skips_while_another_holds_the_lock(runtime):
    if not runtime.database.is_postgresql:
        pytest.skip("SQLite's write lock is the database's: a second writer waits for it")
    record_events(runtime, 3)
    with runtime.unit_of_work() as uow:
        uow.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": audit.sealer.LOCK_KEY})
        assert audit.seal(runtime, wait=False).busy
    assert audit.seal(runtime, wait=False).sealed == 3


# --- the receipt ---------------------------------------------------------------------------------------------

def test_the_receipt_names_the_checkpoint_due_then_the_one_that_includes_it(demo, case, clock):
    configure(demo, checkpoint_every_minutes=10, seal_every_seconds=5)
    registered_at = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    clock.set(registered_at)
    assert audit.seal(demo, force_checkpoint=True).checkpoints == 1  # the demo's deployments
    cid = case.register()
    with demo.unit_of_work() as uow:
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid,
                                                             AuditEvent.action == "complaint_registered")).one()
        receipt = audit.receipt_checkpoint(uow, event)
    assert receipt.pending and receipt.at == registered_at + timedelta(minutes=10, seconds=5)
    assert audit.seal(demo).checkpoints == 0
    clock.advance(minutes=10)
    assert audit.seal(demo).checkpoints == 1
    with demo.unit_of_work() as uow:
        receipt = audit.receipt_checkpoint(uow, uow.session.get(AuditEvent, event.id))
        checkpoint = checkpoints.last_checkpoint(uow.session)
    assert not receipt.pending and (receipt.checkpoint_id, receipt.chain_seq, receipt.at) == (
        checkpoint.id, checkpoint.chain_seq, checkpoint.created_at)
    assert receipt.key_id == checkpoint.key_id


def test_the_schedulers_job_seals_and_says_when_it_signed(demo, clock):
    from app.scheduler import seal_audit_trail

    configure(demo, checkpoint_every_events=2)
    said: list[str] = []
    seal_audit_trail(demo, echo=said.append)
    assert verification(demo).head_seq == events_count(demo) and verification(demo).intact
    assert said and "checkpoint(s) signed" in said[0]
