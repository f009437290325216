"""The complaint page's "Ask for verification" form (核查): offered within the window to staff who may record it,
the same service as the API; a refusal is a message on the page, in the reader's language."""
from __future__ import annotations

from tests.web.pages.conftest import BROWSER, csrf_token, post, sign_in, text

CHINESE = {**BROWSER, "Accept-Language": "zh-CN"}


def post_in_chinese(client, path: str, data: dict, page: str):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)}, headers=CHINESE,
                       follow_redirects=True)


def test_a_coordinator_records_the_request_from_the_complaint_page(client, driver):
    cid = driver.handle_until_feedback()
    sign_in(client, "coordinator")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert 'data-testid="verification-form"' in page
    response = post(client, f"/complaints/{cid}/verification", {"reason": "客户不认可处理决定"},
                    page=f"/complaints/{cid}", follow_redirects=True)
    assert "The verification request is recorded" in text(response)
    assert driver.ready_names(cid) == ["give_verification_opinion"]
    assert 'data-testid="verification-form"' not in text(response)     # under verification now


def test_the_form_is_not_offered_before_a_decision(client, driver):
    undecided = driver.register()
    sign_in(client, "coordinator")
    assert 'data-testid="verification-form"' not in text(client.get(f"/complaints/{undecided}", headers=BROWSER))


def test_the_form_is_not_offered_to_other_roles(client, driver):
    cid = driver.handle_until_feedback()
    sign_in(client, "approver")
    assert 'data-testid="verification-form"' not in text(client.get(f"/complaints/{cid}", headers=BROWSER))


def test_refusals_are_shown_in_chinese_with_their_dates(client, driver, clock):
    cid = driver.handle_until_feedback()
    sign_in(client, "coordinator")
    empty = post_in_chinese(client, f"/complaints/{cid}/verification", {"reason": " "}, f"/complaints/{cid}")
    assert "此项为必填项" in text(empty)          # the page's friendly wording of a missing field
    clock.advance(days=31)
    sign_in(client, "coordinator")               # the month-old session has ended
    late = post_in_chinese(client, f"/complaints/{cid}/verification", {"reason": "太晚了"}, f"/complaints/{cid}")
    assert "已超过核查申请期限" in text(late) and "30 个自然日" in text(late)
    assert "give_verification_opinion" not in driver.ready_names(cid)
