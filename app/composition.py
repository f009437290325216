"""The composition root: the one place that puts the engine together with the code above it.

The engine never imports the service-task handlers (``app.tasks``, a floor above it); every program (the web
app, the CLI, the scheduler, the benchmarks and the tests) builds its runtime here, which hands the handlers to
the engine as its operators."""
from __future__ import annotations

from typing import Any

from app.engine.runtime import Runtime


def build_runtime(url: str | None = None, **options: Any) -> Runtime:
    """A runtime with the service-task handlers registered; ``options`` as for ``Runtime``."""
    from app.tasks import OPERATORS  # noqa: PLC0415 - registers the handlers on first use

    options.setdefault("operators", OPERATORS)
    return Runtime(url, **options)
