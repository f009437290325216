"""Codes shown to people by name (issue 26): the complaint page, the lists, the task's context panel and the
history name the product, cause and place of business in the reader's language (config/classification.toml), the
API keeps the codes and adds the names beside them; the registration and classification forms offer these lists as
searchable pickers that still work as plain, grouped selects without JavaScript."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.engine.models import Complaint
from tests.web.conftest import basic
from tests.web.pages.conftest import BROWSER, post, sign_in, text

ZH = {**BROWSER, "Accept-Language": "zh-CN"}


def fact(page: str, key: str) -> str:
    match = re.search(rf'data-testid="fact-{key}"><dt>[^<]*</dt><dd[^>]*>(?:<bdi>)?([^<]*)<', page)
    assert match, f"no fact {key}"
    return match.group(1).strip()


def registered(driver) -> int:
    cid = driver.register(product="credit_card", category="fees_charges", place_of_business="mobile_banking")
    driver.classify(cid, product="debit_card", category="service_quality")
    return cid


def test_the_complaint_page_names_the_codes_in_the_readers_language(client, driver):
    cid = registered(driver)
    sign_in(client, "coordinator")
    english = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert (fact(english, "product"), fact(english, "category"), fact(english, "place_code")) == \
        ("Debit card", "Service quality", "Mobile banking app")
    assert 'data-code="debit_card"' in english and 'data-code="mobile_banking"' in english
    chinese = text(client.get(f"/complaints/{cid}", headers=ZH))
    assert (fact(chinese, "product"), fact(chinese, "category"), fact(chinese, "place_code")) == \
        ("借记卡", "服务质量", "手机银行")
    # The classification's entry in the history names the codes too, not only the facts.
    entered = chinese.split('data-testid="timeline"', 1)[1]
    assert "借记卡" in entered and ">debit_card<" not in entered


def test_the_lists_and_the_task_context_name_the_cause_in_chinese(app, client, driver):
    cid = registered(driver)
    driver.triage(cid, lead="cards")
    sign_in(client, "coordinator", language="zh-CN")
    listing = text(client.get("/complaints", headers=ZH))
    assert "服务质量" in listing and ">service_quality<" not in listing
    client = app.test_client()
    sign_in(client, "cards.officer", language="zh-CN")
    inbox = text(client.get("/inbox", headers=ZH))
    assert "服务质量" in inbox
    task = driver.task(cid, "investigate_complaint")
    page = text(client.get(f"/tasks/{task.id}", headers=ZH))
    context = page.split('data-testid="task-context"', 1)[1].split("</dl>", 1)[0]
    assert "借记卡" in context and "服务质量" in context and "debit_card" not in context


def test_the_api_keeps_the_codes_and_adds_the_names(client, driver, demo):
    cid = registered(driver)
    body = client.get(f"/api/v1/complaints/{cid}", headers=basic("coordinator")).json
    assert (body["product_code"], body["category"], body["place_code"]) == ("debit_card", "service_quality",
                                                                             "mobile_banking")
    assert (body["product_name"], body["cause_name"], body["place_name"]) == ("Debit card", "Service quality",
                                                                             "Mobile banking app")
    chinese = client.get(f"/api/v1/complaints/{cid}", headers={**basic("coordinator"), "Accept-Language": "zh-CN"})
    assert (chinese.json["product_name"], chinese.json["cause_name"]) == ("借记卡", "服务质量")
    spec = client.get("/api/v1/openapi.json").json["components"]["schemas"]["ComplaintSummary"]["properties"]
    assert {"product_code", "product_name", "cause_name", "place_code", "place_name"} <= set(spec)


def test_the_task_api_keeps_the_context_codes_and_names_them(client, driver, demo):
    cid = registered(driver)
    task = driver.task(cid, "triage_complaint")
    english = client.get(f"/api/v1/tasks/{task.id}", headers=basic("coordinator")).json
    assert (english["context"]["product"], english["context"]["category"]) == ("debit_card", "service_quality")
    assert (english["names"]["product"], english["names"]["category"]) == ("Debit card", "Service quality")
    chinese = client.get(f"/api/v1/tasks/{task.id}", headers={**basic("coordinator"), "Accept-Language": "zh-CN"})
    assert (chinese.json["names"]["product"], chinese.json["names"]["category"]) == ("借记卡", "服务质量")
    spec = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Task"]["properties"]
    assert "names" in spec


def test_the_api_names_an_older_unmapped_product_by_its_text(client, driver, demo):
    cid = registered(driver)
    with demo.unit_of_work() as uow:
        complaint = uow.session.scalars(select(Complaint).where(Complaint.id == cid)).one()
        complaint.product, complaint.product_code = "Gold card", None
    body = client.get(f"/api/v1/complaints/{cid}", headers=basic("coordinator")).json
    assert (body["product_code"], body["product_name"]) == (None, "Gold card")


def picker(page: str, name: str) -> str:
    match = re.search(rf'<div class="picker" data-picker data-testid="picker-{name}".*?</select>', page, re.S)
    assert match, f"no picker for {name}"
    return match.group(0)


def test_the_register_form_offers_searchable_pickers_grouped_without_javascript(client, driver, demo):
    sign_in(client, "intake")
    page = text(client.get("/complaints/new", headers=BROWSER))
    products = picker(page, "product")
    # Grouped by the regulator's categories of the active regime (CBIRC: JR/T 0169 B), names in the reader's
    # language, each option searchable by its code and both names.
    assert '<optgroup label="信用卡">' in products and ">Credit card<" in products
    assert 'data-search="credit_card credit card credit card 信用卡"' in products
    assert picker(page, "category") and picker(page, "place_of_business")
    assert 'name="channel"' in page and 'data-testid="picker-channel"' not in page   # a short list stays a select
    assert "js/picker.js" in page
    # Without JavaScript the select is the control: the form posts the code.
    data = {"customer_name": "Wang Fang", "customer_contact": "wang.fang@example.com", "channel": "email",
            "product": "mortgage", "category": "fees_charges", "place_of_business": "branch_counter",
            "severity": "general", "description": "The mortgage fee was charged twice in March."}
    response = post(client, "/complaints/new", data, page="/complaints/new")
    assert response.status_code == 302, text(response)
    with demo.unit_of_work() as uow:
        complaint = uow.session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()
        assert (complaint.product_code, complaint.place_code) == ("mortgage", "branch_counter")
