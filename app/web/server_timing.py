"""``Server-Timing: app;dur=<ms>`` on every response: the time this process spent on the request, from the WSGI
call to the moment its headers go out (Flask has built the whole body by then).

Operators and the HTTP benchmark (bench/http_load.py) read a page's server time from it, apart from the
network and the queue in front of the workers; browsers show it in their developer tools. It names no route,
user or query, so it tells a caller nothing beyond how long its own request took.
"""
from __future__ import annotations

import time


class ServerTiming:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        began = time.perf_counter()

        def timed_start_response(status, headers, exc_info=None):
            elapsed = (time.perf_counter() - began) * 1000
            return start_response(status, [*headers, ("Server-Timing", f"app;dur={elapsed:.1f}")], exc_info)

        return self.wsgi_app(environ, timed_start_response)
