"""Letters really leave: the sender delivers the outbox to a real SMTP server (aiosmtpd, started here), once per
message even with two senders at the same time; temporary failures are retried with backoff, a message that
keeps failing (or is refused for good) becomes an incident, and a later success resolves it. A message that cannot
be sent (a broken address in an old row, a defect) fails alone, with one incident: the rest of its batch is sent
(security finding H1)."""
from __future__ import annotations

import socket
import threading
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.delivery import FileTransport, PermanentFailure, SmtpTransport, build_email, deliver_due
from app.engine.complaints import outbox
from app.engine.models import Incident, OutboxMessage
from app.sms import SmsFileSink


class Recorder:
    """An SMTP handler that keeps what it receives and can refuse the next N messages with a given reply."""

    def __init__(self):
        self.received: list = []
        self.envelopes: list[list[str]] = []   # each accepted message's RCPT TO addresses
        self.refuse_next = 0
        self.refusal = "451 4.3.0 Try again later"
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self.refuse_next:
                self.refuse_next -= 1
                return self.refusal
            self.received.append(message_from_bytes(envelope.content))
            self.envelopes.append(list(envelope.rcpt_tos))
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
    queue(runtime, 1, recipient="li.wei@example.com@example.org")   # an old row: two "@" make no address
    report = deliver_due(runtime, transport)
    assert (report.sent, report.given_up) == (0, 2)
    assert [r.state for r in rows(runtime)] == ["failed", "failed"]
    by_recipient = {i.message.split(" (attempt")[0].rsplit(" to ", 1)[1]: i.message for i in incidents(runtime)}
    assert "550" in by_recipient["li.wei@example.com"]
    assert "not an e-mail address" in by_recipient["li.wei@example.com@example.org"]
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


# --- one message never holds the others (finding H1) -----------------------------------------------------------

INJECTED = "li.wei@example.com\r\nBcc: everyone@example.com"
LISTED = "li.wei@example.com, mallory@example.com"


def test_a_broken_address_in_an_old_row_fails_alone_and_the_batch_is_sent(runtime, smtp):
    """Rows as they were written before contacts were validated: a line break (header injection) and a list."""
    recorder, transport = smtp
    before = queue(runtime, 3)
    broken = queue(runtime, 1, recipient=INJECTED) + queue(runtime, 1, recipient=LISTED)
    after = queue(runtime, 2, recipient="wang.fang@example.com")
    report = deliver_due(runtime, transport)
    assert (report.sent, report.failed, report.given_up) == (5, 0, 2)
    assert sorted(int(e["X-Complaintflow-Message"]) for e in recorder.received) == before + after
    assert all(len(to) == 1 and "mallory" not in to[0] and "everyone" not in to[0] for to in recorder.envelopes)
    assert all("Bcc" not in email for email in recorder.received)
    states = {r.id: (r.state, r.last_error) for r in rows(runtime)}
    assert {states[i][0] for i in before + after} == {"sent"}
    for message_id in broken:
        state, error = states[message_id]
        assert state == "failed" and "not one valid e-mail address" in error
    found = incidents(runtime)
    assert [(i.kind, i.element_id, i.state) for i in found] == [
        ("delivery", f"outbox_message:{message_id}", "open") for message_id in broken]
    assert "\n" not in found[0].message and "\r" not in found[0].message
    # A given-up message is not tried again, and its incident is not repeated.
    assert deliver_due(runtime, transport).given_up == 0
    assert len(incidents(runtime)) == 2


def test_the_envelope_and_headers_name_one_checked_address_whatever_the_row_holds(runtime):
    [message_id] = queue(runtime, 1)
    [message] = [m for m in claimed(runtime) if m.id == message_id]
    email = build_email(message, "complaints@bank.example", runtime.clock.now())
    assert email["To"].addresses[0].addr_spec == "li.wei@example.com"
    for recipient in (INJECTED, LISTED, "Li Wei <li.wei@example.com>", "+86 138 0000 0000", "1 Main St\nTown"):
        with pytest.raises(PermanentFailure):
            build_email(replace(message, recipient=recipient), "complaints@bank.example", runtime.clock.now())
    with pytest.raises(ValueError):
        build_email(message, "complaints@bank.example\nBcc: x@example.com", runtime.clock.now())


