"""The modeler's form editor, through the pages: a draft's forms, rows moved and added without script, a choice
field with Chinese titles saved into the draft, an error kept on the page; in English and in Chinese. A version
deployed from the draft renders the form's Chinese to a Chinese reader."""
from __future__ import annotations

import json
import re

import pytest

from app.engine.governance import drafts, form_editor
from app.engine.governance.definitions import latest_definition
from app.engine.models import ProcessDraft
from tests.web.pages.conftest import BROWSER, csrf_token, sign_in, text

FORM = "classify_complaint.schema.json"
LANGUAGES = {"en": {"title": "Form classify_complaint.schema.json", "saved": "was saved in the draft",
                    "refused": "The form was not saved"},
             "zh-CN": {"title": "表单 classify_complaint.schema.json", "saved": "已保存到草稿",
                       "refused": "表单未保存"}}


@pytest.fixture
def draft_id(demo, actors):
    with demo.unit_of_work() as uow:
        return drafts.open_draft(uow, actors["owner"], latest_definition(uow.session, "complaint_handling").id).id


def _headers(language):
    return {**BROWSER, "Accept-Language": language}


def _post_data(rows: form_editor.FormRows, op: str) -> dict:
    """What the editor page posts for these rows (names as pages/form_editor.html writes them)."""
    data = {"op": op, "is_new": "no", "field_count": len(rows.fields), "title_en": rows.title_en,
            "title_zh": rows.title_zh, "description_en": rows.description_en, "description_zh": rows.description_zh}
    for i, f in enumerate(rows.fields):
        p = f"f{i}-"
        data.update({p + "key": f.key, p + "kind": f.kind, p + "title_en": f.title_en, p + "title_zh": f.title_zh,
                     p + "description_en": f.description_en, p + "description_zh": f.description_zh,
                     p + "original": f.original or "", p + "choice_count": len(f.choices)})
        if f.required:
            data[p + "required"] = "yes"
        for j, c in enumerate(f.choices):
            q = f"{p}c{j}-"
            data.update({q + "value": c.value, q + "title_en": c.title_en, q + "title_zh": c.title_zh,
                         q + "original": c.original or "", q + "has_original": "yes" if c.original is not None
                         else "no"})
    return data


def _rows_on(page: str) -> form_editor.FormRows:
    """The rows as the page shows them (its inputs' values), read back the way a browser would post them."""
    values = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
    checked = set(re.findall(r'name="([^"]+)" value="yes" checked', page))
    kinds = dict(re.findall(r'name="(f\d+-kind)"[^>]*>(?:(?!</select>).)*?<option value="(\w+)" selected',
                            page, re.S))
    rows = form_editor.FormRows(title_en=values.get("title_en", ""), title_zh=values.get("title_zh", ""))
    for i in range(int(values["field_count"])):
        p = f"f{i}-"
        row = form_editor.FieldRow(key=values[p + "key"], kind=kinds[p + "kind"], title_en=values[p + "title_en"],
                                   title_zh=values[p + "title_zh"], description_en=values[p + "description_en"],
                                   description_zh=values[p + "description_zh"], required=p + "required" in checked,
                                   original=values[p + "original"] or None)
        for j in range(int(values[p + "choice_count"])):
            q = f"{p}c{j}-"
            row.choices.append(form_editor.ChoiceRow(
                value=values[q + "value"], title_en=values[q + "title_en"], title_zh=values[q + "title_zh"],
                original=values[q + "original"] if values[q + "has_original"] == "yes" else None))
        rows.fields.append(row)
    return rows


