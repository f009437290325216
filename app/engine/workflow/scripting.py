"""The script engine every workflow runs with: a RestrictedPython sandbox with hard time and memory limits, plus
our service-task dispatch.

SpiffWorkflow's default environment is plain ``exec``/``eval`` with full builtins, so a script or a gateway
condition could import ``os`` or walk ``__subclasses__``. Here scripts are compiled with RestrictedPython plus
the budget of ``limits.py`` (``restricted.py``) and run with guarded attribute, item and iteration access, in a
sandbox worker process whose address space is capped and which is killed when its time is up (``sandbox.py``):
no script, however it is written, holds this process longer than its budget or takes its memory. Validation and
deployment compile every script and expression with this same compiler (``source_problems``) and evaluate timer
expressions in the same sandbox, so what is refused at run time is refused at deploy. Deserializing a workflow
resets its script engine to SpiffWorkflow's default, so the runner sets this one again after every load.

Whatever a script raises, ``SystemExit`` and ``GeneratorExit`` included, or a limit it exceeds, becomes one
``ScriptFailed`` naming the BPMN element: a domain error, so the step is rolled back and the API answers JSON.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from app.engine.core.errors import DomainError, ScriptFailed, ServiceTaskFailed
from app.engine.workflow import sandbox
from app.engine.workflow.limits import Limits
from app.engine.workflow.restricted import ScriptError, source_problems

if TYPE_CHECKING:
    from SpiffWorkflow.task import Task

    from app.engine.core.clock import Clock

__all__ = ["SandboxEnvironment", "SandboxedScriptEngine", "ScriptError", "ServiceCaller", "ValidationSandbox",
           "default_limits", "source_problems", "validation_seconds"]


VALIDATION_SECONDS = 5.0  # what one validation may spend evaluating expressions, all of them together


def default_limits() -> Limits:
    """The limits from the environment (COMPLAINTFLOW_SCRIPT_SECONDS, _MAX_BYTES, _MAX_MEMORY) or the defaults."""
    defaults = Limits()
    return Limits(seconds=float(os.environ.get("COMPLAINTFLOW_SCRIPT_SECONDS", defaults.seconds)),
                  max_bytes=int(os.environ.get("COMPLAINTFLOW_SCRIPT_MAX_BYTES", defaults.max_bytes)),
                  max_memory=int(os.environ.get("COMPLAINTFLOW_SCRIPT_MAX_MEMORY", defaults.max_memory)))


def validation_seconds() -> float:
    """COMPLAINTFLOW_SCRIPT_VALIDATION_SECONDS, else VALIDATION_SECONDS."""
    return float(os.environ.get("COMPLAINTFLOW_SCRIPT_VALIDATION_SECONDS", VALIDATION_SECONDS))


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates expressions and runs scripts in a sandbox worker process (``sandbox.py``) under RestrictedPython
    and ``limits``, with the given functions (which run here, in this process). Every failure is a ScriptError; a
    KeyboardInterrupt while a script runs (Ctrl+C, a worker being stopped) ends the script's worker and passes
    through untouched."""

    def __init__(self, functions: Mapping[str, Callable] | None = None, limits: Limits | None = None):
        super().__init__(dict(functions or {}))
        self.limits = limits or default_limits()
        sandbox.POOL.prestart(self.limits)

    def evaluate(self, expression, context, external_context=None):
        return sandbox.evaluate(expression, context, external_context or {}, self.globals, self.limits)

    def execute(self, script, context, external_context=None):
        sandbox.execute(script, context, external_context or {}, self.globals, self.limits)
        return True

    @classmethod
    def for_validation(cls, functions: Mapping[str, Callable]) -> ValidationSandbox:
        """The environment that checks a definition's expressions before it is saved or deployed."""
        return ValidationSandbox(functions)


class ValidationSandbox(SandboxEnvironment):
    """Validation evaluates each timer expression of a definition with several samples of task data, and a
    definition may hold any number of timers: each evaluation has the limits of a running case (``limits``,
    default_limits()), and all of them together at most ``total_seconds`` (validation_seconds()), so no draft,
    however many heavy expressions it holds, keeps a web worker longer than that. Past it, every further
    expression is refused unevaluated."""

    def __init__(self, functions: Mapping[str, Callable] | None = None, limits: Limits | None = None,
                 total_seconds: float | None = None):
        super().__init__(functions, limits)
        self.total_seconds = validation_seconds() if total_seconds is None else total_seconds
        self.spent = 0.0

    def evaluate(self, expression, context, external_context=None):
        remaining = self.total_seconds - self.spent
        if remaining <= 0:
            raise ScriptError(f"not evaluated: this validation has spent the {self.total_seconds:g} s it may use to "
                              "evaluate expressions")
        limits = self.limits if remaining >= self.limits.seconds else replace(self.limits, seconds=remaining)
        started = time.monotonic()
        try:
            return sandbox.evaluate(expression, context, external_context or {}, self.globals, limits)
        finally:
            self.spent += time.monotonic() - started

    def execute(self, script, context, external_context=None):
        raise NotImplementedError("validation compiles scripts (source_problems); it never runs them")


ServiceCaller = Callable[["Task", str, dict], dict]


class SandboxedScriptEngine(PythonScriptEngine):
    """Script engine with the sandbox, copy-on-write task data, errors that name their BPMN element and service
    tasks that show their real error."""

    def __init__(self, functions: Mapping[str, Callable], call_service: ServiceCaller | None = None,
                 limits: Limits | None = None, clock: Clock | None = None):
        super().__init__(environment=SandboxEnvironment(functions, limits))
        self._call_service = call_service
        # The step's clock: the workflow's timers are armed and found due by it (timer_clock.py); None, the machine's.
        self.clock = clock

    def evaluate(self, task, expression, external_context=None):
        # Overridden (as is execute) because SpiffWorkflow wraps errors in WorkflowTaskException, which is no
        # domain error, and lets BaseExceptions such as SystemExit through to the web server.
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ScriptError as err:
            raise _failed(task, f"The expression {_excerpt(expression)!r}", err) from err

    def execute(self, task, script, external_context=None):
        # SpiffWorkflow 3.2.0 shallow-merges task data, so nested objects are shared with earlier tasks: an
        # in-place mutation would rewrite the recorded data of completed tasks. The sandbox hands back every value
        # as a new object (it ran in another process), so a new top-level dict is all this task needs of its own.
        task.data = dict(task.data)
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except ScriptError as err:
            raise _failed(task, "The script", err) from err

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
        except Exception as err:
            raise ServiceTaskFailed(
                f"Service task '{element_id}' (operator '{operation_name}') failed: {type(err).__name__}: {err}",
                element_id=element_id, operator=operation_name) from err
        return json.dumps(result if result is not None else {}, default=str)


def _failed(task: Task, what: str, err: ScriptError) -> ScriptFailed:
    spec = task.task_spec
    element_id = getattr(spec, "bpmn_id", None) or spec.name
    name = " ".join((getattr(spec, "bpmn_name", None) or "").split()) or None  # one line, whatever the modeler did
    where = f"'{name}' ({element_id})" if name else f"'{element_id}'"
    line = f" at line {err.line}" if err.line else ""
    return ScriptFailed(f"{what} of {where} failed{line}: {err.message}", element_id=element_id, element_name=name)


def _excerpt(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
