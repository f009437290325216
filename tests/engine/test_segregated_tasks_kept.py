"""A deployed model cannot switch segregation of duties off by renaming or dropping a guarded element: the rules
of config/segregation.toml key on BPMN element ids, so a new version that no longer has one of them as a user task
is refused by validation and by every deploy path, naming the element, the rule and how to keep it."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.engine.core.errors import InvalidDefinition
from app.engine.governance import definitions
from app.engine.models import ProcessDefinition

RESOLUTION_RULE = "resolution_approver_independent"
HOW = "keep the element id; rename its label instead"


def shipped(runtime) -> dict[str, bytes]:
    return definitions.read_directory(runtime.settings.processes_dir)


def edited(runtime, edit) -> dict[str, bytes]:
    files = shipped(runtime)
    source = files["complaint_handling.bpmn"].decode()
    changed = edit(source)
    assert changed != source, "the edit changed nothing: the test would prove nothing"
    return {**files, "complaint_handling.bpmn": changed.encode()}


def renamed(element_id: str, new_id: str):
    return lambda source: re.sub(rf'(?<=[">]){element_id}(?=["<])', new_id, source)


def approval_as(kind: str):
    """approve_resolution turned into another kind of task (its form property kept, as a modeler leaves it)."""
    def edit(source: str) -> str:
        return re.sub(r"<bpmn:userTask (id=\"approve_resolution\".*?)</bpmn:userTask>",
                      lambda m: f"<bpmn:{kind} {m.group(1)}</bpmn:{kind}>", source, flags=re.S)
    return edit


def investigation_deleted(source: str) -> str:
    """investigate_complaint gone: the merge before it flows straight to the merge after it."""
    source = re.sub(r'<bpmn:userTask id="investigate_complaint".*?</bpmn:userTask>', "", source, flags=re.S)
    source = re.sub(r'<bpmn:sequenceFlow id="flow_investigate_to_draft_merge"[^>]*/>', "", source)
    source = source.replace('targetRef="investigate_complaint"', 'targetRef="draft_merge"')
    source = source.replace("<bpmn:incoming>flow_investigate_to_draft_merge</bpmn:incoming>",
                            "<bpmn:incoming>flow_investigation_merge_to_investigate</bpmn:incoming>")
    return source.replace("<bpmn:flowNodeRef>investigate_complaint</bpmn:flowNodeRef>", "")


def relabelled(source: str) -> str:
    return source.replace('<bpmn:userTask id="approve_resolution" name="Approve resolution">',
                          '<bpmn:userTask id="approve_resolution" name="Sign off the resolution">')


def guarded_errors(errors, element_id):
    return [e for e in errors if f"'{element_id}'" in e.message and "config/segregation.toml" in e.message]


@pytest.mark.parametrize("edit, element_id, says", [
    (renamed("approve_resolution", "sign_off_resolution"), "approve_resolution", "no longer has 'approve_resolution'"),
    (investigation_deleted, "investigate_complaint", "no longer has 'investigate_complaint'"),
    (approval_as("manualTask"), "approve_resolution", "a manualTask, not a user task"),
    (approval_as("scriptTask"), "approve_resolution", "a scriptTask, not a user task"),
], ids=["renamed", "deleted", "manual_task", "script_task"])
def test_validation_refuses_a_version_that_loses_a_guarded_user_task(runtime, edit, element_id, says):
    errors = definitions.validate_files(runtime, edited(runtime, edit))
    found = [e for e in errors if "config/segregation.toml" in e.message]
    assert found, [str(e) for e in errors]
    error = found[0]
    assert element_id in error.message and says in error.message
    assert RESOLUTION_RULE in error.message
    assert runtime.settings.segregation.for_task("approve_resolution")[0].title in error.message
    assert HOW in error.message.lower()
    assert error.file == "complaint_handling.bpmn" and error.line


def test_a_changed_kind_is_reported_at_the_element(runtime):
    errors = definitions.validate_files(runtime, edited(runtime, approval_as("scriptTask")))
    assert [e.element_id for e in errors if "config/segregation.toml" in e.message] == ["approve_resolution"]


def test_a_relabelled_guarded_task_is_valid(runtime):
    assert definitions.validate_files(runtime, edited(runtime, relabelled)) == []


def test_the_rule_is_read_from_the_loaded_config(runtime):
    """One place for the rule: without the rule naming decide_reopen, renaming it is no segregation matter."""
    import dataclasses
    rules = tuple(dataclasses.replace(r, round_starts_after=()) for r in runtime.settings.segregation.rules)
    files = edited(runtime, renamed("decide_reopen", "decide_rework"))
    assert guarded_errors(definitions.validate_files(runtime, files), "decide_reopen")
    runtime.settings = dataclasses.replace(runtime.settings, segregation=dataclasses.replace(
        runtime.settings.segregation, rules=rules))
    assert guarded_errors(definitions.validate_files(runtime, files), "decide_reopen") == []


def versions(runtime) -> int:
    with runtime.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessDefinition))


def test_deploy_refuses_it_with_the_rule_named(demo, actors):
    before = versions(demo)
    with demo.unit_of_work() as uow, pytest.raises(InvalidDefinition) as refused:
        definitions.deploy(uow, actors["owner"], edited(demo, renamed("approve_resolution", "sign_off")),
                           reason="Clearer id")
    [error] = guarded_errors(refused.value.errors, "approve_resolution")
    assert "approve_resolution" in error.message and RESOLUTION_RULE in error.message
    assert versions(demo) == before


def test_deploy_compares_with_the_deployed_version(demo, actors):
    """Against the version deployed, not only the shipped files: a process that processes/ does not have (deployed
    from the modeler) keeps the guarded user tasks its current version has."""
    files = shipped(demo)
    mortgage = files.pop("complaint_handling.bpmn").decode().replace(
        'processRef="complaint_handling"', 'processRef="mortgage_complaints"').replace(
        '<bpmn:process id="complaint_handling"', '<bpmn:process id="mortgage_complaints"')
    with demo.unit_of_work() as uow:
        deployed = definitions.deploy(uow, actors["owner"], {**files, "mortgage.bpmn": mortgage.encode()})
    assert "mortgage_complaints" in {d.process_id for d in deployed}
    dropped = {**files, "mortgage.bpmn": approval_as("scriptTask")(mortgage).encode()}
    with demo.unit_of_work() as uow, pytest.raises(InvalidDefinition, match=RESOLUTION_RULE):
        definitions.deploy(uow, actors["owner"], dropped)


def test_the_cli_deploy_refuses_it(demo_cli, runtime, tmp_path):
    for name, source in edited(runtime, investigation_deleted).items():
        (tmp_path / name).write_bytes(source)
    result = demo_cli("deploy", tmp_path, exit_code=1)
    assert "investigate_complaint" in result.output and RESOLUTION_RULE in result.output
    assert HOW in result.output.lower() and "nothing deployed" in result.output
