"""A user task's performer in the modeler (issue 24): the properties panel shows and edits it (the configured
lanes with their roles), the lanes follow the drawing inside the expanded "Handle complaint" subprocess too, an
element can be taken out of its lane, and a performer that differs from the task's lane is marked before the
server refuses it. The drag is done with the mouse, as a process owner would.
"""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import audit
from tests.browser.test_modeler import READY, _spiff_group

CLEAN = "[data-testid=modeler][data-lint-issues='0']"
RULE = "complaintflow/user-task-performer"

LANES = """id => window.complaintflowModeler.get('elementRegistry').get(id).businessObject.get('lanes')
  .map(lane => lane.id)"""
PARENT = "id => window.complaintflowModeler.get('elementRegistry').get(id).parent.id"
REFS = """id => window.complaintflowModeler.get('elementRegistry').get(id).businessObject.get('flowNodeRef')
  .map(node => node.id)"""
ISSUES = """id => (window.complaintflowModeler.get('linting')._issues[id] || [])
  .map(issue => ({rule: issue.rule, message: issue.message}))"""
# Zoom 1, the view centred between two diagram points; their places on the page (CSS pixels).
AIM = """([a, b]) => { const canvas = window.complaintflowModeler.get('canvas'); canvas.zoom(1);
  const box = canvas.viewbox();
  canvas.viewbox({x: (a.x + b.x) / 2 - box.width / 2, y: (a.y + b.y) / 2 - box.height / 2,
                  width: box.width, height: box.height});
  const view = canvas.viewbox(), rect = document.querySelector('.modeler-canvas .djs-container').getBoundingClientRect();
  const place = p => ({x: rect.left + (p.x - view.x) * view.scale, y: rect.top + (p.y - view.y) * view.scale});
  return {from: place(a), to: place(b), rect: {left: rect.left, top: rect.top, right: rect.right,
          bottom: rect.bottom}}; }"""
CENTRE_OF = """id => { const e = window.complaintflowModeler.get('elementRegistry').get(id);
  return {x: e.x + e.width / 2, y: e.y + e.height / 2}; }"""


def _open(visitor):
    page = visitor.page
    page.set_viewport_size({"width": 1600, "height": 1000})
    visitor.goto("/modeler/versions/1")  # complaint_handling, as shipped
    page.wait_for_selector(READY)
    page.wait_for_selector(CLEAN)  # every user task's performer is the lane it is drawn in
    audit(page)
    page.evaluate("() => window.complaintflowModeler.get('minimap').close()")  # it would cover the drop place
    return page


def _drag(page, element_id: str, dx: float, dy: float) -> None:
    """Press on the element's centre, move the mouse by (dx, dy) diagram pixels at zoom 1, release."""
    start = page.evaluate(CENTRE_OF, element_id)
    end = {"x": start["x"] + dx, "y": start["y"] + dy}
    aim = page.evaluate(AIM, [start, end])
    rect = aim["rect"]
    for point in (aim["from"], aim["to"]):  # both on the canvas, clear of the palette on its left edge
        assert rect["left"] + 80 < point["x"] < rect["right"] - 10 and rect["top"] + 10 < point["y"] < rect["bottom"] - 10
    page.mouse.move(aim["from"]["x"], aim["from"]["y"])
    page.mouse.down()
    page.mouse.move(aim["from"]["x"] + 5, aim["from"]["y"] + 5, steps=2)
    page.mouse.move(aim["to"]["x"], aim["to"]["y"], steps=12)
    page.mouse.up()
    page.wait_for_function("([id, x, y]) => { const e = window.complaintflowModeler.get('elementRegistry').get(id);"
                           " return Math.abs(e.x + e.width / 2 - x) < 15 && Math.abs(e.y + e.height / 2 - y) < 15; }",
                           arg=[element_id, end["x"], end["y"]])


def _lint_issues(page, element_id: str) -> list[dict]:
    page.wait_for_function("() => window.complaintflowModeler.get('linting')._issues !== undefined")
    return page.evaluate(ISSUES, element_id)


