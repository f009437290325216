"""The virus scan a file passes before it is kept (config/attachments.toml [scanner]).

``clamd`` streams the bytes to ClamAV's daemon with its INSTREAM command (documented in clamd(8)): "zINSTREAM\\0",
then chunks each preceded by its length as a 4-byte big-endian integer, then a zero length; the answer is
"stream: OK" or "stream: <signature> FOUND". The protocol is small enough that the stale client packages are
not worth a dependency. With clamd configured, a file is refused while it cannot be reached: never kept
unscanned. ``none`` keeps files and marks them "unscanned", so the case page says so.
"""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from app.engine.config.attachments import AttachmentPolicy

CHUNK = 64 * 1024


class ScannerUnavailable(RuntimeError):
    """The configured scanner could not give an answer."""


@dataclass(frozen=True)
class Verdict:
    scan: str                  # "clean" | "infected" | "unscanned"
    signature: str | None = None


def scan(data: bytes, policy: AttachmentPolicy) -> Verdict:
    if policy.scanner == "none":
        return Verdict("unscanned")
    return _clamd(data, policy.scanner_address, policy.scanner_timeout)


def _clamd(data: bytes, address: str, timeout: float) -> Verdict:
    try:
        with _connect(address, timeout) as connection:
            connection.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), CHUNK):
                chunk = data[start:start + CHUNK]
                connection.sendall(struct.pack("!L", len(chunk)) + chunk)
            connection.sendall(struct.pack("!L", 0))
            answer = _read_answer(connection)
    except OSError as err:
        raise ScannerUnavailable(f"clamd at {address}: {err}") from None
    if answer.endswith("FOUND"):
        signature = answer.removeprefix("stream:").removesuffix("FOUND").strip()
        return Verdict("infected", signature or "unknown")
    if answer.endswith("OK"):
        return Verdict("clean")
    raise ScannerUnavailable(f"clamd at {address} answered {answer[:200]!r}")


def _connect(address: str, timeout: float) -> socket.socket:
    if address.startswith("unix:"):
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(timeout)
        connection.connect(address.removeprefix("unix:"))
        return connection
    host, _, port = address.rpartition(":")
    return socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout)


def _read_answer(connection: socket.socket) -> str:
    received = b""
    while not received.endswith(b"\0") and len(received) < 4096:
        part = connection.recv(4096)
        if not part:
            break
        received += part
    return received.rstrip(b"\0").decode("utf-8", "replace").strip()
