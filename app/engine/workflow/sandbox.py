"""Where BPMN scripts and expressions run: sandbox worker processes with hard limits, never this process.

A limit that lives inside the script's own code (``limits.py``) cannot stop one long C-level call (200 times
``max(range(10**7))`` on one line), nor count memory it does not see (a list of big integers). So every
evaluation runs in a small long-lived worker process (``sandbox_worker.py``, started with ``subprocess``, its
own session, a bare environment) that this process hands the source, the task data and the limits, and that:

- caps its own address space (RLIMIT_AS) at what it needed to start plus ``allowance(limits)``, so a script
  that allocates past it gets a MemoryError, is reported, and the worker ends;
- is given ``deadline(limits)`` of wall time per evaluation: past it, this process kills the worker (SIGKILL)
  and starts another; RLIMIT_CPU in the worker is the backstop should this process not get to it.

Either way the caller gets a ``ScriptError`` saying which limit was hit: no signal or setrlimit touches this
process, so a web worker serving other requests in other threads is never disturbed, and never stalled longer
than the budget. Workers are kept between evaluations (``COMPLAINTFLOW_SCRIPT_WORKERS`` idle ones per process,
default 1; more start while several threads evaluate at once), so an evaluation costs a round trip over a pipe,
not a process start; a replacement starts as soon as one ends. The functions this process exposes to scripts
(``sla_due_at`` with the step's clock ...) run here, called by the worker over the same pipe. What a worker
hands back is plain data (``sandbox_wire.load_from_worker``), written as the tree it stands for
(``sandbox_wire.dump_tree``), so its size here is what the worker's limits allowed.
"""
from __future__ import annotations

import atexit
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from app.engine.workflow import bounded, restricted, sandbox_wire
from app.engine.workflow.limits import Limits
from app.engine.workflow.restricted import ScriptError

WORKER_MODULE = "app.engine.workflow.sandbox_worker"
_ROOT = Path(__file__).resolve().parents[3]     # the directory holding the ``app`` package
STARTUP_SECONDS = 20.0                           # a worker's start on a saturated machine; never a script's time
ADDRESS_SPACE_SLACK = 32_000_000                 # compiling, unpickling the task data, the interpreter's own needs


def allowance(limits: Limits) -> int:
    """The address space a worker may take beyond what it needed to start: the script's memory budget, and as
    much again to hand back a result of that size (pickled), and some slack."""
    return 2 * limits.max_memory + ADDRESS_SPACE_SLACK


def deadline(limits: Limits) -> float:
    """Wall time from handing over a script to killing its worker. A little more than the budget, so the
    budget's own check inside the script (with its line number) usually speaks first."""
    return limits.seconds + max(0.2, limits.seconds / 10)


def idle_workers() -> int:
    return max(int(os.environ.get("COMPLAINTFLOW_SCRIPT_WORKERS", "1")), 0)


class SandboxUnavailable(RuntimeError):
    """No sandbox worker could be started: the installation is broken, not the script."""


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1_000_000:,.1f} MB"


