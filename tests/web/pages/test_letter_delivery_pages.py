"""Staff see how each letter stands (issue 26): on the complaint page (queued, sent by e-mail / SMS, waiting to be
posted, posted, failed with its reason) in English and Chinese, and in the list of letters not delivered, where a
coordinator prints a letter to post (a PDF, Chinese included) and marks it posted."""
from __future__ import annotations

import re
import zlib

import pytest
from sqlalchemy import select

from app.delivery import FileTransport, PermanentFailure, deliver_due
from app.engine.models import OutboxMessage
from app.sms import SmsFileSink
from tests.web.pages.conftest import BROWSER, post, sign_in, text

POSTAL = "李伟\n北京市朝阳区建国路 88 号\n100022"
ZH = {**BROWSER, "Accept-Language": "zh-CN"}


def registered(driver, contact: str) -> int:
    cid = driver.register(customer_contact=contact)
    driver.classify(cid)
    return cid


def deliver(demo, tmp_path, transport=None):
    return deliver_due(demo, transport or FileTransport(tmp_path / "mail"), sms=SmsFileSink(tmp_path / "sms"))


def delivery_cell(page: str) -> str:
    match = re.search(r'data-testid="delivery-acknowledgement" data-delivery="(\w+)">([^<]*)', page)
    assert match, "no delivery cell for the acknowledgement"
    return f"{match.group(1)}:{match.group(2).strip()}"


def pages(client, cid) -> tuple[str, str]:
    english = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    chinese = text(client.get(f"/complaints/{cid}", headers=ZH))
    return english, chinese


def inflated(pdf: bytes) -> bytes:
    """The PDF with its compressed streams inflated (WeasyPrint keeps fonts and objects in them)."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            parts.append(zlib.decompressobj().decompress(pdf[match.end():]))
        except zlib.error:
            continue
    return b"\n".join(parts)


class RefusingTransport:
    channel = "email"

    def send(self, email, key):
        raise PermanentFailure("the mail server refused the recipient: 550 mailbox unknown")


@pytest.mark.parametrize(("contact", "expected_en", "expected_zh"), [
    ("li.wei@example.com", "sent:Sent by e-mail", "sent:已通过电子邮件发送"),
    ("+8613800138000", "sent:Sent by SMS", "sent:已通过短信发送"),
])
def test_the_complaint_page_says_how_a_letter_left(client, driver, demo, tmp_path, contact, expected_en, expected_zh):
    cid = registered(driver, contact)
    sign_in(client, "coordinator")
    english, chinese = pages(client, cid)
    assert delivery_cell(english) == "queued:Waiting to be sent" and delivery_cell(chinese) == "queued:待发送"
    assert "Acknowledgement written, waiting to be sent" in english
    deliver(demo, tmp_path)
    english, chinese = pages(client, cid)
    assert delivery_cell(english) == expected_en and delivery_cell(chinese) == expected_zh
    assert "Message sent by" in english


def test_a_failed_email_shows_as_failed_with_its_reason(client, driver, demo, tmp_path):
    cid = registered(driver, "li.wei@example.com")
    deliver(demo, tmp_path, RefusingTransport())
    sign_in(client, "coordinator")
    english, chinese = pages(client, cid)
    assert delivery_cell(english) == "failed:Failed: not sent" and delivery_cell(chinese) == "failed:失败：未发送"
    assert "550 mailbox unknown" in english and "550 mailbox unknown" in chinese
    listing = text(client.get("/letters", headers=BROWSER))
    assert 'data-testid="letters-failed"' in listing and "550 mailbox unknown" in listing
    assert f'href="/complaints/{cid}"' in listing


def test_a_postal_letter_is_printed_and_posted_by_a_coordinator(client, driver, demo, tmp_path):
    cid = registered(driver, POSTAL)
    assert deliver(demo, tmp_path).to_post == 1
    with demo.unit_of_work() as uow:
        message_id = uow.session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.complaint_id == cid, OutboxMessage.kind == "acknowledgement")).one()
    sign_in(client, "coordinator")
    english, chinese = pages(client, cid)
    assert delivery_cell(english) == "to_post:Waiting to be posted" and delivery_cell(chinese) == "to_post:等待邮寄"
    assert "Letter waiting to be printed and posted" in english and "信函等待打印和邮寄" in chinese

    listing = text(client.get("/letters", headers=ZH))
    assert "待邮寄" in listing and f'data-testid="dispatch-{message_id}"' in listing
    pdf = client.get(f"/letters/{message_id}.pdf", headers=BROWSER)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    content = inflated(pdf.data)
    assert re.search(rb"/BaseFont\s*/\w+\+(WenQuanYi|Noto)", content), "no CJK font embedded for the address"
    assert b"<674e>" in content.lower(), "the font's ToUnicode map has no 李: the address was not set in Chinese"

    done = post(client, f"/letters/{message_id}/dispatched", page="/letters")
    assert done.status_code == 302
    english, chinese = pages(client, cid)
    assert delivery_cell(english) == "sent:Posted" and delivery_cell(chinese) == "sent:已邮寄"
    assert "Letter posted" in english and "信函已邮寄" in chinese
    again = post(client, f"/letters/{message_id}/dispatched", page="/letters", follow_redirects=True)
    assert "no longer waiting to be posted" in text(again)


def test_only_dispatchers_open_the_letters(client, driver):
    sign_in(client, "cards.officer")
    assert client.get("/letters", headers=BROWSER).status_code == 403
