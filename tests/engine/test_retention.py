"""Record retention (issue 26): a closed complaint's personal data is kept for its regime's period after closure
(config/retention.toml; DISP 1.9: 3 years), then anonymised everywhere it sits except the hash-chained audit trail,
which still verifies. Held cases (compliance's legal hold, an open incident, a process still running, a letter not
delivered) and open cases never are; a re-run and a dry run change nothing. Time travel with the manual clock,
through the real engine; SQLite and PostgreSQL."""
from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.delivery import FileTransport, PermanentFailure, deliver_due
from app.engine import audit
from app.engine.access import read_policy
from app.engine.complaints import retention, verification
from app.engine.config.retention import RetentionPeriod, load_retention, parse_period
from app.engine.config.settings import DEFAULT_CONFIG_DIR, DEFAULT_FORMS_DIR, REGIMES
from app.engine.core.actors import SYSTEM
from app.engine.core.errors import Conflict, InvalidSubmission, NotAllowed, NotFound
from app.engine.models import (
    AuditEvent,
    Complaint,
    DeadlineExtension,
    InboundMessage,
    Incident,
    OutboxMessage,
    ProcessDefinition,
    ProcessInstance,
    UserTask,
)
from app.engine.workflow.serialization import load_specs, load_state
from app.scheduler import apply_retention, fire_due_timers
from app.sms import SmsFileSink

CLOSED = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)      # a Monday
MARKER = "[anonymised]"
PERSONAL = {"customer_name": "Margaret Thistlewood", "customer_contact": "m.thistlewood@example.co.uk",
            "customer_reference": "ACC-77812", "description": "Thistlewood: my card was charged twice at the garden "
                                                          "centre on 3 February"}
# What must not be left of the customer anywhere but the audit trail.
TRACES = ("Thistlewood", "Margaret", "ACC-77812", "garden centre", "m.thistlewood")


@pytest.fixture
def clock(clock):
    clock.set(CLOSED)
    return clock


@pytest.fixture
def uk(regime):
    return regime("uk_fca")


@pytest.fixture
def mail(tmp_path):
    return lambda runtime, transport=None: deliver_due(runtime, transport or FileTransport(tmp_path / "mail"),
                                                       sms=SmsFileSink(tmp_path / "sms"))


def close_case(case, n: int = 1) -> int:
    """A UK case closed now by a summary resolution (DISP 1.5: resolved by the third business day)."""
    cid = case.register(n, **PERSONAL)
    case.classify(cid)
    case.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                            "summary_resolution": True, "triage_note": "Mrs Thistlewood called"})
    assert case.complaint(cid).status == "closed"
    return cid


def handle_and_close(case, clock, mail) -> int:
    """A CBIRC case handled with the customer's name in every free text, closed by their feedback, its letters
    sent; its process ends when the 30-day verification window has passed (its timer fired)."""
    cid = case.register(1, **PERSONAL)
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards", facts="Mrs Thistlewood's statement shows two postings")
    case.draft(cid, message="Dear Mrs Thistlewood, we refunded the fee.")
    case.approve(cid)
    case.complete(cid, "record_feedback", {"customer_satisfied": True, "satisfaction_rating": 4,
                                           "feedback_comment": "Thank you, Margaret speaking"})
    assert case.complaint(cid).status == "closed"
    mail(case.runtime)
    clock.advance(days=31)
    fire_due_timers(case.runtime)
    return cid


def years_later(instant: datetime, years: int) -> datetime:
    return instant.replace(year=instant.year + years)


def traces(runtime, cid: int) -> list[str]:
    """Where the customer's data is still found for complaint ``cid``, outside the audit trail."""
    found = []
    with runtime.unit_of_work() as uow:
        s = uow.session
        places = [("complaint", s.get(Complaint, cid))]
        for model in (ProcessInstance, UserTask, OutboxMessage, DeadlineExtension, Incident, InboundMessage):
            places += [(model.__tablename__, row) for row in s.scalars(select(model).where(model.complaint_id == cid))]
        for name, row in places:
            text = json.dumps({c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}, default=str,
                              ensure_ascii=False)
            found += [f"{name}: {t}" for t in TRACES if t in text]
    return found


