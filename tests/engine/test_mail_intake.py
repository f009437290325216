"""E-mail intake on real .eml fixtures (tests/fixtures/mail/, written as the mail clients write them): a new
complaint becomes a "Complete registration" task and then a complaint; a reply joins its case only from the case's
contact; auto-replies and bounces are recorded and never answered; GB2312-labelled Chinese mail is read as
GB18030; two readers of one Maildir take 200 messages in once each."""
from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.engine.complaints import outbox
from app.engine.core.actors import SYSTEM
from app.engine.core.clock import ManualClock
from app.engine.governance.definitions import latest_definition
from app.engine.intake import automatic
from app.engine.intake.mail import take_in
from app.engine.models import (
    Attachment,
    AuditEvent,
    Complaint,
    InboundMessage,
    OutboxMessage,
    ProcessInstance,
    UserTask,
)
from app.engine.work import user_tasks
from app.intake import read_mailbox
from app.intake.mailboxes import MaildirBox, MboxBox
from app.intake.parsing import parse

MAIL = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
NOW = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    """After every fixture's Date, within the 30 days a receipt may lie back (config/sla.toml [receipt])."""
    return ManualClock(NOW)


def fixture(name: str, **placeholders: str) -> bytes:
    raw = (MAIL / name).read_bytes()
    for key, value in placeholders.items():
        raw = raw.replace(f"@@{key}@@".encode(), value.encode())
    return raw


def maildir(tmp_path: Path, *messages: bytes) -> Path:
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    for n, raw in enumerate(messages):
        (box / "new" / f"1765170000.M{n}P1.mx.bank.example").write_bytes(raw)
    return box


def take(runtime, raw: bytes, source: str = "maildir"):
    with runtime.unit_of_work() as uow:
        return take_in(uow, SYSTEM, parse(raw), source)


def intake_task(runtime, instance_id: int) -> UserTask:
    with runtime.unit_of_work() as uow:
        return uow.session.scalars(select(UserTask).where(UserTask.instance_id == instance_id)).one()


def events(runtime, action: str) -> list[AuditEvent]:
    with runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def acknowledgement(runtime, complaint_id: int) -> tuple[OutboxMessage, str]:
    """The case's acknowledgement letter and the Message-ID its e-mail went out with (app/delivery.py)."""
    with runtime.unit_of_work() as uow:
        letter = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.complaint_id == complaint_id,
                                                                 OutboxMessage.kind == "acknowledgement")).one()
        uow.session.expunge(letter)
    return letter, outbox.message_id(letter.id, letter.idempotency_key, "bank.example")


def registered_case(case, contact: str = "meilin.zhang@example.com") -> tuple[Complaint, str]:
    complaint_id = case.register(customer_name="Mei Lin Zhang", customer_contact=contact, channel="website")
    with case.runtime.unit_of_work() as uow:
        complaint = uow.session.get_one(Complaint, complaint_id)
        uow.session.expunge(complaint)
    return complaint, acknowledgement(case.runtime, complaint_id)[1]


def test_a_new_complaint_becomes_a_registration_task_then_a_complaint_with_its_file(demo, actors, tmp_path):
    report = read_mailbox(demo, MaildirBox(maildir(tmp_path, fixture("new_complaint.eml"))))
    assert (report.read, report.outcomes, report.errors) == (1, {"intake": 1}, [])
    assert list((tmp_path / "Maildir" / "new").iterdir()) == []       # read: moved to cur/
    with demo.unit_of_work() as uow:
        row = uow.session.scalars(select(InboundMessage)).one()
        assert (row.outcome, row.complaint_id, row.sender) == ("intake", None, "meilin.zhang@example.com")
        instance_id = row.instance_id
    task = intake_task(demo, instance_id)
    assert (task.element_id, task.lane, task.complaint_id, task.form) == (
        "complete_registration", "Intake desk", None, "complete_registration.schema.json")
    intake = actors["intake"]
    with demo.unit_of_work() as uow:   # the form starts from what the mail said
        initial = user_tasks.initial_values(uow, intake, uow.session.get_one(UserTask, task.id))
    assert initial["customer_name"] == "Mei Lin Zhang"
    assert initial["customer_contact"] == "meilin.zhang@example.com"
    assert initial["description"].startswith("Annual card fee charged twice\n\nDear Sir or Madam,")
    assert initial["received_at"] == "2026-12-07T01:13:58+00:00"     # the mail's Date, not its reading

    with demo.unit_of_work() as uow:
        user_tasks.complete_user_task(uow, intake, task.id, {**initial, "intake_decision": "register",
                                                             "product": "credit_card", "category": "fees_charges"})
    with demo.unit_of_work() as uow:
        complaint = uow.session.scalars(select(Complaint)).one()
        assert (complaint.channel, complaint.customer_contact, complaint.registered_by) == (
            "email", "meilin.zhang@example.com", intake.username)
        assert complaint.received_at == datetime(2026, 12, 7, 1, 13, 58, tzinfo=UTC)
        files = uow.session.scalars(select(Attachment).where(Attachment.complaint_id == complaint.id)).all()
        assert [(f.filename, f.media_type, f.source, f.field_class) for f in files] == [
            ("statement-november.pdf", "application/pdf", "email", "submitted")]
        row = uow.session.scalars(select(InboundMessage)).one()
        assert (row.complaint_id, row.held_files) == (complaint.id, [])
        assert uow.session.get_one(UserTask, task.id).complaint_id == complaint.id
        # the complaint's own process runs: acknowledgement written, classification waiting
        assert uow.session.scalar(select(func.count()).select_from(UserTask).where(
            UserTask.complaint_id == complaint.id, UserTask.element_id == "classify_complaint")) == 1


