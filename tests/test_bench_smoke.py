"""The benchmarks are run by hand; this only checks that each one still imports and that the bulk loader they
share builds realistic data (a few clones of real lifecycles) on the test database."""
from __future__ import annotations

import importlib

import pytest
from sqlalchemy import func, select

from app.engine.models import Complaint, ProcessInstance, Timer, UserTask
from app.engine.work import worklist


@pytest.mark.parametrize("name", ["bench.lifecycle", "bench.http_load", "bench.timers", "bench.data",
                                  "bench.sender", "bench.state_storage", "bench.complaint_list",
                                  "bench.unit_of_work"])
def test_bench_module_imports(name):
    module = importlib.import_module(name)
    assert module.__doc__


def test_data_loader_clones_real_lifecycles(demo, actors):
    from bench.data import load_complaints

    summary = load_complaints(demo, total=40, open_=12)
    assert (summary.complaints, summary.open) == (40, 12)
    with demo.unit_of_work() as uow:
        session = uow.session
        assert session.scalar(select(func.count()).select_from(Complaint)) == 40
        assert session.scalar(select(func.count()).select_from(Complaint).where(Complaint.status != "closed")) == 12
        assert session.scalar(select(func.count(func.distinct(Complaint.tracking_number)))) == 40
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) >= 40
        assert session.scalar(select(func.count()).select_from(Timer).where(Timer.state == "waiting")) >= 12
        # The clones are ready to work on: the coordinator sees their tasks, and one completes for real.
        page = worklist.list_tasks(uow, actors["coordinator"], view="all", limit=200)
    assert len({item.complaint_id for item in page.items}) == 12
    item = next(i for i in page.items if i.name == "classify_complaint" and i.complaint_id > 15)
    from app.engine.demo.simulation import answer
    from app.engine.work import user_tasks
    with demo.unit_of_work() as uow:
        user_tasks.complete_user_task(uow, actors["intake"], item.id, answer(1, item.name, 1, ["cards"]))
    with demo.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(UserTask).where(
            UserTask.complaint_id == item.complaint_id, UserTask.element_id == "triage_complaint")) == 1


def test_the_lifecycle_baselines_run_the_shipped_diagrams():
    # The in-memory targets of bench/lifecycle.py give the diagrams only the functions they call: a diagram that
    # calls a new one (is_urgent) must be given it there too, or the baseline stops at its first script task.
    from app.engine.config.settings import load_settings
    from app.engine.core.clock import SystemClock
    from bench.lifecycle import InMemory, SpiffAlone, plans

    settings = load_settings()
    memory = InMemory(settings, SystemClock())
    numbers = range(12)   # enough for fund-security (urgent) complaints, rejections and reopenings
    spiff = SpiffAlone(settings, plans(memory, numbers))
    for n in numbers:
        assert spiff.lifecycle(n) > 0
        assert memory.lifecycle(n) > 0
