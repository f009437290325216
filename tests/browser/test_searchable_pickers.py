"""The classification pickers as people use them (issue 26): on the registration form, typing part of a product's
Chinese or English name narrows the product list (one match left is chosen), the keyboard moves from the search
box to the list without submitting the form, and the form registers the chosen code. Axe audits the pickers."""
from __future__ import annotations

from sqlalchemy import select

from app.engine.models import Complaint
from tests.browser.harness import audit
from tests.browser.workspace import fill_form


def options(page, name: str) -> list[str]:
    return page.eval_on_selector_all(f'select[name="{name}"] option', "os => os.map(o => o.value).filter(v => v)")


def test_a_product_is_found_by_a_chinese_and_an_english_name_fragment_and_registered(visit, live_server):
    intake = visit("intake")
    intake.goto("/complaints/new")
    page = intake.page
    everything = options(page, "product")
    assert len(everything) > 10
    search = page.get_by_role("searchbox", name="Search Product")
    assert search.get_attribute("aria-controls") == "field-product"

    search.fill("信用")   # a fragment of 信用卡 (credit card), typed on an English page
    narrowed = options(page, "product")
    assert "credit_card" in narrowed and len(narrowed) < len(everything)
    assert all("信用" in page.get_attribute(f'option[value="{code}"]', "data-search") for code in narrowed)
    audit(page)   # the narrowed list with its count, as a screen reader meets it

    search.fill("mortg")   # English, lower case, part of a word: one match, chosen at once
    assert options(page, "product") == ["mortgage"]
    assert page.input_value('select[name="product"]') == "mortgage"
    assert "1 choice matches" in page.inner_text("#field-product-count")
    search.press("Enter")   # to the list, not a half-filled submission
    assert "/complaints/new" in page.url
    assert page.evaluate("document.activeElement.id") == "field-product"

    search.fill("")   # cleared: every product again, the choice kept
    assert options(page, "product") == everything
    assert page.input_value('select[name="product"]') == "mortgage"
    fill_form(page, {"customer_name": "Wang Fang", "customer_contact": "wang.fang@example.com", "channel": "email",
                     "category": "fees_charges", "description": "The mortgage fee was charged twice in March."})
    intake.submit()
    assert page.locator("[data-testid=complaint-title]").count() == 1
    with live_server.runtime.unit_of_work() as uow:
        complaint = uow.session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()
        assert complaint.product_code == "mortgage"
    assert "Mortgage" in page.inner_text("[data-testid=fact-product]")


def test_a_chinese_reader_finds_a_product_by_its_english_name(visit):
    intake = visit("intake", locale="zh_CN")
    intake.goto("/complaints/new")
    page = intake.page
    search = page.locator("[data-testid=search-product]")
    search.fill("debit")
    assert options(page, "product") == ["debit_card"]
    assert page.locator('select[name="product"] option:checked').inner_text() == "借记卡"
    search.press("Escape")
    assert len(options(page, "product")) > 10