def test_the_intake_desk_may_close_a_mail_that_is_not_a_complaint(demo, actors):
    taken = take(demo, fixture("html_only.eml"))
    task = intake_task(demo, taken.instance_id)
    with demo.unit_of_work() as uow:
        user_tasks.complete_user_task(uow, actors["intake"], task.id, {
            "intake_decision": "not_a_complaint", "not_complaint_reason": "An advertisement"})
    with demo.unit_of_work() as uow:
        row = uow.session.scalars(select(InboundMessage)).one()
        assert (row.outcome, row.reason, row.complaint_id) == ("not_a_complaint", "An advertisement", None)
        assert uow.session.scalar(select(func.count()).select_from(Complaint)) == 0
        assert uow.session.get_one(ProcessInstance, taken.instance_id).status == "completed"


def test_a_reply_is_threaded_to_its_case_with_its_file_and_the_staff_told(case):
    runtime = case.runtime
    complaint, letter_id = registered_case(case)
    raw = fixture("reply.eml", TRACKING=complaint.tracking_number, IN_REPLY_TO=letter_id)
    taken = take(runtime, raw)
    assert (taken.outcome, taken.complaint_id) == ("reply", complaint.id)
    [event] = events(runtime, "customer_reply_received")
    assert (event.complaint_id, event.detail["inbound_message_id"]) == (complaint.id, taken.inbound_id)
    with runtime.unit_of_work() as uow:
        files = uow.session.scalars(select(Attachment).where(Attachment.complaint_id == complaint.id)).all()
        assert [(f.filename, f.source, f.field_class) for f in files] == [
            ("statement-december.png", "email", "submitted")]
        notices = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "customer_reply")).all()
        # the holders of the case's open work: classification waits in the intake desk's lane
        assert notices and all(complaint.tracking_number in n.subject for n in notices)
        assert uow.session.scalar(select(func.count()).select_from(ProcessInstance)) == 1   # no intake task
        stored = uow.session.get_one(InboundMessage, taken.inbound_id)
        assert "still on my December statement" in stored.body


def test_a_reply_naming_the_case_only_by_its_tracking_number_is_threaded(case):
    complaint, _letter_id = registered_case(case)
    raw = fixture("reply.eml", TRACKING=complaint.tracking_number, IN_REPLY_TO="<unknown@elsewhere.example>")
    assert take(case.runtime, raw).outcome == "reply"


def test_a_reply_from_another_sender_is_never_threaded_to_the_case(case):
    runtime = case.runtime
    complaint, letter_id = registered_case(case)
    raw = fixture("reply_other_sender.eml", TRACKING=complaint.tracking_number, IN_REPLY_TO=letter_id)
    taken = take(runtime, raw)
    assert (taken.outcome, taken.complaint_id, taken.reason) == ("intake", None, "sender_not_case_contact")
    assert events(runtime, "customer_reply_received") == []
    with runtime.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Attachment)) == 0
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "customer_reply")) == 0
    assert intake_task(runtime, taken.instance_id).element_id == "complete_registration"


def test_an_outlook_auto_reply_is_recorded_and_ignored(case):
    runtime = case.runtime
    complaint, letter_id = registered_case(case)
    with runtime.unit_of_work() as uow:
        before = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    taken = take(runtime, fixture("auto_reply_outlook.eml", TRACKING=complaint.tracking_number,
                                  IN_REPLY_TO=letter_id))
    assert (taken.outcome, taken.reason) == ("ignored", "auto_submitted")
    with runtime.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == before   # never answered
        assert uow.session.scalar(select(func.count()).select_from(ProcessInstance)) == 1      # never a task
    assert events(runtime, "customer_reply_received") == []
    assert [e.detail["reason_code"] for e in events(runtime, "mail_ignored")] == ["auto_submitted"]


