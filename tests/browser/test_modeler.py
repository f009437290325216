"""The process owners' modeler in a real browser (issue 18): open the current version, change a task's form and
a timer's SLA in the properties panel, save a draft, see a validation error and click it to select its element,
fix it, deploy with a reason; the next complaint runs the new version while a running one keeps its own. The
deployed file still lints clean (tools/bpmn) and runs the full lifecycle. Nobody but a process owner gets in.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.engine.core.errors import InvalidSubmission
from app.engine.models import ProcessDefinition, ProcessInstance
from tests.browser.harness import audit
from tests.modeler.test_roundtrip import PROCESSES, lint, node, spiff_extensions  # noqa: F401 - node: fixture

READY = "[data-testid=modeler][data-modeler-state=ready]"


def _open_modeler(visitor, path: str):
    visitor.goto(path)
    visitor.page.wait_for_selector(READY)
    audit(visitor.page)  # again, now that bpmn-js, the panel and the minimap are drawn
    return visitor.page


CENTRE = """id => { const m = window.complaintflowModeler, canvas = m.get('canvas');
  const e = m.get('elementRegistry').get(id); canvas.zoom(1); const box = canvas.viewbox();
  canvas.viewbox({x: e.x + e.width / 2 - box.width / 2, y: e.y + e.height / 2 - box.height / 2,
                  width: box.width, height: box.height}); }"""


def _select(page, element_id: str) -> None:
    """Click the element on the canvas, as a person would (centred first: the palette covers the left edge)."""
    page.evaluate(CENTRE, element_id)
    page.locator(f".djs-element.djs-shape[data-element-id='{element_id}']").first.click()
    _wait_selected(page, element_id)


def _wait_selected(page, element_id: str) -> None:
    page.wait_for_function("id => window.complaintflowModeler.get('selection').get().map(e => e.id).includes(id)",
                           arg=element_id)


def _spiff_group(page):
    group = page.locator("[data-group-id='group-spiffworkflow']")
    if not group.locator(".bio-properties-panel-group-entries.open").count():
        group.locator(".bio-properties-panel-group-header").click()
    return group


def _definition_of(case, cid) -> ProcessDefinition:
    with case.runtime.unit_of_work() as uow:
        instance = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.complaint_id == cid)).one()
        definition = uow.session.get(ProcessDefinition, instance.definition_id)
        definition.bpmn_source  # noqa: B018 - load the deferred column
        return definition


# The deliberate changes, both kept through save, deploy and the lifecycle: classification asks for the triage
# form (an existing schema: the intake desk names the lead department straight away; category, severity and
# product come from the registration), and the first-response timer follows another SLA of the active profile
# whose duration differs (12 h instead of 24 h), so the engine's due time shows which SLA it used.
NEW_FORM, OLD_FORM = "triage_complaint.schema.json", "classify_complaint.schema.json"
NEW_SLA, OLD_SLA = "urgent_handling", "first_response"


def test_owner_edits_validates_and_deploys_a_new_version(visit, case, node, tmp_path):  # noqa: F811
    hours = {name: case.runtime.settings.sla_profile.slas[name].duration for name in (NEW_SLA, OLD_SLA)}
    assert hours == {NEW_SLA: "PT12H", OLD_SLA: "PT24H"}, "config/sla.toml changed: pick SLAs that differ"
    running = case.register(1)
    owner = visit("owner")
    owner.goto("/modeler")
    with owner.page.expect_navigation():
        owner.page.locator("[data-testid=version-list] a", has_text="Complaint handling").first.click()
    page = owner.page
    page.wait_for_selector(READY)
    audit(page)
    assert page.get_attribute("[data-testid=modeler]", "data-import-warnings") == "0"
    assert page.locator(".bjs-powered-by").count() == 1  # bpmn.io watermark, as its licence asks
    assert page.locator(".djs-minimap").count() == 1
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='0']")  # the shipped diagram lints clean

    # A user task's form, from the forms in app/forms.
    _select(page, "classify_complaint")
    group = _spiff_group(page)
    group.locator("select[name='cf-form']").select_option(NEW_FORM)
    # A timer's SLA, from the active profile, and a clock start that does not exist (a validation error).
    _select(page, "first_response_overdue")
    group = _spiff_group(page)
    group.locator("select[name='cf-timer-sla']").select_option(NEW_SLA)
    group.locator("input[name='cf-timer-start']").fill("no_such_variable")
    expect(page.locator("textarea[name='cf-timer-expression']")).to_have_value(
        f'sla_due_at("{NEW_SLA}", no_such_variable)')  # the panel writes typed text after a pause
    with page.expect_navigation():
        page.click("[data-testid=save-draft]")  # a version is never edited: saving makes a draft
    page.wait_for_selector(READY)
    audit(page)
    assert "/modeler/drafts/" in page.url

    page.click("[data-testid=validate]")
    page.wait_for_selector("[data-testid=modeler][data-validation=invalid]")
    audit(page)
    error = page.locator("[data-testid=validation-error][data-element-id='first_response_overdue']").first
    text = error.inner_text()
    assert "complaint_handling.bpmn" in text and "line" in text and "no_such_variable" in text
    page.click("body", position={"x": 5, "y": 5})
    error.click()
    _wait_selected(page, "first_response_overdue")

    # The server refuses to deploy an invalid draft, whatever the page does.
    refused = page.evaluate("""async () => {
        const data = document.getElementById('modeler').dataset;
        const r = await fetch(data.deployUrl, {method: 'POST', headers: {'X-CSRFToken': data.csrfToken,
          'Content-Type': 'application/json'}, body: JSON.stringify({reason: 'sneak it in'})});
        return r.status; }""")
    assert refused == 422

    group = _spiff_group(page)
    group.locator("input[name='cf-timer-start']").fill("received_at")
    expect(page.locator("textarea[name='cf-timer-expression']")).to_have_value(
        f'sla_due_at("{NEW_SLA}", received_at)')
    page.click("[data-testid=validate]")
    page.wait_for_selector("[data-testid=modeler][data-validation=valid]")
    page.fill("[data-testid=deploy-reason]", "Classification asks for the triage; first response within 12 hours")
    with page.expect_navigation():
        page.click("[data-testid=deploy]")
    page.wait_for_selector(READY)
    audit(page)
    assert "version 2" in page.inner_text("[data-testid=modeler-title]")

    fresh = case.register(2)
    old, new = _definition_of(case, running), _definition_of(case, fresh)
    assert (old.version, new.version) == (1, 2)
    assert new.deployed_by == "owner" and new.deploy_reason.startswith("Classification asks")
    assert f'sla_due_at("{NEW_SLA}", received_at)' in new.bpmn_source
    assert "<spiffworkflow:serviceTaskOperator" in new.bpmn_source

    # The saved file lints clean, and every SpiffWorkflow extension came through the editor as it was, but for
    # the two we changed: the form, and the timer's SLA property (kept in step with its expression).
    saved = tmp_path / "complaint_handling.bpmn"
    saved.write_text(new.bpmn_source, encoding="utf-8")
    result = lint(node, saved)
    assert result.returncode == 0, result.stdout + result.stderr
    original = spiff_extensions(PROCESSES / "complaint_handling.bpmn")
    changed = [e for e in spiff_extensions(saved) if e not in original]
    assert changed == [("classify_complaint", "property", (("name", "formJsonSchemaFilename"), ("value", NEW_FORM)),
                        ""),
                       ("first_response_overdue", "property", (("name", "sla"), ("value", f'"{NEW_SLA}"')), "")]
    assert len(spiff_extensions(saved)) == len(original)

    # What the engine used: the new complaint runs the saved, deployed file with both changes; the running one
    # keeps its version's form and SLA.
    assert case.task(fresh, "classify_complaint").form == NEW_FORM
    assert case.task(running, "classify_complaint").form == OLD_FORM
    assert _first_response_clock(case, fresh) == (NEW_SLA, timedelta(hours=12))
    assert _first_response_clock(case, running) == (OLD_SLA, timedelta(hours=24))
    _run_lifecycle(case, fresh)
    case.classify(running)  # the running complaint still takes its own version's classification form
    assert case.ready_names(running) == ["triage_complaint"]
    assert _definition_of(case, running).version == 1


def _first_response_clock(case, cid) -> tuple[str, timedelta]:
    [timer] = [t for t in case.timers(cid) if t.element_id == "first_response_overdue" and t.state == "waiting"]
    return timer.sla, timer.due_at - timer.started_at


def _run_lifecycle(case, cid) -> None:
    """The full lifecycle on version 2: classification takes the triage form's data (the classification form's
    would be refused), the first response is made in time, and the case closes."""
    with pytest.raises(InvalidSubmission):
        case.classify(cid)
    case.complete(cid, "classify_complaint", {"lead_department": "cards", "co_departments": []})
    assert case.task(cid, "triage_complaint")  # the flow goes on to the real triage
    assert not [t for t in case.timers(cid) if t.element_id == "first_response_overdue" and t.state == "waiting"]
    case.triage(cid, lead="cards", co=["operations"])
    case.investigate(cid, "operations")
    case.investigate(cid, "cards")
    case.draft(cid, message="First draft")
    case.approve(cid)
    case.feedback(cid, True, 4)
    assert case.complaint(cid).status == "closed"
    assert _definition_of(case, cid).version == 2


@pytest.mark.parametrize("username", ["compliance", "coordinator", "intake"])
def test_the_modeler_is_forbidden_to_everyone_but_process_owners(visit, case, username):
    visitor = visit(username)
    visitor.goto("/modeler", status=403)
    assert visitor.page.locator("[data-testid=error-page][data-status='403']").count() == 1
    assert visitor.page.locator("[data-testid=nav-modeler]").count() == 0
    visitor.goto("/modeler/versions/1", status=403)
    visitor.goto("/modeler/choices.json", status=403)


def test_lint_flags_a_subprocess_drawn_across_lanes_that_is_put_in_a_lane(visit, case):
    """complaintflow/subprocess-lanes: handle_complaint spans three lanes and must stay in none."""
    page = _open_modeler(visit("owner"), "/modeler/versions/1")
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='0']")
    page.evaluate("""() => { const m = window.complaintflowModeler, registry = m.get('elementRegistry');
        const lane = registry.get('lane_departments').businessObject;
        const sub = registry.get('handle_complaint').businessObject;
        m.get('modeling').updateModdleProperties(registry.get('lane_departments'), lane,
          {flowNodeRef: [...lane.flowNodeRef, sub]}); }""")
    # ... and, SpiffWorkflow giving its tasks the subprocess's lane, those performed by other lanes are marked too.
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='3']")
    issues = page.evaluate("() => window.complaintflowModeler.get('linting')._issues")
    assert [i["rule"] for i in issues["handle_complaint"]] == ["complaintflow/subprocess-lanes"]
    assert {element: [i["rule"] for i in found] for element, found in issues.items() if element != "handle_complaint"} \
        == {"triage_complaint": ["complaintflow/user-task-performer"],
            "approve_resolution": ["complaintflow/user-task-performer"]}
    page.click("[data-testid=undo]")  # undo takes it out again
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='0']")


COMPLEX_TIMER = "handling_deadline_overdue"


def test_the_sla_picker_leaves_an_expression_it_did_not_write_alone(visit, case):
    """Issue 24: the handling deadline's conditional over three SLAs is shown read-only, not overwritten."""
    page = _open_modeler(visit("owner"), "/modeler/versions/1")
    expression = page.evaluate("""id => { const bo = window.complaintflowModeler.get('elementRegistry').get(id)
        .businessObject; return bo.eventDefinitions[0].timeDate.body; }""", COMPLEX_TIMER)
    assert " if reopen_count else " in expression
    _select(page, COMPLEX_TIMER)
    group = _spiff_group(page)
    fixed = group.locator("[data-testid=timer-sla-fixed]")
    expect(fixed.locator("pre")).to_have_text(expression)
    assert "SLA picker" in fixed.inner_text()
    assert group.locator("select[name='cf-timer-sla']").count() == 0
    assert group.locator("input[name='cf-timer-start']").count() == 0
    expect(page.locator("textarea[name='cf-timer-expression']")).to_have_value(expression)
    audit(page)
    # A simple call stays the picker's to change.
    _select(page, "first_response_overdue")
    group = _spiff_group(page)
    group.locator("select[name='cf-timer-sla']").select_option(NEW_SLA)
    expect(page.locator("textarea[name='cf-timer-expression']")).to_have_value(
        f'sla_due_at("{NEW_SLA}", received_at)')
    assert page.evaluate("""id => window.complaintflowModeler.get('elementRegistry').get(id)
        .businessObject.eventDefinitions[0].timeDate.body""", COMPLEX_TIMER) == expression


