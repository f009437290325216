"""The intake desk's "Complete registration" task from an e-mail (app/engine/intake) works like any task: it shows
in the team inbox, opens with what the mail said filled in, in both languages, and completing it registers the
complaint received by e-mail."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from app.engine.complaints import outbox
from app.engine.core.actors import SYSTEM
from app.engine.intake.mail import take_in
from app.engine.models import Complaint, OutboxMessage, UserTask
from app.intake.parsing import parse
from tests.web.pages.conftest import BROWSER, post, sign_in, text

MAIL = Path(__file__).resolve().parents[2] / "fixtures" / "mail"


def _task(demo, name: str) -> UserTask:
    with demo.unit_of_work() as uow:
        taken = take_in(uow, SYSTEM, parse((MAIL / name).read_bytes()), "maildir")
        task = uow.session.scalars(select(UserTask).where(UserTask.instance_id == taken.instance_id)).one()
        uow.session.expunge(task)
    return task


def _rows(response) -> list[str]:
    return [chunk.split('"')[0] for chunk in text(response).split('data-task-id="')[1:]]


def test_the_mail_task_is_in_the_team_inbox_opens_filled_and_registers_the_complaint(client, demo):
    task = _task(demo, "html_only.eml")
    sign_in(client, "intake")
    assert str(task.id) in _rows(client.get("/inbox?view=team", headers=BROWSER))
    page = client.get(f"/tasks/{task.id}", headers=BROWSER)
    assert page.status_code == 200
    html = text(page)
    assert "Complete registration" in html
    assert re.search(r'name="customer_contact"[^>]*value="jing.chen@example.org"', html)
    assert "The branch at Nanjing Road refused my cash deposit on 1 December." in html
    response = post(client, f"/tasks/{task.id}", {
        "intake_decision": "register", "customer_name": "Jing Chen", "customer_contact": "jing.chen@example.org",
        "product": "current_account_personal", "category": "service_quality", "severity": "general",
        "description": "The branch at Nanjing Road refused my cash deposit on 1 December."}, page=f"/tasks/{task.id}")
    assert response.status_code == 302, text(response)
    with demo.unit_of_work() as uow:
        complaint = uow.session.scalars(select(Complaint)).one()
        assert (complaint.channel, complaint.registered_by) == ("email", "intake")


def test_the_mail_task_opens_in_chinese_with_the_chinese_mail(client, demo):
    task = _task(demo, "gb2312.eml")
    sign_in(client, "intake", language="zh-CN")
    html = text(client.get(f"/tasks/{task.id}", headers={**BROWSER, "Accept-Language": "zh-CN"}))
    assert "完成登记" in html and "是否为投诉？" in html
    assert "王堃" in html and "我的信用卡年费在十一月被重复扣了两次" in html


def test_a_refused_registration_names_the_field_and_keeps_the_task(client, demo):
    task = _task(demo, "html_only.eml")
    sign_in(client, "intake")
    response = post(client, f"/tasks/{task.id}", {"intake_decision": "register", "customer_name": "Jing Chen",
                                                  "customer_contact": "jing.chen@example.org",
                                                  "description": "The branch refused my deposit."},
                    page=f"/tasks/{task.id}")
    assert response.status_code == 422
    with demo.unit_of_work() as uow:
        assert uow.session.get_one(UserTask, task.id).state == "ready"


def test_the_customers_reply_is_read_in_the_case_history(client, demo, driver):
    cid = driver.register(customer_name="Mei Lin Zhang", customer_contact="meilin.zhang@example.com")
    with demo.unit_of_work() as uow:
        complaint = uow.session.get_one(Complaint, cid)
        letter = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.complaint_id == cid)).first()
        raw = ((MAIL / "reply.eml").read_bytes().replace(b"@@TRACKING@@", complaint.tracking_number.encode())
               .replace(b"@@IN_REPLY_TO@@", outbox.message_id(letter.id, letter.idempotency_key, "bank.example")
                        .encode()))
        assert take_in(uow, SYSTEM, parse(raw), "maildir").outcome == "reply"
    sign_in(client, "coordinator")
    html = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    event = html[html.index('data-testid="timeline-customer_reply_received"'):]
    assert "The customer replied by e-mail" in event[:400]
    assert "The second charge is still on my December statement" in event