def events(runtime, action: str, cid: int | None = None) -> list[AuditEvent]:
    with runtime.unit_of_work() as uow:
        query = select(AuditEvent).where(AuditEvent.action == action)
        if cid is not None:
            query = query.where(AuditEvent.complaint_id == cid)
        return list(uow.session.scalars(query.order_by(AuditEvent.id)))


def run(runtime, **options) -> retention.RetentionReport:
    return retention.run(runtime, SYSTEM, **options)


# --- the period ----------------------------------------------------------------------------------------------

def test_a_case_closed_3_years_and_a_day_ago_is_anonymised_one_closed_3_years_less_a_day_ago_is_not(uk, clock, mail):
    old = close_case(uk, 1)
    clock.advance(days=2)
    young = close_case(uk, 2)
    mail(uk.runtime)
    young_traces, was = traces(uk.runtime, young), uk.complaint(old)
    assert traces(uk.runtime, old) and "complaint: Thistlewood" in young_traces
    clock.set(years_later(CLOSED, 3) + timedelta(days=1))   # old: 3 years + 1 day; young: 3 years - 1 day
    report = run(uk.runtime)
    assert [a.complaint_id for a in report.anonymised] == [old]
    assert (report.regime, report.keep_for) == ("disp", "P3Y")
    assert traces(uk.runtime, old) == [], "no personal data left outside the audit trail"
    assert traces(uk.runtime, young) == young_traces
    kept = uk.complaint(young)
    assert (kept.customer_name, kept.anonymised_at) == (PERSONAL["customer_name"], None)

    gone = uk.complaint(old)
    assert gone.anonymised_at == clock.now()
    assert (gone.customer_name, gone.customer_contact, gone.customer_reference, gone.description) == (MARKER,) * 4
    # what returns and statistics need is kept
    codes = ("tracking_number", "category", "product_code", "place_code", "channel", "severity", "urgent",
             "amount_involved", "outcome", "status", "lead_department", "received_at", "acknowledged_at")
    assert [getattr(gone, c) for c in codes] == [getattr(was, c) for c in codes]
    assert gone.amount_involved is not None and gone.outcome and gone.acknowledged_at
    assert (gone.received_at, gone.closed_at, gone.breached_slas) == (CLOSED, CLOSED, [])
    with uk.runtime.unit_of_work() as uow:
        triage = uow.session.scalars(select(UserTask).where(UserTask.complaint_id == old,
                                                            UserTask.element_id == "triage_complaint")).one()
        assert (triage.submitted_data["triage_note"], triage.submitted_data["lead_department"]) == (MARKER, "cards")
        assert triage.context["customer_name"] == MARKER and triage.context["category"] == kept.category
        messages = list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.complaint_id == old)))
        assert len(messages) == 2 and all((m.recipient, m.subject, m.body, m.state) == (MARKER, MARKER, MARKER, "sent")
                                          for m in messages)

    [event] = events(uk.runtime, "complaint_anonymised", old)
    assert (event.actor, event.occurred_at, event.detail["regime"], event.detail["keep_for"]) == (
        "system", clock.now(), "disp", "P3Y")
    assert event.detail["closed_at"] == CLOSED.isoformat()
    counts = event.detail["counts"]
    assert (counts["complaint_fields"], counts["messages"], counts["tasks"]) == (4, 2, 2)
    assert counts["variables"] > 0
    assert event.after == {"anonymised_at": clock.now().isoformat()}


