"""Warnings before a deadline (issue 17): at 75 % and 90 % of the SLA the task's owner and the coordinator are
told once, whatever number of schedulers run; the work list marks the task amber, then red. Time travel only."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.composition import build_runtime
from app.engine.complaints import extensions
from app.engine.deadlines.sla_warnings import fire_due_warnings
from app.engine.models import AuditEvent, OutboxMessage
from app.engine.work import worklist
from app.scheduler import fire_due_timers, run_once

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches

RECEIVED = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock(clock):
    clock.set(RECEIVED)
    return clock


def warnings_of(case, cid):
    with case.runtime.unit_of_work() as uow:
        return [(e.detail["sla"], e.detail["level"], tuple(e.detail["recipients"]))
                for e in uow.session.scalars(select(AuditEvent).where(
                    AuditEvent.complaint_id == cid, AuditEvent.action == "sla_warning").order_by(AuditEvent.id))]


def row_state(case, actor, cid):
    with case.runtime.unit_of_work() as uow:
        page = worklist.list_tasks(uow, case.actors[actor], view="all")
    [item] = [i for i in page.items if i.complaint_id == cid and i.name == "investigate_complaint"]
    return item.sla_state


def in_investigation(case):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    return cid


def test_warnings_at_75_and_90_percent_of_the_decision_deadline_reach_the_owner_and_the_coordinator(case, clock):
    cid = in_investigation(case)
    # 15 days: 75 % = day 11.25, 90 % = day 13.5, counted from receipt whatever the status became since.
    clock.set(RECEIVED + timedelta(days=11, hours=5))
    assert fire_due_warnings(case.runtime).sent == 0
    assert row_state(case, "coordinator", cid) == "ok"
    clock.set(RECEIVED + timedelta(days=11, hours=7))
    assert fire_due_warnings(case.runtime).sent == 1
    assert warnings_of(case, cid) == [("decision", 1, ("cards.officer", "coordinator"))]
    assert row_state(case, "coordinator", cid) == "warning"
    assert fire_due_warnings(case.runtime).sent == 0      # once
    clock.set(RECEIVED + timedelta(days=13, hours=13))
    assert fire_due_warnings(case.runtime).sent == 1
    assert [w[1] for w in warnings_of(case, cid)] == [1, 2]
    messages = case.messages(cid, "sla_warning")
    assert sorted(m.recipient for m in messages) == sorted(["cards.officer@bank.example",
                                                            "coordinator@bank.example"] * 2)
    clock.set(RECEIVED + timedelta(days=15, minutes=1))
    assert row_state(case, "coordinator", cid) == "breached"
    assert fire_due_warnings(case.runtime).sent == 0


def test_an_assigned_task_warns_its_assignee_only_besides_the_coordinator(case, clock):
    from app.engine.work import assignments
    cid = in_investigation(case)
    task = case.task(cid, "investigate_complaint", "cards")
    with case.runtime.unit_of_work() as uow:
        assignments.claim(uow, case.actors["cards.officer"], task.id)
    clock.set(RECEIVED + timedelta(days=12))
    fire_due_warnings(case.runtime)
    assert warnings_of(case, cid) == [("decision", 1, ("cards.officer", "coordinator"))]


def test_a_late_run_warns_once_of_the_highest_threshold_passed(case, clock):
    cid = in_investigation(case)
    clock.set(RECEIVED + timedelta(days=14))
    assert fire_due_warnings(case.runtime).sent == 1
    assert [w[1] for w in warnings_of(case, cid)] == [2]


def test_an_extension_rearms_the_warnings_for_the_new_deadline(case, clock):
    cid = in_investigation(case)
    clock.set(RECEIVED + timedelta(days=12))
    fire_due_warnings(case.runtime)
    with case.runtime.unit_of_work() as uow:
        extensions.request_extension(uow, case.actors["coordinator"], cid, {
            "sla": "decision", "extension": "complex_case", "reason": "Complex"})
    assert row_state(case, "coordinator", cid) == "ok"   # 12 of 30 days
    clock.set(RECEIVED + timedelta(days=23))              # 75 % of 30 days is day 22.5
    assert fire_due_warnings(case.runtime).sent == 1
    assert [w[1] for w in warnings_of(case, cid)] == [1, 1]


def test_the_scheduler_run_fires_timers_writes_warnings_and_sends_with_one_clock(case, clock, tmp_path):
    from app.delivery import FileTransport
    cid = case.register()
    report = run_once(case.runtime, RECEIVED + timedelta(hours=19), transport=FileTransport(tmp_path))
    assert (report.timers.fired, report.warnings.sent) == (0, 1)
    assert report.delivery.sent == len(case.messages(cid))       # acknowledgement + the warnings
    assert {m.state for m in case.messages(cid)} == {"sent"}
    [warning] = [m for m in case.messages(cid) if m.kind == "sla_warning"][:1]
    assert warning.created_at == RECEIVED + timedelta(hours=19)
    report = run_once(case.runtime, RECEIVED + timedelta(hours=25), transport=FileTransport(tmp_path))
    assert report.timers.fired == 1 and report.timers.lag == pytest.approx(3600)


def test_two_schedulers_in_parallel_warn_each_level_exactly_once(case, clock, database_url):
    cids = [in_investigation(case) for _ in range(6)]
    clock.set(RECEIVED + timedelta(days=12))
    other = build_runtime(database_url, clock=clock)
    try:
        barrier = threading.Barrier(2)
        results = []

        def run(runtime):
            barrier.wait()
            results.append(fire_due_warnings(runtime).sent)

        threads = [threading.Thread(target=run, args=(rt,)) for rt in (case.runtime, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.close()
    assert sum(results) == len(cids)
    with case.runtime.unit_of_work() as uow:
        keys = list(uow.session.scalars(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.kind == "sla_warning")))
    assert len(keys) == len(set(keys)) == 2 * len(cids)
    with case.runtime.unit_of_work() as uow:
        warned = list(uow.session.scalars(select(AuditEvent.complaint_id).where(AuditEvent.action == "sla_warning")))
    assert sorted(warned) == sorted(cids)
    assert fire_due_timers(case.runtime).fired == 0
