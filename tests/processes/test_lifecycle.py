"""The complaint process, path by path, through the real engine and database.

Every step is its own transaction. Each test runs twice (tests/processes/conftest.py): cold, where every step
reloads the workflow from its stored state (deserialized, the sandboxed script engine installed again), as
production does for an instance last stepped by another process or before a restart; and warm, where a step on
the version this process saved takes the live workflow from the cache, as production does otherwise.
"""
from datetime import timedelta

from app.composition import build_runtime
from tests.support import CaseDriver


def test_approved_first_time(case, workflow_cache):
    cache = case.runtime.workflows
    cid = case.register()
    assert case.complaint(cid).status == "classifying"
    # Acknowledged in the registration step itself, before anyone classified it (issue 26).
    assert [m.kind for m in case.messages(cid)] == ["acknowledgement"]
    case.classify(cid)
    assert [m.kind for m in case.messages(cid)] == ["acknowledgement"]
    case.triage(cid, lead="cards")
    assert case.ready_names(cid) == ["investigate_complaint"]
    case.investigate(cid, "cards")
    case.draft(cid)
    case.approve(cid)
    assert [m.kind for m in case.messages(cid)] == ["acknowledgement", "reply", "feedback_request"]
    assert case.complaint(cid).status == "awaiting_feedback"
    case.feedback(cid, True, 5)
    complaint = case.complaint(cid)
    assert (complaint.status, complaint.outcome, complaint.satisfaction_rating) == ("closed", "resolved", 5)
    assert complaint.closed_at is not None and complaint.reopen_count == 0
    assert case.ready(cid) == []
    assert {t.state for t in case.timers(cid)} == {"cancelled"}
    # Six completions, six steps: warm, each took the workflow its predecessor cached; cold, each loaded the row.
    assert (cache.hits, cache.misses) == {"warm": (6, 0), "cold": (0, 6)}[workflow_cache]


def test_rejected_then_approved_carries_the_comment_to_the_rework(case):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="e_banking")
    case.investigate(cid, "e_banking")
    case.draft(cid, message="First draft")
    case.reject(cid, "State the root cause and the refund date")
    rework = case.task(cid, "draft_resolution")
    assert rework.department == "e_banking"
    assert rework.context["approval_comment"] == "State the root cause and the refund date"
    assert rework.context["approval_decision"] == "reject"
    case.draft(cid, message="Second draft")
    case.approve(cid)
    replies = case.messages(cid, "reply")
    assert len(replies) == 1 and "Second draft" in replies[0].body
    case.feedback(cid, True, 4)
    assert case.complaint(cid).outcome == "resolved"


def test_dissatisfied_customer_reopens_to_investigation_then_is_satisfied(case):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards", co=["operations"])
    case.investigate(cid, "cards")
    case.investigate(cid, "operations")
    case.draft(cid)
    case.approve(cid)
    case.feedback(cid, False, 2)
    assert case.ready_names(cid) == ["decide_reopen"]
    assert case.complaint(cid).status == "reopened"
    case.reopen(cid, "investigation")
    assert sorted(t.department for t in case.ready(cid)) == ["cards", "operations"]
    assert case.complaint(cid).reopen_count == 1
    case.investigate(cid, "cards", facts="Second look")
    case.investigate(cid, "operations", facts="Second look")
    case.draft(cid)
    case.approve(cid)
    assert len(case.messages(cid, "reply")) == 2
    case.feedback(cid, True, 4)
    complaint = case.complaint(cid)
    assert (complaint.status, complaint.outcome, complaint.reopen_count) == ("closed", "resolved", 1)


def test_reopen_to_resolution_skips_the_investigation(case):
    cid = case.handle_until_feedback()
    case.feedback(cid, False, 1)
    case.reopen(cid, "resolution")
    assert case.ready_names(cid) == ["draft_resolution"]
    case.draft(cid, message="Improved offer")
    case.approve(cid)
    case.feedback(cid, False, 2)
    case.reopen(cid, "resolution")
    case.draft(cid, message="Final offer")
    case.approve(cid)
    case.feedback(cid, True, 3)
    assert case.complaint(cid).reopen_count == 2
    assert case.complaint(cid).outcome == "resolved"