def test_a_handled_case_keeps_nothing_of_the_customer_and_its_workflow_still_loads(case, clock, mail):
    cid = handle_and_close(case, clock, mail)
    assert {t.split(": ")[0] for t in traces(case.runtime, cid)} >= {"complaint", "process_instances", "tasks",
                                                                       "outbox_messages"}
    clock.set(years_later(case.complaint(cid).closed_at, 5) + timedelta(days=1))
    [done] = run(case.runtime).anonymised
    assert done.complaint_id == cid and traces(case.runtime, cid) == []
    with case.runtime.unit_of_work() as uow:
        row = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.complaint_id == cid)).one()
        spec_json = uow.session.get(ProcessDefinition, row.definition_id).spec_json
        workflow = load_state(row.state, *load_specs(spec_json))
        feedback = uow.session.scalars(select(UserTask).where(UserTask.complaint_id == cid,
                                                              UserTask.element_id == "record_feedback")).one()
    assert workflow.is_completed()
    data = workflow.data
    assert (data["customer_name"], data["description"], data["customer_message"]) == (MARKER,) * 3
    assert data["findings"] and all(f["facts"] == MARKER for f in data["findings"])
    assert (data["category"], data["remedy_type"], data["redress_amount"], data["tracking_number"]) == (
        "fees_charges", "monetary_redress", "25.00", case.complaint(cid).tracking_number)
    assert feedback.submitted_data == {"customer_satisfied": True, "satisfaction_rating": 4,
                                       "feedback_comment": MARKER}
    assert case.complaint(cid).satisfaction_rating == 4


def test_the_audit_chain_still_verifies_and_a_rerun_does_nothing(case, clock, mail):
    cid = handle_and_close(case, clock, mail)
    audit.seal(case.runtime)
    clock.set(years_later(case.complaint(cid).closed_at, 5) + timedelta(days=1))
    assert len(run(case.runtime).anonymised) == 1
    audit.seal(case.runtime)
    with case.runtime.unit_of_work() as uow:
        verification = audit.verify_trail(uow)
        mine = audit.verify_trail(uow, complaint_id=cid)
    assert verification.intact, verification.summary()
    assert mine.intact and mine.complaint_links == len(events_of(case.runtime, cid))
    before = snapshot(case.runtime, cid)
    clock.advance(days=1)
    again = run(case.runtime)
    assert again.anonymised == [] and again.batches == 0
    assert snapshot(case.runtime, cid) == before
    assert len(events(case.runtime, "complaint_anonymised")) == 1


def events_of(runtime, cid):
    with runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid)))


def snapshot(runtime, cid) -> tuple:
    with runtime.unit_of_work() as uow:
        s = uow.session
        instances = [(r.state, r.lock_version) for r in s.scalars(select(ProcessInstance).where(
            ProcessInstance.complaint_id == cid))]
        complaint = s.get(Complaint, cid)
        return (instances, complaint.customer_name, complaint.anonymised_at,
                s.scalar(select(func.count(AuditEvent.id))))


def test_a_dry_run_lists_what_would_be_anonymised_and_changes_nothing(uk, clock, mail):
    cid = close_case(uk)
    mail(uk.runtime)
    clock.set(years_later(CLOSED, 3) + timedelta(days=1))
    before = snapshot(uk.runtime, cid)
    report = run(uk.runtime, dry_run=True)
    [candidate] = report.due
    assert (candidate.complaint_id, candidate.closed_at, candidate.retained_until) == (
        cid, CLOSED, years_later(CLOSED, 3))
    assert report.anonymised == [] and "1 complaint(s) would be anonymised" in report.summary()
    assert snapshot(uk.runtime, cid) == before


def test_batches_and_the_limit(uk, clock, mail):
    cids = [close_case(uk, n) for n in range(3)]
    mail(uk.runtime)
    clock.set(years_later(CLOSED, 3) + timedelta(days=1))
    uk.runtime.settings = _with_batch(uk.runtime.settings, 2)
    first = run(uk.runtime, limit=1)
    assert [a.complaint_id for a in first.anonymised] == cids[:1]
    rest = run(uk.runtime)
    assert [a.complaint_id for a in rest.anonymised] == cids[1:] and rest.batches == 1


