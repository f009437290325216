"""The migration desk's dry run (issue 24) in both languages: why an instance cannot move, which deadlines a move
re-arms, and that nothing changes until the owner migrates."""
from __future__ import annotations

from tests.engine.test_migration import (
    URGENT_HANDLING,
    at_approval,
    deploy_edited,
    instance_of,
    rows_of,
    triage_renamed,
)
from tests.web.pages.conftest import BROWSER, sign_in, text


def test_the_dry_run_says_why_and_what_is_re_armed_in_both_languages(client, demo, actors, driver):
    approval = at_approval(driver)
    at_triage = driver.register()
    driver.classify(at_triage)
    deploy_edited(demo, actors["owner"], triage_renamed, URGENT_HANDLING)
    movable, unmovable = instance_of(demo, approval)[0], instance_of(demo, at_triage)[0]
    sign_in(client, "owner")
    before = rows_of(demo)

    english = text(client.get("/review/migration/complaint_handling", headers=BROWSER))
    assert "A dry run: nothing changes until you migrate." in english
    assert ("it is ready at triage_complaint (in handle_complaint), which the new version removed "
            "(triage_complaint_v2 takes its place)") in english
    page = client.get("/review/migration/complaint_handling", headers=BROWSER).get_data(as_text=True)
    assert f'data-testid="rearm-{movable}">handling_deadline_overdue<' in page

    chinese = text(client.get("/review/migration/complaint_handling", headers={**BROWSER, "Accept-Language": "zh-CN"}))
    assert "这是预演" in chinese and "重新计算的期限" in chinese
    assert "它在 triage_complaint（位于 handle_complaint） 处待处理，而新版本已删除该步骤（由 triage_complaint_v2 取代）" in chinese
    assert f"{unmovable}" in chinese
    assert rows_of(demo) == before  # reading the desk moved nothing


def test_the_dry_run_names_the_timers_a_move_arms_in_both_languages(client, demo, actors, driver):
    from tests.engine.test_migration_boundary_timers import approval_timer_added
    approval = driver.handle_until_approval()
    deploy_edited(demo, actors["owner"], approval_timer_added)
    movable = instance_of(demo, approval)[0]
    sign_in(client, "owner")
    english = client.get("/review/migration/complaint_handling", headers=BROWSER).get_data(as_text=True)
    assert f'data-testid="timer-change-{movable}">will arm Approval overdue, due ' in english
    chinese = client.get("/review/migration/complaint_handling",
                         headers={**BROWSER, "Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f'data-testid="timer-change-{movable}">将启动 ' in chinese and "到期" in chinese