class _Worker:
    def __init__(self, space: int):
        self.space = space
        self.process = subprocess.Popen(
            [sys.executable, "-E", "-s", "-m", WORKER_MODULE, str(space)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, cwd=_ROOT, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            start_new_session=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.to_worker, self.from_worker = self.process.stdin.fileno(), self.process.stdout.fileno()
        self.ready = False

    def wait_ready(self) -> None:
        if self.ready:
            return
        try:
            message = sandbox_wire.load_from_worker(
                sandbox_wire.read_until(self.from_worker, time.monotonic() + STARTUP_SECONDS, 1024))
        except (sandbox_wire.WorkerGone, sandbox_wire.TooSlow, sandbox_wire.TooLarge, pickle.UnpicklingError) as err:
            self.end()
            raise SandboxUnavailable(f"the script sandbox did not start ({type(err).__name__}: {err}); "
                                     f"see the error output of `{sys.executable} -m {WORKER_MODULE}`") from err
        if not (isinstance(message, tuple) and message[:1] == ("ready",)):
            self.end()
            raise SandboxUnavailable(f"the script sandbox answered {message!r} instead of starting")
        self.ready = True

    def run(self, request: bytes, functions: Mapping[str, Callable], until: float, max_reply: int) -> tuple:
        """The worker's reply to ``request``, answering its calls of ``functions`` on the way."""
        sandbox_wire.write(self.to_worker, request)
        while True:
            message = sandbox_wire.load_from_worker(sandbox_wire.read_until(self.from_worker, until, max_reply))
            if not (isinstance(message, tuple) and message and isinstance(message[0], str)):
                raise sandbox_wire.WorkerGone(f"it answered {type(message).__name__}")
            if message[0] != "call":
                return message
            sandbox_wire.write(self.to_worker, _called(functions, message))

    def end(self) -> None:
        if self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: the worker and anything it started
            except ProcessLookupError:
                pass
        self.process.wait()
        self._close_pipes()

    def forget(self) -> None:
        """In a forked child: these are the parent's workers. Close our copies of the pipes, leave the process."""
        self._close_pipes()
        self.process.returncode = 0  # not ours to wait for (and no "still running" warning when dropped)

    def _close_pipes(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


def _called(functions: Mapping[str, Callable], message: tuple) -> bytes:
    """Run the function a script called (here, with this process's clock and settings) and say what it gave."""
    try:
        _, name, args, kwargs = message
        function = functions.get(name) if isinstance(name, str) else None
        if function is None or not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise NameError(f"name {name!r} is not defined")
        return sandbox_wire.dump(("returned", function(*args, **kwargs)))
    except Exception as err:
        return sandbox_wire.dump(("raised", type(err).__name__, str(err)))


class SandboxPool:
    """The sandbox workers of this process, by address space; thread-safe. A worker runs one evaluation at a
    time; one taken from the pool is either given back or ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[int, list[_Worker]] = {}
        self._pid = os.getpid()
        self.evaluations = 0

    def prestart(self, limits: Limits) -> None:
        """Start a worker for ``limits`` now (without waiting for it) unless one is idle: the first evaluation
        then does not wait for a process start."""
        space = allowance(limits)
        with self._lock:
            self._check_fork()
            if not self._idle.get(space) and idle_workers():
                self._idle.setdefault(space, []).append(_Worker(space))

    def run(self, request: tuple, functions: Mapping[str, Callable], limits: Limits) -> tuple:
        """The worker's reply to ``request`` (("ok", value) | ("error", message, line)), or a ScriptError for a
        limit it hit. A worker is given back only after an answer that makes sense; after anything else (a limit,
        a reply it should not have sent) it is ended and another started."""
        try:
            payload = sandbox_wire.dump(request)
        except Exception as err:
            raise ScriptError(f"its task data cannot be handed to the sandbox: {type(err).__name__}: {err}") from None
        space = allowance(limits)
        for _ in range(3):  # a worker that retires itself (its heap grew) runs nothing: the next one does
            reply = self._run_once(payload, functions, limits, space)
            if reply != ("retired",):
                return reply
        raise SandboxUnavailable("three sandbox workers in a row retired without running the script")

    def _run_once(self, payload: bytes, functions: Mapping[str, Callable], limits: Limits, space: int) -> tuple:
        worker = self._take(space)
        keep = False
        try:
            worker.wait_ready()
            self.evaluations += 1
            reply = worker.run(payload, functions, time.monotonic() + deadline(limits), space)
            if reply == ("retired",):
                return reply
            reply = _checked(reply, limits)
            keep = True
            return reply
        except sandbox_wire.TooSlow:
            raise ScriptError(f"stopped: it ran longer than its time budget of {limits.seconds:g} s") from None
        except sandbox_wire.WorkerGone:
            raise ScriptError(f"stopped: {_ended(worker, limits)}") from None
        except sandbox_wire.TooLarge as err:
            raise ScriptError(f"stopped: it handed back {err} of data, more than the {_mb(space)} allowed") from None
        except pickle.UnpicklingError as err:
            raise ScriptError(f"it left a value that cannot be kept: {err}") from None
        finally:
            if keep:
                self._give_back(worker)
            else:
                worker.end()
                self.prestart(limits)

    def _take(self, space: int) -> _Worker:
        with self._lock:
            self._check_fork()
            idle = self._idle.get(space)
            if idle:
                return idle.pop()
        return _Worker(space)

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            idle = self._idle.setdefault(worker.space, [])
            if len(idle) < idle_workers() and os.getpid() == self._pid:
                idle.append(worker)
                return
        worker.end()

    def _check_fork(self) -> None:
        if os.getpid() != self._pid:
            self._forget()

    def _forget(self) -> None:
        for workers in self._idle.values():
            for worker in workers:
                worker.forget()
        self._idle = {}
        self._pid = os.getpid()

    def after_fork(self) -> None:
        """In a forked child (gunicorn's workers, when the app was loaded before the fork): start afresh. The
        lock may have been held by a thread of the parent that does not exist here."""
        self._lock = threading.Lock()
        self._forget()

    def close(self) -> None:
        with self._lock:
            workers = [w for ws in self._idle.values() for w in ws] if os.getpid() == self._pid else []
            self._idle = {}
        for worker in workers:
            worker.end()


def _checked(reply: tuple, limits: Limits) -> tuple:
    kind = reply[0]
    if kind == "ok" and len(reply) == 2:
        return reply
    if kind == "error" and len(reply) == 3 and isinstance(reply[1], str) and isinstance(reply[2], (int, type(None))):
        return reply
    if kind == "memory" and len(reply) == 2 and isinstance(reply[1], (int, type(None))):
        raise ScriptError(f"stopped: it used more than its memory limit of {_mb(limits.max_memory)}", line=reply[1])
    raise sandbox_wire.WorkerGone(f"it answered {kind!r}")


def _ended(worker: _Worker, limits: Limits) -> str:
    worker.end()
    code = worker.process.returncode
    if code == -signal.SIGXCPU:
        return f"it used more than its CPU time budget of {limits.seconds:g} s"
    how = f"exit code {code}"
    if code is not None and code < 0:
        how = f"signal {signal.Signals(-code).name if -code in signal.valid_signals() else -code}"
    return f"the sandbox process running it ended ({how}), most likely at its memory limit of {_mb(limits.max_memory)}"


POOL = SandboxPool()
atexit.register(POOL.close)
os.register_at_fork(after_in_child=POOL.after_fork)


def evaluate(expression: str, context: Mapping, external_context: Mapping, functions: Mapping[str, object],
             limits: Limits) -> object:
    """The value of ``expression`` with the task data ``context``: here if its shape bounds its cost
    (``bounded.py``), else in a sandbox worker."""
    called = bounded.called_names(expression)
    if called is not None and all(callable(functions.get(name)) and name not in context
                                  and name not in external_context for name in called):
        return restricted.evaluate(expression, {**external_context, **context}, functions, limits)
    callables, values = _split(functions)
    return _result(POOL.run(("run", "eval", expression, dict(context), dict(external_context), tuple(callables),
                             values, limits), callables, limits))


def execute(script: str, context: dict, external_context: Mapping, functions: Mapping[str, object],
            limits: Limits) -> None:
    """Run ``script`` in a sandbox worker and write what it leaves into ``context`` (the task data): the names it
    set, without the ones it deleted."""
    callables, values = _split(functions)
    data = _result(POOL.run(("run", "exec", script, dict(context), dict(external_context), tuple(callables),
                             values, limits), callables, limits))
    if not isinstance(data, dict):
        raise ScriptError(f"the sandbox handed back {type(data).__name__} instead of the task data")
    for key in [key for key in context if key not in data]:
        del context[key]
    context.update(data)


def _split(functions: Mapping[str, object]) -> tuple[dict[str, Callable], dict[str, object]]:
    callables: dict[str, Callable] = {}
    values: dict[str, object] = {}
    for name, value in functions.items():
        if callable(value):
            callables[name] = value
        else:
            values[name] = value
    return callables, values


def _result(reply: tuple) -> object:
    if reply[0] == "error":
        raise ScriptError(reply[1], line=reply[2])
    return reply[1]
