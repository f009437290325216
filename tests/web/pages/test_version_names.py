"""Names come from the version a case runs on: a task renamed in a later version keeps, for the cases still on
the old version, the name their version gave it (translated when the catalog knows it); the new version's cases
show the new name as its owner wrote it."""
from __future__ import annotations

from app.engine.core.actors import SYSTEM
from app.engine.governance import definitions
from tests.engine.test_element_names import NEW_NAME, NEW_NAME_ZH, NEW_TASK, deploy, with_new_task
from tests.web.pages.conftest import BROWSER, sign_in, text

OLD, NEW = "Classify complaint", "Check and classify the complaint"


def _deploy_rename(runtime) -> None:
    files = definitions.read_directory(runtime.settings.processes_dir)
    source = files["complaint_handling.bpmn"].decode()
    old = f'<bpmn:userTask id="classify_complaint" name="{OLD}">'
    assert old in source
    files["complaint_handling.bpmn"] = source.replace(old, f'<bpmn:userTask id="classify_complaint" name="{NEW}">').encode()
    with runtime.unit_of_work() as uow:
        definitions.deploy(uow, SYSTEM, files, reason="rename classify")


def test_each_case_shows_the_names_of_its_own_version(client, driver, demo):
    on_v1 = driver.register(1)
    _deploy_rename(demo)
    on_v2 = driver.register(2)
    old_task, new_task = driver.task(on_v1, "classify_complaint"), driver.task(on_v2, "classify_complaint")
    sign_in(client, "intake")

    inbox = text(client.get("/inbox?view=team", headers=BROWSER))
    old_row = inbox.split(f'data-task-id="{old_task.id}"')[1].split("</tr>")[0]
    new_row = inbox.split(f'data-task-id="{new_task.id}"')[1].split("</tr>")[0]
    assert OLD in old_row and NEW not in old_row
    assert NEW in new_row

    assert OLD in text(client.get(f"/tasks/{old_task.id}", headers=BROWSER))
    assert NEW in text(client.get(f"/tasks/{new_task.id}", headers=BROWSER))
    # The complaint page's open tasks and clocks: the case's version, not the files on disk.
    old_page, new_page = (text(client.get(f"/complaints/{cid}", headers=BROWSER)) for cid in (on_v1, on_v2))
    assert OLD in old_page and NEW not in old_page
    assert NEW in new_page


def test_a_known_name_is_translated_and_a_new_one_shown_as_written(client, driver, demo):
    on_v1 = driver.register(1)
    _deploy_rename(demo)
    on_v2 = driver.register(2)
    sign_in(client, "intake", language="zh-CN")
    chinese = {**BROWSER, "Accept-Language": "zh-CN"}
    old_page = text(client.get(f"/tasks/{driver.task(on_v1, 'classify_complaint').id}", headers=chinese))
    new_page = text(client.get(f"/tasks/{driver.task(on_v2, 'classify_complaint').id}", headers=chinese))
    assert OLD not in old_page and "投诉分类" in old_page  # the catalog's Chinese name
    assert NEW in new_page                         # not in the catalog: as the owner wrote it


def _row(page: str, task_id: int) -> str:
    return page.split(f'data-task-id="{task_id}"')[1].split("</tr>")[0]


def test_a_chinese_reader_sees_the_chinese_name_the_version_gives_else_the_catalogs(app, driver, demo):
    """A new task with a Chinese name (name.zh) shows it to a Chinese reader in the inbox, on its page and on the
    complaint page (its diagram too); a task of the same process without one shows the catalog's Chinese; English readers read
    the English names."""
    on_v1 = driver.register(1)
    deploy(demo, with_new_task())
    on_v2 = driver.register(2)
    new_task, old_task = driver.task(on_v2, NEW_TASK), driver.task(on_v1, "classify_complaint")

    chinese_client, chinese = app.test_client(), {**BROWSER, "Accept-Language": "zh-CN"}
    sign_in(chinese_client, "intake", language="zh-CN")
    inbox = text(chinese_client.get("/inbox?view=team", headers=chinese))
    assert NEW_NAME_ZH in _row(inbox, new_task.id) and NEW_NAME not in _row(inbox, new_task.id)
    assert "投诉分类" in _row(inbox, old_task.id)  # no name.zh: the catalog's translation of the English name
    page = text(chinese_client.get(f"/tasks/{new_task.id}", headers=chinese))
    assert f"<title>{NEW_NAME_ZH}" in page and NEW_NAME not in page
    assert NEW_NAME_ZH in text(chinese_client.get(f"/complaints/{on_v2}", headers=chinese))
    # The diagram on the complaint page draws the same names (diagram.js puts them into the XML it draws).
    drawn = chinese_client.get(f"/complaints/{on_v2}/diagram-state.json", headers=chinese).json["labels"]
    assert drawn[NEW_TASK] == NEW_NAME_ZH and drawn["classify_complaint"] == "投诉分类"

    english_client = app.test_client()
    sign_in(english_client, "intake")
    inbox = text(english_client.get("/inbox?view=team", headers=BROWSER))
    assert NEW_NAME in _row(inbox, new_task.id) and NEW_NAME_ZH not in inbox
    assert "Classify complaint" in _row(inbox, old_task.id)
    page = text(english_client.get(f"/tasks/{new_task.id}", headers=BROWSER))
    assert NEW_NAME in page and NEW_NAME_ZH not in page
    assert english_client.get(f"/complaints/{on_v2}/diagram-state.json", headers=BROWSER).json["labels"] == {}
