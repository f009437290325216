"""`complaintflow retention run|hold|release`, invoked as a user would, against the test database (tests/test_cli.py's
way): a UK case closed more than 3 years ago (by the system clock the CLI runs on) is listed by the dry run, kept while
on legal hold, anonymised once released; bad input is refused naming the field."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.delivery import FileTransport, deliver_due
from app.engine.config.settings import load_settings
from app.engine.identity.users import actor_for
from app.engine.models import AuditEvent, Complaint, User
from app.sms import SmsFileSink
from tests.conftest import make_runtime
from tests.support import CaseDriver


def closed_uk_case(database_url, clock, tmp_path) -> str:
    """A case closed by a summary resolution 3 years and 2 days before now, its letters sent; its tracking number."""
    clock.set(datetime.now(UTC) - timedelta(days=3 * 366 + 2))
    runtime = make_runtime(database_url, clock, settings=load_settings(sla_profile="uk_fca"))
    try:
        with runtime.unit_of_work() as uow:
            case = CaseDriver(runtime, {u.username: actor_for(u) for u in uow.session.scalars(select(User))})
        cid = case.register(1, customer_name="Owen Pryce-Jones")
        case.classify(cid)
        case.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                                "summary_resolution": True})
        deliver_due(runtime, FileTransport(tmp_path / "mail"), sms=SmsFileSink(tmp_path / "sms"))
        complaint = case.complaint(cid)
        assert complaint.status == "closed"
        return complaint.tracking_number
    finally:
        runtime.close()


def stored(runtime, number) -> Complaint:
    with runtime.unit_of_work() as uow:
        return uow.session.scalars(select(Complaint).where(Complaint.tracking_number == number)).one()


def test_retention_run_hold_and_release(cli, runtime, database_url, clock, tmp_path, monkeypatch):
    cli("load-demo")
    number = closed_uk_case(database_url, clock, tmp_path)
    monkeypatch.setenv("COMPLAINTFLOW_SLA_PROFILE", "uk_fca")

    dry = cli("retention", "run", "--dry-run").output
    assert number in dry and "kept until" in dry and "(disp, P3Y after closure" in dry
    assert "1 complaint(s) would be anonymised" in dry
    assert stored(runtime, number).customer_name == "Owen Pryce-Jones", "a dry run changes nothing"

    assert "reason: Give the reason" in cli("retention", "hold", number, "--reason", "  ", exit_code=1).output
    assert "No complaint has the tracking number 'CF-NOPE'" in cli("retention", "hold", "CF-NOPE", "--reason", "x",
                                                                   exit_code=1).output
    assert f"{number} on legal hold since" in cli("retention", "hold", number, "--reason", "FOS inquiry 31-7").output
    assert "0 complaint(s) anonymised" in cli("retention", "run").output
    assert stored(runtime, number).customer_name == "Owen Pryce-Jones"

    assert "legal hold released" in cli("retention", "release", number, "--reason", "Inquiry closed").output
    assert "not on legal hold" in cli("retention", "release", number, "--reason", "Again", exit_code=1).output
    done = cli("retention", "run", "--limit", "1").output
    assert f"{number}  anonymised: complaint_fields 3" in done and "1 complaint(s) anonymised in 1 batch(es)" in done
    complaint = stored(runtime, number)
    assert complaint.customer_name == "[anonymised]" and complaint.anonymised_at is not None
    with runtime.unit_of_work() as uow:
        actions = [e.action for e in uow.session.scalars(select(AuditEvent).where(
            AuditEvent.complaint_id == complaint.id).order_by(AuditEvent.id))]
    assert actions[-3:] == ["legal_hold_set", "legal_hold_released", "complaint_anonymised"]
    assert "0 complaint(s) anonymised" in cli("retention", "run").output
    cli("retention", "run", "--limit", "0", exit_code=2)
