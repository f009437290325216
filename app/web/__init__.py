"""The web adapter: the app factory. Flask is imported here and below, never by app.engine."""
from __future__ import annotations

import logging
import os
from typing import cast

from flask import Flask, current_app
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from app.composition import build_runtime
from app.engine.runtime import Runtime

log = logging.getLogger(__name__)


def create_app(runtime: Runtime | None = None, config: dict | None = None, *,
               instance_path: str | None = None) -> Flask:
    app = Flask(__name__, instance_path=instance_path)
    app.config.from_mapping(config or {})
    app.config["MAX_CONTENT_LENGTH"] = (config or {}).get("MAX_CONTENT_LENGTH", 1024 * 1024)  # larger: 413 JSON
    # Bodies keep their declared order (a form's fields in display order); Flask's default provider has sort_keys.
    cast("DefaultJSONProvider", app.json).sort_keys = False
    app.extensions["complaintflow"] = runtime or build_runtime()

    from app.web import (  # noqa: PLC0415 - they use current_runtime() from here
        api,
        assets,
        bidi,
        errors,
        openapi,
        request_input,
        security,
        throttle,
        uploads,
    )

    # Before any route is added: every id in an address, <int:...> of the pages as <id:...> of the API, is
    # 1 .. 2^31-1 or the route does not match (404); a larger one overflowed PostgreSQL's integer (a 500).
    app.url_map.converters.update(int=openapi.RowId, id=openapi.RowId)
    app.before_request(uploads.allow_file_bodies)  # first: the body limit is applied when the body is read
    app.before_request(request_input.refuse_unusable_input)  # NUL, control characters: 422 naming the parameter
    app.jinja_env.filters["bidi"] = bidi.isolate  # names and free text, isolated from the page around them
    security.init_app(app, config or {})
    assets.init_app(app)  # the bundles of static/build/: hashed URLs, kept a year, gzip
    throttle.init_app(app)
    _trust_proxies(app)
    api.register(app)
    errors.register(app)  # after api.register: app/web/errors.py is the one error mapping, whatever registered
    from app.web import pages  # noqa: PLC0415 - the staff workspace; "/" is its sign-in / inbox redirect
    pages.register(app)  # after errors.register: browser routes get HTML error pages, /api/v1 keeps JSON
    app.add_url_rule("/healthz", "healthz", healthz)
    from app.web.server_timing import ServerTiming  # noqa: PLC0415
    # outermost: it times everything the app does. Wrapping wsgi_app is Flask's documented way to add middleware.
    app.wsgi_app = ServerTiming(app.wsgi_app)  # type: ignore[method-assign]
    return app


def _trust_proxies(app: Flask) -> None:
    # Behind N reverse proxies the client's address is in X-Forwarded-For; the sign-in limits per address need
    # it (otherwise every client would share the proxy's address). Trust only as many hops as are really there.
    hops = int(app.config.get("TRUSTED_PROXIES", os.environ.get("COMPLAINTFLOW_TRUSTED_PROXIES", "0")))
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def current_runtime() -> Runtime:
    return current_app.extensions["complaintflow"]


def index():
    return {
        "service": "complaintflow",
        "status": "up",
        "api": "/api/v1",
        "health": "/healthz",
        "hint": "Authenticate with HTTP Basic as a demo user (config/demo_users.toml, e.g. intake / intake-demo) "
                "or with 'Authorization: Bearer <token>'.",
    }


def healthz():
    if not _database_answers(current_runtime()):
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok"}


def _database_answers(runtime: Runtime) -> bool:
    # A raw DBAPI connection: no unit of work, so on SQLite no BEGIN IMMEDIATE waiting behind a busy writer.
    try:
        connection = runtime.database.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            cursor.close()
        finally:
            connection.close()
    except Exception:
        log.exception("Health check: the database did not answer")
        return False
    return True
