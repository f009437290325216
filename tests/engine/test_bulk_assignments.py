"""Bulk claim and assign (work/bulk_assignments.py): each task by the single-task rules, in its own savepoint,
each change audited once, every task reported."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.engine.core.errors import Conflict, InvalidSubmission, NotAllowed
from app.engine.models import AuditEvent, UserTask
from app.engine.work import assignments, bulk_assignments
from app.engine.work.bulk_assignments import (
    CLAIMED,
    DONE,
    NOT_AVAILABLE,
    NOT_ELIGIBLE,
    NOT_READY,
    REFUSED,
    SEGREGATED,
    UNCHANGED,
)
from tests.support import CaseDriver, deploy_approval_in_departments


@pytest.fixture
def case(demo, actors):
    return CaseDriver(demo, actors)


def _run(runtime, command, *args):
    with runtime.unit_of_work() as uow:
        return command(uow, *args)


def _at_investigation(case, lead="cards") -> int:
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead=lead)
    return cid


def _events(runtime, action: str) -> int:
    with runtime.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def _assignee(runtime, task_id: int) -> int | None:
    with runtime.unit_of_work() as uow:
        return uow.session.get_one(UserTask, task_id).assignee_id


def _outcomes(result) -> dict[int, tuple[str, str | None]]:
    return {t.task_id: (t.outcome, t.reason) for t in result.tasks}


def test_bulk_assign_checks_each_task_on_its_own_and_reports_every_one(demo, case, actors):
    first, second = (case.task(_at_investigation(case), "investigate_complaint", "cards") for _ in range(2))
    other_department = case.task(_at_investigation(case, "retail_lending"), "investigate_complaint",
                                 "retail_lending")
    finished_case = _at_investigation(case)
    finished = case.task(finished_case, "investigate_complaint", "cards")
    case.investigate(finished_case, "cards")
    ids = [first.id, second.id, other_department.id, finished.id, 999999]
    result = _run(demo, bulk_assignments.bulk_assign, actors["coordinator"], ids, "cards.officer")
    assert _outcomes(result) == {first.id: (DONE, None), second.id: (DONE, None),
                                 other_department.id: (REFUSED, NOT_ELIGIBLE), finished.id: (REFUSED, NOT_READY),
                                 999999: (REFUSED, NOT_AVAILABLE)}
    assert [t.task_id for t in result.tasks] == ids  # in the order asked, none skipped
    officer = actors["cards.officer"].user_id
    assert (_assignee(demo, first.id), _assignee(demo, second.id), _assignee(demo, other_department.id)) == \
        (officer, officer, None)
    assert _events(demo, "task_assigned") == 2
    assert result.as_dict()["done"] == 2 and result.as_dict()["refused"] == 3
    # The same request again (a double submit): nothing changes, nothing more is recorded.
    again = _run(demo, bulk_assignments.bulk_assign, actors["coordinator"], [first.id, second.id], "cards.officer")
    assert _outcomes(again) == {first.id: (UNCHANGED, None), second.id: (UNCHANGED, None)}
    assert _events(demo, "task_assigned") == 2


def test_bulk_claim_refuses_a_task_someone_else_holds_and_names_them_only_to_those_who_assign(demo, case,
                                                                                               actors):
    tasks = [case.task(case.register(), "classify_complaint") for _ in range(3)]
    _run(demo, assignments.claim, actors["coordinator"], tasks[2].id)
    result = _run(demo, bulk_assignments.bulk_claim, actors["intake"], [t.id for t in tasks])
    assert _outcomes(result) == {tasks[0].id: (DONE, None), tasks[1].id: (DONE, None),
                                 tasks[2].id: (REFUSED, CLAIMED)}
    assert result.tasks[2].holder is None and result.tasks[2].tracking_number  # "someone else"
    assert _events(demo, "task_claimed") == 3
    # The head assigns work: they learn who holds it.
    head = _run(demo, bulk_assignments.bulk_claim, actors["head"], [tasks[0].id])
    assert (head.tasks[0].reason, head.tasks[0].holder) == (CLAIMED, "Ivy Intake (hotline agent)")
    # Claiming one's own task again changes nothing.
    mine = _run(demo, bulk_assignments.bulk_claim, actors["coordinator"], [tasks[2].id])
    assert _outcomes(mine) == {tasks[2].id: (UNCHANGED, None)}
    assert _events(demo, "task_claimed") == 3


def test_a_task_the_claimer_may_not_work_on_tells_nothing_about_it(demo, case, actors):
    task = case.task(_at_investigation(case, "retail_lending"), "investigate_complaint", "retail_lending")
    result = _run(demo, bulk_assignments.bulk_claim, actors["cards.officer"], [task.id])
    assert _outcomes(result) == {task.id: (REFUSED, NOT_AVAILABLE)}
    assert result.tasks[0].title is None and result.tasks[0].tracking_number is None


def test_four_eyes_are_checked_per_task(demo, case, actors):
    deploy_approval_in_departments(demo, actors["owner"])
    approval = case.task(case.handle_until_approval(), "approve_resolution")  # drafted by cards.officer
    other = case.task(_at_investigation(case), "investigate_complaint", "cards")
    result = _run(demo, bulk_assignments.bulk_assign, actors["coordinator"], [approval.id, other.id],
                  "cards.officer")
    assert _outcomes(result) == {approval.id: (REFUSED, SEGREGATED), other.id: (DONE, None)}
    assert result.tasks[0].rule.startswith("Four eyes on a resolution")
    assert _assignee(demo, approval.id) is None


def test_a_task_that_fails_after_its_write_rolls_back_alone(demo, case, actors, monkeypatch):
    """Each task runs in its own savepoint: a failure after its UPDATE (here, its audit event) undoes that task's
    write and nothing of the others'."""
    tasks = [case.task(case.register(), "classify_complaint") for _ in range(3)]
    record = assignments.audit.record

    def failing_for_the_second(uow, actor, action, **kw):
        if kw.get("task_id") == tasks[1].id:
            raise Conflict("the database refused")
        return record(uow, actor, action, **kw)

    monkeypatch.setattr(assignments.audit, "record", failing_for_the_second)
    result = _run(demo, bulk_assignments.bulk_claim, actors["intake"], [t.id for t in tasks])
    monkeypatch.setattr(assignments.audit, "record", record)
    assert [t.outcome for t in result.tasks] == [DONE, REFUSED, DONE]
    intake = actors["intake"].user_id
    assert [_assignee(demo, t.id) for t in tasks] == [intake, None, intake]
    assert _events(demo, "task_claimed") == 2


