"""Files for the attachment tests: real bytes of each kind a customer or an attacker might send."""
from __future__ import annotations

import io
import socket
import struct
import threading
import zipfile

PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154"
                    "78da63f8cf00000301010018dd8db00000000049454e44ae426082")
CHINESE_TEXT = "您好，我的信用卡年费被重复扣了两次，请退还。".encode("gb18030")
HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/tasks')</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b"<script>alert(document.cookie)</script></svg>")
EXE = b"MZ" + b"\x90\x00" * 29 + b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00" + b"\x4c\x01" + b"\x00" * 200
# The EICAR test string: every scanner reports it, it harms nothing.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def docx(document: bytes = b"<w:document/>", *, macros: bool = False) -> bytes:
    """A Word file as Word writes its skeleton (libmagic names it by its first parts)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.'
                         'openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", document)
        if macros:
            archive.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0macro")
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """60 MiB of zeros in a 60 KiB Word file."""
    return docx(b"\0" * (60 * 1024 * 1024))


class FakeClamd:
    """clamd's INSTREAM protocol on a local port, reporting EICAR as found: the scanner's client talks to it as
    to ClamAV (whose signature updates cannot be downloaded here)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.scanned: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                command = b""
                while not command.endswith(b"\0"):
                    command += connection.recv(1)
                data = b""
                while True:
                    (length,) = struct.unpack("!L", _exactly(connection, 4))
                    if length == 0:
                        break
                    data += _exactly(connection, length)
                self.scanned.append(data)
                answer = b"stream: Eicar-Test-Signature FOUND\0" if EICAR in data else b"stream: OK\0"
                connection.sendall(answer)

    def close(self):
        try:  # wakes the thread blocked in accept(); close() alone leaves the port open until it returns
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.close()
        self.thread.join(timeout=5)


def _exactly(connection, count: int) -> bytes:
    data = b""
    while len(data) < count:
        part = connection.recv(count - len(data))
        if not part:
            raise ConnectionError("closed")
        data += part
    return data