def test_two_jobs_at_once_anonymise_each_case_once(uk, clock, mail):
    cases = [close_case(uk, 1), close_case(uk, 2)]
    mail(uk.runtime)
    clock.set(years_later(CLOSED, 3) + timedelta(days=1))
    if not uk.runtime.database.is_postgresql:
        # SQLite serialises writers (BEGIN IMMEDIATE): the second job starts when the first committed.
        first, second = run(uk.runtime, limit=1), run(uk.runtime)
        assert [a.complaint_id for a in first.anonymised + second.anonymised] == cases
        return
    with uk.runtime.unit_of_work() as holding:
        claimed = retention.anonymise_batch(holding, SYSTEM, 1)      # holds the first case until it commits
        meanwhile = run(uk.runtime)                                  # another scheduler: skips it, takes the rest
        assert [a.complaint_id for a in meanwhile.anonymised] == cases[1:]
    assert [a.complaint_id for a in claimed] == cases[:1]
    assert sorted(e.complaint_id for e in events(uk.runtime, "complaint_anonymised")) == cases


def _with_batch(settings, size):
    return dataclasses.replace(settings, retention=dataclasses.replace(settings.retention, batch_size=size))


# --- what holds a case ---------------------------------------------------------------------------------------

def test_a_case_on_legal_hold_is_kept_until_compliance_releases_it(uk, clock, mail):
    cid = close_case(uk)
    mail(uk.runtime)
    number = uk.complaint(cid).tracking_number
    compliance = uk.actors["compliance"]
    with pytest.raises(NotAllowed), uk.runtime.unit_of_work() as uow:
        retention.hold(uow, uk.actors["coordinator"], number, "Litigation")
    with pytest.raises(InvalidSubmission) as refused, uk.runtime.unit_of_work() as uow:
        retention.hold(uow, compliance, number, "   ")
    assert list(refused.value.errors) == ["reason"]
    with pytest.raises(NotFound), uk.runtime.unit_of_work() as uow:
        retention.hold(uow, compliance, "CF-NOPE", "Litigation")
    with uk.runtime.unit_of_work() as uow:
        retention.hold(uow, compliance, number, "Claim 2029/114 at the county court")
    with pytest.raises(Conflict, match="already on legal hold"), uk.runtime.unit_of_work() as uow:
        retention.hold(uow, compliance, number, "Again")
    [held] = events(uk.runtime, "legal_hold_set", cid)
    assert (held.actor, held.detail["reason"], held.after) == (
        "compliance", "Claim 2029/114 at the county court", {"legal_hold": True})

    clock.set(years_later(CLOSED, 6))
    assert run(uk.runtime).anonymised == [] and run(uk.runtime, dry_run=True).due == []
    assert uk.complaint(cid).customer_name == PERSONAL["customer_name"]

    with uk.runtime.unit_of_work() as uow:
        retention.release(uow, compliance, number, "Claim settled")
    with pytest.raises(Conflict, match="not on legal hold"), uk.runtime.unit_of_work() as uow:
        retention.release(uow, compliance, number, "Again")
    assert [e.detail["reason"] for e in events(uk.runtime, "legal_hold_released", cid)] == ["Claim settled"]
    assert [a.complaint_id for a in run(uk.runtime).anonymised] == [cid]
    with pytest.raises(Conflict, match="anonymised on"), uk.runtime.unit_of_work() as uow:
        retention.hold(uow, compliance, number, "Too late")


def test_open_cases_are_never_anonymised(uk, clock):
    cid = uk.register(1, **PERSONAL)
    uk.classify(cid)
    clock.set(years_later(CLOSED, 20))
    assert run(uk.runtime).anonymised == []
    assert uk.complaint(cid).customer_name == PERSONAL["customer_name"]


