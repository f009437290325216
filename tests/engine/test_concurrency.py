"""Two people, one task: exactly one wins, the other gets a Conflict, and nothing is applied twice."""
import threading

import pytest
from sqlalchemy import func, select, update

from app.engine.errors import Conflict
from app.engine.models import AuditEvent, OutboxMessage, ProcessInstance
from app.engine.services import instances, user_tasks


def _race(runtime, calls, *, both_loaded_first: bool):
    """Run the calls in threads; on PostgreSQL make every thread load the instance before any writes."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    original_load = instances.load_instance

    def load_then_wait(*args, **kwargs):
        loaded = original_load(*args, **kwargs)
        if both_loaded_first:
            barrier.wait(timeout=10)
        return loaded

    def run(index, call):
        try:
            with runtime.unit_of_work() as uow:
                results[index] = call(uow)
        except Exception as err:  # noqa: BLE001 - the outcome is what the test inspects
            results[index] = err

    instances.load_instance = load_then_wait
    try:
        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        instances.load_instance = original_load
    return results


def test_two_completions_of_the_same_task_one_wins_one_conflicts(case, actors):
    cid = case.register()
    task = case.task(cid, "classify_complaint")
    intake, coordinator = actors["intake"], actors["coordinator"]
    data = {"category": "fees_charges", "severity": "general", "product": "Card"}
    # SQLite serialises writers (BEGIN IMMEDIATE), so the loser only starts once the winner committed.
    results = _race(case.runtime, [lambda uow: user_tasks.complete_user_task(uow, intake, task.id, data),
                                   lambda uow: user_tasks.complete_user_task(uow, coordinator, task.id, data)],
                    both_loaded_first=case.runtime.database.is_postgresql)
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(conflicts) == 1, results
    assert len([r for r in results if not isinstance(r, Exception)]) == 1
    assert case.ready_names(cid) == ["triage_complaint"]
    with case.runtime.unit_of_work() as uow:
        completed = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "task_completed", AuditEvent.complaint_id == cid))
        acknowledgements = uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.complaint_id == cid, OutboxMessage.kind == "acknowledgement"))
    assert (completed, acknowledgements) == (1, 1)


def test_two_steps_on_one_instance_never_lose_an_update(case, actors):
    """Two departments finish their parallel investigations at the same moment."""
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards", co=["operations"])
    tasks = {t.department: t for t in case.ready(cid)}
    data = {"facts": "checked", "root_cause": "x", "proposed_remedy": "y"}
    calls = [lambda uow, d=d: user_tasks.complete_user_task(uow, actors[f"{d}.officer"], tasks[d].id, data)
             for d in ("cards", "operations")]
    results = _race(case.runtime, calls, both_loaded_first=case.runtime.database.is_postgresql)
    if case.runtime.database.is_postgresql:
        # Both read the same version: the second write is refused.
        assert sum(isinstance(r, Conflict) for r in results) == 1, results
    for department, result in zip(("cards", "operations"), results):
        if isinstance(result, Conflict):  # the loser retries, as a person would after the 409
            case.investigate(cid, department)
        else:
            assert not isinstance(result, Exception), result
    draft = case.task(cid, "draft_resolution")
    assert sorted(f["department"] for f in draft.context["findings"]) == ["cards", "operations"]


def test_a_stale_write_is_refused_by_the_lock_version(case, actors):
    cid = case.register()
    runtime = case.runtime
    with runtime.unit_of_work() as uow:
        instance_id = uow.session.scalar(select(ProcessInstance.id).where(ProcessInstance.complaint_id == cid))
    with pytest.raises(Conflict):
        with runtime.unit_of_work() as stale:
            loaded = instances.load_instance(stale, instance_id, actors["intake"])
            # Another step committed meanwhile: it bumped the version behind this session's back.
            stale.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                                  .values(lock_version=ProcessInstance.lock_version + 1)
                                  .execution_options(synchronize_session=False))
            instances.save_instance(stale, loaded)
    assert case.ready_names(cid) == ["classify_complaint"]
