"""The task form: rendered from the JSON Schema in declared order, validated by FormStore, conflicts shown."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.engine.models import AuditEvent
from tests.web.pages.conftest import BROWSER, post, sign_in, text


def _to_approval(driver) -> int:
    cid = driver.register()
    driver.classify(cid)
    driver.triage(cid, lead="cards")
    driver.investigate(cid, "cards")
    driver.draft(cid)
    return cid


def _positions(html: str, names) -> list[int]:
    return [html.index(f'data-testid="field-{name}"') for name in names]


def test_fields_follow_the_schema_order_with_bound_labels_and_required_marks(client, driver, demo):
    cid = _to_approval(driver)
    task = driver.task(cid, "approve_resolution")
    sign_in(client, "approver")
    html = text(client.get(f"/tasks/{task.id}", headers=BROWSER))
    schema = demo.forms.schema_for_client("approve_resolution.schema.json")
    declared = list(schema["properties"])
    assert declared.index("approval_decision") < declared.index("approval_comment")
    assert _positions(html, declared) == sorted(_positions(html, declared))
    for name in declared:
        assert f'for="field-{name}"' in html or f'name="{name}"' in html
    # The comment appears only when "reject" is chosen: the schema's if/then, told to the page's script.
    comment = re.search(r'<div[^>]*data-testid="field-approval_comment"[^>]*>', html).group(0)
    assert 'data-show-when-field="approval_decision"' in comment and "reject" in comment
    assert "(required)" in html


def test_invalid_answers_come_back_next_to_their_fields_with_what_was_typed(client, driver, demo):
    cid = _to_approval(driver)
    task = driver.task(cid, "approve_resolution")
    sign_in(client, "approver")
    response = post(client, f"/tasks/{task.id}", {"approval_decision": "reject", "approval_comment": ""},
                    page=f"/tasks/{task.id}")
    assert response.status_code == 422
    html = text(response)
    assert 'data-testid="error-approval_comment"' in html
    assert re.search(r'<option value="reject"\s+selected', html)
    assert driver.task(cid, "approve_resolution").id == task.id  # nothing was completed


def test_typed_text_and_money_are_kept_after_an_error(client, driver):
    cid = driver.register()
    driver.classify(cid)
    driver.triage(cid, lead="cards")
    driver.investigate(cid, "cards")
    task = driver.task(cid, "draft_resolution")
    sign_in(client, "cards.officer")
    response = post(client, f"/tasks/{task.id}", {"resolution_summary": "Refund the fee", "remedy_type":
                    "monetary_redress", "redress_amount": "12.345", "customer_message": ""}, page=f"/tasks/{task.id}")
    assert response.status_code == 422
    html = text(response)
    assert 'value="12.345"' in html and "Refund the fee" in html
    assert 'data-testid="error-redress_amount"' in html and 'data-testid="error-customer_message"' in html


def test_a_valid_answer_completes_the_task_once_and_a_double_submit_gets_a_message(client, driver, demo):
    cid = _to_approval(driver)
    task = driver.task(cid, "approve_resolution")
    sign_in(client, "approver")
    data = {"approval_decision": "approve"}
    first = post(client, f"/tasks/{task.id}", data, page=f"/tasks/{task.id}")
    assert first.status_code == 302 and first.headers["Location"] == "/inbox"
    second = post(client, f"/tasks/{task.id}", data, page="/inbox")
    assert second.status_code == 409
    assert 'data-testid="task-conflict"' in text(second) and "Traceback" not in text(second)
    with demo.unit_of_work() as uow:
        completions = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "task_completed", AuditEvent.detail["task_id"].as_integer() == task.id))
    assert completions == 1


def test_a_task_completed_in_another_tab_meanwhile(client, driver):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint")
    sign_in(client, "intake")
    form_page = client.get(f"/tasks/{task.id}", headers=BROWSER)
    assert form_page.status_code == 200
    driver.classify(cid)  # someone else, meanwhile
    response = post(client, f"/tasks/{task.id}", {"category": "fees_charges", "severity": "general",
                                                  "product": "credit_card"}, page="/inbox")
    assert response.status_code == 409 and "This task is no longer open." in text(response)


def test_a_forbidden_task_opened_by_hand_gives_the_404_page_without_data(client, driver):
    cid = driver.register(customer_name="Zed Secretname")
    driver.classify(cid)
    driver.triage(cid, lead="cards")
    task = driver.task(cid, "investigate_complaint", "cards")
    sign_in(client, "retail_lending.officer")
    response = client.get(f"/tasks/{task.id}", headers=BROWSER)  # as if there were no such task
    assert response.status_code == 404 and "Secretname" not in text(response)
    assert 'data-testid="error-page"' in text(response)
    assert post(client, f"/tasks/{task.id}", {"facts": "x"}).status_code == 404
    response = client.get(f"/complaints/{cid}", headers=BROWSER)
    assert response.status_code == 404 and "Secretname" not in text(response)


def test_the_form_speaks_chinese(client, driver):
    cid = _to_approval(driver)
    task = driver.task(cid, "approve_resolution")
    sign_in(client, "approver", language="zh-CN")
    html = text(client.get(f"/tasks/{task.id}", headers={**BROWSER, "Accept-Language": "zh-CN"}))
    assert "审批处理方案" in html and "结论" in html and "驳回" in html and "提交并完成任务" in html
    assert "Approve resolution" not in html


def test_checklist_and_select_of_departments_on_triage(client, driver, demo):
    cid = driver.register()
    driver.classify(cid)
    task = driver.task(cid, "triage_complaint")
    sign_in(client, "coordinator")
    html = text(client.get(f"/tasks/{task.id}", headers=BROWSER))
    assert 'data-testid="input-co_departments-wealth_management"' in html and 'type="checkbox"' in html
    response = post(client, f"/tasks/{task.id}", {"lead_department": "cards", "co_departments": ["e_banking", "operations"]},
                    page=f"/tasks/{task.id}")
    assert response.status_code == 302, text(response)
    assert sorted(t.department for t in driver.ready(cid)) == ["cards", "e_banking", "operations"]


def test_the_page_and_the_api_show_the_form_of_the_cases_version_after_a_form_change(client, driver, demo, actors,
                                                                                      tmp_path):
    """A case on version 1 keeps version 1's form when a changed form file is deployed as version 2 (issue 24)."""
    import dataclasses
    import json
    import shutil

    from app.engine.governance import definitions
    from tests.web.conftest import basic

    forms = tmp_path / "forms"
    shutil.copytree(demo.settings.forms_dir, forms)
    demo.settings = dataclasses.replace(demo.settings, forms_dir=forms)
    on_v1 = driver.register()
    path = forms / "classify_complaint.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["properties"]["classification_basis"] = {"type": "string", "title": "Basis of the classification"}
    path.write_text(json.dumps(schema), encoding="utf-8")
    with demo.unit_of_work() as uow:
        definitions.deploy(uow, actors["owner"], definitions.read_directory(demo.settings.processes_dir))
    on_v2 = driver.register(2)
    v1_task, v2_task = driver.task(on_v1, "classify_complaint"), driver.task(on_v2, "classify_complaint")
    user = driver.actor_for(v1_task).username
    api = [client.get(f"/api/v1/tasks/{t.id}", headers=basic(user)).json["form"]["properties"]
           for t in (v1_task, v2_task)]
    assert ["classification_basis" in properties for properties in api] == [False, True]
    sign_in(client, user)
    pages = [text(client.get(f"/tasks/{t.id}", headers=BROWSER)) for t in (v1_task, v2_task)]
    assert ['data-testid="field-classification_basis"' in page for page in pages] == [False, True]
