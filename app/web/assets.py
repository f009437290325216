"""The front-end bundles of static/build/ (frontend/build.mjs): the pages name each entry (diagram.js, modeler.js,
differ.js and their CSS) by a URL carrying a hash of its content (``asset_url``), so a browser keeps it for a year
yet fetches a new build at once. The entries are ES modules importing chunks (chunks/chunk-<hash>.js, the npm
packages apart from our code) whose names already carry the hash of their content: build.mjs's meta.json lists
them, and they are kept a year under their plain URL, the one the entries' imports ask for. ``module_preloads``
names the chunks an entry imports, for ``<link rel="modulepreload">``. A browser that accepts gzip gets the ``.gz``
build.mjs writes beside each file (the modeler's vendor chunk: 1.5 MB, a fourth of that compressed)."""
from __future__ import annotations

import hashlib
import json
import mimetypes
from pathlib import Path

from flask import Flask, Response, current_app, request, send_file, url_for
from werkzeug.security import safe_join

BUILD = "build/"
A_YEAR = 365 * 24 * 3600
_HASHES: dict[str, tuple[int, int, str]] = {}  # path -> (mtime_ns, size, hash): a rebuild changes the hash
META = "meta.json"  # build.mjs: {"outputs": {file: {"entry": bool, "imports": [file, ...]}}}, files relative to build/
_META: dict[str, tuple[int, dict]] = {}  # path of meta.json -> (mtime_ns, its outputs)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["asset_url"] = asset_url
    app.jinja_env.globals["module_preloads"] = module_preloads

    def static(filename: str) -> Response:
        # Only the URL asset_url made (the hash of the file as it is now) may be kept long; any other (an old
        # page's, a hand-typed one) is answered as every static file is: revalidated.
        path = _built_file(filename)
        if path is not None and (request.args.get("v") == content_hash(path) or _is_chunk(filename)):
            return _send(path)
        return app.send_static_file(filename)  # what Flask's own static view does

    app.view_functions["static"] = static


def asset_url(filename: str) -> str:
    """``build/modeler.js`` -> ``/static/build/modeler.js?v=<hash of its content>``."""
    path = _built_file(filename)
    if path is None:  # not built: the plain URL, whose 404 the browser tests report
        return url_for("static", filename=filename)
    return url_for("static", filename=filename, v=content_hash(path))


def module_preloads(filename: str) -> list[str]:
    """The URLs of the chunks an entry (``build/modeler.js``) imports, directly or through other chunks, as its
    imports ask for them: the page names them in ``<link rel="modulepreload">`` so the browser fetches them
    beside the entry, not one round trip after it."""
    outputs = _outputs()
    found: list[str] = []
    pending = list(outputs.get(filename.removeprefix(BUILD), {}).get("imports", []))
    while pending:
        chunk = pending.pop(0)
        if chunk not in found:
            found.append(chunk)
            pending += outputs.get(chunk, {}).get("imports", [])
    return [url_for("static", filename=BUILD + chunk) for chunk in found]


def _is_chunk(filename: str) -> bool:
    """A file the build names by the hash of its content (a chunk, a font): what its name says never changes."""
    output = _outputs().get(filename.removeprefix(BUILD))
    return output is not None and not output.get("entry")


def _outputs() -> dict[str, dict]:
    if current_app.static_folder is None:
        return {}
    path = Path(current_app.static_folder) / BUILD / META
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:  # not built
        return {}
    known = _META.get(str(path))
    if known is None or known[0] != mtime:
        known = _META[str(path)] = (mtime, json.loads(path.read_text(encoding="utf-8")).get("outputs", {}))
    return known[1]


def content_hash(path: Path) -> str:
    stat = path.stat()
    known = _HASHES.get(str(path))
    if known and known[:2] == (stat.st_mtime_ns, stat.st_size):
        return known[2]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    _HASHES[str(path)] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


def _built_file(filename: str) -> Path | None:
    if not filename.startswith(BUILD) or filename.endswith((".gz", META)) or current_app.static_folder is None:
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
