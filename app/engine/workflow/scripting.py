"""The script engine every workflow runs with: a RestrictedPython sandbox with time and memory limits, plus our
service-task dispatch.

SpiffWorkflow's default environment is plain ``exec``/``eval`` with full builtins, so a script or a gateway
condition could import ``os`` or walk ``__subclasses__``. Here scripts are compiled with RestrictedPython plus
the limits of ``limits.py`` (a time budget and a memory bound, enforced inside the compiled code: signals and
setrlimit would hit every request of the process) and run with guarded attribute, item and iteration access.
Validation and deployment compile every script and expression with this same compiler (``source_problems``),
so what is refused at run time is refused at deploy. Deserializing a workflow resets its script engine to
SpiffWorkflow's default, so the runner sets this one again after every load.

Whatever a script raises, ``SystemExit`` and ``GeneratorExit`` included, or a limit it exceeds, becomes one
``ScriptFailed`` naming the BPMN element: a domain error, so the step is rolled back and the API answers JSON.
"""
from __future__ import annotations

import copy
import dis
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from types import CodeType, TracebackType
from typing import TYPE_CHECKING, Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, limited_builtins, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from app.engine.core.errors import DomainError, ScriptFailed, ServiceTaskFailed
from app.engine.workflow.limits import Budget, LimitingTransformer, Limits, ScriptLimitExceeded, helpers

if TYPE_CHECKING:
    from SpiffWorkflow.task import Task

_EXTRA_BUILTINS = {name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
                   for name in ("dict", "list", "set", "frozenset", "sum", "min", "max", "any", "all", "enumerate",
                                "sorted", "reversed", "map", "filter", "zip", "round", "abs")}
_BUILTINS = {**safe_builtins, **limited_builtins, **_EXTRA_BUILTINS}

_BASE_GLOBALS: dict[str, Any] = {
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_apply_": lambda function, *args, **kwargs: function(*args, **kwargs),  # calls with *args / **kwargs
}
_FILENAMES = {"exec": "<script>", "eval": "<expression>"}
_LINE = re.compile(r"^Line (\d+|None): (?:\w+Error: )?")
_RAISING_OPCODES = {dis.opmap[name] for name in ("RAISE_VARARGS", "RERAISE") if name in dis.opmap}


def default_limits() -> Limits:
    """The limits from the environment (COMPLAINTFLOW_SCRIPT_SECONDS, _MAX_BYTES, _MAX_MEMORY) or the defaults."""
    defaults = Limits()
    return Limits(seconds=float(os.environ.get("COMPLAINTFLOW_SCRIPT_SECONDS", defaults.seconds)),
                  max_bytes=int(os.environ.get("COMPLAINTFLOW_SCRIPT_MAX_BYTES", defaults.max_bytes)),
                  max_memory=int(os.environ.get("COMPLAINTFLOW_SCRIPT_MAX_MEMORY", defaults.max_memory)))


class ScriptError(Exception):
    """A script or expression failed in the sandbox: it does not compile, it raised, or it ran out of time or
    memory. ``line`` is the line of the script where it happened, when known."""

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


def source_problems(source: str, mode: str) -> list[tuple[int | None, str]]:
    """(line, message) of everything the sandbox's compiler refuses in ``source`` (mode "exec" or "eval")."""
    try:
        _compile(source.strip() if mode == "eval" else source, mode)
    except ScriptError as err:
        return [(line, message) for line, message in err.args[1]]
    return []


@lru_cache(maxsize=1024)
def _compile(source: str, mode: str) -> CodeType:
    compile_restricted = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    try:
        result = compile_restricted(source, filename=_FILENAMES[mode], policy=LimitingTransformer)
    except (SyntaxError, ValueError) as err:  # e.g. NUL bytes in the source
        problems = [(getattr(err, "lineno", None), getattr(err, "msg", None) or str(err))]
    else:
        problems = [_split_line(error) for error in result.errors]
    if problems:
        error = ScriptError("; ".join(message for _, message in problems), line=problems[0][0])
        error.args = (error.message, problems)
        raise error
    assert result.code is not None  # RestrictedPython returns code whenever it reports no errors
    return result.code