def test_a_postfix_bounce_is_ignored_and_marks_the_letter_it_returns_failed(case):
    runtime = case.runtime
    complaint, letter_id = registered_case(case)
    letter, _ = acknowledgement(runtime, complaint.id)
    with runtime.unit_of_work() as uow:
        uow.session.get_one(OutboxMessage, letter.id).state = outbox.SENT
    taken = take(runtime, fixture("bounce_postfix.eml", TRACKING=complaint.tracking_number, IN_REPLY_TO=letter_id))
    assert (taken.outcome, taken.reason) == ("ignored", "bounce")
    with runtime.unit_of_work() as uow:
        assert uow.session.get_one(OutboxMessage, letter.id).state == outbox.FAILED
    assert [e.detail["message_id"] for e in events(runtime, "message_bounced")] == [letter.id]


@pytest.mark.parametrize(("headers", "reason"), [
    ({"Auto-Submitted": "auto-generated"}, "auto_submitted"), ({"Auto-Submitted": "no"}, None),
    ({"X-Autoreply": "yes"}, "auto_reply"), ({"X-Autorespond": "x"}, "auto_reply"),
    ({"Precedence": "bulk"}, "bulk"), ({"Precedence": "junk"}, "bulk"), ({"Precedence": "list"}, "bulk"),
    ({"List-Id": "<news.example.com>"}, "mailing_list"), ({"Return-Path": "<>"}, "bounce"), ({}, None)])
def test_the_automatic_mail_rules(headers, reason):
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    raw = (f"From: a@example.com\r\nTo: complaints@bank.example\r\nSubject: hello\r\n{head}\r\nbody\r\n").encode()
    assert automatic.reason(parse(raw)) == reason


def test_a_gb2312_labelled_mail_with_gbk_characters_is_decoded(demo, actors):
    mail = parse(fixture("gb2312.eml"))
    # 堃 and 喆 are GBK, not GB2312: read by the label alone, they would be lost
    assert (mail.sender_name, mail.subject) == ("王堃", "信用卡年费重复扣款投诉（王堃）")
    assert "我的信用卡年费在十一月被重复扣了两次" in mail.text and "王堃、李喆" in mail.text
    taken = take(demo, fixture("gb2312.eml"))
    with demo.unit_of_work() as uow:
        initial = user_tasks.initial_values(uow, actors["intake"],
                                            uow.session.get_one(UserTask, intake_task(demo, taken.instance_id).id))
    assert initial["customer_name"] == "王堃"
    assert initial["description"].startswith("信用卡年费重复扣款投诉（王堃）\n\n您好：")


def test_an_html_only_mail_is_read_as_text_and_nothing_in_it_runs():
    mail = parse(fixture("html_only.eml"))
    assert mail.text == "The branch at Nanjing Road refused my cash deposit on 1 December."
    assert "script" not in mail.text and "evil" not in mail.text


def test_a_mailbox_read_twice_takes_each_message_in_once(demo, tmp_path):
    path = tmp_path / "complaints.mbox"
    with path.open("wb") as fh:
        for name in ("new_complaint.eml", "gb2312.eml"):
            fh.write(b"From MAILER-DAEMON Tue Dec  8 10:00:00 2026\n" + fixture(name).replace(b"\r\n", b"\n") + b"\n")
    reports = []
    for _ in range(2):
        box = MboxBox(path)
        reports.append(read_mailbox(demo, box))
        box.close()
    first, second = reports
    assert (first.outcomes, second.outcomes) == ({"intake": 2}, {"duplicate": 2})


def test_two_readers_take_200_messages_in_once_each(demo, tmp_path):
    template = fixture("new_complaint.eml")
    messages = [template.replace(b"CAF3k9mL2x7Q1-new-complaint", f"bulk-{n:03d}".encode()) for n in range(200)]
    path = maildir(tmp_path, *messages)
    reports: list = []
    barrier = threading.Barrier(2)

    def reader():
        box = MaildirBox(path)
        barrier.wait(timeout=10)
        reports.append(read_mailbox(demo, box))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert len(reports) == 2 and all(r.errors == [] for r in reports)
    assert sum(r.outcomes.get("intake", 0) for r in reports) == 200
    with demo.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(InboundMessage)) == 200
        intake = latest_definition(uow.session, "mail_intake")
        assert uow.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.definition_id == intake.id)) == 200
        assert uow.session.scalar(select(func.count()).select_from(UserTask).where(
            UserTask.element_id == "complete_registration")) == 200
    assert len(events(demo, "mail_received")) == 200
    assert list((path / "new").iterdir()) == [] and len(list((path / "cur").iterdir())) == 200


def test_a_raw_8bit_gbk_subject_and_a_gbk_part_are_read_too():
    """Some clients send the subject as raw GBK bytes, no encoded word, and label the text gbk."""
    raw = (b"From: wangkun@example.cn\r\nSubject: " + "年费投诉（王堃）".encode("gb18030")
           + b"\r\nContent-Type: text/plain; charset=gbk\r\n\r\n" + "王堃：扣费两次\x00".encode("gbk") + b"\r\n")
    mail = parse(raw)
    assert (mail.subject, mail.text) == ("年费投诉（王堃）", "王堃：扣费两次")
