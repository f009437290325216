"""Files on the complaint page as people meet them (issue 28): the customer attaches a document to their own
complaint from a phone, sees it listed and downloads it; a web page passed off as a PDF is refused with a message in
their language and nothing is kept; the coordinator sees the customer's file and keeps an internal one the customer
never sees. Both languages."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.complaints import registration
from tests.attachment_files import HTML, PDF
from tests.browser.test_workspace_language_layout import PHONE
from tests.support import sample_registration

REFUSED = {"en": "Files of this type (HTML page) cannot be attached", "zh_CN": "不能附加此类文件（HTML 网页）"}
ATTACHED = {"en": "statement-march.pdf is attached.", "zh_CN": "已附加 statement-march.pdf。"}


def customers_complaint(live_server, actors) -> int:
    with live_server.runtime.unit_of_work() as uow:
        return registration.register_complaint(uow, actors["customer"], sample_registration(1)).id


def choose_file(page, name: str, data: bytes, mime: str) -> None:
    page.set_input_files("[data-testid=attach-form] input[type=file]",
                         files=[{"name": name, "mimeType": mime, "buffer": data}])


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_a_customer_attaches_a_document_from_a_phone_and_downloads_it(visit, live_server, actors, locale):
    cid = customers_complaint(live_server, actors)
    customer = visit("customer", locale=locale)
    page = customer.page
    page.set_viewport_size(PHONE)
    customer.goto(f"/complaints/{cid}")
    assert page.locator("[data-testid=no-files]").is_visible()
    assert page.locator("[data-testid=attach-class]").count() == 0   # a customer does not choose who reads it

    choose_file(page, "invoice.pdf", HTML, "application/pdf")
    customer.submit("[data-testid=attach-submit]")
    assert REFUSED[locale] in page.locator("[data-testid=flash-error]").inner_text()
    assert page.locator("[data-testid=no-files]").is_visible()

    choose_file(page, "statement-march.pdf", PDF, "application/pdf")
    customer.submit("[data-testid=attach-submit]")
    assert page.locator("[data-testid=flash-success]").inner_text().strip() == ATTACHED[locale]
    link = page.locator("[data-testid=file-link]")
    assert link.inner_text() == "statement-march.pdf"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename == "statement-march.pdf"
    assert Path(download.path()).read_bytes() == PDF


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_coordinator_sees_the_customers_file_and_keeps_an_internal_one_from_the_customer(
        visit, live_server, actors, locale):
    cid = customers_complaint(live_server, actors)
    customer = visit("customer", locale=locale)
    customer.goto(f"/complaints/{cid}")
    choose_file(customer.page, "receipt.pdf", PDF, "application/pdf")
    customer.submit("[data-testid=attach-submit]")

    coordinator = visit("coordinator", locale=locale)
    page = coordinator.page
    coordinator.goto(f"/complaints/{cid}")
    assert page.locator("[data-testid=file-link]").all_inner_texts() == ["receipt.pdf"]
    choose_file(page, "legal-opinion.pdf", PDF, "application/pdf")
    page.select_option("[data-testid=attach-class]", "internal")
    coordinator.submit("[data-testid=attach-submit]")
    assert page.locator("[data-testid=file-link]").all_inner_texts() == ["receipt.pdf", "legal-opinion.pdf"]

    customer.goto(f"/complaints/{cid}")
    assert customer.page.locator("[data-testid=file-link]").all_inner_texts() == ["receipt.pdf"]
    assert "legal-opinion" not in customer.page.content()
