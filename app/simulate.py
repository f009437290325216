"""Drive complaints through their full lifecycle (CLI `simulate`, bench): one unit of work per step, as for a
person clicking through the pages. The answers come from app/engine/simulation.py."""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

from app.engine.core.retry import run_with_retry
from app.engine.demo import simulation


@dataclass
class SimulationResult:
    complaints: int
    tasks_completed: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.complaints / self.seconds if self.seconds else float("inf")


def simulate(runtime, count: int, *, start: int = 0) -> SimulationResult:
    with runtime.unit_of_work() as uow:
        actors = simulation.load_actors(uow)
    began, completed = time.perf_counter(), 0
    for n in range(start, start + count):
        complaint_id = run_with_retry(runtime, partial(simulation.register_case, actors=actors, n=n))
        visits: dict[str, int] = {}
        while run_with_retry(runtime, partial(simulation.complete_next_task, actors=actors, complaint_id=complaint_id,
                                              n=n, visits=visits)):
            completed += 1
    return SimulationResult(complaints=count, tasks_completed=completed, seconds=time.perf_counter() - began)