def test_who_may_bulk_assign_and_to_whom(demo, case, actors):
    task = case.task(case.register(), "classify_complaint")
    with pytest.raises(NotAllowed):
        _run(demo, bulk_assignments.bulk_assign, actors["intake"], [task.id], "coordinator")
    with pytest.raises(InvalidSubmission) as unknown:
        _run(demo, bulk_assignments.bulk_assign, actors["coordinator"], [task.id], "nobody")
    assert "assignee" in unknown.value.errors
    with pytest.raises(NotAllowed):
        _run(demo, bulk_assignments.assignable_people, actors["intake"])
    people = {u.username for u in _run(demo, bulk_assignments.assignable_people, actors["coordinator"])}
    assert {"intake", "coordinator", "cards.officer", "approver"} <= people
    assert not people & {"customer", "channel", "compliance", "owner"}  # no lane of theirs


@pytest.mark.parametrize(("ids", "message"), [
    ([], "Select at least one task"),
    (["x"], "Give task ids as whole numbers"),
    (["0"], "Give task ids as whole numbers"),
    ([str(2**31)], "Give task ids as whole numbers"),
    ([str(n) for n in range(1, 202)], "Select at most 200 tasks at once"),
])
def test_task_ids_are_checked_before_anything_changes(ids, message):
    with pytest.raises(InvalidSubmission) as refused:
        bulk_assignments.parse_task_ids(ids)
    assert refused.value.errors == {"task_ids": [message]}


def test_task_ids_keep_their_order_once_each():
    assert bulk_assignments.parse_task_ids(["3", 1, "3", "2"]) == [3, 1, 2]


def test_a_double_submit_racing_itself_records_each_change_once(demo, case, actors):
    """Two copies of one bulk request at the same moment (a double click): on PostgreSQL both read the tasks
    unassigned before either writes; the conditional UPDATE lets one win per task, and the other reports the
    task as already assigned to that person. SQLite serialises the two transactions, with the same outcome."""
    import threading

    tasks = [case.task(_at_investigation(case), "investigate_complaint", "cards") for _ in range(2)]
    ids = [t.id for t in tasks]
    together = demo.database.is_postgresql
    barrier = threading.Barrier(2)
    original = assignments._ready_task
    waited = threading.local()

    def read_then_wait(uow, task_id):
        found = original(uow, task_id)
        if together and not getattr(waited, "done", False):
            waited.done = True
            barrier.wait(timeout=10)
        return found

    results: list = [None, None]

    def submit(index):
        try:
            results[index] = _run(demo, bulk_assignments.bulk_assign, actors["coordinator"], ids, "cards.officer")
        except Exception as err:  # reported below
            results[index] = err

    assignments._ready_task = read_then_wait
    try:
        threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        assignments._ready_task = original
    outcomes = sorted(t.outcome for result in results for t in result.tasks)
    assert outcomes == [DONE, DONE, UNCHANGED, UNCHANGED], results
    assert _events(demo, "task_assigned") == 2
