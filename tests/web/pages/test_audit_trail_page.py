"""The audit trail page (finding M7): compliance and the head of complaints see the chain's state and verify it
on demand; the first broken entry is named, in English and in Chinese. Everyone else gets the 403 page."""
from __future__ import annotations

from sqlalchemy import text

from app.engine import audit
from tests.web.pages.conftest import BROWSER, sign_in

CHINESE = {**BROWSER, "Accept-Language": "zh-CN"}


def sealed_run(demo, driver):
    cid = driver.register()
    driver.classify(cid)
    report = audit.seal(demo, force_checkpoint=True)
    assert report.sealed and report.checkpoints == 1
    return cid


def test_compliance_sees_the_chain_and_an_intact_verification(client, demo, driver):
    sealed_run(demo, driver)
    sign_in(client, "compliance")
    page = client.get("/audit", headers=BROWSER).get_data(as_text=True)
    assert 'data-testid="nav-audit"' in page and "Sealed events" in page and "Last checkpoint" in page
    assert 'data-testid="audit-verify-result"' not in page  # verified only on demand
    page = client.get("/audit?verify=1", headers=BROWSER).get_data(as_text=True)
    assert 'data-intact="true"' in page and "The audit trail is intact" in page


def test_a_deleted_row_is_named_on_the_page_in_both_languages(client, demo, driver):
    sealed_run(demo, driver)
    with demo.database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE chain_seq = 3"))
    sign_in(client, "head")
    page = client.get("/audit?verify=1", headers=BROWSER).get_data(as_text=True)
    assert 'data-intact="false"' in page and 'data-testid="audit-finding-deleted"' in page
    assert "Entry 3 of the global chain is missing: it was deleted." in page
    page = client.get("/audit?verify=1", headers=CHINESE).get_data(as_text=True)
    assert "审计轨迹已被破坏" in page and "全局链的第 3 条缺失：已被删除。" in page
    assert "已封存事件" in page and "审计轨迹" in page


def test_an_edited_row_in_chinese(client, demo, driver):
    sealed_run(demo, driver)
    with demo.database.engine.begin() as connection:
        event_id = connection.execute(text("SELECT id FROM audit_events WHERE chain_seq = 2")).scalar()
        connection.execute(text("UPDATE audit_events SET actor = 'nobody' WHERE id = :id"), {"id": event_id})
    sign_in(client, "compliance", language="zh-CN")
    page = client.get("/audit?verify=1", headers=CHINESE).get_data(as_text=True)
    assert f"全局链的第 2 条（事件 {event_id}）与其哈希不符：该事件被修改过。" in page


def test_other_roles_get_the_403_page_and_no_link(app, demo):
    for username in ("coordinator", "owner", "intake"):
        client = app.test_client()
        sign_in(client, username)
        assert client.get("/audit", headers=BROWSER).status_code == 403
        assert 'data-testid="nav-audit"' not in client.get("/inbox", headers=BROWSER).get_data(as_text=True)
