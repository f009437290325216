"""Letters really leave: the sender delivers the outbox to a real SMTP server (aiosmtpd, started here), once per
message even with two senders at the same time; temporary failures are retried with backoff, a message that
keeps failing (or is refused for good) becomes an incident, and a later success resolves it."""
from __future__ import annotations

import socket
import threading
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.delivery import FileTransport, SmtpTransport, deliver_due
from app.engine.complaints import outbox
from app.engine.models import Incident, OutboxMessage


class Recorder:
    """An SMTP handler that keeps what it receives and can refuse the next N messages with a given reply."""

    def __init__(self):
        self.received: list = []
        self.refuse_next = 0
        self.refusal = "451 4.3.0 Try again later"
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self.refuse_next:
                self.refuse_next -= 1
                return self.refusal
            self.received.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, SmtpTransport("127.0.0.1", port, timeout=10)
    finally:
        controller.stop()


def queue(runtime, count: int, recipient: str = "li.wei@example.com") -> list[int]:
    with runtime.unit_of_work() as uow:
        rows = [OutboxMessage(idempotency_key=f"test:{n}:{recipient}", kind="acknowledgement", recipient=recipient,
                              subject=f"Your complaint CF-{n}", body=f"Dear customer {n},\n\n您好。\n",
                              created_at=uow.now()) for n in range(count)]
        uow.session.add_all(rows)
        uow.session.flush()
        return [r.id for r in rows]


def rows(runtime) -> list[OutboxMessage]:
    with runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def incidents(runtime) -> list[Incident]:
    with runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(Incident).order_by(Incident.id)))


def test_a_message_is_sent_by_smtp_and_marked_sent(runtime, smtp):
    recorder, transport = smtp
    queue(runtime, 1)
    report = deliver_due(runtime, transport)
    assert (report.sent, report.failed, report.given_up) == (1, 0, 0)
    [email] = recorder.received
    assert email["To"] == "li.wei@example.com" and email["Subject"] == "Your complaint CF-0"
    assert "您好" in email.get_payload(decode=True).decode("utf-8")
    [row] = rows(runtime)
    assert row.state == "sent" and row.sent_at == runtime.clock.now() and row.attempts == 1
    assert deliver_due(runtime, transport).sent == 0          # nothing is sent twice


def test_two_senders_at_once_deliver_every_message_exactly_once(runtime, smtp):
    recorder, transport = smtp
    queue(runtime, 40)
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(deliver_due(runtime, transport, batch=5)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [email["X-Complaintflow-Message"] for email in recorder.received]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert sum(r.sent for r in reports) == 40
    assert {r.state for r in rows(runtime)} == {"sent"}


def test_a_temporary_failure_is_retried_with_backoff_and_its_incident_resolved(runtime, smtp, clock):
    recorder, transport = smtp
    recorder.refuse_next = 1
    queue(runtime, 1)
    report = deliver_due(runtime, transport)
    assert (report.sent, report.failed) == (0, 1) and "451" in report.errors[0]
    [row] = rows(runtime)
    assert row.state == "pending" and row.next_attempt_at == clock.now() + outbox.FIRST_RETRY
    [incident] = incidents(runtime)
    assert incident.kind == "delivery" and incident.state == "open" and "451" in incident.message
    assert deliver_due(runtime, transport).sent == 0          # not before its retry time
    clock.advance(outbox.FIRST_RETRY)
    assert deliver_due(runtime, transport).sent == 1
    [row] = rows(runtime)
    assert row.state == "sent" and row.attempts == 2 and len(recorder.received) == 1
    [incident] = incidents(runtime)
    assert incident.state == "resolved" and incident.resolved_at == clock.now()


def test_a_message_that_keeps_failing_becomes_one_incident(runtime, smtp, clock):
    recorder, transport = smtp
    recorder.refuse_next = 100
    queue(runtime, 1)
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        report = deliver_due(runtime, transport)
        assert report.failed + report.given_up == 1, attempt
        clock.advance(outbox.FIRST_RETRY * 2 ** attempt)
    [row] = rows(runtime)
    assert row.state == "failed" and row.attempts == outbox.MAX_ATTEMPTS
    [incident] = incidents(runtime)
    assert incident.state == "open" and incident.attempts == outbox.MAX_ATTEMPTS
    assert incident.message.startswith("Gave up") and incident.next_retry_at is None
    assert deliver_due(runtime, transport).sent == 0
    # A manager fixes the cause and sends it again.
    recorder.refuse_next = 0
    with runtime.unit_of_work() as uow:
        outbox.retry_failed(uow, row.id, uow.now())
    assert deliver_due(runtime, transport).sent == 1
    assert incidents(runtime)[0].state == "resolved"


def test_a_permanent_refusal_or_a_contact_without_address_gives_up_at_once(runtime, smtp):
    recorder, transport = smtp
    recorder.refuse_next, recorder.refusal = 1, "550 5.1.1 Mailbox unavailable"
    queue(runtime, 1)
    queue(runtime, 1, recipient="+86 138 0000 0000")
    report = deliver_due(runtime, transport)
    assert (report.sent, report.given_up) == (0, 2)
    assert [r.state for r in rows(runtime)] == ["failed", "failed"]
    by_recipient = {i.message.split(" (attempt")[0].rsplit(" to ", 1)[1]: i.message for i in incidents(runtime)}
    assert "550" in by_recipient["li.wei@example.com"]
    assert "not an e-mail address" in by_recipient["+86 138 0000 0000"]
    assert recorder.received == []


def test_a_sender_that_died_mid_send_is_replaced_once_its_lease_ends(runtime, smtp, clock):
    recorder, transport = smtp
    queue(runtime, 1)
    with runtime.unit_of_work() as uow:
        assert len(outbox.claim_due(uow, uow.now())) == 1    # claimed, then the sender is killed
    assert deliver_due(runtime, transport).sent == 0          # still leased to the dead sender
    clock.advance(outbox.LEASE + timedelta(seconds=1))
    assert deliver_due(runtime, transport).sent == 1
    assert len(recorder.received) == 1


def test_the_file_transport_writes_one_eml_per_message(runtime, tmp_path):
    queue(runtime, 3)
    assert deliver_due(runtime, FileTransport(tmp_path)).sent == 3
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 3
    assert message_from_bytes(files[0].read_bytes())["From"] == "complaints@bank.example"