UNNAMED_END = """id => { const m = window.complaintflowModeler, e = m.get('elementRegistry').get(id);
  m.get('modeling').updateProperties(e, {name: ''}); }"""
STATUS_TEXTS = {"en": ("valid on the server", "lint shows 1 issue(s)"), "zh_CN": ("服务器校验通过", "显示 1 个问题")}


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_status_names_the_lint_issues_beside_the_servers_verdict(visit, case, locale):
    """Issue 24: an unnamed end event passes the server's validation but not lint: the status says both."""
    page = _open_modeler(visit("owner", locale=locale), "/modeler/versions/1")
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='0']")
    page.evaluate(UNNAMED_END, "handling_deadline_escalated")
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='1']")
    with page.expect_navigation():
        page.click("[data-testid=save-draft]")
    page.wait_for_selector(READY)
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='1']")
    page.click("[data-testid=validate]")
    page.wait_for_selector("[data-testid=modeler][data-validation=valid]")
    audit(page)
    status = page.inner_text("[data-testid=modeler-status]")
    verdict, lint_part = STATUS_TEXTS[locale]
    assert verdict in status and lint_part in status, status


LONG_CLOCK_START = """([id, name]) => { const m = window.complaintflowModeler, e = m.get('elementRegistry').get(id);
  m.get('modeling').updateModdleProperties(e, e.businessObject.eventDefinitions[0].timeDate,
    {body: `sla_due_at("first_response", ${name})`}); }"""