def test_approve_resolution_dragged_into_the_departments_lane_is_refused_until_its_performer_follows(visit, case):
    page = _open(visit("owner"))

    # Moved by 20 px inside the subprocess it stays in its lane (bpmn-js alone dropped it from every lane).
    _drag(page, "approve_resolution", 20, 0)
    assert page.evaluate(LANES, "approve_resolution") == ["lane_approver"]
    assert "approve_resolution" in page.evaluate(REFS, "lane_approver")
    page.wait_for_selector(CLEAN)

    # Dragged up into the Departments lane, still inside "Handle complaint": the lane follows the drop place.
    _drag(page, "approve_resolution", 200, -160)
    assert page.evaluate(PARENT, "approve_resolution") == "handle_complaint"
    assert page.evaluate(LANES, "approve_resolution") == ["lane_departments"]
    assert "approve_resolution" in page.evaluate(REFS, "lane_departments")
    assert "approve_resolution" not in page.evaluate(REFS, "lane_approver")
    # ... and the modeler marks the performer (still Approver) against the lane it is now drawn in.
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='1']")
    [issue] = _lint_issues(page, "approve_resolution")
    assert issue["rule"] == RULE and "'Approver'" in issue["message"] and "'Departments'" in issue["message"]
    expect(page.locator(".djs-overlays[data-container-id='approve_resolution'] .bjsl-icon-error")).to_be_visible()
    group = _spiff_group(page)  # the dropped task is selected: its panel says the same beside the performer
    expect(group.locator("select[name='cf-performer']")).to_have_value("Approver")
    expect(group.locator("[data-entry-id='cf-performer'] .bio-properties-panel-error")).to_contain_text("Departments")
    expect(group.locator("[data-testid=element-lane]")).to_have_text("Departments")

    with page.expect_navigation():
        page.click("[data-testid=save-draft]")  # a version is never edited: saving makes a draft
    page.wait_for_selector(READY)
    audit(page)
    assert page.evaluate(LANES, "approve_resolution") == ["lane_departments"]  # as saved
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='1']")

    # The server refuses to validate and to deploy it, naming the task.
    page.click("[data-testid=validate]")
    page.wait_for_selector("[data-testid=modeler][data-validation=invalid]")
    audit(page)
    errors = page.locator("[data-testid=validation-error]")
    assert [e.get_attribute("data-element-id") for e in errors.all()] == ["approve_resolution"]
    assert "Approver" in errors.first.inner_text() and "Departments" in errors.first.inner_text()
    refused = page.evaluate("""async () => {
        const data = document.getElementById('modeler').dataset;
        const r = await fetch(data.deployUrl, {method: 'POST', headers: {'X-CSRFToken': data.csrfToken,
          'Content-Type': 'application/json'}, body: JSON.stringify({reason: 'approvers in departments'})});
        return {status: r.status, body: await r.json()}; }""")
    assert refused["status"] == 422
    assert [e["element_id"] for e in refused["body"]["errors"]] == ["approve_resolution"]

    # The performer changed in the panel to the lane it is drawn in: nothing to mark, and the server agrees.
    errors.first.click()
    page.wait_for_function("() => window.complaintflowModeler.get('selection').get().map(e => e.id)"
                           ".includes('approve_resolution')")
    group = _spiff_group(page)
    group.locator("select[name='cf-performer']").select_option("Departments")
    page.wait_for_selector(CLEAN)
    expect(group.locator("[data-entry-id='cf-performer'] .bio-properties-panel-error")).to_have_count(0)
    page.click("[data-testid=validate]")
    page.wait_for_selector("[data-testid=modeler][data-validation=valid]")
    assert 'name="performer" value="Departments"' in _draft_source(page)


def _draft_source(page) -> str:
    return page.evaluate("async () => (await fetch(document.getElementById('modeler').dataset.sourceUrl)).text()")


def test_the_panel_edits_performers_and_takes_elements_out_of_lanes_in_chinese(visit, case):
    page = _open(visit("owner", locale="zh_CN"))
    page.evaluate("id => window.complaintflowModeler.get('selection').select("
                  "window.complaintflowModeler.get('elementRegistry').get(id))", "approve_resolution")
    group = _spiff_group(page)
    performer = group.locator("select[name='cf-performer']")
    expect(group.locator("[data-entry-id='cf-performer'] label")).to_have_text("执行者")
    options = performer.locator("option").all_inner_texts()
    assert options[0] == "（无执行者）"
    assert "Approver (approver)" in options and "Intake desk (intake_agent, coordinator)" in options
    expect(performer).to_have_value("Approver")

    # No performer: marked at once, in Chinese; undo brings it back.
    performer.select_option("")
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='1']")
    [issue] = _lint_issues(page, "approve_resolution")
    assert issue["rule"] == RULE and "没有执行者" in issue["message"]
    page.click("[data-testid=undo]")
    page.wait_for_selector(CLEAN)
    expect(performer).to_have_value("Approver")

    # Resizing the subprocess that spans three lanes keeps it in none (bpmn-js put it in the lane at its centre).
    page.evaluate("""() => { const m = window.complaintflowModeler, sub = m.get('elementRegistry').get('handle_complaint');
        m.get('modeling').resizeShape(sub, {x: sub.x, y: sub.y, width: sub.width + 20, height: sub.height}); }""")
    assert page.evaluate(LANES, "handle_complaint") == []
    page.wait_for_selector(CLEAN)

    # Take a task out of its lane from the panel: it is in no lane, which is marked; undo puts it back.
    page.evaluate("id => window.complaintflowModeler.get('selection').select("
                  "window.complaintflowModeler.get('elementRegistry').get(id))", "draft_resolution")
    group = _spiff_group(page)
    expect(group.locator("[data-testid=element-lane]")).to_have_text("Departments")
    group.locator("[data-testid=take-out-of-lane]").click()
    expect(group.locator("[data-testid=element-lane]")).to_have_text("（不在任何泳道中）")
    assert page.evaluate(LANES, "draft_resolution") == []
    assert "draft_resolution" not in page.evaluate(REFS, "lane_departments")
    [issue] = _lint_issues(page, "draft_resolution")
    assert issue["rule"] == RULE and "不在任何泳道中" in issue["message"]
    audit(page)
    page.click("[data-testid=undo]")
    page.wait_for_selector(CLEAN)
    assert page.evaluate(LANES, "draft_resolution") == ["lane_departments"]
