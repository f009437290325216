"""Each SpiffWorkflow 3.2.0 trap from ../shared/engine-notes.md, closed and checked through our code."""
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.engine.core.errors import Conflict, ScriptFailed, ServiceTaskFailed
from app.engine.models import AuditEvent, ProcessInstance, UserTask
from app.engine.process import steps
from app.engine.work import user_tasks
from app.engine.workflow import runner
from app.engine.workflow.parsing import parse_process
from app.engine.workflow.scripting import SandboxedScriptEngine
from app.engine.workflow.serialization import dump_state, load_state
from app.tasks import OPERATORS

FIXTURE = Path(__file__).parents[1] / "fixtures" / "engine" / "nested_data.bpmn"


def _nested_workflow(attempt: str = "1"):
    source = FIXTURE.read_bytes().replace(b"ATTEMPT", attempt.encode())
    spec, subprocess_specs = parse_process({"nested_data.bpmn": source}, "nested_data")
    workflow = runner.start(spec, subprocess_specs, SandboxedScriptEngine({}), {})
    return workflow, spec, subprocess_specs


def _ready_id(workflow, element_id):
    return next(t.task_id for t in runner.ready_user_tasks(workflow) if t.element_id == element_id)


# --- a completed or merely predicted task is never run ---------------------------------------------------

def test_a_completed_task_cannot_be_run_again():
    workflow, *_ = _nested_workflow()
    task_id = _ready_id(workflow, "enter_items")
    runner.complete_user_task(workflow, task_id, {"items": [{"amount": "1"}], "meta": {"source": {}}})
    with pytest.raises(Conflict, match="no longer ready"):
        runner.complete_user_task(workflow, task_id, {"items": [{"amount": "9"}], "meta": {"source": {}}})
    assert runner.task_data(workflow, _ready_id(workflow, "review"))["items"] == [{"amount": "0.00"}]


def test_a_predicted_task_cannot_be_run():
    workflow, *_ = _nested_workflow()
    predicted = next(t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "review")
    assert predicted.state in (TaskState.LIKELY, TaskState.FUTURE, TaskState.MAYBE)
    with pytest.raises(Conflict, match="no longer ready"):
        runner.complete_user_task(workflow, str(predicted.id), {})
    assert [t.element_id for t in runner.ready_user_tasks(workflow)] == ["enter_items"]


@pytest.mark.both_caches
def test_completing_the_same_task_twice_through_the_service_is_a_conflict(case):
    cid = case.register()
    task = case.task(cid, "classify_complaint")
    case.classify(cid)
    with pytest.raises(Conflict), case.runtime.unit_of_work() as uow:
        user_tasks.complete_user_task(uow, case.actor_for(task), task.id,
                                      {"category": "other", "severity": "general", "product": "x"})
    assert case.ready_names(cid) == ["triage_complaint"]


# --- our script engine is set again after every load --------------------------------------------------------

@pytest.mark.both_caches
def test_every_load_gets_the_sandboxed_script_engine(case, actors, clock):
    """Cold, the workflow comes out of deserialize_json with SpiffWorkflow's unsandboxed default engine; warm, out
    of the cache with the engine of the step that saved it (that step's clock and session). Either way the step
    installs a fresh sandboxed engine of its own."""
    cid = case.register()
    later = clock.advance(hours=1)
    with case.runtime.unit_of_work() as uow:
        instance_id = uow.session.scalar(select(ProcessInstance.id).where(ProcessInstance.complaint_id == cid))
        step = steps.load_instance(uow, actors["intake"], instance_id, later)
        assert isinstance(step.workflow.script_engine, SandboxedScriptEngine)
        task_id = runner.ready_user_tasks(step.workflow)[0].task_id
        with pytest.raises(ScriptFailed, match="__import__"):  # the sandbox refuses it
            runner.evaluate(step.workflow, task_id, "__import__('os').getcwd()")
        assert runner.evaluate(step.workflow, task_id, "now_iso()") == later.isoformat()  # this step's clock
        assert runner.evaluate(step.workflow, task_id, "sla_due_at('decision', received_at)") > \
            runner.evaluate(step.workflow, task_id, "received_at")


@pytest.mark.parametrize("attempt", ["__import__('os').getcwd()", "open('/etc/passwd').read()",
                                     "().__class__.__bases__[0].__subclasses__()"])
