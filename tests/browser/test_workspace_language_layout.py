"""Issue 27 item 7, in English and in Chinese: the done message, a closed case's outcome and the diagram's labels in
the reader's language; the diagram's zoom and fit controls; long unbroken text wrapped; the staff pages usable at
a phone's width (375 px) without scrolling the page sideways."""
from __future__ import annotations

import pytest

from tests.browser.cases import ready_task_id
from tests.browser.workspace import complete_task

LOCALES = ["en", "zh_CN"]
CLASSIFY = {"en": "Classify complaint", "zh_CN": "投诉分类"}
PHONE = {"width": 375, "height": 740}
# The widest the page is against the window's width (the page scrolls sideways when the first is larger).
WIDTHS = "() => [document.documentElement.scrollWidth, window.innerWidth]"
SCALE = "() => document.querySelector('[data-testid=process-diagram]').diagramViewer.get('canvas').viewbox().scale"
LONG_WORD = "x" * 10_000  # the registration form's longest description, without a single break opportunity


def _fits(visitor) -> None:
    scroll_width, window_width = visitor.page.evaluate(WIDTHS)
    assert scroll_width <= window_width, f"{visitor.page.url} is {scroll_width} px wide in a {window_width} px window"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_done_message_names_the_task_in_the_readers_language(visit, case, locale):
    cid = case.register()
    intake = visit("intake", locale=locale)
    complete_task(intake, cid, "classify_complaint",
                  {"category": "fees_charges", "severity": "general", "product": "credit_card"})
    message = intake.page.inner_text("[data-testid=flash-success]")
    assert CLASSIFY[locale] in message, message
    if locale == "zh_CN":
        assert "Classify" not in message


@pytest.mark.parametrize("locale,outcome", [("en", "Resolved"), ("zh_CN", "已解决")])
def test_a_closed_cases_outcome_is_in_the_readers_language(visit, case, locale, outcome):
    cid = case.handle_until_feedback()
    case.feedback(cid, satisfied=True, rating=5)
    assert case.complaint(cid).outcome == "resolved"
    coordinator = visit("coordinator", locale=locale)
    coordinator.goto(f"/complaints/{cid}")
    assert coordinator.page.inner_text("[data-testid=fact-outcome] dd").strip() == outcome


@pytest.mark.parametrize("locale", LOCALES)
def test_the_diagram_labels_its_steps_in_the_readers_language(visit, case, locale):
    cid = case.register()
    coordinator = visit("coordinator", locale=locale)
    coordinator.goto(f"/complaints/{cid}")
    label = coordinator.page.locator(".djs-element[data-element-id=classify_complaint] .djs-label, "
                                     ".djs-element[data-element-id=classify_complaint] text")
    assert "".join(label.all_text_contents()).replace(" ", "") == CLASSIFY[locale].replace(" ", "")


@pytest.mark.parametrize("locale,names", [("en", ["Zoom in", "Zoom out", "Fit the diagram to the frame"]),
                                          ("zh_CN", ["放大", "缩小", "适应窗口大小"])])
def test_the_diagram_zooms_and_fits_with_buttons_keys_and_the_wheel_once_focused(visit, case, locale, names):
    cid = case.register()
    coordinator = visit("coordinator", locale=locale)
    coordinator.goto(f"/complaints/{cid}")
    page = coordinator.page
    diagram = page.locator("[data-testid=process-diagram]")
    assert diagram.locator(".bjs-powered-by").count() == 1  # bpmn.io's watermark stays
    buttons = diagram.locator("[data-diagram-control]")
    assert [b.get_attribute("aria-label") for b in buttons.all()] == names
    fitted = page.evaluate(SCALE)

    page.get_by_role("button", name=names[0]).click()
    zoomed = page.evaluate(SCALE)
    assert zoomed > fitted
    page.get_by_role("button", name=names[1]).click()
    page.get_by_role("button", name=names[1]).click()
    assert page.evaluate(SCALE) < zoomed
    # From the keyboard: the buttons are buttons (Tab reaches them, Enter presses them).
    page.get_by_role("button", name=names[2]).focus()
    page.keyboard.press("Enter")
    assert page.evaluate(SCALE) == pytest.approx(fitted)

    # The wheel over a diagram the reader scrolls past moves the page, not the diagram ...
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    diagram.scroll_into_view_if_needed()
    box = diagram.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    before = page.evaluate("() => window.scrollY")
    page.mouse.wheel(0, 120)
    page.wait_for_function(f"() => window.scrollY !== {before}")
    assert page.evaluate(SCALE) == pytest.approx(fitted)
    # ... and zooms it once the reader has put the focus on it.
    diagram.locator("svg").first.focus()
    diagram.scroll_into_view_if_needed()
    box = diagram.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)
    page.wait_for_function(f"() => ({SCALE})() > {fitted}")


@pytest.mark.parametrize("locale", LOCALES)
def test_a_long_unbroken_description_wraps_inside_the_page(visit, case, locale):
    cid = case.register(description=LONG_WORD)
    coordinator = visit("coordinator", locale=locale)
    coordinator.goto(f"/complaints/{cid}")
    _fits(coordinator)
    assert coordinator.page.locator("[data-testid=fact-description]").bounding_box()["width"] < 1280
    coordinator.page.set_viewport_size(PHONE)
    coordinator.goto(f"/complaints/{cid}")
    _fits(coordinator)
    coordinator.goto(f"/tasks/{ready_task_id(case, cid, 'classify_complaint')}")
    _fits(coordinator)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_staff_pages_fit_a_phone(visit, case, locale):
    cid = case.register(description=LONG_WORD)
    case.classify(cid)
    coordinator = visit("coordinator", locale=locale)
    page = coordinator.page
    page.set_viewport_size(PHONE)
    for path in ("/inbox", "/inbox?view=all", f"/tasks/{ready_task_id(case, cid, 'triage_complaint')}",
                 f"/complaints/{cid}", "/complaints"):
        coordinator.goto(path)
        _fits(coordinator)
    # The header wraps: every link of the main menu is inside the window.
    for link in page.locator(".main-nav a").all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], link.inner_text()
    # The work list is wider than a phone: it scrolls inside its own frame, which the keyboard can reach.
    coordinator.goto("/inbox?view=all")
    frame = page.locator(".table-scroll").first
    assert frame.get_attribute("tabindex") == "0"
    assert frame.evaluate("e => e.scrollWidth > e.clientWidth")

    customer = visit("customer", locale=locale)
    customer.page.set_viewport_size(PHONE)
    for path in ("/inbox", "/complaints"):
        customer.goto(path)
        _fits(customer)