def test_fund_security_complaint_is_urgent_with_a_12_hour_deadline(case, clock):
    cid = case.register(category="fund_security", severity="general")
    case.classify(cid, category="fund_security", severity="general")
    complaint = case.complaint(cid)
    assert (complaint.urgent, complaint.severity) == (True, "urgent")
    # The promise runs beside the regulatory decision clock, which an urgent case keeps (issue 26).
    promise = [t for t in case.timers(cid) if t.element_id == "urgent_promise_missed"]
    assert len(promise) == 1 and promise[0].state == "waiting" and promise[0].sla == "urgent_handling"
    assert promise[0].due_at == complaint.received_at + timedelta(hours=12)
    handling = [t for t in case.timers(cid) if t.element_id == "handling_deadline_overdue"]
    assert len(handling) == 1 and handling[0].state == "waiting" and handling[0].sla == "decision"
    assert handling[0].due_at == complaint.received_at + timedelta(days=15)
    assert case.task(cid, "triage_complaint").due_at == complaint.received_at + timedelta(hours=12)
    assert complaint.due_at == complaint.received_at + timedelta(hours=12)


def test_general_complaint_gets_the_15_day_decision_deadline(case):
    cid = case.register()
    case.classify(cid)
    complaint = case.complaint(cid)
    assert complaint.urgent is False
    handling = [t for t in case.timers(cid) if t.element_id == "handling_deadline_overdue"]
    assert handling[0].due_at == complaint.received_at + timedelta(days=15)
    assert complaint.due_at == handling[0].due_at


def test_three_departments_investigate_in_parallel_and_the_process_waits_for_all(case):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards", co=["operations", "e_banking"])
    ready = case.ready(cid)
    assert [t.element_id for t in ready] == ["investigate_complaint"] * 3
    assert sorted(t.department for t in ready) == ["cards", "e_banking", "operations"]
    assert case.complaint(cid).status == "investigating"
    case.investigate(cid, "e_banking", facts="App logs checked")
    case.investigate(cid, "cards", facts="Card ledger checked")
    assert sorted(t.department for t in case.ready(cid)) == ["operations"]
    case.investigate(cid, "operations", facts="Posting batch checked")
    draft = case.task(cid, "draft_resolution")
    assert draft.department == "cards"
    findings = draft.context["findings"]
    assert sorted(f["department"] for f in findings) == ["cards", "e_banking", "operations"]
    assert {f["department"]: f["facts"] for f in findings}["operations"] == "Posting batch checked"


def test_each_department_sees_only_its_own_investigation(case, actors):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards", co=["operations"])
    tasks = case.ready(cid)
    from app.engine.work.user_tasks import may_work_on
    cards_task = next(t for t in tasks if t.department == "cards")
    assert may_work_on(actors["cards.officer"], cards_task)
    assert not may_work_on(actors["operations.officer"], cards_task)
    assert not may_work_on(actors["coordinator"], cards_task)


def test_a_new_process_can_continue_every_step_with_nothing_kept_in_memory(demo, actors):
    """Each step runs in a fresh runtime (empty spec cache): only the database carries the case."""
    def fresh():
        return CaseDriver(build_runtime(demo.database.url, clock=demo.clock), actors)

    first = fresh()
    cid = first.register()
    first.runtime.close()
    steps = [lambda d: d.classify(cid), lambda d: d.triage(cid, lead="cards", co=["branches"]),
             lambda d: d.investigate(cid, "branches"), lambda d: d.investigate(cid, "cards"),
             lambda d: d.draft(cid), lambda d: d.reject(cid, "More detail"), lambda d: d.draft(cid),
             lambda d: d.approve(cid), lambda d: d.feedback(cid, True, 5)]
    for step in steps:
        driver = fresh()
        assert len(driver.runtime.specs) == 0
        step(driver)
        driver.runtime.close()
    last = fresh()
    assert last.complaint(cid).outcome == "resolved"
    last.runtime.close()
