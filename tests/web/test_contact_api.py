"""Registration through the API refuses a contact that is not exactly one e-mail address, phone number or postal
address (security finding H1): a 422 naming ``customer_contact``, for staff and for customers alike."""
from __future__ import annotations

import pytest

from tests.web.conftest import basic

INTAKE, CUSTOMER = basic("intake"), basic("customer")


def registration(contact: str) -> dict:
    return {"customer_name": "Mary Major", "customer_contact": contact, "channel": "email", "product": "credit_card",
            "category": "fees_charges", "description": "A fee was charged twice on my card statement."}


@pytest.mark.parametrize("headers", [INTAKE, CUSTOMER], ids=["intake", "customer"])
@pytest.mark.parametrize(("contact", "words"), [
    ("mary@example.com\r\nBcc: everyone@example.com", "one line"),
    ("mary@example.com\nX-Evil: 1", "one line"),
    ("mary@example.com, mallory@example.com", "only one e-mail address"),
    ("Mary <mary@example.com>", "without a name"),
])
def test_a_contact_with_a_line_break_or_a_list_is_refused(client, headers, contact, words):
    response = client.post("/api/v1/complaints", json=registration(contact), headers=headers)
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == ["customer_contact"]
    assert words in response.json["errors"]["customer_contact"][0]


def test_a_phone_number_is_registered_in_e164_and_a_postal_address_on_its_lines(client):
    phone = client.post("/api/v1/complaints", json=registration("138 0013 8000"), headers=CUSTOMER)
    assert phone.status_code == 201, phone.json
    assert phone.json["customer_contact"] == "+8613800138000"
    postal = client.post("/api/v1/complaints", json=registration("88 Jianguo Road\r\nBeijing 100022"),
                         headers=INTAKE)
    assert postal.status_code == 201, postal.json
    assert postal.json["customer_contact"] == "88 Jianguo Road\nBeijing 100022"