def test_scripts_cannot_leave_the_sandbox(attempt):
    workflow, *_ = _nested_workflow(attempt)
    runner.complete_user_task(workflow, _ready_id(workflow, "enter_items"), {"items": [{"amount": "1"}], "meta": {"source": {}}})
    review = _ready_id(workflow, "review")
    with pytest.raises(ScriptFailed):  # an unsandboxed engine would run the script and complete
        runner.complete_user_task(workflow, review, {})
    assert "result" not in runner.task_data(workflow, review)


# --- task data of completed tasks is not changed by later steps -------------------------------------------

def test_a_script_mutating_nested_data_leaves_completed_tasks_data_alone():
    workflow, *_ = _nested_workflow()
    entered = _ready_id(workflow, "enter_items")
    # Two levels deep: SpiffWorkflow 3.2.0 copies only the first level when a task inherits its data.
    runner.complete_user_task(workflow, entered, {"items": [{"amount": "25.00"}], "meta": {"source": {"k": "form"}}})
    review = runner.task_data(workflow, _ready_id(workflow, "review"))
    assert review["items"] == [{"amount": "0.00"}]
    assert review["meta"] == {"source": {"k": "form", "checked": True}}
    completed = runner.task_data(workflow, entered)
    assert completed["items"] == [{"amount": "25.00"}] and completed["meta"] == {"source": {"k": "form"}}


# --- task data stays serializable ------------------------------------------------------------------------

def test_dates_and_money_survive_a_save_and_load():
    workflow, spec, subprocess_specs = _nested_workflow()
    task_id = _ready_id(workflow, "enter_items")
    workflow.get_task_from_id(__import__("uuid").UUID(task_id)).data.update(
        {"amount": Decimal("1234.56"), "value_date": date(2026, 11, 23)})
    restored = load_state(dump_state(workflow), spec, subprocess_specs)
    data = runner.task_data(restored, task_id)
    assert data["amount"] == Decimal("1234.56") and isinstance(data["amount"], Decimal)
    assert data["value_date"] == date(2026, 11, 23)
    json.loads(dump_state(restored))  # still plain JSON


# --- service-task failures show their real error and leave the instance recoverable ------------------------

@pytest.mark.both_caches
def test_a_failing_service_task_names_its_error_and_rolls_the_step_back(case, actors):
    # The decision letter's service task runs in the approval's step (the acknowledgement runs at registration).
    cid = case.handle_until_approval()
    task = case.task(cid, "approve_resolution")
    with case.runtime.unit_of_work() as uow:
        version_before = uow.session.scalar(select(ProcessInstance.lock_version)
                                            .where(ProcessInstance.complaint_id == cid))

    def broken(ctx):
        raise RuntimeError("mail gateway refused the connection")

    case.runtime.operators = {**OPERATORS, "send_reply": broken}
    with pytest.raises(ServiceTaskFailed) as raised:
        case.approve(cid)
    assert "mail gateway refused the connection" in raised.value.message
    assert raised.value.element_id == "send_reply_task"
    assert "send_reply_task" in raised.value.message
    assert raised.value.operator == "send_reply"
    # Nothing of the failed step was kept...
    assert case.ready_names(cid) == ["approve_resolution"]
    with case.runtime.unit_of_work() as uow:
        assert uow.session.scalar(select(ProcessInstance.lock_version)
                                  .where(ProcessInstance.complaint_id == cid)) == version_before
        assert uow.session.get(UserTask, task.id).state == "ready"
        completions = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "task_completed")).all()
        assert task.id not in [e.detail.get("task_id") for e in completions]
    assert [m.kind for m in case.messages(cid)] == ["acknowledgement"]
    # ...and once the service works again the same task completes.
    case.runtime.operators = OPERATORS
    case.approve(cid)
    assert case.ready_names(cid) == ["record_feedback"]
    assert [m.kind for m in case.messages(cid)] == ["acknowledgement", "reply", "feedback_request"]


# --- the tree-depth limit: a case that loops too often is refused, not silently "completed" ---------------

def test_a_case_looping_past_the_depth_limit_is_refused(case, monkeypatch):
    monkeypatch.setattr(runner, "MAX_TREE_DEPTH", 40)
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards")
    with pytest.raises(Conflict, match="looped too often"):
        for _ in range(30):
            case.draft(cid)
            case.reject(cid, "again")
    assert case.complaint(cid).status != "closed"
