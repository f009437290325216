"""Compiling and running one BPMN script or expression under RestrictedPython and the budget of ``limits.py``.

Scripts and expressions run here inside a sandbox worker process (``sandbox_worker.py``). The web workers, the
scheduler and the CLI compile here (``source_problems``: validation refuses at deploy what the sandbox would
refuse at run time) and run here only expressions whose shape bounds their cost (``bounded.py``). The in-code
budget stops what it can see coming (``while True``, ``'a' * 10**10``, ``9**9**9``) with a precise reason and
a line; what it cannot see (one long C-level call, memory it does not count) is stopped by the worker's process
limits and the parent's deadline (``sandbox.py``).
"""
from __future__ import annotations

import dis
import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from types import CodeType, TracebackType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, limited_builtins, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from app.engine.workflow.limits import Budget, LimitingTransformer, Limits, ScriptLimitExceeded, helpers

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
FILENAMES = {"exec": "<script>", "eval": "<expression>"}
_LINE = re.compile(r"^Line (\d+|None): (?:\w+Error: )?")
_RAISING_OPCODES = {dis.opmap[name] for name in ("RAISE_VARARGS", "RERAISE") if name in dis.opmap}
# Names a script's results never include: our helpers and the builtins.
RESERVED = frozenset(_BASE_GLOBALS) | frozenset(helpers(Budget(Limits()), {})[0]) | {"__builtins__"}


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
        compile_source(source.strip() if mode == "eval" else source, mode)
    except ScriptError as err:
        return [(line, message) for line, message in err.args[1]]
    return []


@lru_cache(maxsize=1024)
def compile_source(source: str, mode: str) -> CodeType:
    compile_restricted = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    try:
        result = compile_restricted(source, filename=FILENAMES[mode], policy=LimitingTransformer)
    except (SyntaxError, ValueError) as err:  # e.g. NUL bytes in the source
        problems = [(getattr(err, "lineno", None), getattr(err, "msg", None) or str(err))]
    except RecursionError:  # the compiler walks the tree recursively: a + b + ... + z, 500 times
        problems = [(None, "it is nested too deeply to compile; split it into several statements")]
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


def evaluate(expression: str, data: Mapping, functions: Mapping[str, object], limits: Limits) -> object:
    """The value of ``expression`` with ``data`` (task data wins over ``functions`` of the same name)."""
    code = compile_source(expression.strip(), "eval")
    namespace, budget = _namespace({**functions, **data}, limits)
    return _run(eval, code, namespace, budget)


def execute(script: str, context: dict, external_context: Mapping, functions: Mapping[str, object],
            limits: Limits) -> None:
    """Run ``script`` and write what it leaves into ``context`` (the task data): the names it set or changed,
    without the ones it deleted, the functions or anything callable or starting with an underscore."""
    clash = (set(functions) | set(external_context)) & set(context)
    if clash:
        raise ScriptError(f"Task data would hide the script function(s) {sorted(clash)}; rename the field(s)")
    code = compile_source(script, "exec")
    namespace, budget = _namespace({**functions, **external_context, **context}, limits)
    _run(exec, code, namespace, budget)
    hidden = RESERVED | set(functions) | set(external_context)
    for key in list(context):
        if key not in namespace:
            del context[key]
    for key, value in namespace.items():
        if key not in hidden and not key.startswith("_") and not callable(value):
            context[key] = value


def _namespace(data: Mapping, limits: Limits) -> tuple[dict, Budget]:
    budget = Budget(limits)
    names, builtins = helpers(budget, _BUILTINS)
    return {**_BASE_GLOBALS, **names, "__builtins__": builtins, **data}, budget


def _run(run: Callable[[CodeType, dict], object], code: CodeType, namespace: dict, budget: Budget) -> object:
    """Runs ``code``; every failure becomes a ScriptError, except a KeyboardInterrupt, SystemExit or MemoryError
    the script did not raise itself (a signal, the process's memory limit: the caller deals with those)."""
    try:
        result = run(code, namespace)
    except ScriptLimitExceeded as err:
        raise ScriptError(f"stopped: {err}", line=script_line(err)) from None
    except (KeyboardInterrupt, SystemExit, MemoryError) as err:
        if not raised_by_script(err):  # Ctrl+C, a process being stopped, the process's memory limit
            raise
        message = describe(err) if isinstance(err, MemoryError) else f"it raised {describe(err)}"
        raise ScriptError(message, line=script_line(err)) from err
    except BaseException as err:
        raise ScriptError(describe(err), line=script_line(err)) from err
    if budget.exceeded:  # the script caught the limit itself (a bare except:) and went on
        raise ScriptError(f"stopped: {budget.exceeded}")
    return result


def describe(err: BaseException) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _script_frames(err: BaseException) -> Iterator[TracebackType]:
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in FILENAMES.values():
            yield tb
        tb = tb.tb_next


def script_line(err: BaseException) -> int | None:
    frames = list(_script_frames(err))
    return frames[-1].tb_lineno if frames else None


def raised_by_script(err: BaseException) -> bool:
    """Whether a `raise` statement of the script raised ``err``, rather than a signal arriving while it ran or
    the interpreter running out of memory: those interrupt at a jump, a call or an operation, never at a RAISE
    instruction."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or tb.tb_frame.f_code.co_filename not in FILENAMES.values():
        return False
    code = tb.tb_frame.f_code.co_code
    return 0 <= tb.tb_lasti < len(code) and code[tb.tb_lasti] in _RAISING_OPCODES
