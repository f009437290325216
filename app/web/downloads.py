"""A stored file handed to a browser or a client: always as a download, never rendered. Content-Disposition:
attachment (with the name in UTF-8, RFC 6266 / 5987), the sniffed type or application/octet-stream, nosniff, and
a sandboxing Content-Security-Policy in case a browser renders it anyway. A PDF or a picture is opened by the
reader's own program, never as part of our pages' origin."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response
from werkzeug.utils import secure_filename

INERT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic",
                         "image/tiff", "text/plain", "message/rfc822",
                         "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})


def file_response(data: bytes, filename: str, media_type: str) -> Response:
    # content_type, not mimetype: no charset is claimed for the customer's bytes (a text may be GB18030).
    response = Response(data, content_type=media_type if media_type in INERT_TYPES else "application/octet-stream")
    # secure_filename keeps [A-Za-z0-9_.-] only: a safe quoted fallback; filename* carries the real (Chinese) name.
    ascii_name = secure_filename(filename) or "attachment"
    response.headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}"; '
                                               f"filename*=UTF-8''{quote(filename, safe='')}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
