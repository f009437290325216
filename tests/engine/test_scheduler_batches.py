"""The scheduler fires several instances per transaction, each step in a savepoint (issue 15): a failing step loses
nothing of the others (tests/engine/test_incidents.py), and a commit that fails for the whole batch is retried one
instance per transaction, so every timer still fires, once."""
import pytest
from sqlalchemy import event, func, select

from app.engine.models import AuditEvent
from app.scheduler import fire_due_timers

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches


def test_a_batch_whose_commit_fails_is_fired_again_one_instance_at_a_time(case, clock):
    cids = [case.register(n) for n in range(3)]
    clock.advance(hours=25)
    commits = []

    def fail_the_batch(connection):
        commits.append(1)
        if len(commits) == 2:  # the first is the due-instances query's; the second commits the whole batch
            raise RuntimeError("the database went away during the commit")

    engine = case.runtime.database.engine  # the database's own COMMIT (a savepoint's release is not one)
    event.listen(engine, "commit", fail_the_batch)
    try:
        report = fire_due_timers(case.runtime)
    finally:
        event.remove(engine, "commit", fail_the_batch)
    assert (report.fired, report.failed, report.incidents_opened) == (3, 0, 0)
    assert all(case.complaint(c).is_overdue for c in cids)
    with case.runtime.unit_of_work() as uow:
        fired = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "timer_fired"))
    assert fired == 3, "each timer fired once"


def test_several_instances_share_one_commit(case, clock):
    for n in range(5):
        case.register(n)
    clock.advance(hours=25)
    commits = []
    listener = lambda connection: commits.append(1)
    event.listen(case.runtime.database.engine, "commit", listener)
    try:
        report = fire_due_timers(case.runtime, per_transaction=20)
    finally:
        event.remove(case.runtime.database.engine, "commit", listener)
    assert report.fired == 5
    assert len(commits) == 3, "the due query, one batch of five, the due query that finds none left"
