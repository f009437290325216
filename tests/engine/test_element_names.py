"""Element names per language (the modeler's ``name.zh`` property): a version gives its elements an English name
(the ``name`` attribute) and, where the owner wrote one, a Chinese name; a case reads the names of its own
version, and the review diff names a change of the Chinese name as it names a rename."""
from __future__ import annotations

from pathlib import Path

from app.engine.core.actors import SYSTEM
from app.engine.governance import definitions
from app.engine.process import diagram_state
from app.engine.workflow.diff import diff_bpmn
from app.engine.workflow.names import element_names

SOURCE = (Path(__file__).parents[2] / "processes" / "complaint_handling.bpmn").read_text()
NEW_TASK, NEW_NAME, NEW_NAME_ZH = "confirm_receipt", "Confirm the receipt", "确认收到投诉"


def chinese_property(name: str) -> str:
    return ('<bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="name.zh" value="{name}" />'
            '</spiffworkflow:properties></bpmn:extensionElements>')


def _replaced(source: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


def with_new_task(source: str = SOURCE, chinese: str | None = NEW_NAME_ZH) -> str:
    """A user task "Confirm the receipt" (Chinese name ``chinese``) after the acknowledgement, before the
    classification, in the intake desk's lane; the process and that lane get Chinese names too."""
    zh = (f'<spiffworkflow:property name="name.zh" value="{chinese}" />' if chinese else "")
    task = (f'<bpmn:userTask id="{NEW_TASK}" name="{NEW_NAME}"><bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="formJsonSchemaFilename" value="classify_complaint.schema.json" />'
            f'<spiffworkflow:property name="performer" value="Intake desk" />{zh}'
            '</spiffworkflow:properties></bpmn:extensionElements>'
            '<bpmn:incoming>flow_acknowledgement_to_classify</bpmn:incoming>'
            '<bpmn:outgoing>flow_confirm_to_classify</bpmn:outgoing></bpmn:userTask>')
    return _replaced(
        source,
        (flow("flow_acknowledgement_to_classify", "send_acknowledgement_task", "classify_complaint"),
         flow("flow_acknowledgement_to_classify", "send_acknowledgement_task", NEW_TASK)
         + flow("flow_confirm_to_classify", NEW_TASK, "classify_complaint")),
        ('<bpmn:incoming>flow_acknowledgement_to_classify</bpmn:incoming>\n      <bpmn:outgoing>flow_classify_to_urgency',
         '<bpmn:incoming>flow_confirm_to_classify</bpmn:incoming>\n      <bpmn:outgoing>flow_classify_to_urgency'),
        ('<bpmn:userTask id="classify_complaint"', task + '<bpmn:userTask id="classify_complaint"'),
        ("<bpmn:flowNodeRef>classify_complaint</bpmn:flowNodeRef>",
         f"<bpmn:flowNodeRef>classify_complaint</bpmn:flowNodeRef><bpmn:flowNodeRef>{NEW_TASK}</bpmn:flowNodeRef>"),
        ('<bpmn:lane id="lane_intake_desk" name="Intake desk">',
         '<bpmn:lane id="lane_intake_desk" name="Intake desk">' + chinese_property("受理台")),
        ('<bpmn:property id="departments" name="departments">',  # after the process's documentation
         chinese_property("投诉处理") + '<bpmn:property id="departments" name="departments">'))


def flow(flow_id: str, source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}" />'


def deploy(runtime, source: str) -> None:
    files = definitions.read_directory(runtime.settings.processes_dir)
    files["complaint_handling.bpmn"] = source.encode()
    with runtime.unit_of_work() as uow:
        definitions.deploy(uow, SYSTEM, files, reason="a task with a Chinese name")


def test_a_version_names_its_elements_in_english_and_where_given_in_chinese():
    names = element_names(with_new_task())
    assert names.english[NEW_TASK] == NEW_NAME and names.chinese[NEW_TASK] == NEW_NAME_ZH
    assert names.chinese["complaint_handling"] == "投诉处理" and names.chinese["lane_intake_desk"] == "受理台"
    assert names.english["classify_complaint"] == "Classify complaint"
    assert "classify_complaint" not in names.chinese  # no name.zh: the catalog translates the English name


def test_a_case_reads_the_names_of_its_own_version_in_both_languages(case):
    on_v1 = case.register()
    deploy(case.runtime, with_new_task())
    on_v2 = case.register()
    new_task, old_task = case.task(on_v2, NEW_TASK), case.task(on_v1, "classify_complaint")
    coordinator = case.actors["coordinator"]
    with case.runtime.unit_of_work() as uow:
        old = diagram_state.element_names(uow, coordinator, on_v1)
        new = diagram_state.element_names(uow, coordinator, on_v2)
        by_task = diagram_state.task_names(uow, [new_task.id, old_task.id])
    assert NEW_TASK not in old.english and NEW_TASK not in old.chinese
    assert new.english[NEW_TASK] == NEW_NAME and new.chinese[NEW_TASK] == NEW_NAME_ZH
    assert new.english["intervene_overdue_complaint"] == "Intervene in overdue complaint"  # the called escalation's names
    assert by_task[new_task.id].chinese[NEW_TASK] == NEW_NAME_ZH
    assert NEW_TASK not in by_task[old_task.id].english


def test_two_versions_differing_only_in_the_chinese_name_differ_by_a_rename():
    old, new = with_new_task(), with_new_task(chinese="确认已收到投诉")
    result = diff_bpmn(old, new)
    assert [(c.kind, c.element_id, c.aspect, c.old, c.new) for c in result.changes] == [
        ("changed", NEW_TASK, "name_zh", NEW_NAME_ZH, "确认已收到投诉")]
    assert result.changes[0].element_name == NEW_NAME
    added = diff_bpmn(SOURCE, with_new_task()).changes
    assert ("name_zh", NEW_NAME_ZH) in next(c for c in added if c.element_id == NEW_TASK).details
    assert not [c for c in added if c.aspect and c.aspect.startswith("property:")]
