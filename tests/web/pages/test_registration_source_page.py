"""The registration page with the receipt and source facts (issue 26): the form offers them, refuses a bad one
next to its field, and the complaint page shows them to staff."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.web.pages.conftest import BROWSER, post, sign_in, text

NOW = datetime(2027, 3, 8, 2, 0, tzinfo=UTC)   # Monday 10:00 in Shanghai (the demo's CBIRC profile)
FORWARDED = {"channel": "regulator", "forwarded_reference": "CBIRC-2027-7", "forwarded_by": "cbirc",
             "forwarded_at": "2027-03-04", "forwarded_due_at": "2027-03-19", "reply_route": "both"}


@pytest.fixture(autouse=True)
def at_now(clock):
    clock.set(NOW)


def test_the_registration_page_takes_the_source_and_the_complaint_page_shows_it(app, client):
    sign_in(client, "intake")
    form = text(client.get("/complaints/new", headers=BROWSER))
    assert 'name="received_at"' in form and 'name="forwarded_due_at"' in form and "Local CBIRC office" in form
    bad = post(client, "/complaints/new", {"customer_name": "Ann", "channel": "email", "product": "credit_card",
                                           "category": "fees_charges", "customer_contact": "ann@example.com",
                                           "received_at": "2027-03-09T09:00",
                                           "description": "Charged twice for one thing."}, page="/complaints/new")
    assert bad.status_code == 422 and 'data-testid="error-received_at"' in text(bad)
    good = post(client, "/complaints/new", {"customer_name": "Ann", "product": "credit_card",
                                            "category": "fees_charges", "customer_contact": "ann@example.com",
                                            "received_at": "2027-03-05T09:30", **FORWARDED,
                                            "description": "Charged twice for one thing."}, page="/complaints/new")
    assert good.status_code == 302, text(good)
    coordinator = app.test_client()
    sign_in(coordinator, "coordinator")
    page = text(coordinator.get(good.headers["Location"], headers=BROWSER))
    for fact in ("registered_at", "forwarded_by", "forwarded_due_at", "reply_route", "calendar_code"):
        assert f'data-testid="fact-{fact}"' in page
    assert "Local CBIRC office" in page and "CBIRC-2027-7" in page
