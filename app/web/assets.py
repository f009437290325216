"""The front-end bundles of static/build/ (frontend/build.mjs): the pages name each by a URL carrying a hash of its
content (``asset_url``), so a browser keeps it for a year yet fetches a new build at once; a browser that accepts
gzip gets the ``.gz`` build.mjs writes beside it (modeler.js: 1.8 MB, a fifth of that compressed)."""
from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from flask import Flask, Response, current_app, request, send_file, url_for
from werkzeug.security import safe_join

BUILD = "build/"
A_YEAR = 365 * 24 * 3600
_HASHES: dict[str, tuple[int, int, str]] = {}  # path -> (mtime_ns, size, hash): a rebuild changes the hash


def init_app(app: Flask) -> None:
    app.jinja_env.globals["asset_url"] = asset_url

    def static(filename: str) -> Response:
        # Only the URL asset_url made (the hash of the file as it is now) may be kept long; any other (an old
        # page's, a hand-typed one) is answered as every static file is: revalidated.
        path = _built_file(filename)
        if path is not None and request.args.get("v") == content_hash(path):
            return _send(path)
        return app.send_static_file(filename)  # what Flask's own static view does

    app.view_functions["static"] = static


def asset_url(filename: str) -> str:
    """``build/modeler.js`` -> ``/static/build/modeler.js?v=<hash of its content>``."""
    path = _built_file(filename)
    if path is None:  # not built: the plain URL, whose 404 the browser tests report
        return url_for("static", filename=filename)
    return url_for("static", filename=filename, v=content_hash(path))


def content_hash(path: Path) -> str:
    stat = path.stat()
    known = _HASHES.get(str(path))
    if known and known[:2] == (stat.st_mtime_ns, stat.st_size):
        return known[2]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    _HASHES[str(path)] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


def _built_file(filename: str) -> Path | None:
    if not filename.startswith(BUILD) or filename.endswith(".gz") or current_app.static_folder is None:
        return None
    joined = safe_join(current_app.static_folder, filename)
    return Path(joined) if joined and Path(joined).is_file() else None


def _send(path: Path) -> Response:
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    compressed = path.with_name(path.name + ".gz")
    gzip = (request.accept_encodings["gzip"] > 0 and compressed.is_file()
            and compressed.stat().st_mtime_ns >= path.stat().st_mtime_ns)  # a .gz older than its file is stale
    response = send_file(compressed if gzip else path, mimetype=mimetype, max_age=A_YEAR, conditional=True)
    if gzip:
        response.headers["Content-Encoding"] = "gzip"
    response.cache_control.public = True
    response.cache_control.immutable = True
    response.vary.add("Accept-Encoding")
    return response
