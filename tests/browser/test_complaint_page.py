"""The complaint page's process diagram on a case in progress: done, open and overdue steps drawn as such."""
from __future__ import annotations

from datetime import timedelta


def test_the_diagram_marks_done_open_and_overdue_steps(visit, case, clock):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards", co=["operations"])
    case.investigate(cid, "cards")
    coordinator = visit("coordinator")
    coordinator.goto(f"/complaints/{cid}")
    page = coordinator.page
    assert page.get_attribute("[data-testid=process-diagram]", "data-diagram-state") == "ready"
    for element_id in ("classify_complaint", "triage_complaint"):
        assert page.locator(f".cf-completed[data-element-id='{element_id}']").count() == 1, element_id
    # One department has answered, the other not yet: the step is still open.
    assert page.locator(".cf-active[data-element-id='investigate_complaint']").count() == 1
    assert page.locator(".cf-overdue").count() == 0

    clock.advance(days=120)  # far past every deadline of the open step
    coordinator.goto(f"/complaints/{cid}")
    assert page.locator(".cf-overdue[data-element-id='investigate_complaint']").count() == 1
    assert page.locator(".cf-completed[data-element-id='classify_complaint']").count() == 1
