"""The reopen decision (issue 27, items 4 and 5): the dissatisfied customer's review request gets a decision within
its own deadline (config/sla.toml reopen_decision), escalated like every missed task deadline; the four choices
(re-investigate, re-draft, stand by the final response with reasons, refer to an outside body), the last two
closing the case with an outcome that says so and a letter in the regime's words; and round two's tasks showing
what is current (the customer's feedback, the reopen reason and decision, the previous round's findings), not
round one's approval. Manual clock; SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.engine.access import read_policy
from app.engine.core.errors import InvalidSubmission
from app.engine.models import AuditEvent, Complaint, ProcessInstance
from app.engine.work import prefill
from app.scheduler import fire_due_timers

RECEIVED = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)   # Monday 10:00 in Shanghai, 02:00 in London
FEEDBACK_AT = RECEIVED + timedelta(days=3)          # Thursday
REOPEN = "decide_reopen"
TIMER = "reopen_decision_overdue"


@pytest.fixture
def clock(clock):
    clock.set(RECEIVED)
    return clock


def dissatisfied(case, clock, *, reject_first: str | None = None) -> int:
    """A case answered once (after one rejection, if ``reject_first``), whose customer is not satisfied."""
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards", facts="The fee was posted twice")
    case.draft(cid)
    if reject_first:
        case.reject(cid, reject_first)
        case.draft(cid)
    case.approve(cid)
    clock.set(FEEDBACK_AT)
    case.complete(cid, "record_feedback", {"customer_satisfied": False, "satisfaction_rating": 1,
                                           "feedback_comment": "The refund is still missing"})
    return cid


def decide(case, cid, data):
    return case.complete(cid, REOPEN, data)


def events(case, cid, action):
    with case.runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid,
                                                                 AuditEvent.action == action)))


def instance_state(case, cid):
    with case.runtime.unit_of_work() as uow:
        return uow.session.scalar(select(ProcessInstance.state).where(ProcessInstance.complaint_id == cid))


# --- the deadline ---------------------------------------------------------------------------------------------------

def test_the_reopen_decision_is_due_two_business_days_after_the_feedback(case, clock):
    cid = dissatisfied(case, clock)
    [timer] = [t for t in case.timers(cid) if t.element_id == TIMER]
    due = datetime(2027, 3, 8, 2, 0, tzinfo=UTC)        # Thursday -> Monday, 10:00 in Shanghai (business days)
    assert (timer.sla, timer.state, timer.due_at, timer.started_at) == ("reopen_decision", "waiting", due, FEEDBACK_AT)
    # the inbox's due time and the complaint's "Next deadline"
    assert case.task(cid, REOPEN).due_at == due
    assert case.complaint(cid).due_at == due
    assert case.complaint(cid).status == "reopened"


def test_a_missed_reopen_decision_is_escalated_and_the_task_keeps_its_deadline(case, clock):
    cid = dissatisfied(case, clock)
    due = datetime(2027, 3, 8, 2, 0, tzinfo=UTC)
    clock.set(due + timedelta(minutes=1))
    assert fire_due_timers(case.runtime).fired == 1
    assert [b["sla"] for b in case.complaint(cid).breached_slas] == ["reopen_decision"]
    assert [e.detail["sla"] for e in events(case, cid, "escalated_to_head")] == ["reopen_decision"]
    assert set(case.ready_names(cid)) == {REOPEN, "intervene_overdue_complaint"}
    assert case.task(cid, REOPEN).due_at == due       # non-interrupting: still open, overdue since its deadline


@pytest.mark.parametrize("profile, due", [
    ("uk_fca", datetime(2027, 3, 8, 17, 0, tzinfo=UTC)),     # close of business on the 2nd business day, GMT
    ("us_cfpb", datetime(2027, 3, 6, 2, 0, tzinfo=UTC)),    # Wednesday 21:00 in New York -> Friday 21:00
])
def test_every_profile_has_a_reopen_decision_deadline(regime, clock, profile, due):
    case = regime(profile)
    cid = dissatisfied(case, clock)
    assert case.task(cid, REOPEN).due_at == due


# --- the choices ----------------------------------------------------------------------------------------------------

def test_maintaining_the_decision_closes_the_case_with_a_letter_naming_the_verification_right(case, clock):
    cid = dissatisfied(case, clock)
    decide(case, cid, {"reopen_target": "maintain", "maintain_reasons": "The agreement allows one fee a year."})
    complaint = case.complaint(cid)
    assert (complaint.status, complaint.outcome, complaint.reopen_count) == ("closed", "final_response_maintained", 0)
    [letter] = case.messages(cid, "decision_maintained")
    assert letter.recipient == complaint.customer_contact
    for text in ("我们维持原处理决定", "理由：The agreement allows one fee a year.", "申请核查", "调解"):
        assert text in letter.body, (text, letter.body)
    assert not case.messages(cid, "review_notice")
    # CBIRC: the closed case waits for a verification request, as after any decision the customer did not accept
    assert case.ready_names(cid) == [] and instance_state(case, cid) != "completed"
    [closed] = events(case, cid, "complaint_closed")
    assert closed.detail["outcome"] == "final_response_maintained"


def test_maintaining_the_final_response_under_disp_restates_the_ombudsman_referral_and_ends_the_case(regime, clock):
    case = regime("uk_fca")
    cid = dissatisfied(case, clock)
    decide(case, cid, {"reopen_target": "maintain", "maintain_reasons": "The agreement allows one fee a year."})
    complaint = case.complaint(cid)
    assert (complaint.status, complaint.outcome) == ("closed", "final_response_maintained")
    [letter] = case.messages(cid, "decision_maintained")
    for text in ("Our final response stands", "Our reasons: The agreement allows one fee a year.",
                 "refer your complaint to the Financial Ombudsman Service", "within six months",
                 "www.financial-ombudsman.org.uk"):
        assert text in letter.body, (text, letter.body)
    assert case.complaint(cid).due_at is None
    assert [t.state for t in case.timers(cid) if t.element_id == TIMER] == ["cancelled"]


def test_referring_closes_the_case_and_tells_the_customer_which_body(regime, clock):
    case = regime("uk_fca")
    cid = dissatisfied(case, clock)
    decide(case, cid, {"reopen_target": "refer", "referral_body": "fos",
                       "referral_reason": "The dispute turns on the merchant's records."})
    complaint = case.complaint(cid)
    assert (complaint.status, complaint.outcome) == ("closed", "referred")
    [letter] = case.messages(cid, "referral_notice")
    assert "referred to Financial Ombudsman Service" in letter.subject
    assert "The reason: The dispute turns on the merchant's records." in letter.body
    [referred] = events(case, cid, "complaint_referred")
    assert referred.detail["referral_body"] == "fos"


def test_referring_a_chinese_case_to_a_mediation_body(case, clock):
    cid = dissatisfied(case, clock)
    decide(case, cid, {"reopen_target": "refer", "referral_body": "financial_mediation",
                       "referral_reason": "双方同意调解"})
    assert case.complaint(cid).outcome == "referred"
    [letter] = case.messages(cid, "referral_notice")
    assert "金融纠纷调解组织" in letter.body and "原因：双方同意调解" in letter.body


def test_a_body_of_another_regime_is_not_offered(case, clock):
    cid = dissatisfied(case, clock)
    with pytest.raises(InvalidSubmission) as refused:
        decide(case, cid, {"reopen_target": "refer", "referral_body": "fos", "referral_reason": "x"})
    assert list(refused.value.errors) == ["referral_body"]
    assert case.ready_names(cid) == [REOPEN]


@pytest.mark.parametrize("data, field, message", [
    ({"reopen_target": "maintain"}, "maintain_reasons", "Enter the reasons for maintaining the final response"),
    ({"reopen_target": "refer", "referral_reason": "Outside our remit"}, "referral_body", "Choose the outside body"),
    ({"reopen_target": "investigation"}, "reopen_reason", "Enter the reason for reopening"),
])
def test_each_choice_asks_for_its_own_fields(case, clock, data, field, message):
    cid = dissatisfied(case, clock)
    with pytest.raises(InvalidSubmission) as refused:
        decide(case, cid, data)
    assert refused.value.errors == {field: [message]}


@pytest.mark.parametrize("target, next_task", [("investigation", "investigate_complaint"),
                                               ("resolution", "draft_resolution")])
def test_reworking_still_reopens_the_case(case, clock, target, next_task):
    cid = dissatisfied(case, clock)
    decide(case, cid, {"reopen_target": target, "reopen_reason": "The refund is missing"})
    assert case.ready_names(cid) == [next_task]
    assert case.complaint(cid).reopen_count == 1 and case.messages(cid, "review_notice")
    # the case runs on: approved again and satisfied, it closes as resolved
    if target == "investigation":
        case.investigate(cid, "cards")
    case.draft(cid)
    case.approve(cid)
    case.feedback(cid, True, 5)
    assert (case.complaint(cid).status, case.complaint(cid).outcome) == ("closed", "resolved")


# --- round two keeps its context (item 5) -----------------------------------------------------------------------

def test_round_two_shows_the_review_request_and_the_previous_findings_not_the_old_rejection(case, clock):
    cid = dissatisfied(case, clock, reject_first="Name the refund date")
    decide(case, cid, {"reopen_target": "investigation", "reopen_reason": "The customer sent the statement"})
    task = case.task(cid, "investigate_complaint")
    officer = case.actors["cards.officer"]
    with case.runtime.unit_of_work() as uow:
        context = read_policy.task_context(uow, officer, task)
        notes = prefill.notes(uow, officer, task)
        view = read_policy.complaint_view(uow, case.actors["coordinator"], uow.session.get(Complaint, cid))
    assert "approval_comment" not in context and "approval_decision" not in context
    assert "findings" not in context                  # none yet this round: not "Findings —"
    assert [f["facts"] for f in context["previous_findings"]] == ["The fee was posted twice"]
    assert context["reopen_target"] == "investigation"
    assert context["reopen_reason"] == "The customer sent the statement"
    assert notes["reopen_reason"] == "The customer sent the statement"
    assert notes["feedback_comment"] == "The refund is still missing"
    # "Earlier decisions" shows the reopen decision, not round one's approval as if it were current
    assert "approval_comment" not in view["variables"] and view["variables"]["reopen_target"] == "investigation"
    # round one's comment stays in the history
    said = [(e.get("after") or {}).get("approval_comment") for e in view["history"] if e["action"] == "task_completed"]
    assert "Name the refund date" in said


def test_a_round_two_rejection_is_shown_again(case, clock):
    cid = dissatisfied(case, clock, reject_first="Name the refund date")
    decide(case, cid, {"reopen_target": "resolution", "reopen_reason": "Wrong amount"})
    case.draft(cid)
    case.reject(cid, "State the new amount")
    task = case.task(cid, "draft_resolution")
    with case.runtime.unit_of_work() as uow:
        context = read_policy.task_context(uow, case.actors["cards.officer"], task)
    assert context["approval_comment"] == "State the new amount"
