"""The complaint page's "Extend deadline" form (issue 17): offered to coordinators, the same service as the API;
a refusal is a message on the page naming why."""
from __future__ import annotations

from datetime import timedelta

from tests.web.pages.conftest import BROWSER, post, sign_in, text


def _in_handling(driver) -> int:
    cid = driver.register()
    driver.classify(cid)
    driver.triage(cid)
    return cid


def test_a_coordinator_extends_the_deadline_from_the_complaint_page(client, driver):
    cid = _in_handling(driver)
    before = driver.complaint(cid).due_at
    sign_in(client, "coordinator")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert 'data-testid="extension-form"' in page and 'value="decision/complex_case"' in page
    response = post(client, f"/complaints/{cid}/extensions", {"choice": "decision/complex_case",
                                                              "reason": "Records from the card scheme"},
                    page=f"/complaints/{cid}", follow_redirects=True)
    assert "The deadline was extended and the customer is told." in text(response)
    assert driver.complaint(cid).due_at == before + timedelta(days=15)
    assert 'data-testid="extension-complex_case" data-state="applied">Complex case: up to 30 days: Granted' \
        in text(response)
    again = post(client, f"/complaints/{cid}/extensions", {"choice": "decision/complex_case", "reason": "Again"},
                 page=f"/complaints/{cid}", follow_redirects=True)
    assert "was already granted" in text(again)


def test_the_form_is_not_offered_to_other_roles(client, driver):
    cid = _in_handling(driver)
    sign_in(client, "approver")
    assert 'data-testid="extension-form"' not in text(client.get(f"/complaints/{cid}", headers=BROWSER))


def test_extensions_are_offered_by_their_translated_title_never_by_their_code(client, driver):
    cid = _in_handling(driver)
    sign_in(client, "coordinator")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert ">Complex case: up to 30 days · Handling decision</option>" in page
    assert ">Further extension: 30 more days, with a head-office senior manager&#39;s approval · Handling decision (needs approval)" \
        in page
    chinese = text(client.get(f"/complaints/{cid}", headers={**BROWSER, "Accept-Language": "zh-CN"}))
    assert ">复杂案件：最长 30 日 · " in chinese and ">complex_case<" not in chinese
