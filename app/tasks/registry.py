"""The operators behind BPMN service tasks, keyed by the operator name used in the diagram."""
from __future__ import annotations

from collections.abc import Callable

from app.engine.runtime import Operator

OPERATORS: dict[str, Operator] = {}


def operator(name: str) -> Callable[[Operator], Operator]:
    """Register a function as the handler of ``<spiffworkflow:serviceTaskOperator id="name">``."""
    def register(func: Operator) -> Operator:
        if name in OPERATORS:
            raise ValueError(f"service-task operator {name!r} registered twice")
        OPERATORS[name] = func
        return func
    return register
