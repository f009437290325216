"""A process owner edits a form of a draft in the modeler (a real browser): from the draft's page to its forms,
a new field with a Chinese title, saved; the draft's change list then names the form's new field."""
from __future__ import annotations

import json

from playwright.sync_api import expect

from app.engine.governance import drafts
from app.engine.governance.definitions import latest_definition
from app.engine.models import ProcessDraft
from tests.browser.test_modeler import READY

FORM = "classify_complaint.schema.json"


def test_an_owner_adds_a_field_with_a_chinese_title_and_sees_it_in_the_drafts_changes(visit, live_server, actors):
    runtime = live_server.runtime
    with runtime.unit_of_work() as uow:
        draft_id = drafts.open_draft(uow, actors["owner"], latest_definition(uow.session, "complaint_handling").id).id
    owner = visit("owner")
    page = owner.page
    owner.goto(f"/modeler/drafts/{draft_id}")
    page.wait_for_selector(READY)
    expect(page.get_by_test_id("draft-changes-none")).to_be_visible()  # nothing changed yet
    owner.submit("[data-testid=edit-forms]")
    owner.submit(f"[data-testid='edit-{FORM}']")
    owner.submit("[data-testid=add-field]")
    new = f"f{page.locator('input[data-testid^=f][data-testid$=-key]').count() - 1}"  # the row just added, last
    page.get_by_test_id(f"{new}-key").fill("channel_detail")
    page.get_by_test_id(f"{new}-title_en").fill("Channel detail")
    page.get_by_test_id(f"{new}-title_zh").fill("渠道详情")
    page.get_by_test_id(f"{new}-required").check()
    owner.submit("[data-testid=save-form]")
    expect(page.get_by_test_id(f"{new}-title_zh")).to_have_value("渠道详情")  # saved, shown again
    owner.goto(f"/modeler/drafts/{draft_id}")
    change = page.locator("[data-testid=draft-changes] tr[data-aspect='form_field:channel_detail']")
    expect(change).to_have_count(1)
    expect(change).to_contain_text("Classify complaint")
    with runtime.unit_of_work() as uow:
        schema = json.loads(uow.session.get(ProcessDraft, draft_id).forms[FORM])
    assert schema["properties"]["channel_detail"]["x-i18n"] == {"zh": {"title": "渠道详情"}}
    assert "channel_detail" in schema["required"]