def test_a_letter_not_delivered_or_an_open_incident_holds_the_case(uk, clock, mail):
    cid = close_case(uk)
    clock.set(years_later(CLOSED, 3) + timedelta(days=1))
    assert run(uk.runtime).anonymised == [], "its letters still wait to be sent"

    class Refused:
        def send(self, email, key):
            raise PermanentFailure("550 mailbox unavailable")

    mail(uk.runtime, Refused())
    with uk.runtime.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(Incident.id)).where(Incident.complaint_id == cid,
                                                                         Incident.state == "open"))
        assert not uow.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.complaint_id == cid, OutboxMessage.state.in_(retention.UNDELIVERED)))
    assert run(uk.runtime).anonymised == [], "an open incident holds it"
    assert uk.complaint(cid).customer_name == PERSONAL["customer_name"]


def test_a_closed_cbirc_case_is_held_while_verification_may_be_asked_for_and_until_it_is_done(case, clock, mail):
    cid = case.handle_until_feedback()
    clock.advance(days=8)                              # no feedback: the case closes, the 30-day window opens
    fire_due_timers(case.runtime)
    mail(case.runtime)
    assert case.complaint(cid).status == "closed"
    case.runtime.settings = _keeping(case.runtime.settings, "cbirc", "P1D")   # a day, to reach it in the window
    clock.advance(days=2)
    assert run(case.runtime).anonymised == [], "the customer may still ask for verification"
    with case.runtime.unit_of_work() as uow:
        verification.request_verification(uow, case.actors["coordinator"], cid, {"reason": "Not satisfied"})
    assert run(case.runtime).anonymised == [], "under verification"
    case.complete(cid, "give_verification_opinion", {"verification_opinion": "upheld",
                                                      "verification_opinion_text": "The decision stands.",
                                                      "verification_basis": "Card terms, clause 12"})
    mail(case.runtime)
    reclosed = case.complaint(cid).closed_at
    assert case.complaint(cid).status == "closed" and reclosed == clock.now()
    clock.advance(hours=23)
    assert run(case.runtime).anonymised == [], "a day from the last closure"
    clock.advance(hours=1)
    assert [a.complaint_id for a in run(case.runtime).anonymised] == [cid]


def _keeping(settings, regime, period):
    policy = settings.retention
    regimes = {**policy.regimes, regime: dataclasses.replace(policy.regimes[regime],
                                                             keep_for=parse_period(period, "test"))}
    return dataclasses.replace(settings, retention=dataclasses.replace(policy, regimes=regimes))


# --- how it reads --------------------------------------------------------------------------------------------

def test_the_read_policy_shows_the_case_as_anonymised(uk, clock, mail):
    cid = close_case(uk)
    mail(uk.runtime)
    clock.set(years_later(CLOSED, 4))
    run(uk.runtime)
    with uk.runtime.unit_of_work() as uow:
        complaint = uow.session.get(Complaint, cid)
        staff = read_policy.complaint_view(uow, uk.actors["coordinator"], complaint)
        channel = read_policy.complaint_view(uow, uk.actors["channel"], complaint)
    assert staff["anonymised_at"] == channel["anonymised_at"] == clock.now().isoformat()
    assert staff["customer_name"] == MARKER
    assert {"at": clock.now().isoformat(), "action": "complaint_anonymised"} in channel["history"]


# --- the scheduler -------------------------------------------------------------------------------------------

