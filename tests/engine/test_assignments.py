"""Claim, release, assign and follow-up (services/assignments.py): one unit of work each, audited, race-safe."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.engine.core.errors import Conflict, InvalidSubmission, NotAllowed, NotFound
from app.engine.models import AuditEvent, UserTask
from app.engine.work import assignments
from tests.support import CaseDriver


@pytest.fixture
def driver(demo, actors):
    return CaseDriver(demo, actors)


def _run(runtime, command, *args):
    with runtime.unit_of_work() as uow:
        return command(uow, *args)


def _task(runtime, task_id) -> UserTask:
    with runtime.unit_of_work() as uow:
        return uow.session.get(UserTask, task_id)


def _actions(runtime, cid) -> list[str]:
    with runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.complaint_id == cid)
                                        .order_by(AuditEvent.id)))


def test_claim_and_release_are_recorded(demo, actors, driver, clock):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint")
    _run(demo, assignments.claim, actors["intake"], task.id)
    claimed = _task(demo, task.id)
    assert claimed.assignee_id == actors["intake"].user_id and claimed.assigned_at == clock.now()
    _run(demo, assignments.claim, actors["intake"], task.id)  # again: nothing changes, nothing recorded
    _run(demo, assignments.unclaim, actors["intake"], task.id)
    assert _task(demo, task.id).assignee_id is None
    assert _actions(demo, cid)[-2:] == ["task_claimed", "task_unclaimed"]


def test_a_claimed_task_cannot_be_claimed_by_another(demo, actors, driver):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint")
    _run(demo, assignments.claim, actors["intake"], task.id)
    with pytest.raises(Conflict):
        _run(demo, assignments.claim, actors["coordinator"], task.id)
    with pytest.raises(NotAllowed):
        _run(demo, assignments.unclaim, actors["approver"], task.id)


def test_claim_needs_the_lane_role_and_department(demo, actors, driver):
    cid = driver.register()
    driver.classify(cid)
    driver.triage(cid, lead="cards")
    task = driver.task(cid, "investigate_complaint", "cards")
    for name in ("intake", "e_banking.officer"):
        with pytest.raises(NotAllowed):
            _run(demo, assignments.claim, actors[name], task.id)
    with pytest.raises(NotFound):
        _run(demo, assignments.claim, actors["cards.officer"], 999999)


def test_the_loser_of_a_claim_race_gets_a_conflict(demo, actors, driver):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint")
    stale = _task(demo, task.id)  # what the loser read: still unclaimed
    _run(demo, assignments.claim, actors["coordinator"], task.id)  # the winner commits first
    with pytest.raises(Conflict), demo.unit_of_work() as uow:
        # The loser's write, decided on its stale read: the conditional UPDATE matches no row.
        assignments._set_assignee(uow, stale, expected=None, assignee_id=actors["intake"].user_id)
    assert _task(demo, task.id).assignee_id == actors["coordinator"].user_id


def test_coordinators_assign_to_people_who_may_do_the_work(demo, actors, driver):
    cid = driver.register()
    driver.classify(cid)
    driver.triage(cid, lead="cards")
    task = driver.task(cid, "investigate_complaint", "cards")
    with demo.unit_of_work() as uow:
        names = [u.username for u in assignments.candidates(uow, actors["coordinator"], task.id)]
    assert names == ["cards.officer"]
    with pytest.raises(InvalidSubmission):
        _run(demo, assignments.assign, actors["coordinator"], task.id, "e_banking.officer")
    with pytest.raises(InvalidSubmission):
        _run(demo, assignments.assign, actors["coordinator"], task.id, "nobody")
    with pytest.raises(NotAllowed):
        _run(demo, assignments.assign, actors["cards.officer"], task.id, "cards.officer")
    _run(demo, assignments.assign, actors["head"], task.id, "cards.officer")
    assert _task(demo, task.id).assignee_id == actors["cards.officer"].user_id
    _run(demo, assignments.unclaim, actors["coordinator"], task.id)  # those who assign may take it back
    assert _actions(demo, cid)[-2:] == ["task_assigned", "task_unclaimed"]


def test_follow_up_belongs_to_the_assignee_and_lies_ahead(demo, actors, driver, clock):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint")
    later = clock.now() + timedelta(days=2)
    with pytest.raises(NotAllowed):
        _run(demo, assignments.set_follow_up, actors["intake"], task.id, later)
    _run(demo, assignments.claim, actors["intake"], task.id)
    with pytest.raises(InvalidSubmission):
        _run(demo, assignments.set_follow_up, actors["intake"], task.id, clock.now() - timedelta(hours=1))
    _run(demo, assignments.set_follow_up, actors["intake"], task.id, later)
    assert _task(demo, task.id).follow_up_at == later
    assert _actions(demo, cid)[-1] == "task_follow_up_set"
    _run(demo, assignments.unclaim, actors["intake"], task.id)
    assert _task(demo, task.id).follow_up_at is None  # a released task has no one's follow-up date


def test_nothing_changes_on_a_completed_task(demo, actors, driver):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint")
    driver.classify(cid)
    for command, args in ((assignments.claim, ()), (assignments.assign, ("intake",))):
        with pytest.raises(Conflict):
            _run(demo, command, actors["coordinator"], task.id, *args)


def test_open_task_shows_supervisors_what_they_may_assign_but_not_complete(demo, actors, driver):
    cid = driver.register()
    driver.classify(cid)
    driver.triage(cid, lead="cards")
    task = driver.task(cid, "investigate_complaint", "cards")
    with demo.unit_of_work() as uow:
        opened = assignments.open_task(uow, actors["coordinator"], task.id)
        assert (opened.may_work, opened.may_assign) == (False, True)
        opened = assignments.open_task(uow, actors["cards.officer"], task.id)
        assert (opened.may_work, opened.may_assign) == (True, False)
        with pytest.raises(NotAllowed):
            assignments.open_task(uow, actors["e_banking.officer"], task.id)
