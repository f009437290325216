"""The script engine every workflow runs with: a RestrictedPython sandbox plus our service-task dispatch.

SpiffWorkflow's default environment is plain ``exec``/``eval`` with full builtins, so a script or a gateway
condition could import ``os`` or walk ``__subclasses__``. Here scripts are compiled with RestrictedPython and
run with guarded attribute, item and iteration access. Deserializing a workflow resets its script engine to
SpiffWorkflow's default, so the runner sets this one again after every load.
"""
from __future__ import annotations

import copy
import json
import operator
from functools import lru_cache
from typing import Any, Callable, Mapping

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, limited_builtins, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence, safer_getattr
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from app.engine.errors import DomainError, ServiceTaskFailed

_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": operator.imod, "|=": operator.ior, "&=": operator.iand}

_EXTRA_BUILTINS = {name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
                   for name in ("dict", "list", "set", "frozenset", "sum", "min", "max", "any", "all", "enumerate",
                                "sorted", "reversed", "map", "filter", "zip", "round", "abs")}

_BASE_GLOBALS: dict[str, Any] = {
    "__builtins__": {**safe_builtins, **limited_builtins, **_EXTRA_BUILTINS},
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y),
}


@lru_cache(maxsize=512)
def _compile_exec(script: str):
    result = compile_restricted_exec(script, filename="<script>")
    if result.errors:
        raise SyntaxError("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=512)
def _compile_eval(expression: str):
    result = compile_restricted_eval(expression, filename="<expression>")
    if result.errors:
        raise SyntaxError("; ".join(result.errors))
    return result.code


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates expressions and runs scripts under RestrictedPython with the given helper functions."""

    def __init__(self, functions: Mapping[str, Callable] | None = None):
        super().__init__(dict(functions or {}))
        self._reserved = set(_BASE_GLOBALS) | set(self.globals)

    def evaluate(self, expression, context, external_context=None):
        namespace = {**_BASE_GLOBALS, **self.globals, **(external_context or {}), **context}
        return eval(_compile_eval(expression.strip()), namespace)  # noqa: S307 - restricted bytecode

    def execute(self, script, context, external_context=None):
        external_context = external_context or {}
        clash = (set(self.globals) | set(external_context)) & set(context)
        if clash:
            raise ValueError(f"Task data would hide the script function(s) {sorted(clash)}; rename the field(s)")
        namespace = {**_BASE_GLOBALS, **self.globals, **external_context, **context}
        exec(_compile_exec(script), namespace)  # noqa: S102 - restricted bytecode
        hidden = self._reserved | set(external_context)
        for key in list(context):
            if key not in namespace:
                del context[key]
        for key, value in namespace.items():
            if key not in hidden and not key.startswith("_") and not callable(value):
                context[key] = value
        return True


def script_functions(clock, profile) -> dict[str, Callable]:
    """The functions BPMN expressions may call. Deadlines come from the SLA profile in config/sla.toml."""
    from app.engine.sla import due_at, parse_instant  # noqa: PLC0415 - keeps this module's imports light

    def sla_due_at(sla_name, start_iso=None, product=None):
        # ``product`` picks a regime's product track (DISP: payment services have their own deadline).
        start = parse_instant(start_iso) if start_iso else clock.now()
        return due_at(profile, sla_name, start, product=product).isoformat()

    def now_iso():
        return clock.now().isoformat()

    return {"sla_due_at": sla_due_at, "now_iso": now_iso}


ServiceCaller = Callable[[Any, str, dict], dict]


class SandboxedScriptEngine(PythonScriptEngine):
    """Script engine with the sandbox, copy-on-write task data and service tasks that show their real error."""

    def __init__(self, functions: Mapping[str, Callable], call_service: ServiceCaller | None = None):
        super().__init__(environment=SandboxEnvironment(functions))
        self._call_service = call_service

    def execute(self, task, script, external_context=None):
        # SpiffWorkflow 3.2.0 shallow-merges task data, so nested objects are shared with earlier tasks and an
        # in-place mutation here would rewrite the recorded data of completed tasks. Copy before writing.
        task.data = copy.deepcopy(task.data)
        return super().execute(task, script, external_context)

    def call_service(self, task, operation_name=None, operation_params=None, **_):
        # Overridden because SpiffWorkflow's own call_service turns every failure into
        # "NameError: name 'script' is not defined", hiding the real error.
        element_id = task.task_spec.bpmn_id
        if self._call_service is None:
            raise ServiceTaskFailed(f"Service task '{element_id}' cannot run here: no service dispatcher",
                                    element_id=element_id, operator=operation_name)
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        try:
            result = self._call_service(task, operation_name, params)
        except DomainError:
            raise
        except Exception as err:  # noqa: BLE001 - re-raised with the element named
            raise ServiceTaskFailed(
                f"Service task '{element_id}' (operator '{operation_name}') failed: {type(err).__name__}: {err}",
                element_id=element_id, operator=operation_name) from err
        return json.dumps(result if result is not None else {}, default=str)
