"""What a browser may not do: open someone else's task or case by typing its address, or send a form that did
not come from our page (CSRF). Each is refused with an error page that shows none of the case."""
from __future__ import annotations

from tests.browser.cases import ready_task_id, task_states, tracking_number
from tests.browser.workspace import CJK, fill_form


def _at_investigation(case) -> int:
    cid = case.register(customer_name="Zhang Min")
    case.classify(cid)
    case.triage(cid, lead="cards")
    return cid


def _assert_refused_without_data(visitor, path, secrets, status=404):
    """What someone who may not see a case meets at its address: the page of an address that does not exist
    (404, as for an unknown id: the answer tells nobody which ids exist), with none of the case on it."""
    visitor.goto(path, status=status)
    page = visitor.page
    assert page.locator(f"[data-testid=error-page][data-status='{status}']").count() == 1
    body = page.content()
    for secret in secrets:
        assert secret not in body, f"{path} shows {secret!r}"


def test_a_task_or_case_of_another_department_typed_by_hand_is_refused(visit, case):
    """Another department's officer typing the addresses gets the not-found page, as for an id that does not
    exist."""
    cid = _at_investigation(case)
    task_id = ready_task_id(case, cid, "investigate_complaint", "cards")
    secrets = [tracking_number(case, cid), "Zhang Min", "Simulated complaint"]
    outsider = visit("retail_lending.officer")
    _assert_refused_without_data(outsider, f"/tasks/{task_id}", secrets)
    _assert_refused_without_data(outsider, f"/complaints/{cid}", secrets)
    _assert_refused_without_data(outsider, f"/complaints/{cid}/diagram.bpmn", secrets)
    # Posting the form anyway changes nothing.
    assert ("investigate_complaint", "ready") in task_states(case, cid)
    # The department that owns it opens the same addresses.
    owner = visit("cards.officer")
    owner.goto(f"/tasks/{task_id}")
    assert owner.page.locator("[data-testid=task-form]").count() == 1


def test_the_refusal_page_is_in_the_readers_language(visit, case):
    cid = _at_investigation(case)
    outsider = visit("e_banking.officer", locale="zh_CN")
    _assert_refused_without_data(outsider, f"/complaints/{cid}", [tracking_number(case, cid), "Zhang Min"])
    assert CJK.search(outsider.page.inner_text("[data-testid=error-title]"))
    missing = visit("e_banking.officer")
    missing.goto("/tasks/999999", status=404)
    assert missing.page.locator("[data-testid=error-page][data-status='404']").count() == 1


def test_a_form_with_a_forged_or_missing_csrf_token_is_refused_and_changes_nothing(visit, case):
    cid = case.register()
    task_id = ready_task_id(case, cid, "classify_complaint")
    intake = visit("intake")
    for forge in ("e => e.value = 'forged'", "e => e.remove()"):
        intake.goto(f"/tasks/{task_id}")
        fill_form(intake.page, {"category": "fees_charges", "severity": "general", "product": "credit_card"})
        intake.page.locator("[data-testid=task-form] input[name=csrf_token]").evaluate(forge)
        intake.submit()
        assert intake.page.locator("[data-testid=error-page][data-status='400']").count() == 1
        assert task_states(case, cid) == [("classify_complaint", "ready")]
    # With the page's own token the same form goes through.
    intake.goto(f"/tasks/{task_id}")
    fill_form(intake.page, {"category": "fees_charges", "severity": "general", "product": "credit_card"})
    intake.submit()
    assert intake.page.url.endswith("/inbox")
    assert task_states(case, cid) == [("classify_complaint", "completed"), ("triage_complaint", "ready")]


def test_signed_out_visitors_are_sent_to_sign_in(visit, case):
    cid = case.register()
    anonymous = visit()
    anonymous.goto(f"/complaints/{cid}")
    assert "/sign-in" in anonymous.page.url
    assert tracking_number(case, cid) not in anonymous.page.content()
    anonymous.page.fill("input[name=username]", "compliance")
    anonymous.page.fill("input[name=password]", "wrong")
    anonymous.submit("[data-testid=sign-in-submit]")
    assert anonymous.page.locator("[data-testid=sign-in-error]").count() == 1
    anonymous.page.fill("input[name=password]", "compliance-demo")
    anonymous.submit("[data-testid=sign-in-submit]")
    assert anonymous.page.url.endswith(f"/complaints/{cid}")  # back where they were going
