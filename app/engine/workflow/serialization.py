"""Workflow (de)serialization: specs stored once per definition version, instances store only their state."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class InstanceStateConverter(BpmnWorkflowConverter):
    """Like SpiffWorkflow's converter, but leaves the spec out: it lives in the definition version's row.

    The spec is about half the bytes of a finished complaint's state and would otherwise be rewritten on
    every step; the parsed spec objects are put back from the cache on load.
    """

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        if spec is None:
            raise ValueError("instance state carries no spec: pass the cached spec of its definition version")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = InstanceStateConverter
    registry = BpmnWorkflowSerializer.configure(config)
    # Money and dates must survive a save: SpiffWorkflow only knows datetime, timedelta and UUID.
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]), "Decimal")
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]), "date")
    return BpmnWorkflowSerializer(registry)


SERIALIZER = _make_serializer()


def dump_specs(spec, subprocess_specs: dict) -> str:
    registry = SERIALIZER.registry
    return json.dumps({"spec": registry.convert(spec),
                       "subprocess_specs": {name: registry.convert(s) for name, s in subprocess_specs.items()}})


def load_specs(serialized: str):
    dct = json.loads(serialized)
    registry = SERIALIZER.registry
    return registry.restore(dct["spec"]), {name: registry.restore(s) for name, s in dct["subprocess_specs"].items()}


def dump_state(workflow: BpmnWorkflow) -> str:
    return SERIALIZER.serialize_json(workflow)


def load_state(serialized: str, spec, subprocess_specs) -> BpmnWorkflow:
    dct = json.loads(serialized)
    SERIALIZER.migrate(dct)
    return SERIALIZER.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