def _split_line(error: str) -> tuple[int | None, str]:
    match = _LINE.match(error)
    if not match:
        return None, error
    line = int(match.group(1)) if match.group(1).isdigit() else None
    return line, error[match.end():].strip()


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates expressions and runs scripts under RestrictedPython and ``limits``, with the given functions.
    Every failure is a ScriptError; a KeyboardInterrupt or SystemExit the script did not raise itself (Ctrl+C,
    a worker being stopped) passes through untouched."""

    def __init__(self, functions: Mapping[str, Callable] | None = None, limits: Limits | None = None):
        super().__init__(dict(functions or {}))
        self.limits = limits or default_limits()
        self._reserved = set(_BASE_GLOBALS) | set(helpers(Budget(self.limits), {})[0]) | {"__builtins__"} \
            | set(self.globals)

    def evaluate(self, expression, context, external_context=None):
        code = _compile(expression.strip(), "eval")
        namespace, budget = self._namespace({**(external_context or {}), **context})
        return self._run(eval, code, namespace, budget)

    def execute(self, script, context, external_context=None):
        external_context = external_context or {}
        clash = (set(self.globals) | set(external_context)) & set(context)
        if clash:
            raise ScriptError(f"Task data would hide the script function(s) {sorted(clash)}; rename the field(s)")
        code = _compile(script, "exec")
        namespace, budget = self._namespace({**external_context, **context})
        self._run(exec, code, namespace, budget)
        hidden = self._reserved | set(external_context)
        for key in list(context):
            if key not in namespace:
                del context[key]
        for key, value in namespace.items():
            if key not in hidden and not key.startswith("_") and not callable(value):
                context[key] = value
        return True

    def _namespace(self, data: Mapping) -> tuple[dict, Budget]:
        budget = Budget(self.limits)
        names, builtins = helpers(budget, _BUILTINS)
        return {**_BASE_GLOBALS, **names, "__builtins__": builtins, **self.globals, **data}, budget

    @staticmethod
    def _run(run: Callable[[CodeType, dict], object], code: CodeType, namespace: dict, budget: Budget) -> object:
        try:
            result = run(code, namespace)
        except ScriptLimitExceeded as err:
            raise ScriptError(f"stopped: {err}", line=_script_line(err)) from None
        except (KeyboardInterrupt, SystemExit) as err:
            if not _raised_by_script(err):
                raise
            raise ScriptError(f"it raised {_describe(err)}", line=_script_line(err)) from err
        except BaseException as err:
            raise ScriptError(_describe(err), line=_script_line(err)) from err
        if budget.exceeded:  # the script caught the limit itself (a bare except:) and went on
            raise ScriptError(f"stopped: {budget.exceeded}")
        return result


def _describe(err: BaseException) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _script_frames(err: BaseException) -> Iterator[TracebackType]:
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in _FILENAMES.values():
            yield tb
        tb = tb.tb_next


def _script_line(err: BaseException) -> int | None:
    frames = list(_script_frames(err))
    return frames[-1].tb_lineno if frames else None


def _raised_by_script(err: BaseException) -> bool:
    """Whether a `raise` statement of the script raised ``err``, rather than a signal arriving while the script
    ran: a signal interrupts at a jump or call, never at a RAISE instruction."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or tb.tb_frame.f_code.co_filename not in _FILENAMES.values():
        return False
    code = tb.tb_frame.f_code.co_code
    return 0 <= tb.tb_lasti < len(code) and code[tb.tb_lasti] in _RAISING_OPCODES


ServiceCaller = Callable[["Task", str, dict], dict]


class SandboxedScriptEngine(PythonScriptEngine):
    """Script engine with the sandbox, copy-on-write task data, errors that name their BPMN element and service
    tasks that show their real error."""

    def __init__(self, functions: Mapping[str, Callable], call_service: ServiceCaller | None = None,
                 limits: Limits | None = None):
        super().__init__(environment=SandboxEnvironment(functions, limits))
        self._call_service = call_service

    def evaluate(self, task, expression, external_context=None):
        # Overridden (as is execute) because SpiffWorkflow wraps errors in WorkflowTaskException, which is no
        # domain error, and lets BaseExceptions such as SystemExit through to the web server.
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ScriptError as err:
            raise _failed(task, f"The expression {_excerpt(expression)!r}", err) from err

    def execute(self, task, script, external_context=None):
        # SpiffWorkflow 3.2.0 shallow-merges task data, so nested objects are shared with earlier tasks and an
        # in-place mutation here would rewrite the recorded data of completed tasks. Copy before writing.
        task.data = copy.deepcopy(task.data)
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
