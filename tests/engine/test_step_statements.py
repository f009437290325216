"""A step's cost in SQL statements and in deserializations (issue 15): a plain completion loads its rows in a few
queries and writes only what changed; a step on the version this process saved takes the live workflow from
the cache. The bounds make a regression (a per-row query, an extra flush, a lost cache) fail here."""
from contextlib import contextmanager

import pytest
from sqlalchemy import event, update

from app.engine.models import ProcessInstance
from app.engine.work import user_tasks
from app.engine.workflow import serialization

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches

# A plain completion (an investigation: one task done, the next one created, no timer change). Reads: the task
# with its instance, complaint (the caller's right) and open-incident flag in one query, then the instance's
# timers; warm (on the version this process saved) the ready task rows are known, cold (the workflow loaded from
# its row) they are read in one more query. The definition's spec is cached per process in both.
# Writes: audit INSERT, complaint UPDATE, instance UPDATE (the version check), task UPDATE, task INSERT, and the
# free text the investigator wrote (facts, root cause, remedy) kept apart from the chained audit row, all in one
# INSERT (audit/personal.py).
READS = {"warm": 2, "cold": 3}
WRITES = 6


@contextmanager
def statements(runtime):
    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")):
            seen.append(statement.split("\n")[0][:120])

    event.listen(runtime.database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(runtime.database.engine, "before_cursor_execute", record)


def _complete(case, cid, element_id, data):
    task = case.task(cid, element_id)
    with case.runtime.unit_of_work() as uow:
        user_tasks.get_task(uow, case.actor_for(task), task.id)  # warm the identity map as the view would not
    with statements(case.runtime) as seen, case.runtime.unit_of_work() as uow:
        outcome = user_tasks.complete_user_task(uow, case.actor_for(task), task.id, data)
    assert outcome.completed
    return seen


def test_a_plain_completion_stays_within_its_statement_budget(case, workflow_cache):
    cid = case.register()
    case.classify(cid)
    case.triage(cid)
    seen = _complete(case, cid, "investigate_complaint", {"facts": "Checked the ledger", "root_cause": "Duplicate "
                                                          "posting", "proposed_remedy": "Refund"})
    reads = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    writes = [s for s in seen if s not in reads]
    assert len(reads) == READS[workflow_cache], "\n".join(reads)
    assert len(writes) == WRITES, "\n".join(writes)


def test_a_step_on_the_current_version_skips_deserialization(case, monkeypatch, workflow_cache):
    """Warm, a step on the version this process saved takes the live workflow; cold, every step deserializes.
    The cache's counters agree with the deserializations counted here: one load per step that missed."""
    loads = []
    original = serialization.load_state
    monkeypatch.setattr("app.engine.process.steps.load_state",
                        lambda *a, **kw: loads.append(1) or original(*a, **kw))
    cache = case.runtime.workflows
    cid = case.register()
    case.classify(cid)
    case.triage(cid)
    assert len(loads) == {"warm": 0, "cold": 2}[workflow_cache], "warm: each step ran on the version just saved"
    # Someone else moved the row on (another process): the next step must read the stored state.
    with case.runtime.unit_of_work() as uow:
        row = uow.session.query(ProcessInstance).filter_by(complaint_id=cid).one()
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == row.id)
                            .values(lock_version=row.lock_version + 1))
    case.investigate(cid, "cards")
    assert len(loads) == {"warm": 1, "cold": 3}[workflow_cache]
    assert (cache.hits, cache.misses) == {"warm": (2, 1), "cold": (0, 3)}[workflow_cache]


class _Blocking:
    """Records what the scheduler's wake-up arms (APScheduler's add_job signature)."""

    def __init__(self):
        self.jobs = []

    def add_job(self, func, trigger, **kwargs):
        self.jobs.append((trigger, kwargs))


def test_the_scheduler_wakes_at_the_next_due_time(case, clock):
    from app import scheduler

    cid = case.register()
    due = min(t.due_at for t in case.timers(cid) if t.state == "waiting")
    due = due if due.tzinfo else due.replace(tzinfo=clock.now().tzinfo)
    blocking = _Blocking()
    clock.advance(due - clock.now() - __import__("datetime").timedelta(seconds=0.4))
    scheduler.wake(case.runtime, blocking, echo=lambda _text: None)
    assert [(trigger, kw["run_date"]) for trigger, kw in blocking.jobs] == [("date", due)]
    clock.advance(seconds=1)
    scheduler.wake(case.runtime, blocking, echo=lambda _text: None)
    assert any(t.state == "fired" for t in case.timers(cid)), "a due timer fires on the next poll"
