"""Personal data in the audit trail (issue 26): kept apart from the hash-chained rows (app/engine/audit/personal.py),
shown again in the history, erased by the retention job without breaking the chain, checked by `audit verify`."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from app.delivery import FileTransport, deliver_due
from app.engine import audit
from app.engine.access import read_policy
from app.engine.audit import personal
from app.engine.complaints import retention
from app.engine.core.actors import SYSTEM
from app.engine.models import AuditEvent, AuditPersonalData, Complaint
from app.scheduler import fire_due_timers
from app.sms import SmsFileSink

CLOSED = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
MESSAGE = "Dear Mrs Thistlewood, we refunded the fee."
NOTE = "Mrs Thistlewood called"


@pytest.fixture
def clock(clock):
    clock.set(CLOSED)
    return clock


@pytest.fixture
def uk(regime):
    return regime("uk_fca")


def handle_and_close(case, clock, tmp_path) -> int:
    """A CBIRC case whose resolution letter names the customer, closed, its letters sent, its process ended."""
    cid = case.register(1, customer_name="Margaret Thistlewood")
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards", facts="Mrs Thistlewood's statement shows two postings")
    case.draft(cid, message=MESSAGE)
    case.approve(cid)
    case.complete(cid, "record_feedback", {"customer_satisfied": True, "satisfaction_rating": 4,
                                           "feedback_comment": "Thank you, Margaret speaking"})
    deliver_due(case.runtime, FileTransport(tmp_path / "mail"), sms=SmsFileSink(tmp_path / "sms"))
    clock.advance(days=31)
    fire_due_timers(case.runtime)
    assert case.complaint(cid).status == "closed"
    return cid


def drafted(runtime, cid: int) -> AuditEvent:
    with runtime.unit_of_work() as uow:
        return uow.session.scalars(select(AuditEvent).where(
            AuditEvent.complaint_id == cid, AuditEvent.action == "task_completed",
            AuditEvent.detail["element_id"].as_string() == "draft_resolution")).one()


def history(runtime, actor, cid: int) -> list[dict]:
    with runtime.unit_of_work() as uow:
        return read_policy.complaint_view(uow, actor, uow.session.get(Complaint, cid))["history"]


def verify(runtime, cid: int | None = None) -> audit.Verification:
    audit.seal(runtime)
    with runtime.unit_of_work() as uow:
        return audit.verify_trail(uow, complaint_id=cid)


def sql(runtime, statement) -> None:
    with runtime.database.engine.begin() as connection:
        connection.execute(statement)


def test_a_completed_tasks_free_text_is_not_in_the_chained_row_but_the_history_shows_it(case, clock, tmp_path):
    cid = handle_and_close(case, clock, tmp_path)
    event = drafted(case.runtime, cid)
    stored = json.dumps([event.detail, event.before, event.after], ensure_ascii=False)
    assert "Thistlewood" not in stored
    commitment = event.after["customer_message"]["personal"]
    assert len(commitment) == 64 and event.after["resolution_outcome"] == "upheld"  # a choice stays inline
    with case.runtime.unit_of_work() as uow:
        [row] = uow.session.scalars(select(AuditPersonalData).where(
            AuditPersonalData.event_id == event.id, AuditPersonalData.commitment == commitment))
        assert row.content == {"value": MESSAGE} and personal.commitment(row.salt, MESSAGE) == commitment
    [entry] = [e for e in history(case.runtime, case.actors["coordinator"], cid)
               if e["action"] == "task_completed" and e["after"].get("customer_message")]
    assert entry["after"]["customer_message"] == MESSAGE
    assert verify(case.runtime).intact


def test_retention_erases_the_trails_personal_data_the_history_marks_it_and_the_chain_verifies(case, clock, tmp_path):
    cid = handle_and_close(case, clock, tmp_path)
    audit.seal(case.runtime)
    clock.set(CLOSED.replace(year=CLOSED.year + 5) + timedelta(days=40))
    [done] = retention.run(case.runtime, SYSTEM).anonymised
    assert done.complaint_id == cid and done.counts["audit_personal_data"] >= 4
    with case.runtime.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(AuditPersonalData).join(AuditEvent).where(
            AuditEvent.complaint_id == cid)))
        [anonymised] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "complaint_anonymised"))
    assert len(rows) == done.counts["audit_personal_data"]
    assert all(r.content is None and r.erased_at == clock.now() for r in rows)
    assert anonymised.detail["counts"]["audit_personal_data"] == len(rows)
    [entry] = [e for e in history(case.runtime, case.actors["coordinator"], cid)
               if e["action"] == "task_completed" and "customer_message" in (e["after"] or {})]
    assert entry["after"]["customer_message"] == personal.REMOVED
    assert "Thistlewood" not in json.dumps(history(case.runtime, case.actors["coordinator"], cid),
                                           ensure_ascii=False)
    whole, mine = verify(case.runtime), verify(case.runtime, cid)
    assert whole.intact, whole.summary()
    assert mine.intact, mine.summary()


@pytest.mark.parametrize("forged", ["content", "commitment"])
def test_a_tampered_personal_content_is_reported_by_verify(case, clock, tmp_path, forged):
    cid = handle_and_close(case, clock, tmp_path)
    event = drafted(case.runtime, cid)
    assert verify(case.runtime).intact
    target = update(AuditPersonalData).where(AuditPersonalData.event_id == event.id)
    if forged == "content":
        sql(case.runtime, target.values(content={"value": "We refused the refund."}))
    else:   # content and a commitment to match it: the event (chained) still holds the old commitment
        salt = "00" * 16
        sql(case.runtime, target.values(content={"value": "We refused."}, salt=salt,
                                        commitment=personal.commitment(salt, "We refused.")))
    for result in (verify(case.runtime), verify(case.runtime, cid)):
        assert not result.intact
        assert (result.first.kind, result.first.chain, result.first.event_id) == (
            "edited", "personal", event.id), result.summary()
        assert f"event {event.id}" in result.first.message


def test_rows_written_before_with_inline_values_still_verify_and_show(uk, clock):
    """An event from before the personal data was kept apart: its values inline, no audit_personal_data row."""
    cid = uk.register(1, customer_name="Margaret Thistlewood")
    uk.classify(cid)
    uk.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                          "summary_resolution": True, "triage_note": NOTE})
    with uk.runtime.unit_of_work() as uow:
        event = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.complaint_id == cid, AuditEvent.detail["element_id"].as_string() == "triage_complaint")).one()
        assert event.chain_seq is None
        inline = {**event.after, "triage_note": NOTE}
    sql(uk.runtime, delete(AuditPersonalData).where(AuditPersonalData.event_id == event.id))
    sql(uk.runtime, update(AuditEvent).where(AuditEvent.id == event.id).values(after=inline))
    result = verify(uk.runtime)
    assert result.intact and result.events > 0, result.summary()
    [entry] = [e for e in history(uk.runtime, uk.actors["coordinator"], cid)
               if e["action"] == "task_completed" and "triage_note" in (e["after"] or {})]
    assert entry["after"]["triage_note"] == NOTE


def test_the_forms_free_text_and_the_configured_names_are_personal(demo):
    names = personal.personal_names(demo.settings)
    assert {"customer_message", "facts", "feedback_comment", "approval_comment", "reopen_reason", "triage_note",
            "verification_opinion_text", "instruction", "error", "extension_requested:reason"} <= names
    assert not {"outcome", "lead_department", "customer_satisfied", "received_at", "reason"} & names


def test_a_reason_is_personal_only_in_the_events_that_name_it(uk, clock):
    """A session's end reason is a code and stays inline; an extension's reason is the handler's text."""
    with uk.runtime.unit_of_work() as uow:
        ended = audit.record(uow, SYSTEM, "sessions_ended", reason="idle", count=1)
        asked = audit.record(uow, SYSTEM, "extension_requested", reason="Mrs Thistlewood is abroad", sla="final")
        uow.session.flush()
        assert ended.detail == {"reason": "idle", "count": 1}
        assert set(asked.detail["reason"]) == {"personal"} and asked.detail["sla"] == "final"
        [shown] = personal.reveal(uow.session, [asked])
        assert shown.detail == {"reason": "Mrs Thistlewood is abroad", "sla": "final"}


@pytest.mark.parametrize("forged", ["deleted", "erased"])
def test_personal_data_deleted_or_erased_outside_retention_is_reported_by_verify(case, clock, tmp_path, forged):
    """Retention erases a content and keeps its row, and only for a case it anonymised: a row deleted, or a
    content erased on a case never anonymised, would make the history read "removed" for a value someone took."""
    cid = handle_and_close(case, clock, tmp_path)
    event = drafted(case.runtime, cid)
    target = AuditPersonalData.event_id == event.id
    if forged == "deleted":
        sql(case.runtime, delete(AuditPersonalData).where(target))
    else:
        sql(case.runtime, update(AuditPersonalData).where(target).values(content=None, erased_at=clock.now()))
    for result in (verify(case.runtime), verify(case.runtime, cid)):
        assert not result.intact
        assert (result.first.chain, result.first.event_id) == ("personal", event.id), result.summary()
        expected = "was deleted" if forged == "deleted" else "never anonymised"
        assert expected in result.first.message
