"""A sandbox worker: the process that runs BPMN scripts and expressions for one parent (``sandbox.py``).

Started as ``python -m app.engine.workflow.sandbox_worker <address space allowance>``. It imports only the
sandbox (RestrictedPython and ``restricted.py``), then caps its own address space (RLIMIT_AS: what it needed to
start plus the allowance) and answers requests one at a time on its stdin and stdout. Before each run it sets
its CPU limit (RLIMIT_CPU) to what it has used so far plus the run's budget: the backstop behind the parent's
deadline. The functions the parent exposes to scripts (``sla_due_at`` ...) run in the parent: here they are
stand-ins that ask the parent over the same pipe.

A MemoryError at the limit is reported and the worker ends (its heap is in an unknown state); the parent starts
another. The worker ends too when its parent goes away (end of file on stdin).
"""
from __future__ import annotations

import builtins
import math
import os
import pickle
import resource
import signal
import sys
from collections.abc import Callable

from app.engine.workflow import restricted, sandbox_wire
from app.engine.workflow.limits import Limits


class _Pipe:
    def __init__(self, fd_in: int, fd_out: int):
        self.fd_in, self.fd_out = fd_in, fd_out

    def send(self, message: object) -> None:
        sandbox_wire.write(self.fd_out, sandbox_wire.dump(message))

    def receive(self) -> object:
        return pickle.loads(sandbox_wire.read_blocking(self.fd_in))  # from the parent: trusted


def _stand_in(pipe: _Pipe, name: str) -> Callable:
    def call(*args, **kwargs):
        try:
            message = sandbox_wire.dump_tree(("call", name, args, kwargs))
        except Exception as err:
            raise TypeError(f"{name}() cannot be given these arguments: {err}") from None
        sandbox_wire.write(pipe.fd_out, message)
        reply = pipe.receive()
        assert isinstance(reply, tuple)
        if reply[0] == "returned":
            return reply[1]
        raise _rebuilt(reply[1], reply[2])
    call.__name__ = call.__qualname__ = name
    return call


def _rebuilt(type_name: str, text: str) -> Exception:
    """The parent's function raised: the same kind of exception here, saying the same, so a script's ``except``
    and the reported message are those of an in-process call."""
    base = getattr(builtins, type_name, None)
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base = Exception
    kind = type(type_name, (base,), {"__str__": lambda self: text, "__module__": "builtins"})
    return kind(text)


_STATM: list[int] = []  # /proc/self/statm, kept open: reading it costs a few microseconds


def _address_space() -> int:
    if not _STATM:
        _STATM.append(os.open("/proc/self/statm", os.O_RDONLY))
    return int(os.pread(_STATM[0], 200, 0).split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _limit_cpu(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    allowed = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        allowed = min(allowed, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (allowed, hard))


def _run(pipe: _Pipe, request: tuple) -> tuple[tuple, bool]:
    """(the reply, whether this worker must end after sending it)."""
    _, mode, source, data, external, function_names, values, limits = request
    assert isinstance(limits, Limits)
    functions = {**values, **{name: _stand_in(pipe, name) for name in function_names}}
    _limit_cpu(limits.seconds * 2 + 1)
    try:
        if mode == "eval":
            result: object = restricted.evaluate(source, {**external, **data}, functions, limits)
        else:
            restricted.execute(source, data, external, functions, limits)
            result = data
        return ("ok", result), False
    except restricted.ScriptError as err:
        return ("error", err.message, err.line), False
    except MemoryError as err:
        return ("memory", restricted.script_line(err)), True
    except BaseException as err:  # SIGINT is ignored here: nothing but the script raises these
        return ("error", f"it raised {restricted.describe(err)}", restricted.script_line(err)), False


def serve(pipe: _Pipe, ceiling: int) -> None:
    """Answer requests until the parent goes away, a script hits the memory limit, or what the worker holds has
    grown past ``ceiling`` (a fragmented heap would make the next script hit the limit sooner): then the parent
    is told before anything runs, and hands the request to a fresh worker."""
    while True:
        try:
            request = pipe.receive()
        except sandbox_wire.WorkerGone:
            return
        assert isinstance(request, tuple)
        if _address_space() > ceiling:
            pipe.send(("retired",))
            return
        reply, retire = _run(pipe, request)
        del request
        try:
            message = sandbox_wire.dump_tree(reply)
        except MemoryError:
            message, retire = sandbox_wire.dump(("memory", None)), True
        except Exception as err:  # a value pickle cannot take (a generator left in the task data ...)
            reason = "a value that holds itself" if "cyclic" in str(err) else restricted.describe(err)
            message = sandbox_wire.dump(("error", f"it left a value that cannot be kept: {reason}", None))
        del reply
        sandbox_wire.write(pipe.fd_out, message)
        if retire:
            return


def main(argv: list[str]) -> None:
    allowance = int(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the parent, which ends its workers itself
    # The protocol's pipes move off stdin and stdout, so nothing a library prints can corrupt a message.
    pipe = _Pipe(os.dup(0), os.dup(1))
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    # Warm up (the compiler, the helpers), then cap the address space at what that needed plus the allowance.
    restricted.execute("x = [i * 2 for i in range(3)]\ny = 'a' * 2 + f'{1:>3}'", {}, {}, {}, Limits())
    start = _address_space()
    resource.setrlimit(resource.RLIMIT_AS, (start + allowance, start + allowance))
    pipe.send(("ready", os.getpid()))
    serve(pipe, start + allowance // 4)


if __name__ == "__main__":
    main(sys.argv)
