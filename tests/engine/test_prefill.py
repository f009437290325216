"""A task's form starts from the previous round (issue 27): a rejected draft comes back filled with the approver's
comment above it, a reopened investigation with the department's findings and the customer's reason, classify
with what registration captured; what the actor may not read is neither pre-filled nor shown."""
from __future__ import annotations

from app.engine.work import prefill, user_tasks
from tests.support import DRAFT


def _initial(case, actor, task):
    with case.runtime.unit_of_work() as uow:
        return user_tasks.initial_values(uow, actor, uow.session.get(type(task), task.id))


def _notes(case, actor, task):
    with case.runtime.unit_of_work() as uow:
        return prefill.notes(uow, actor, uow.session.get(type(task), task.id))


def test_a_rejected_draft_comes_back_filled_with_the_approvers_comment(case):
    cid = case.handle_until_approval()
    case.reject(cid, "Say which clause of the agreement applies.")
    task = case.task(cid, "draft_resolution")
    officer = case.actor_for(task)
    initial = _initial(case, officer, task)
    assert initial == DRAFT
    assert _notes(case, officer, task) == {"approval_comment": "Say which clause of the agreement applies."}


def test_the_first_draft_starts_empty_and_without_notes(case):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards")
    task = case.task(cid, "draft_resolution")
    officer = case.actor_for(task)
    assert _initial(case, officer, task) == {} and _notes(case, officer, task) == {}


def test_a_reopened_investigation_starts_from_the_departments_findings_with_the_reason(case, actors):
    cid = case.register()
    case.classify(cid)
    case.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                            "triage_note": "Check the March statement."})
    task = case.task(cid, "investigate_complaint", "cards")
    officer = case.actor_for(task)
    assert _initial(case, officer, task) == {}
    assert _notes(case, officer, task) == {"triage_note": "Check the March statement."}  # addressed to them
    case.investigate(cid, "cards", facts="The fee was posted twice")
    case.draft(cid)
    case.approve(cid)
    case.complete(cid, "record_feedback", {"customer_satisfied": False, "satisfaction_rating": 1,
                                           "feedback_comment": "The fee is still on my statement."})
    case.reopen(cid, "investigation")
    task = case.task(cid, "investigate_complaint", "cards")
    assert _initial(case, officer, task) == {"facts": "The fee was posted twice", "root_cause": "Duplicate posting",
                                             "proposed_remedy": "Refund"}
    assert _notes(case, officer, task) == {"feedback_comment": "The fee is still on my statement.",
                                           "reopen_reason": "Disputed", "triage_note": "Check the March statement."}
    # the customer's audience reads neither the findings nor the bank's notes: only their own words
    assert _initial(case, actors["customer"], task) == {}
    assert _notes(case, actors["customer"], task) == {"feedback_comment": "The fee is still on my statement."}


def test_a_redraft_after_reopening_shows_the_reason_not_the_old_rejection(case):
    cid = case.handle_until_approval()
    case.reject(cid, "Too short.")
    case.draft(cid, message="We refunded the fee, as clause 4.2 says.")
    case.approve(cid)
    case.feedback(cid, False, 1)
    case.reopen(cid, "resolution")
    task = case.task(cid, "draft_resolution")
    officer = case.actor_for(task)
    assert _initial(case, officer, task)["customer_message"] == "We refunded the fee, as clause 4.2 says."
    assert _notes(case, officer, task) == {"reopen_reason": "Disputed"}


def test_classify_is_filled_from_registration_as_far_as_the_actor_may_read(case, actors):
    cid = case.register(product="credit_card", category="fees_charges", severity="important",
                        place_of_business="mobile_banking")
    task = case.task(cid, "classify_complaint")
    assert _initial(case, case.actor_for(task), task) == {
        "category": "fees_charges", "severity": "important", "product": "credit_card",
        "place_of_business": "mobile_banking"}
    # severity is the case file's: an actor reading only what the customer entered does not get it pre-filled
    assert _initial(case, actors["customer"], task) == {
        "category": "fees_charges", "product": "credit_card", "place_of_business": "mobile_banking"}
    assert _initial(case, actors["channel"], task) == {}
    case.classify(cid)
    assert _initial(case, case.actor_for(task), task) == {}  # a completed task starts nothing
