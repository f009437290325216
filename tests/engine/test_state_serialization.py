"""The stored state written from a live workflow (which reuses the dicts of its finished tasks, from its last save
or from the state it was read from) is exactly what SpiffWorkflow's own converter writes for that workflow, at
every step of a lifecycle with a rejection, a reopening, a fired deadline and the escalation it starts (issue 15)."""
import json
from datetime import date
from decimal import Decimal

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from sqlalchemy import select

from app.engine.core.actors import SCHEDULER
from app.engine.models import ProcessInstance
from app.engine.process import steps
from app.engine.workflow import timer_clock
from app.engine.workflow.serialization import load_state


def _spiff_serializer() -> BpmnWorkflowSerializer:
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]), "Decimal")
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]), "date")
    # Only the spec (left out of the comparison) holds the step-clock timer classes; they write SpiffWorkflow's names.
    timer_clock.register(registry)
    return BpmnWorkflowSerializer(registry)


SPIFF = _spiff_serializer()


def _check_states(runtime, complaint_id: int) -> int:
    """Each instance's stored state equals SpiffWorkflow's serialization of the same workflow (spec left out)."""
    checked = 0
    with runtime.unit_of_work() as uow:
        rows = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.complaint_id == complaint_id))
        for row in rows:
            spec, subprocess_specs = steps._specs(uow, row.definition_id)
            expected = json.loads(SPIFF.serialize_json(load_state(row.state, spec, subprocess_specs)))
            del expected["spec"], expected["subprocess_specs"]
            assert json.loads(row.state) == expected, f"instance {row.id} at version {row.lock_version}"
            checked += 1
    return checked


def test_state_written_from_a_cached_workflow_is_spiffworkflows_own(case, clock):
    cid = case.register()
    hits = case.runtime.workflows.hits
    cold = case.runtime.workflows._items.clear   # the next step reads the stored state (another process)
    for step in (lambda: case.classify(cid), lambda: case.triage(cid, "cards", co=("operations",)),
                 lambda: case.investigate(cid, "cards"), lambda: case.investigate(cid, "operations"),
                 lambda: case.draft(cid), lambda: case.reject(cid, "Explain the root cause"), cold,
                 lambda: case.draft(cid, "We refunded the fee twice."), lambda: case.approve(cid),
                 lambda: case.feedback(cid, False, 2), lambda: case.reopen(cid, "investigation")):
        step()
        _check_states(case.runtime, cid)
    assert case.runtime.workflows.hits > hits, "the steps ran on cached workflows"
    # A deadline passes: the firing (and the escalation it starts) is written from the cached workflow too.
    due = min(t.due_at for t in case.timers(cid) if t.state == "waiting")
    clock.advance((due if due.tzinfo else due.replace(tzinfo=clock.now().tzinfo)) - clock.now())
    clock.advance(seconds=1)
    instance_id = next(t.instance_id for t in case.timers(cid) if t.state == "waiting")
    cold()
    with case.runtime.unit_of_work() as uow:
        outcome = steps.run_step(uow, SCHEDULER, instance_id, steps.FireTimers())
    assert outcome.fired
    assert _check_states(case.runtime, cid) >= 1