def claimed(runtime) -> list[outbox.ClaimedMessage]:
    with runtime.unit_of_work() as uow:
        return outbox.claim_due(uow, uow.now())


def test_a_message_that_raises_anything_fails_alone_with_one_incident(runtime, smtp):
    recorder, transport = smtp
    ids = queue(runtime, 4)

    class Defective:
        """Raises what no transport should (a template or encoding defect) for one message."""

        def send(self, email, key):
            if email["X-Complaintflow-Message"] == str(ids[1]):
                raise KeyError("customer_name")
            transport.send(email, key)

    report = deliver_due(runtime, Defective())
    assert (report.sent, report.given_up) == (3, 1) and "KeyError" in report.errors[0]
    assert len(recorder.received) == 3
    assert [r.state for r in rows(runtime)] == ["sent", "failed", "sent", "sent"]
    [incident] = incidents(runtime)
    assert incident.element_id == f"outbox_message:{ids[1]}" and "KeyError" in incident.message


def test_a_letter_to_a_postal_address_or_phone_is_never_mailed(case, smtp, tmp_path):
    """Issue 26: the letter to a postal address waits in the print queue (no incident: nothing failed), the one to
    a phone number goes by SMS (tests/engine/test_delivery_channels.py has the rest)."""
    recorder, transport = smtp
    postal = case.register(customer_contact="Room 5, 88 Jianguo Road\nChaoyang District\nBeijing 100022")
    phone = case.register(2, customer_contact="138 0013 8000")
    for cid in (postal, phone):
        case.classify(cid)  # the acknowledgement follows the classification
    report = deliver_due(case.runtime, transport, sms=SmsFileSink(tmp_path))
    assert recorder.received == [] and (report.sent, report.to_post, report.given_up) == (1, 1, 0)
    [letter] = case.messages(postal, "acknowledgement")
    assert letter.recipient == "Room 5, 88 Jianguo Road\nChaoyang District\nBeijing 100022"
    assert letter.state == "to_post" and letter.last_error is None and letter.sent_at is None
    [text] = case.messages(phone, "acknowledgement")
    assert text.recipient == "+8613800138000" and text.state == "sent" and len(list(tmp_path.glob("*.txt"))) == 1
    assert incidents(case.runtime) == []


def test_a_message_whose_sender_dies_every_time_is_given_up_into_one_incident(runtime, smtp, clock):
    recorder, transport = smtp
    [message_id] = queue(runtime, 1)
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        [message] = claimed(runtime)          # then the sender dies while sending it
        assert message.attempt == attempt
        clock.advance(outbox.LEASE + timedelta(seconds=1))
    assert claimed(runtime) == []             # not claimed a seventh time
    [row] = rows(runtime)
    assert row.state == "failed" and "stopped while sending" in row.last_error
    [incident] = incidents(runtime)
    assert incident.element_id == f"outbox_message:{message_id}" and incident.state == "open"
    assert deliver_due(runtime, transport).sent == 0 and recorder.received == []


def test_a_batch_that_outlives_its_lease_leaves_the_rest_to_be_claimed_again(runtime, smtp, clock):
    """Slow sends: a sender stops starting sends after half its lease and gives the rest back, so another
    sender taking over expired claims never sends a message this one still holds."""
    recorder, transport = smtp
    queue(runtime, 3)
    start = clock.now()

    class Slow:
        overtaken = False

        def send(self, email, key):
            transport.send(email, key)
            clock.advance(outbox.SEND_WITHIN + timedelta(seconds=1))
            if clock.now() > start + outbox.LEASE and not Slow.overtaken:
                Slow.overtaken = True
                deliver_due(runtime, transport)   # another sender runs now, past the first claim's lease

    report = deliver_due(runtime, Slow(), batch=3)
    ids = [email["X-Complaintflow-Message"] for email in recorder.received]
    assert len(ids) == 3 and len(set(ids)) == 3 and report.sent == 3
    assert [(r.state, r.attempts) for r in rows(runtime)] == [("sent", 1)] * 3
