"""Process-local caches: parsed specs per definition version (parsed or restored once per process, never per
step) and the live workflows of recently stepped instances."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from app.engine.workflow.serialization import load_specs

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from sqlalchemy.orm import Session, sessionmaker

    from app.engine.workflow.serialization import ProcessSpec, ProcessSpecs


class SpecCache:
    def __init__(self) -> None:
        self._specs: dict[int, ProcessSpecs] = {}
        self._lock = threading.Lock()

    def get(self, definition_id: int, load_serialized: Callable[[], str]) -> ProcessSpecs:
        cached = self._specs.get(definition_id)
        if cached is None:
            with self._lock:
                cached = self._specs.get(definition_id)
                if cached is None:
                    cached = load_specs(load_serialized())
                    self._specs[definition_id] = cached
        return cached

    def put(self, definition_id: int, spec: ProcessSpec, subprocess_specs: dict[str, ProcessSpec]) -> None:
        with self._lock:
            self._specs[definition_id] = (spec, subprocess_specs)

    def __len__(self) -> int:
        return len(self._specs)


class WorkflowCache:
    """Live workflows of recently stepped instances, keyed by instance id, each with the lock version and the
    stored state it was saved as: a step on the current version takes it instead of deserializing (about a
    third of a persisted step's CPU). The instance row's version check on save still guards correctness; the
    state comparison also catches a row rewritten behind the engine's back (a migration, a test).

    A workflow object is not thread-safe: ``take`` removes it, so only the step holding it can touch it, and it
    comes back only through ``put`` after that step committed (``attach``). A conflict or a rollback leaves it
    out. Bounded LRU; size 0 keeps nothing (every step deserializes). ``misses`` counts the steps that had to
    deserialize the stored state, ``hits`` those that took their live workflow from here."""

    PENDING = "complaintflow.workflows_to_cache"
    SIZE = 256

    def __init__(self, size: int = SIZE):
        self.size = size
        self._items: OrderedDict[int, tuple[int, str, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def take(self, instance_id: int, version: int, state: str) -> BpmnWorkflow | None:
        with self._lock:
            item = self._items.pop(instance_id, None)
        if item is not None and item[0] == version and item[1] == state:
            self.hits += 1
            return item[2]
        self.misses += 1
        return None

    def put(self, instance_id: int, version: int, state: str, workflow: BpmnWorkflow) -> None:
        with self._lock:
            self._items[instance_id] = (version, state, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def after_commit(self, session: Session, instance_id: int, version_of: Callable[[], int], state: str,
                     workflow: BpmnWorkflow) -> None:
        """Cache ``workflow`` once ``session``'s transaction has committed (``attach`` did the wiring)."""
        session.info.setdefault(self.PENDING, []).append((instance_id, version_of, state, workflow))

    @contextmanager
    def savepoint(self, session: Session) -> Iterator[None]:
        """A savepoint for one step among several in a transaction (the scheduler): if it rolls back, the
        workflows its step would have cached are forgotten too, those of the steps before it stay pending."""
        before = list(session.info.get(self.PENDING, ()))
        try:
            with session.begin_nested():
                yield
        except BaseException:
            session.info[self.PENDING] = before
            raise

    def attach(self, sessionmaker: sessionmaker[Session]) -> None:
        from sqlalchemy import event  # noqa: PLC0415

        def committed(session):
            for instance_id, version_of, state, workflow in session.info.pop(self.PENDING, ()):
                self.put(instance_id, version_of(), state, workflow)

        def rolled_back(session):
            session.info.pop(self.PENDING, None)

        event.listen(sessionmaker, "after_commit", committed)
        event.listen(sessionmaker, "after_soft_rollback", lambda session, _tx: rolled_back(session))
        event.listen(sessionmaker, "after_rollback", rolled_back)

    def __len__(self) -> int:
        return len(self._items)
