"""Running one command again when it lost a race on its process instance, for adapters (API, pages).

Three departments submitting their findings at the same moment all step the same instance: the first commit
wins the lock version, the others lose with StaleInstance although their own tasks are still ready. Such a
command is simply run again, in a new unit of work on fresh state (bounded, with a little jitter so the
losers do not collide again). A command whose own target is gone fails with a plain Conflict and is not
retried: the caller gets its 409.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from app.engine.core.errors import StaleInstance

if TYPE_CHECKING:
    from app.engine.runtime import Runtime, UnitOfWork

T = TypeVar("T")
ATTEMPTS = 5


def run_with_retry(runtime: Runtime, command: Callable[[UnitOfWork], T], *, attempts: int = ATTEMPTS) -> T:
    """``command(uow)`` in its own unit of work, committed; run again on StaleInstance, up to ``attempts``."""
    for attempt in range(1, attempts + 1):
        try:
            with runtime.unit_of_work() as uow:
                return command(uow)
        except StaleInstance:
            if attempt == attempts:
                raise
            time.sleep(random.uniform(0, 0.005 * 2 ** attempt))  # 0-10 ms, 0-20 ms, ...
    raise AssertionError("unreachable")
