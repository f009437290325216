"""A letter the sender gave up on is resent by staff (issue 26): back to the sender with a fresh count of attempts,
recorded as ``message_resent``, its incident resolved with who resent it; resending a letter that is not failed (a
double click, a letter already sent) is a Conflict, never a second send. And a complaint is acknowledged when its
acknowledgement reaches the customer (sent, or posted), not when the step writes it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.delivery import FileTransport, PermanentFailure, deliver_due
from app.engine.audit import personal
from app.engine.complaints import outbox, print_queue
from app.engine.core.errors import Conflict, NotAllowed, NotFound
from app.engine.models import AuditEvent, Complaint, Incident, OutboxMessage
from app.sms import SmsFileSink
from tests.support import CaseDriver

POSTAL = "李伟\n北京市朝阳区建国路 88 号\n100022"


class RefusingTransport:
    channel = "email"

    def send(self, email, key):
        raise PermanentFailure("550 5.1.1 mailbox unknown")


@pytest.fixture
def driver(demo, actors):
    return CaseDriver(demo, actors)


def registered(driver, contact: str = "li.wei@example.com") -> int:
    cid = driver.register(customer_contact=contact)
    driver.classify(cid)
    return cid


def deliver(demo, tmp_path, transport=None):
    return deliver_due(demo, transport or FileTransport(tmp_path / "mail"), sms=SmsFileSink(tmp_path / "sms"))


def acknowledgement(demo, cid: int) -> OutboxMessage:
    with demo.unit_of_work() as uow:
        return uow.session.scalars(select(OutboxMessage).where(OutboxMessage.complaint_id == cid,
                                                                OutboxMessage.kind == "acknowledgement")).one()


def incidents(demo, message_id: int) -> list[Incident]:
    with demo.unit_of_work() as uow:
        return list(uow.session.scalars(select(Incident).where(
            Incident.element_id == f"outbox_message:{message_id}").order_by(Incident.id)))


def events(demo, cid: int, action: str) -> list[AuditEvent]:
    with demo.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid,
                                                                 AuditEvent.action == action)))


def acknowledged_at(demo, cid: int):
    with demo.unit_of_work() as uow:
        return uow.session.get_one(Complaint, cid).acknowledged_at


def test_a_failed_letter_is_resent_once_and_its_incident_resolved(demo, driver, actors, tmp_path, clock):
    cid = registered(driver)
    assert deliver(demo, tmp_path, RefusingTransport()).given_up == 1
    failed = acknowledgement(demo, cid)
    assert failed.state == "failed" and "mailbox unknown" in failed.last_error
    [incident] = incidents(demo, failed.id)
    assert incident.state == "open"

    clock.advance(timedelta(hours=1))   # the coordinator corrected the address meanwhile
    with demo.unit_of_work() as uow:
        assert print_queue.resend(uow, actors["coordinator"], failed.id) == cid
    row = acknowledgement(demo, cid)
    assert (row.state, row.attempts, row.last_error, row.next_attempt_at) == ("pending", 0, None, clock.now())
    [resent] = events(demo, cid, "message_resent")
    assert resent.actor == "coordinator" and resent.before == {"state": "failed"}
    with demo.unit_of_work() as uow:   # the error may name the recipient: kept apart (audit/personal.py)
        [shown] = personal.reveal(uow.session, [resent])
    assert resent.after == {"state": "pending"} and "mailbox unknown" in shown.detail["error"]
    [incident] = incidents(demo, failed.id)
    assert incident.state == "resolved" and incident.message.endswith("Resent by coordinator")

    # The second click of a double click, or a second person: refused, nothing sent twice.
    with demo.unit_of_work() as uow, pytest.raises(Conflict, match="not failed"):
        print_queue.resend(uow, actors["head"], failed.id)
    assert deliver(demo, tmp_path).sent == 1
    assert acknowledgement(demo, cid).state == "sent"
    with demo.unit_of_work() as uow, pytest.raises(Conflict):
        print_queue.resend(uow, actors["coordinator"], failed.id)
    assert len(events(demo, cid, "message_resent")) == 1 and len(events(demo, cid, "message_sent")) == 1


def test_a_resent_letter_that_fails_again_opens_a_new_incident(demo, driver, actors, tmp_path):
    cid = registered(driver)
    deliver(demo, tmp_path, RefusingTransport())
    message_id = acknowledgement(demo, cid).id
    with demo.unit_of_work() as uow:
        print_queue.resend(uow, actors["coordinator"], message_id)
    assert deliver(demo, tmp_path, RefusingTransport()).given_up == 1
    assert [i.state for i in incidents(demo, message_id)] == ["resolved", "open"]


def test_only_dispatchers_resend_and_only_letters_they_may_read(demo, driver, actors, tmp_path):
    cid = registered(driver)
    deliver(demo, tmp_path, RefusingTransport())
    message_id = acknowledgement(demo, cid).id
    with demo.unit_of_work() as uow, pytest.raises(NotAllowed):
        print_queue.resend(uow, actors["cards.officer"], message_id)
    with demo.unit_of_work() as uow, pytest.raises(NotFound):
        print_queue.resend(uow, actors["coordinator"], message_id + 1000)
    assert acknowledgement(demo, cid).state == "failed" and events(demo, cid, "message_resent") == []


def test_the_complaint_is_acknowledged_when_the_acknowledgement_is_sent_not_written(demo, driver, tmp_path, clock):
    cid = registered(driver)
    assert acknowledgement(demo, cid).state == "pending"
    assert acknowledged_at(demo, cid) is None   # written, not sent: the customer has nothing yet
    clock.advance(timedelta(minutes=5))
    assert deliver(demo, tmp_path).sent >= 1
    assert acknowledged_at(demo, cid) == clock.now()


def test_a_posted_acknowledgement_acknowledges_when_it_is_posted(demo, driver, actors, tmp_path, clock):
    cid = registered(driver, POSTAL)
    assert deliver(demo, tmp_path).to_post == 1
    assert acknowledged_at(demo, cid) is None   # in the print queue: not with the customer yet
    clock.advance(timedelta(hours=3))
    with demo.unit_of_work() as uow:
        print_queue.mark_dispatched(uow, actors["coordinator"], acknowledgement(demo, cid).id)
    assert acknowledged_at(demo, cid) == clock.now()


def test_a_second_acknowledgement_keeps_the_first_time(demo, driver, tmp_path, clock):
    cid = registered(driver)
    deliver(demo, tmp_path)
    first = acknowledged_at(demo, cid)
    row = acknowledgement(demo, cid)
    clock.advance(timedelta(days=1))
    with demo.unit_of_work() as uow:
        outbox.mark_delivered(uow, uow.session.get_one(OutboxMessage, row.id), uow.now())
    assert acknowledged_at(demo, cid) == first
