"""What every response and every start of the app gets: security headers, the secret key, cookie flags."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, Response, request

SECRET_KEY_VARIABLE = "COMPLAINTFLOW_SECRET_KEY"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # older browsers; the CSP below is the current way to refuse framing
    # same-origin, not no-referrer: Flask-WTF's CSRF check on HTTPS compares the Referer with the host.
    "Referrer-Policy": "same-origin",
}


def is_production() -> bool:
    return os.environ.get("COMPLAINTFLOW_ENV", "development") == "production"


def init_app(app: Flask, given: dict) -> None:
    """``given``: the configuration create_app was called with; what it sets is left alone."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(Path(app.instance_path))
    production = is_production()
    # Flask-Login's remember-me cookie gets the same flags as the session cookie.
    for prefix in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        for name, value in (("SECURE", production), ("HTTPONLY", True), ("SAMESITE", "Lax")):
            if f"{prefix}_{name}" not in given:
                app.config[f"{prefix}_{name}"] = value
    app.after_request(add_security_headers)


def secret_key(instance_dir: Path) -> str:
    """From COMPLAINTFLOW_SECRET_KEY; in production nothing else will do. In development, from
    ``instance/secret_key``, made (readable by the owner only) on the first start."""
    key = os.environ.get(SECRET_KEY_VARIABLE)
    if key:
        return key
    if is_production():
        raise RuntimeError(f"COMPLAINTFLOW_ENV=production needs a secret key: set {SECRET_KEY_VARIABLE} to a long "
                           "random value, e.g. the output of: python -c 'import secrets; print(secrets.token_hex(32))'")
    path = instance_dir / "secret_key"
    instance_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two workers starting at once must not each write a different key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
        key = secrets.token_hex(32)
        fh.write(key + "\n")
    return key


# The pages' policy: scripts, styles, images, fonts and fetches from this origin only (the bpmn-js bundles are
# served locally), no plugins, forms post here. Inline style attributes stay allowed: bpmn-js and the properties
# panel set them on the diagram's elements; inline *scripts* do not (the pages have none: static/js/).
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
               "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")


def add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    csp = response.headers.get("Content-Security-Policy")
    if csp is None:
        response.headers["Content-Security-Policy"] = (PAGE_POLICY if response.mimetype == "text/html"
                                                       else "frame-ancestors 'none'")
    elif "frame-ancestors" not in csp:
        response.headers["Content-Security-Policy"] = f"{csp}; frame-ancestors 'none'"
    # Nearly every answer carries personal data (API, case pages, errors echoing input): nothing of it may be
    # kept in a browser or proxy cache. Static assets hold none and keep their own policy.
    if not _is_static(request.endpoint):
        response.headers["Cache-Control"] = "no-store"
    return response


def _is_static(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))