def _post(client, path, rows, op, language):
    return client.post(path, data={**_post_data(rows, op), "csrf_token": csrf_token(client, path)},
                       headers=_headers(language))


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_add_a_choice_field_with_chinese_titles_move_it_and_require_it(client, demo, draft_id, language):
    words = LANGUAGES[language]
    sign_in(client, "owner", language=language)
    listing = text(client.get(f"/modeler/drafts/{draft_id}/forms", headers=_headers(language)))
    assert f'href="/modeler/drafts/{draft_id}/forms/{FORM}"' in listing
    path = f"/modeler/drafts/{draft_id}/forms/{FORM}"
    page = text(client.get(path, headers=_headers(language)))
    assert words["title"] in page
    rows = _rows_on(page)
    assert [f.key for f in rows.fields] == ["category", "severity", "product", "place_of_business",
                                            "classification_note"]

    page = text(_post(client, path, rows, "add_field", language))  # a new, empty row; nothing saved yet
    rows = _rows_on(page)
    assert len(rows.fields) == 6 and rows.fields[5].original is None
    new = rows.fields[5]
    new.key, new.kind, new.title_en, new.title_zh, new.required = "channel_detail", "choice", "Channel detail", \
        "渠道详情", True
    rows = _rows_on(text(_post(client, path, rows, "add_choice:5", language)))
    rows = _rows_on(text(_post(client, path, rows, "add_choice:5", language)))
    rows.fields[5].choices[0] = form_editor.ChoiceRow("branch", "At a branch", "在网点")
    rows.fields[5].choices[1] = form_editor.ChoiceRow("phone", "By phone", "电话")
    rows = _rows_on(text(_post(client, path, rows, "choice_up:5:1", language)))
    rows = _rows_on(text(_post(client, path, rows, "field_up:5", language)))
    assert [f.key for f in rows.fields][4:] == ["channel_detail", "classification_note"]

    saved = _post(client, path, rows, "save", language)
    assert saved.status_code == 303
    assert words["saved"] in text(client.get(saved.headers["Location"], headers=_headers(language)))
    with demo.unit_of_work() as uow:
        schema = json.loads(uow.session.get(ProcessDraft, draft_id).forms[FORM])
    assert list(schema["properties"]) == ["category", "severity", "product", "place_of_business", "channel_detail",
                                          "classification_note"]
    assert schema["required"][-1] == "channel_detail"
    field = schema["properties"]["channel_detail"]
    assert field["x-i18n"] == {"zh": {"title": "渠道详情"}} and field["title"] == "Channel detail"
    assert field["oneOf"] == [{"const": "phone", "title": "By phone", "x-i18n": {"zh": {"title": "电话"}}},
                              {"const": "branch", "title": "At a branch", "x-i18n": {"zh": {"title": "在网点"}}}]
    assert schema["additionalProperties"] is False  # what the editor does not show is kept


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_an_error_names_the_field_and_keeps_what_was_typed(client, demo, draft_id, language):
    words = LANGUAGES[language]
    sign_in(client, "owner", language=language)
    path = f"/modeler/drafts/{draft_id}/forms/{FORM}"
    rows = _rows_on(text(client.get(path, headers=_headers(language))))
    rows.fields[0].title_zh = "投诉类别（已改）"
    rows.fields.append(form_editor.FieldRow(key="bad key", kind="text", title_en="Typed title", title_zh="输入的标题"))
    response = _post(client, path, rows, "save", language)
    page = text(response)
    assert response.status_code == 422 and words["refused"] in page
    assert 'data-testid="error-bad key"' in page and "is not an identifier" in page
    assert 'value="Typed title"' in page and 'value="输入的标题"' in page and 'value="投诉类别（已改）"' in page
    with demo.unit_of_work() as uow:  # nothing saved
        draft = uow.session.get(ProcessDraft, draft_id)
        assert "bad key" not in draft.forms[FORM] and "已改" not in draft.forms[FORM]


def test_a_new_form_page_and_only_owners(client, draft_id):
    sign_in(client, "owner")
    response = client.get(f"/modeler/drafts/{draft_id}/forms/new?file_name=check_it.schema.json", headers=BROWSER)
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"], headers=BROWSER))
    assert "New form check_it.schema.json" in page
    other = client.application.test_client()
    sign_in(other, "compliance")
    assert other.get(f"/modeler/drafts/{draft_id}/forms", headers=BROWSER).status_code == 403


def test_a_case_on_the_deployed_draft_shows_the_forms_chinese(client, demo, actors, draft_id, driver):
    with demo.unit_of_work() as uow:
        original = json.loads(uow.session.get(ProcessDraft, draft_id).forms[FORM])
        rows = form_editor.rows_of(original)
        rows.fields[3].title_zh = "分类说明（表单）"
        rows.fields[1].choices[0].title_zh = "一般（表单）"
        from app.engine.governance import draft_forms
        draft_forms.save_form_rows(uow, actors["owner"], draft_id, FORM, rows)
    with demo.unit_of_work() as uow:
        drafts.deploy_draft(uow, actors["owner"], draft_id, "Chinese texts of the form")
    on_v2 = driver.register(2)
    task = driver.task(on_v2, "classify_complaint")
    sign_in(client, "coordinator", language="zh-CN")
    chinese = text(client.get(f"/tasks/{task.id}", headers=_headers("zh-CN")))
    assert "分类说明（表单）" in chinese and "一般（表单）" in chinese
    english = client.application.test_client()
    sign_in(english, "coordinator")
    page = text(english.get(f"/tasks/{task.id}", headers=BROWSER))
    assert "分类说明（表单）" not in page and "Classification note" in page


def test_choice_titles_of_a_case_come_from_the_form_its_version_pinned(app, demo):
    from app.engine.forms import PinnedForms
    from app.web.pages import labels

    schema = json.loads((demo.settings.forms_dir / "approve_resolution.schema.json").read_text("utf-8"))
    schema["properties"]["approval_decision"]["oneOf"][1]["title"] = "Send back"
    schema["properties"]["approval_decision"]["oneOf"][1]["x-i18n"] = {"zh": {"title": "退回（本版本）"}}
    pinned = PinnedForms("a-version-s-forms", lambda: {"approve_resolution.schema.json": json.dumps(schema)})
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert labels.fact("approval_decision", "reject", pinned) == "Send back"
        assert labels.fact("approval_decision", "reject") == "Reject"  # no case: app/forms
        assert labels.fact("category", "fees_charges", pinned) == "Fees and charges"  # not pinned: app/forms
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert labels.fact("approval_decision", "reject", pinned) == "退回（本版本）"
        assert labels.fact("approval_decision", "approve", pinned) != "Approve"  # the catalog's translation
