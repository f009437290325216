"""Staff resend a failed letter (issue 26): from the list of letters not delivered or from the complaint's page,
the letter goes back to the sender and the history says so, in English and Chinese; a second click is refused with
a clear message, and only those who handle letters (letter.dispatch) get the button."""
from __future__ import annotations

from sqlalchemy import select

from app.delivery import FileTransport, PermanentFailure, deliver_due
from app.engine.models import OutboxMessage
from app.sms import SmsFileSink
from tests.web.pages.conftest import BROWSER, post, sign_in, text

ZH = {**BROWSER, "Accept-Language": "zh-CN"}


class RefusingTransport:
    channel = "email"

    def send(self, email, key):
        raise PermanentFailure("the mail server refused the recipient: 550 mailbox unknown")


def failed_letter(driver, demo, tmp_path) -> tuple[int, int]:
    cid = driver.register(customer_contact="li.wei@example.com")
    driver.classify(cid)
    deliver_due(demo, RefusingTransport(), sms=SmsFileSink(tmp_path / "sms"))
    with demo.unit_of_work() as uow:
        message_id = uow.session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.complaint_id == cid, OutboxMessage.kind == "acknowledgement")).one()
    return cid, message_id


def state(demo, message_id: int) -> str:
    with demo.unit_of_work() as uow:
        return uow.session.get_one(OutboxMessage, message_id).state


def test_a_failed_letter_is_resent_from_the_letters_page(client, driver, demo, tmp_path):
    cid, message_id = failed_letter(driver, demo, tmp_path)
    sign_in(client, "coordinator")
    listing = text(client.get("/letters", headers=BROWSER))
    assert f'data-testid="resend-{message_id}"' in listing and "550 mailbox unknown" in listing
    assert "重新发送" in text(client.get("/letters", headers=ZH))
    done = post(client, f"/letters/{message_id}/resend", page="/letters", follow_redirects=True)
    assert "The letter will be sent again." in text(done) and state(demo, message_id) == "pending"
    assert f'data-testid="resend-{message_id}"' not in text(done)   # no longer failed
    again = post(client, f"/letters/{message_id}/resend", page="/letters", follow_redirects=True)
    assert "has not failed" in text(again) and state(demo, message_id) == "pending"
    page = text(client.get(f"/complaints/{cid}", headers=ZH))
    assert "失败信函已重新发送" in page   # the history, in the reader's language
    assert deliver_due(demo, FileTransport(tmp_path / "mail"), sms=SmsFileSink(tmp_path / "sms")).sent == 1
    assert state(demo, message_id) == "sent"


def test_a_failed_letter_is_resent_from_its_complaints_page(client, driver, demo, tmp_path):
    cid, message_id = failed_letter(driver, demo, tmp_path)
    sign_in(client, "coordinator")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert f'data-testid="resend-{message_id}"' in page
    done = post(client, f"/letters/{message_id}/resend", {"from": "complaint", "complaint_id": str(cid)},
                page=f"/complaints/{cid}")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/complaints/{cid}")
    assert state(demo, message_id) == "pending"
    shown = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert 'data-delivery="queued"' in shown and f'data-testid="resend-{message_id}"' not in shown


def test_only_dispatchers_get_the_resend_button(app, driver, demo, tmp_path):
    cid, message_id = failed_letter(driver, demo, tmp_path)
    client = app.test_client()
    sign_in(client, "cards.officer")
    assert client.post(f"/letters/{message_id}/resend", headers=BROWSER).status_code in (400, 403)
    head = app.test_client()
    sign_in(head, "head")
    assert f'data-testid="resend-{message_id}"' in text(head.get(f"/complaints/{cid}", headers=BROWSER))
    assert state(demo, message_id) == "failed"
