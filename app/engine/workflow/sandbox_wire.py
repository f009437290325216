"""The messages between a process and its sandbox workers: pickled tuples, each behind an 8-byte length.

The parent reads with a deadline (``poll``), so a worker that stops answering, or answers half a message, never
holds it past the script's time budget. What comes from a worker is unpickled with ``load_from_worker``, which
builds only plain values (no class of the parent's is looked up, nothing is called): a worker runs untrusted
code, so its messages are data, never instructions.
"""
from __future__ import annotations

import io
import os
import pickle
import select
import struct
import time
from typing import Any

_HEADER = struct.Struct("!Q")
_CHUNK = 1 << 20
_FIRST = 1 << 15  # below malloc's mmap threshold: a small message costs no mmap/munmap
_SLICE = 0.1  # seconds
# The classes a value coming back from a script may contain, beyond what pickle builds without a lookup (None,
# bool, int, float, str, bytes, list, tuple, dict): what task data may hold. Not ``range``: ``"a" in range(10**18)``
# loops in C, and expressions of a bounded shape run in the parent (bounded.py).
_SAFE_CLASSES = {
    ("builtins", name) for name in ("set", "frozenset", "complex", "bytearray")
} | {("datetime", name) for name in ("date", "datetime", "time", "timedelta", "timezone")} \
  | {("decimal", "Decimal"), ("collections", "OrderedDict")}


class WorkerGone(Exception):
    """The worker closed its end (it ended, or was ended)."""


class TooSlow(Exception):
    """The deadline passed before the worker answered."""


class TooLarge(Exception):
    """The worker announced a message larger than the parent accepts."""


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_CLASSES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a value of type {module}.{name} cannot be handed back from the sandbox")


def load_from_worker(payload: bytes) -> object:
    try:
        return _DataUnpickler(io.BytesIO(payload)).load()
    except pickle.UnpicklingError:
        raise
    except Exception as err:  # truncated or made up: whatever pickle raises for it is the worker's fault
        raise pickle.UnpicklingError(f"not a message ({type(err).__name__}: {err})") from None


def dump(message: object) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


def dump_tree(message: object) -> bytes:
    """``dump`` without pickle's memo: an object the message holds twice is written twice. What a worker hands
    back is then a tree as large as it is written, never a small graph that repeats itself (``a = [x, x]``,
    ``b = [a, a]`` ... 60 times) to explode when the task data is stored as JSON: such a value grows past the
    worker's memory limit while it is written, in the worker. (A value that holds itself cannot be written.)"""
    buffer = io.BytesIO()
    buffer.write(b"\0" * _HEADER.size)
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(message)
    _HEADER.pack_into(buffer.getbuffer(), 0, buffer.tell() - _HEADER.size)
    return buffer.getvalue()


def write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except (BrokenPipeError, ConnectionResetError) as err:
        raise WorkerGone(str(err)) from err


def read_blocking(fd: int) -> bytes:
    """One message's payload (the worker's side: it waits for its parent as long as it takes)."""
    return _read_message(fd, None, 1 << 62)


def read_until(fd: int, deadline: float, max_size: int) -> bytes:
    """One message's payload, by ``deadline`` (time.monotonic()) and at most ``max_size`` bytes long."""
    return _read_message(fd, deadline, max_size)


def _read_message(fd: int, deadline: float | None, max_size: int) -> bytes:
    # The two sides take turns (a request, then calls and their answers, then the reply), so whatever is in the
    # pipe belongs to one message: read the header and the start of the payload at once.
    poller = None
    if deadline is not None:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
    received = _read(fd, _FIRST, deadline, poller)
    while len(received) < _HEADER.size:
        received += _read(fd, _FIRST, deadline, poller)
    size = _HEADER.unpack_from(received)[0]
    if size > max_size:
        raise TooLarge(f"{size:,} bytes")
    chunks, missing = [received[_HEADER.size:]], size - (len(received) - _HEADER.size)
    if missing < 0:
        raise WorkerGone("it sent more than one message at once")
    while missing:
        chunk = _read(fd, min(missing, _CHUNK), deadline, poller)
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _read(fd: int, size: int, deadline: float | None, poller: select.poll | None) -> bytes:
    while poller is not None and deadline is not None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TooSlow()
        # In slices: an interrupt that wakes no system call (another thread's signal, _thread.interrupt_main) is
        # raised between two of them.
        if poller.poll(min(remaining, _SLICE) * 1000):
            break
    chunk = os.read(fd, size)
    if not chunk:
        raise WorkerGone("end of file")
    return chunk
