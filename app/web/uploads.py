"""Request bodies that carry files. Every other request is held to the app's MAX_CONTENT_LENGTH (1 MiB); a view
marked ``@accepts_files`` takes a body up to the attachment limit of config/attachments.toml plus the form
around it. Set before the body is read (the app's first before_request), since reading it applies the limit."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, request

from app.web import current_runtime

FORM_OVERHEAD = 64 * 1024   # the multipart boundaries, headers and the other fields of the form
V = TypeVar("V", bound=Callable)


def accepts_files(view: V) -> V:
    view.accepts_files = True  # type: ignore[attr-defined]
    return view


def allow_file_bodies() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "accepts_files", False):
        request.max_content_length = current_runtime().settings.attachments.max_bytes + FORM_OVERHEAD


def file_part(name: str = "file") -> tuple[str, bytes] | None:
    """The uploaded file's name and bytes (read whole: they are within the limit), or None when absent."""
    upload = request.files.get(name)
    if upload is None:
        return None
    try:
        return upload.filename or "", upload.read()
    finally:
        upload.close()  # a large part is spooled to a temporary file: closed now, not by the garbage collector
