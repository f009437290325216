"""The registration page says what is wrong with a contact in the reader's language (security finding H1)."""
from __future__ import annotations

import pytest

from tests.web.pages.conftest import BROWSER, csrf_token, sign_in, text

FORM = {"customer_name": "Ann", "channel": "email", "product": "credit_card", "category": "fees_charges",
        "description": "Charged twice for one thing."}


@pytest.mark.parametrize(("language", "words"), [("en", "Give only one e-mail address"),
                                                 ("zh-CN", "只能填写一个电子邮件地址")])
def test_a_list_of_addresses_is_refused_on_the_page_in_the_readers_language(client, language, words):
    sign_in(client, "intake", language=language)
    data = {**FORM, "customer_contact": "ann@example.com, bob@example.com",
            "csrf_token": csrf_token(client, "/complaints/new")}
    page = client.post("/complaints/new", data=data, headers={**BROWSER, "Accept-Language": language})
    assert page.status_code == 422
    assert 'data-testid="error-customer_contact"' in text(page) and words in text(page)
