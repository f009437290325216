"""Who does a step (issue 24): every user task names its performer, a lane of config/roles.toml; the engine gives
the task that lane's roles, and validation refuses a task drawn in another lane, or in none, so the drawing a
reviewer sees is who does the work. Real edited copies of processes/complaint_handling.bpmn."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.composition import build_runtime
from app.engine.config.settings import DEFAULT_PROCESSES_DIR
from app.engine.core.errors import InvalidDefinition
from app.engine.governance import definitions
from app.engine.models import ProcessDefinition
from app.engine.work import user_tasks
from app.engine.workflow import runner
from app.engine.workflow.parsing import load_document, parse_process
from app.engine.workflow.performers import drawn_lanes
from app.engine.workflow.scripting import SandboxedScriptEngine

FILES = definitions.read_directory(DEFAULT_PROCESSES_DIR)
SOURCE = FILES["complaint_handling.bpmn"].decode()
PERFORMER = '<spiffworkflow:property name="performer" value="{}" />'


@pytest.fixture(scope="module")
def checker():
    """The validation behind `complaintflow validate`, draft validation and deploy (no database needed)."""
    runtime = build_runtime("sqlite://")
    yield lambda source: definitions.validate_files(runtime, {**FILES, "complaint_handling.bpmn": source.encode()})
    runtime.close()


def edited(old: str, new: str, source: str = SOURCE) -> str:
    assert source.count(old) == 1, f"{old!r} should be in the diagram exactly once"
    return source.replace(old, new)


def ref(element_id: str) -> str:
    return f"<bpmn:flowNodeRef>{element_id}</bpmn:flowNodeRef>"


def moved(element_id: str, after: str, source: str = SOURCE) -> str:
    """``element_id`` listed in the lane of ``after`` instead of its own, as the modeler does on a drag."""
    return edited(ref(after), ref(after) + ref(element_id), edited(ref(element_id), "", source))


def line_of(source: str, fragment: str) -> int:
    return source[:source.index(fragment)].count("\n") + 1


def messages(errors) -> list[str]:
    return [f"{e.element_id}: {e.message}" for e in errors]


# -- the shipped diagrams ----------------------------------------------------------------------------------------

def test_the_shipped_diagrams_pass(checker):
    assert checker(SOURCE) == []


@pytest.mark.parametrize("process_id", ["complaint_handling", "escalation"])
def test_every_shipped_user_task_is_performed_by_the_lane_spiffworkflow_gives_it(process_id):
    spec, subprocess_specs = parse_process(FILES, process_id, external=frozenset(FILES) - {process_id})
    tasks = [t for s in (spec, *subprocess_specs.values()) for t in s.task_specs.values() if t.manual]
    assert tasks
    assert {t.bpmn_id: t.extensions["properties"]["performer"] for t in tasks} == {t.bpmn_id: t.lane for t in tasks}


# -- refused -----------------------------------------------------------------------------------------------------

def test_a_task_dropped_from_its_lane_inside_the_subprocess_is_refused_by_validate(checker):
    """The modeler bug behind the issue: approve_resolution moved inside "Handle complaint" (in no lane) lost its
    flowNodeRef; SpiffWorkflow then gives it no lane, and nobody could have worked on it."""
    source = edited(ref("approve_resolution"), "")
    [error] = checker(source)
    line = line_of(source, '<bpmn:userTask id="approve_resolution"')
    assert (error.file, error.element_id, error.line) == ("complaint_handling.bpmn", "approve_resolution", line)
    assert error.message == (f"User task 'approve_resolution' (line {line}) is performed by 'Approver' but drawn in "
                             "no lane (it sits in subprocess 'handle_complaint', which is in no lane either): move it "
                             "into the 'Approver' lane.")


def test_a_task_dropped_from_its_lane_is_refused_by_deploy_and_nothing_is_deployed(demo, actors):
    files = {**FILES, "complaint_handling.bpmn": edited(ref("approve_resolution"), "").encode()}
    with pytest.raises(InvalidDefinition) as refused, demo.unit_of_work() as uow:
        definitions.deploy(uow, actors["owner"], files)
    assert [e.element_id for e in refused.value.errors] == ["approve_resolution"]
    with demo.unit_of_work() as uow:
        assert uow.session.scalar(select(func.max(ProcessDefinition.version))) == 1


def test_a_performer_that_differs_from_the_lane_is_refused(checker):
    source = moved("approve_resolution", "draft_resolution")
    [error] = checker(source)
    line = line_of(source, '<bpmn:userTask id="approve_resolution"')
    assert (error.element_id, error.line) == ("approve_resolution", line)
    assert error.message == (f"User task 'approve_resolution' (line {line}) is performed by 'Approver' but drawn in "
                             "lane 'Departments': move it into the 'Approver' lane or change its performer.")


@pytest.mark.parametrize("missing", ["", PERFORMER.format(" ")])
def test_a_missing_performer_is_refused_and_the_drawn_lane_suggested(checker, missing):
    [error] = checker(edited(PERFORMER.format("Approver"), missing))
    assert error.element_id == "approve_resolution"
    assert "has no performer" in error.message and "here 'Approver', the lane it is drawn in" in error.message


def test_a_performer_that_is_no_lane_of_the_roles_is_refused(checker):
    [error] = checker(edited(PERFORMER.format("Approver"), PERFORMER.format("Approvers")))
    assert error.element_id == "approve_resolution"
    assert "'Approvers', which is not a lane of config/roles.toml" in error.message


def test_a_subprocess_in_a_lane_gives_its_tasks_that_lane_as_spiffworkflow_does(checker):
    """SpiffWorkflow parses an embedded subprocess with the subprocess's own lane: listed in a lane, it hands that
    lane to every task inside, whatever their own flowNodeRefs say. Validation reads the drawing the same way."""
    source = edited(ref("triage_complaint"), ref("triage_complaint") + ref("handle_complaint"))
    errors = checker(source)
    assert [e.element_id for e in errors] == ["investigate_complaint", "draft_resolution", "approve_resolution"]
    assert "drawn in lane 'Complaint management' (the lane of subprocess 'handle_complaint', which holds it)" \
        in errors[-1].message
    # Performer and subprocess lane agree, but the task's own lane says otherwise: what is drawn is ambiguous.
    for performer in ("Approver", "Departments"):
        source = source.replace(PERFORMER.format(performer), PERFORMER.format("Complaint management"))
    for element_id in ("investigate_complaint", "draft_resolution"):
        source = moved(element_id, "triage_complaint", source)
    [error] = checker(source)
    assert error.element_id == "approve_resolution"
    assert ("is drawn in lane 'Approver' but inside subprocess 'handle_complaint', which lies in lane "
            "'Complaint management'") in error.message


@pytest.mark.parametrize("variant", ["shipped", "dropped", "subprocess in a lane", "nested lanes"])
def test_the_drawn_lane_is_the_lane_spiffworkflow_gives(variant):
    source = {"shipped": SOURCE,
              "dropped": edited(ref("approve_resolution"), ""),
              "subprocess in a lane": edited(ref("triage_complaint"), ref("triage_complaint") + ref("handle_complaint")),
              "nested lanes": edited("</bpmn:lane>\n      <bpmn:lane id=\"lane_customer\"", (
                  '<bpmn:childLaneSet id="approver_children"><bpmn:lane id="lane_deputy" name="Deputy">'
                  f'{ref("approve_resolution")}</bpmn:lane></bpmn:childLaneSet>'
                  '</bpmn:lane>\n      <bpmn:lane id="lane_customer"'))}[variant]
    spec, subprocess_specs = parse_process({"complaint_handling.bpmn": source.encode()}, "complaint_handling",
                                           external=frozenset({"escalation"}))
    spiff = {t.bpmn_id: t.lane for s in (spec, *subprocess_specs.values()) for t in s.task_specs.values()
             if t.manual}
    drawn = drawn_lanes(load_document("complaint_handling.bpmn", source.encode()).root)
    assert {element_id: drawn[element_id] for element_id in spiff} == spiff


def test_validate_prints_the_error_with_file_line_and_element(cli, tmp_path):
    (tmp_path / "complaint_handling.bpmn").write_text(edited(ref("approve_resolution"), ""), encoding="utf-8")
    (tmp_path / "escalation.bpmn").write_bytes(FILES["escalation.bpmn"])
    result = cli("validate", tmp_path, exit_code=1)
    line = line_of(SOURCE, '<bpmn:userTask id="approve_resolution"')
    [printed] = [text for text in result.stderr.splitlines() if "approve_resolution" in text]
    assert printed.startswith(f"complaint_handling.bpmn:{line} [approve_resolution 'Approve resolution']: User task "
                              f"'approve_resolution' (line {line}) is performed by 'Approver' but drawn in no lane")


# -- the engine gives a task its performer's roles ---------------------------------------------------------------

@pytest.mark.both_caches
def test_a_ready_task_gets_the_roles_of_its_performer(demo, actors, case):
    """approve_resolution performed by (and drawn in) Departments: department officers work on it, approvers
    no longer. A department that neither investigated nor drafted approves, so the segregation of duties (which
    refuses the drafter on its own) has nothing to say here."""
    source = moved("approve_resolution", "draft_resolution", edited(
        PERFORMER.format("Approver"), PERFORMER.format("Departments")))
    with demo.unit_of_work() as uow:
        definitions.deploy(uow, actors["owner"], {**FILES, "complaint_handling.bpmn": source.encode()})
    cid = case.handle_until_approval(lead="retail_lending")
    task = case.task(cid, "approve_resolution")
    assert (task.lane, task.candidate_roles, task.department) == ("Departments", ["department_officer"], None)
    assert not user_tasks.may_work_on(actors["approver"], task)
    assert user_tasks.may_work_on(actors["cards.officer"], task)
    case.complete(cid, "approve_resolution", {"approval_decision": "approve"}, actor=actors["cards.officer"])
    assert "approve_resolution" not in case.ready_names(cid)


ONE_TASK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="one_task" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_approver" name="Approver">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>approve</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>to_approve</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="to_approve" sourceRef="start" targetRef="approve" />
    <bpmn:userTask id="approve" name="Approve">
      <bpmn:extensionElements><spiffworkflow:properties>PERFORMER</spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>to_approve</bpmn:incoming><bpmn:outgoing>to_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="to_end" sourceRef="approve" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize("performer, lane", [("Departments", "Departments"), (None, "Approver")])
def test_the_runner_hands_out_the_performer_and_the_drawn_lane_only_without_one(performer, lane):
    """Unvalidated on purpose (performer and lane differ): the snapshot's lane is the performer's, not the
    drawing's. Versions deployed before performers have none: their tasks keep the drawn lane."""
    source = ONE_TASK.replace("PERFORMER", PERFORMER.format(performer) if performer else "")
    spec, subprocess_specs = parse_process({"one_task.bpmn": source.encode()}, "one_task")
    [task] = runner.ready_user_tasks(runner.start(spec, subprocess_specs, SandboxedScriptEngine({}), {}))
    assert (task.element_id, task.lane) == ("approve", lane)
