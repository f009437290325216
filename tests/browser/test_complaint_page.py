"""The complaint page's process diagram on a case in progress: done, open and overdue steps drawn as such."""
from __future__ import annotations


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
    coordinator.sign_in("coordinator")  # months later: the session ended long ago (30 minutes idle)
    coordinator.goto(f"/complaints/{cid}")
    assert page.locator(".cf-overdue[data-element-id='investigate_complaint']").count() == 1
    assert page.locator(".cf-completed[data-element-id='classify_complaint']").count() == 1


def test_a_customer_opens_their_complaint_from_my_complaints(visit, case):
    """The customer's way in: "My complaints" in the header lists what they made; each opens on its page (the
    customer's view: status, deadlines, the letters sent to them), in English and in Chinese."""
    from app.engine.complaints import registration
    from app.engine.demo.simulation import sample_registration

    with case.runtime.unit_of_work() as uow:
        mine = registration.register_complaint(uow, case.actors["customer"], sample_registration(7))
        mine_id, tracking = mine.id, mine.tracking_number
    someone_else = case.register(8)
    for locale, label in (("en", "My complaints"), ("zh_CN", "我的投诉")):
        customer = visit("customer", locale=locale)
        customer.goto("/inbox")
        page = customer.page
        page.get_by_role("link", name=label).click()
        page.wait_for_url("**/complaints")
        customer.goto("/complaints")
        rows = page.locator("[data-testid=own-complaint-list] [data-testid=complaint-row]")
        assert rows.count() == 1 and rows.first.get_attribute("data-complaint-id") == str(mine_id)
        assert page.locator(f"[data-complaint-id='{someone_else}']").count() == 0
        page.get_by_role("link", name=tracking).click()
        page.wait_for_url(f"**/complaints/{mine_id}")
        customer.goto(f"/complaints/{mine_id}")
        assert tracking in page.content()
