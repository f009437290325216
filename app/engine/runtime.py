"""The runtime: settings, clock, database, spec cache, forms and service operators, built once per process."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.engine.config.settings import Settings, database_url, load_settings
from app.engine.core.clock import Clock, SystemClock
from app.engine.core.db import Database
from app.engine.forms import FormStore, calendar_choices, classification_choices
from app.engine.workflow.specs import SpecCache, WorkflowCache

# A service-task handler: called with the step's ``ServiceContext`` and the task's evaluated parameters; returns
# the result the diagram stores in the task's result variable. The handlers live above the engine (app/tasks).
Operator = Callable[..., dict]


class Runtime:
    def __init__(self, url: str | None = None, *, operators: Mapping[str, Operator], clock: Clock | None = None,
                 settings: Settings | None = None, workflow_cache_size: int = WorkflowCache.SIZE):
        """``operators``: the service-task handlers by name; the composition root (``app.composition``) passes
        them, so the engine never imports the code above it. ``workflow_cache_size``: how many live workflows
        stay in memory between steps; 0 turns the cache off, every step deserializes the stored state (what a
        process sees whose instances were last stepped elsewhere; the tests' cold mode)."""
        self.settings = settings or load_settings()
        self.clock = clock or SystemClock()
        self.database = Database(url or database_url())
        self.specs = SpecCache()
        self.workflows = WorkflowCache(workflow_cache_size)
        self.workflows.attach(self.database.sessions)
        self.forms = FormStore(self.settings.forms_dir, self.settings.departments,
                               extensions=self.settings.sla_profile.extension_titles(),
                               coded={**classification_choices(self.settings.classification, self.clock.now().date(),
                                                               self.settings.sla_profile.regime),
                                      **calendar_choices(self.settings.sla_profile)})
        self.operators = operators

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """One command = one transaction: commits when the block ends, rolls back if it raises."""
        with self.database.transaction() as session:
            yield UnitOfWork(session, self)

    def close(self) -> None:
        self.database.dispose()


@dataclass
class UnitOfWork:
    session: Session
    runtime: Runtime

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def now(self) -> datetime:
        return self.runtime.clock.now()
