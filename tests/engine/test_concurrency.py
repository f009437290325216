"""Races on one case: one task completed twice, three departments at once, two schedulers on the same timers.
Exactly one winner where there can be only one; nothing lost, nothing applied twice."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.composition import build_runtime
from app.engine.core.errors import Conflict, StaleInstance
from app.engine.core.retry import run_with_retry
from app.engine.models import AuditEvent, OutboxMessage, ProcessInstance, Timer
from app.engine.process import steps
from app.engine.work import user_tasks
from app.scheduler import fire_due_timers

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches


def _race(runtime, calls, *, both_loaded_first: bool, retry: bool = False):
    """Run the calls in threads; with ``both_loaded_first`` every thread loads the instance before any of
    them writes (on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE, so it would wait forever)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    original_load = steps.load_instance
    waited = threading.local()

    def load_then_wait(*args, **kwargs):
        step = original_load(*args, **kwargs)
        if both_loaded_first and not getattr(waited, "done", False):
            waited.done = True  # only the first attempt: a retry must not wait for the others again
            barrier.wait(timeout=10)
        return step

    def run(index, call):
        try:
            if retry:
                results[index] = run_with_retry(runtime, call)
            else:
                with runtime.unit_of_work() as uow:
                    results[index] = call(uow)
        except Exception as err:
            results[index] = err

    steps.load_instance = load_then_wait
    try:
        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        steps.load_instance = original_load
    return results


def test_two_completions_of_the_same_task_one_wins_one_conflicts(case, actors):
    cid = case.register()
    task = case.task(cid, "classify_complaint")
    intake, coordinator = actors["intake"], actors["coordinator"]
    data = {"category": "fees_charges", "severity": "general", "product": "credit_card"}
    # Retried like the API does: the loser's retry finds its task gone, a plain Conflict (409).
    results = _race(case.runtime, [lambda uow: user_tasks.complete_user_task(uow, intake, task.id, data),
                                   lambda uow: user_tasks.complete_user_task(uow, coordinator, task.id, data)],
                    both_loaded_first=case.runtime.database.is_postgresql, retry=True)
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(conflicts) == 1 and not isinstance(conflicts[0], StaleInstance), results
    assert "already completed" in conflicts[0].message
    assert len([r for r in results if not isinstance(r, Exception)]) == 1
    assert case.ready_names(cid) == ["triage_complaint"]
    with case.runtime.unit_of_work() as uow:
        completed = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "task_completed", AuditEvent.complaint_id == cid))
        acknowledgements = uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.complaint_id == cid, OutboxMessage.kind == "acknowledgement"))
    assert (completed, acknowledgements) == (1, 1)


@pytest.mark.parametrize("retry", [True, False], ids=["with_retry", "without_retry"])
def test_three_departments_submitting_at_the_same_moment_all_succeed(case, actors, retry):
    """Their tasks are all still ready: losing the instance lock to a sibling is retried on fresh state."""
    departments = ("cards", "operations", "retail_lending")
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards", co=departments[1:])
    tasks = {t.department: t for t in case.ready(cid)}
    assert sorted(tasks) == sorted(departments)
    data = {"facts": "checked", "root_cause": "x", "proposed_remedy": "y"}
    calls = [lambda uow, d=d: user_tasks.complete_user_task(uow, actors[f"{d}.officer"], tasks[d].id, data)
             for d in departments]
    postgresql = case.runtime.database.is_postgresql
    results = _race(case.runtime, calls, both_loaded_first=postgresql, retry=retry)
    if postgresql and not retry:
        # All three read the same version: one write wins, the other two are refused and nothing of them is kept.
        assert sum(isinstance(r, StaleInstance) for r in results) == 2, results
        [winner] = [r for r in results if not isinstance(r, Exception)]
        assert winner.completed
        assert sorted(t.department for t in case.ready(cid)) == sorted(d for d in departments
                                                                       if d != winner.task.department)
        return
    # With retries every loser goes again on fresh state. On SQLite the writers are serialised (BEGIN IMMEDIATE
    # before the step's first read), so even without a retry each one reads the version its predecessor wrote.
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(r.completed for r in results)
    draft = case.task(cid, "draft_resolution")
    assert sorted(f["department"] for f in draft.context["findings"]) == sorted(departments)


def test_a_stale_write_is_refused_by_the_lock_version(case, actors, monkeypatch):
    cid = case.register()
    task = case.task(cid, "classify_complaint")
    original_load = steps.load_instance

    def load_then_someone_else_commits(uow, *args, **kwargs):
        step = original_load(uow, *args, **kwargs)
        # Another step committed meanwhile: it bumped the version behind this session's back.
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == step.row.id)
                            .values(lock_version=ProcessInstance.lock_version + 1)
                            .execution_options(synchronize_session=False))
        return step

    monkeypatch.setattr(steps, "load_instance", load_then_someone_else_commits)
    with pytest.raises(StaleInstance):
        case.classify(cid)
    monkeypatch.setattr(steps, "load_instance", original_load)
    assert case.ready_names(cid) == ["classify_complaint"]
    assert case.task(cid, "classify_complaint").id == task.id


def test_two_schedulers_in_parallel_fire_each_timer_exactly_once(case, clock):
    cids = [case.register(n) for n in range(12)]
    now = clock.advance(hours=25)
    second = build_runtime(case.runtime.database.url, clock=clock)  # another process: its own pool and caches
    reports: list = [None, None]

    def run(index, runtime):
        reports[index] = fire_due_timers(runtime, now, batch=5)

    try:
        threads = [threading.Thread(target=run, args=(i, rt)) for i, rt in enumerate((case.runtime, second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        second.close()
    assert all(r is not None and r.failures == {} for r in reports), reports
    assert sum(r.fired for r in reports) == len(cids)
    with case.runtime.unit_of_work() as uow:
        states = uow.session.execute(select(Timer.state, func.count()).where(
            Timer.element_id == "first_response_overdue").group_by(Timer.state)).all()
        fired_events = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "timer_fired"))
        breaches = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "sla_breached"))
    assert dict(states) == {"fired": len(cids)}
    assert fired_events == breaches == len(cids)
    assert all(case.complaint(cid).escalation_level == 1 for cid in cids)
    assert fire_due_timers(case.runtime, now + timedelta(seconds=1)).fired == 0
