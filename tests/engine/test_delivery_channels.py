"""Letters reach people by their contact's kind (issue 26): an e-mail address by mail, a phone number by SMS
(a file sink in development, an HTTP gateway with a bearer key), a postal address into the print queue, where a
coordinator marks the printed letter posted. The history says sent only when it was."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from app.delivery import FileTransport, deliver_due
from app.engine.access import read_policy
from app.engine.complaints import print_queue
from app.engine.core.errors import Conflict, NotAllowed
from app.engine.models import AuditEvent, Complaint, OutboxMessage
from app.sms import HttpSmsGateway, SmsFileSink, sms_texts
from tests.support import CaseDriver

PHONE = "+8613800138000"
POSTAL = "李伟\n北京市朝阳区建国路 88 号\n100022"


@pytest.fixture
def driver(demo, actors):
    return CaseDriver(demo, actors)


def registered(driver, contact: str) -> int:
    """A complaint whose acknowledgement is in the outbox (it is written once the complaint is classified)."""
    cid = driver.register(customer_contact=contact)
    driver.classify(cid)
    return cid


def acknowledgement(runtime, complaint_id: int) -> OutboxMessage:
    with runtime.unit_of_work() as uow:
        return uow.session.scalars(select(OutboxMessage).where(OutboxMessage.complaint_id == complaint_id,
                                                                OutboxMessage.kind == "acknowledgement")).one()


def actions(runtime, complaint_id: int) -> list[tuple[str, dict]]:
    with runtime.unit_of_work() as uow:
        return [(e.action, e.detail or {}) for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.complaint_id == complaint_id).order_by(AuditEvent.id))]


class Gateway(BaseHTTPRequestHandler):
    received: list = []
    status = 202

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).received.append((self.headers["Authorization"], self.headers["Idempotency-Key"],
                                    json.loads(self.rfile.read(length))))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    handler = type("Recorder", (Gateway,), {"received": [], "status": 202})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_port}/messages"
    finally:
        server.shutdown()
        server.server_close()


def test_the_step_records_a_letter_written_not_sent(demo, driver):
    cid = registered(driver, "li.wei@example.com")
    done = [a for a, _ in actions(demo, cid)]
    assert "acknowledgement_queued" in done and "acknowledgement_sent" not in done and "message_sent" not in done


def test_a_phone_contacts_letter_goes_through_the_sms_file_sink(demo, driver, tmp_path):
    cid = registered(driver, PHONE)
    report = deliver_due(demo, FileTransport(tmp_path / "mail"), sms=SmsFileSink(tmp_path / "sms"))
    assert report.sent == 1 and report.given_up == 0
    [file] = (tmp_path / "sms").glob("*.txt")
    content = file.read_text(encoding="utf-8")
    row = acknowledgement(demo, cid)
    assert content.startswith(f"To: {PHONE}") and row.subject.split()[0] in content
    assert not list((tmp_path / "mail").glob("*"))                      # not by e-mail
    assert row.state == "sent" and row.sent_at == demo.clock.now()
    [(_, sent)] = [(a, d) for a, d in actions(demo, cid) if a == "message_sent"]
    assert sent["channel"] == "sms_file" and sent["message_id"] == row.id


def test_a_phone_contacts_letter_goes_through_the_http_gateway_with_its_key(demo, driver, tmp_path, gateway):
    handler, url = gateway
    cid = registered(driver, PHONE)
    report = deliver_due(demo, FileTransport(tmp_path / "mail"), sms=HttpSmsGateway(url, "secret-key", timeout=5))
    assert report.sent == 1
    row = acknowledgement(demo, cid)
    assert handler.received, "the gateway got nothing"
    assert {auth for auth, _, _ in handler.received} == {"Bearer secret-key"}
    assert {body["to"] for _, _, body in handler.received} == {PHONE}
    keys = [key for _, key, _ in handler.received]
    assert keys == [f"{row.idempotency_key}:{n}" for n in range(1, len(keys) + 1)]
    texts = [body["text"] for _, _, body in handler.received]
    assert texts == sms_texts(row.subject, row.body)
    assert all(len(t) <= 160 for t in texts)
    with demo.unit_of_work() as uow:
        view = read_policy.complaint_view(uow, driver.actors["coordinator"], uow.session.get_one(Complaint, cid))
    [message] = [m for m in view["messages"] if m["kind"] == "acknowledgement"]
    assert message["delivery"] == "sent" and message["channel"] == "sms"


def test_a_gateway_refusal_gives_up_with_its_reason(demo, driver, tmp_path, gateway):
    handler, url = gateway
    handler.status = 400
    cid = registered(driver, PHONE)
    report = deliver_due(demo, FileTransport(tmp_path / "mail"), sms=HttpSmsGateway(url, "k", timeout=5))
    assert report.given_up == 1
    row = acknowledgement(demo, cid)
    assert row.state == "failed" and "HTTP 400" in row.last_error


def test_an_sms_carries_the_whole_letter_in_numbered_parts():
    parts = sms_texts("您的投诉 CF-1 已受理", "尊敬的客户：\n" + "我们已收到您的投诉。" * 20)
    assert len(parts) > 1 and all(len(p) <= 67 for p in parts)
    assert parts[0].startswith(f"(1/{len(parts)}) 您的投诉 CF-1")
    assert "".join(p.split(") ", 1)[1] for p in parts).count("我们已收到您的投诉。") == 20
    assert sms_texts("Short", "Hello") == ["Short\nHello"]
    [short] = sms_texts("Your complaint", "long " * 100, "CF-9", postal_known=True)
    assert "CF-9" in short and "by post" in short


def test_a_postal_letter_waits_in_the_print_queue_until_a_coordinator_posts_it(demo, driver, actors, tmp_path,
                                                                                 clock):
    cid = registered(driver, POSTAL)
    report = deliver_due(demo, FileTransport(tmp_path / "mail"), sms=SmsFileSink(tmp_path / "sms"))
    assert (report.sent, report.to_post, report.given_up) == (0, 1, 0)
    row = acknowledgement(demo, cid)
    assert row.state == "to_post" and row.sent_at is None
    assert deliver_due(demo, FileTransport(tmp_path / "mail"), sms=SmsFileSink(tmp_path / "sms")).to_post == 0
    assert [a for a, _ in actions(demo, cid) if a.startswith("message_")] == ["message_queued_for_post"]
    with demo.unit_of_work() as uow:
        [queued], failed = print_queue.undelivered(uow, actors["coordinator"])
        assert queued.id == row.id and failed == []
        letter = print_queue.letter_to_print(uow, actors["coordinator"], row.id)
        assert letter.recipient_lines == POSTAL.splitlines() and letter.body == row.body
    with demo.unit_of_work() as uow, pytest.raises(NotAllowed):
        print_queue.undelivered(uow, actors["cards.officer"])
    clock.advance(timedelta(hours=3))  # printed and posted later that day
    with demo.unit_of_work() as uow:
        print_queue.mark_dispatched(uow, actors["coordinator"], row.id)
    row = acknowledgement(demo, cid)
    assert row.state == "sent" and row.sent_at == clock.now()
    [(_, sent)] = [(a, d) for a, d in actions(demo, cid) if a == "message_sent"]
    assert sent["channel"] == "post"
    with demo.unit_of_work() as uow:
        assert print_queue.undelivered(uow, actors["coordinator"]) == ([], [])
    with demo.unit_of_work() as uow, pytest.raises(Conflict):
        print_queue.mark_dispatched(uow, actors["coordinator"], row.id)


def test_staff_notices_never_go_to_the_print_queue(demo, tmp_path):
    with demo.unit_of_work() as uow:
        uow.session.add(OutboxMessage(idempotency_key="staff:1", kind="escalation", recipient="coordinator",
                                      subject="Overdue", body="Act now", created_at=uow.now()))
    report = deliver_due(demo, FileTransport(tmp_path / "mail"), sms=SmsFileSink(tmp_path / "sms"))
    assert (report.to_post, report.given_up) == (0, 1)