def test_a_long_validation_error_wraps_inside_the_page(visit, case):
    """Issue 24: an error quoting a 400-character name once made the page 3,216 px wide."""
    page = _open_modeler(visit("owner"), "/modeler/versions/1")
    name = "no_such_variable_" + "x" * 400
    page.evaluate(LONG_CLOCK_START, ["first_response_overdue", name])
    with page.expect_navigation():
        page.click("[data-testid=save-draft]")
    page.wait_for_selector(READY)
    page.click("[data-testid=validate]")
    page.wait_for_selector("[data-testid=modeler][data-validation=invalid]")
    audit(page)
    assert name in page.inner_text("[data-testid=validation-errors]")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


ZH_TITLES = {"create.task": "创建任务", "create.start-event": "创建开始事件", "hand-tool": "激活抓手工具"}
MISSING_FORM = """([id, form]) => { const m = window.complaintflowModeler, e = m.get('elementRegistry').get(id);
  const p = e.businessObject.extensionElements.values.flatMap(v => v.properties || [])
    .find(p => p.name === 'formJsonSchemaFilename');
  m.get('modeling').updateModdleProperties(e, p, {value: form}); }"""


def test_the_editor_speaks_chinese_and_its_errors_name_no_server_path(visit, case):
    """Issue 24: palette, context pad, properties panel and lint in Chinese on a Chinese page (bpmn-js's translate
    fed from the gettext catalog); a validation error names the forms folder, not the server's path to it."""
    page = _open_modeler(visit("owner", locale="zh_CN"), "/modeler/versions/1")
    for action, title in ZH_TITLES.items():
        expect(page.locator(f".djs-palette [data-action='{action}']")).to_have_accessible_name(title)
    _select(page, "classify_complaint")
    expect(page.locator(".djs-context-pad [data-action='append.append-task']")).to_have_accessible_name("追加任务")
    expect(page.locator(".djs-context-pad [data-action='delete']")).to_have_accessible_name("删除")
    expect(page.locator("[data-group-id='group-general'] .bio-properties-panel-group-header-title")) \
        .to_have_text("一般")
    # The replace menu ("change element") of a script task offers the other task types in Chinese.
    _select(page, "determine_urgency")
    page.click(".djs-context-pad [data-action='replace']")
    expect(page.locator(".djs-popup [data-id='replace-with-user-task']")).to_contain_text("用户任务")
    expect(page.locator(".djs-popup [data-id='replace-with-service-task']")).to_contain_text("服务任务")
    page.keyboard.press("Escape")
    expect(page.locator(".djs-popup")).to_have_count(0)
    # A timer boundary event: its type in the panel's header and its Timer group, in Chinese.
    _select(page, "first_response_overdue")
    expect(page.locator("[data-group-id='group-timer'] .bio-properties-panel-group-header-title")) \
        .to_have_text("定时器")
    expect(page.locator(".bio-properties-panel-header-type")).to_contain_text("定时器边界事件")
    page.evaluate(UNNAMED_END, "handling_deadline_escalated")  # lint: 元素缺少标签/名称
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='1']")
    page.evaluate(MISSING_FORM, ["classify_complaint", "no_such_form.schema.json"])
    with page.expect_navigation():
        page.click("[data-testid=save-draft]")
    page.wait_for_selector(READY)
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='1']")
    expect(page.locator("[data-container-id='handling_deadline_escalated'] .bjsl-dropdown-content")) \
        .to_contain_text("元素缺少标签/名称")  # the lint overlay on the element
    page.click("[data-testid=validate]")
    page.wait_for_selector("[data-testid=modeler][data-validation=invalid]")
    audit(page)
    errors = page.inner_text("[data-testid=validation-errors]")
    assert "no_such_form.schema.json" in errors and "forms/" in errors, errors
    assert str(PROCESSES.parent) not in errors and "/app/forms" not in errors, errors


