"""Parsed specs cached per definition version: parsed (or restored) once per process, never per step."""
from __future__ import annotations

import threading
from typing import Callable

from app.engine.workflow.serialization import load_specs


class SpecCache:
    def __init__(self):
        self._specs: dict[int, tuple] = {}
        self._lock = threading.Lock()

    def get(self, definition_id: int, load_serialized: Callable[[], str]):
        cached = self._specs.get(definition_id)
        if cached is None:
            with self._lock:
                cached = self._specs.get(definition_id)
                if cached is None:
                    cached = load_specs(load_serialized())
                    self._specs[definition_id] = cached
        return cached

    def put(self, definition_id: int, spec, subprocess_specs) -> None:
        with self._lock:
            self._specs[definition_id] = (spec, subprocess_specs)

    def __len__(self) -> int:
        return len(self._specs)