def test_the_scheduler_runs_retention_daily(uk, clock, mail, monkeypatch):
    from apscheduler.schedulers.blocking import BlockingScheduler

    from app.scheduler import run_forever
    jobs = {}
    monkeypatch.setattr(BlockingScheduler, "start", lambda self: jobs.update({j.id: j for j in self.get_jobs()}))
    run_forever(uk.runtime, 30, echo=lambda text: None)
    trigger = str(jobs["retention"].trigger)
    assert trigger.startswith("cron[") and "hour='2'" in trigger and "minute='30'" in trigger

    cid = close_case(uk)
    mail(uk.runtime)
    clock.set(years_later(CLOSED, 3) + timedelta(days=1))
    said: list[str] = []
    apply_retention(uk.runtime, said.append)
    assert uk.complaint(cid).anonymised_at == clock.now() and "1 complaint(s) anonymised" in said[0]
    said.clear()
    apply_retention(uk.runtime, said.append)
    assert said == [], "nothing left to say"


# --- the configuration ---------------------------------------------------------------------------------------

def test_periods_count_calendar_years_from_closure():
    three = parse_period("P3Y", "test")
    assert three.after(datetime(2028, 2, 29, 9, tzinfo=UTC)) == datetime(2031, 2, 28, 9, tzinfo=UTC)
    assert three.before(datetime(2031, 3, 1, 9, tzinfo=UTC)) == datetime(2028, 3, 1, 9, tzinfo=UTC)
    assert parse_period("P1Y6M2W", "test") == RetentionPeriod("P1Y6M2W", years=1, months=6, days=14)
    for bad in ("3 years", "P0Y", "PT24H", 3):
        with pytest.raises(ValueError, match="test"):
            parse_period(bad, "test")