def test_keyboard_shortcuts_work_on_the_focused_canvas(visit, case):
    """Issue 24: keyboard bound the current way (diagram-js 15: on the canvas, no `bindTo`, so no console error,
    which the harness fails on); Ctrl+Z still undoes."""
    page = _open_modeler(visit("owner"), "/modeler/versions/1")
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='0']")
    page.evaluate(UNNAMED_END, "handling_deadline_escalated")
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='1']")
    page.evaluate("() => window.complaintflowModeler.get('canvas').focus()")
    page.keyboard.press("Control+z")
    page.wait_for_selector("[data-testid=modeler][data-lint-issues='0']")


def test_a_chinese_name_typed_in_the_panel_is_saved_as_a_property(visit, case, node, tmp_path):  # noqa: F811
    """The General group has a "Name (Chinese)" field under the name (名称（中文） on a Chinese page); what is
    typed there is saved as the spiffworkflow property name.zh, and the saved file still lints clean."""
    page = _open_modeler(visit("owner", locale="zh_CN"), "/modeler/versions/1")
    _select(page, "classify_complaint")
    general = page.locator("[data-group-id='group-general']")
    if not general.locator(".bio-properties-panel-group-entries.open").count():
        general.locator(".bio-properties-panel-group-header").click()
    field = general.locator("input[name='cf-name-zh']")
    expect(general.locator("label[for='bio-properties-panel-cf-name-zh']")).to_have_text("名称（中文）")
    field.fill("核对并分类投诉")
    page.wait_for_selector("[data-testid=modeler][data-dirty]")  # the panel writes typed text after a pause
    with page.expect_navigation():
        page.click("[data-testid=save-draft]")
    page.wait_for_selector(READY)
    audit(page)
    saved = page.evaluate("""async () => (await fetch(document.getElementById('modeler').dataset.sourceUrl,
        {credentials: 'same-origin'})).text()""")
    assert '<spiffworkflow:property name="name.zh" value="核对并分类投诉" />' in saved
    path = tmp_path / "complaint_handling.bpmn"
    path.write_text(saved, encoding="utf-8")
    result = lint(node, path)
    assert result.returncode == 0, result.stdout + result.stderr
    _select(page, "classify_complaint")
    expect(page.locator("[data-group-id='group-general'] input[name='cf-name-zh']")).to_have_value("核对并分类投诉")