@pytest.mark.parametrize("old, new, says", [
    ('keep_for = "P3Y"', 'keep_for = "three years"', "regimes.disp.*not a calendar period"),
    ('[regimes.cfpb]\n', '[regimes.cfpb_typo]\n', "unknown regime.*cfpb_typo"),
    ('complaint = ["customer_name"', 'complaint = ["outcome", "customer_name"', "'outcome' cannot be anonymised"),
    ('"reason",\n]', '"reason", "redress_amount",\n]', "'redress_amount' are kept for returns"),
    ('conditions = ["open_incident", ', 'conditions = [', "open_incident may not be left out"),
])
def test_the_loader_refuses_a_file_it_cannot_trust(tmp_path, old, new, says):
    shutil.copytree(DEFAULT_CONFIG_DIR, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "retention.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ValueError, match=says):
        load_retention(tmp_path, REGIMES)


def test_every_free_text_of_the_forms_is_anonymised_or_named_as_kept():
    """A form that gains a free-text field must say whether it is personal data: anonymised in
    config/retention.toml, or named here as kept (a staff user name, the forwarding body's reference, dates)."""
    policy = load_retention(DEFAULT_CONFIG_DIR, REGIMES)
    kept = {"reassign_user", "forwarded_reference", "received_at", "forwarded_at", "forwarded_due_at"}
    free = set()
    for path in DEFAULT_FORMS_DIR.glob("*.schema.json"):
        free |= _free_text(json.loads(path.read_text(encoding="utf-8")).get("properties", {}))
    assert {"customer_name", "description", "facts", "customer_message"} <= free, "the scan no longer reads the forms"
    assert sorted(free - policy.variables - kept) == []


def _free_text(properties: dict) -> set[str]:
    """Text fields a person types: not a choice (enum, oneOf), not a code or a department (a ``format`` the forms
    fill from config), not an amount (a ``pattern``)."""
    found = set()
    for name, spec in properties.items():
        types = spec.get("type") if isinstance(spec.get("type"), list) else [spec.get("type")]
        if "string" in types and not {"enum", "oneOf", "format", "pattern"} & set(spec):
            found.add(name)
        if "array" in types and isinstance(spec.get("items"), dict):
            found |= _free_text(spec["items"].get("properties", {}))
    return found


def test_anonymising_erases_the_files_and_keeps_their_digest(uk, clock, mail):
    """Attachments (issue 28): the bytes and the name go with the case; digest, size and type stay as evidence."""
    from app.engine.attachments import files
    from app.engine.models import Attachment
    from tests.attachment_files import PDF

    cid = close_case(uk)
    mail(uk.runtime)   # a letter not delivered would hold the case
    with uk.runtime.unit_of_work() as uow:
        kept = files.add(uow, SYSTEM, cid, "Thistlewood statement.pdf", PDF).view
        path = uow.settings.attachments.storage_dir
    assert kept is not None
    key = _storage_key(uk.runtime, kept["id"])
    stored = path / key[:2] / key[2:4] / key
    assert stored.read_bytes() == PDF
    clock.set(years_later(CLOSED, 3) + timedelta(days=1))
    [done] = run(uk.runtime).anonymised
    assert done.counts["attachments"] == 1 and not stored.exists()
    with uk.runtime.unit_of_work() as uow:
        row = uow.session.get(Attachment, kept["id"])
        assert (row.filename, row.storage_key, row.sha256, row.size) == (
            files.ERASED_NAME, None, kept["sha256"], len(PDF))
        with pytest.raises(Conflict, match="erased"):
            files.read(uow, SYSTEM, kept["id"])


def _storage_key(runtime, attachment_id: int) -> str:
    from app.engine.models import Attachment
    with runtime.unit_of_work() as uow:
        return uow.session.get(Attachment, attachment_id).storage_key


def test_a_case_that_came_by_e_mail_is_anonymised_with_its_mails_and_its_intake_task(uk, clock, mail):
    """E-mail intake (issue 28): the mail that brought the case, the intake task and its process state, and the
    customer's reply are the customer's data like the rest."""
    from app.engine.intake.mail import take_in
    from app.engine.work import user_tasks
    from app.intake.parsing import parse

    def mail_from(subject: str, text: str, message_id: str) -> bytes:
        return (f"From: Margaret Thistlewood <{PERSONAL['customer_contact']}>\r\nTo: complaints@bank.example\r\n"
                f"Subject: {subject}\r\nDate: Mon, 01 Mar 2027 09:00:00 +0000\r\nMessage-ID: <{message_id}>\r\n"
                f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n").encode()

    with uk.runtime.unit_of_work() as uow:
        taken = take_in(uow, SYSTEM, parse(mail_from("Charged twice", PERSONAL["description"], "first@example")),
                        "maildir")
        task = uow.session.scalars(select(UserTask).where(UserTask.instance_id == taken.instance_id)).one()
    with uk.runtime.unit_of_work() as uow:
        user_tasks.complete_user_task(uow, uk.actors["intake"], task.id, {
            "intake_decision": "register", "customer_name": PERSONAL["customer_name"],
            "customer_contact": PERSONAL["customer_contact"], "customer_reference": PERSONAL["customer_reference"],
            "product": "credit_card", "category": "fees_charges", "description": PERSONAL["description"]})
        cid = uow.session.scalars(select(Complaint)).one().id
    uk.classify(cid)
    uk.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                          "summary_resolution": True, "triage_note": "Mrs Thistlewood called"})
    with uk.runtime.unit_of_work() as uow:
        tracking = uow.session.get_one(Complaint, cid).tracking_number
        assert take_in(uow, SYSTEM, parse(mail_from(f"Re: {tracking}", "Thank you, Thistlewood", "second@example")),
                       "maildir").outcome == "reply"
    mail(uk.runtime)
    assert "inbound_messages: Thistlewood" in traces(uk.runtime, cid)
    clock.set(years_later(CLOSED, 3) + timedelta(days=1))
    [done] = run(uk.runtime).anonymised
    assert done.counts["inbound_messages"] == 2
    assert traces(uk.runtime, cid) == []
    with uk.runtime.unit_of_work() as uow:
        intake = uow.session.get_one(ProcessInstance, taken.instance_id)
        assert "Thistlewood" not in intake.state
        assert "Thistlewood" not in json.dumps(uow.session.get_one(UserTask, task.id).submitted_data)
