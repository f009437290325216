"""核查 (verification), CBIRC Order 2020 No. 3: within 30 days of the decision the customer asks the superior
institution to verify it; the verifier (config/sla.toml verifier_role) gives an opinion within 30 days, under its
own escalating deadline, and the customer gets the opinion letter. Time travel through the engine with the manual
clock; SQLite and PostgreSQL, warm and cold."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.engine.complaints import registration, verification
from app.engine.core.errors import Conflict, InvalidSubmission, NotAllowed
from app.engine.demo.simulation import sample_registration
from app.scheduler import fire_due_timers

pytestmark = pytest.mark.both_caches

OPINION = {"verification_opinion": "upheld", "verification_opinion_text": "总行核查后维持原处理决定。",
           "verification_basis": "《信用卡章程》第十二条及交易记录"}


def ask(case, cid, actor="coordinator", reason="客户不认可处理决定"):
    with case.runtime.unit_of_work() as uow:
        outcome = verification.request_verification(uow, case.actors[actor], cid, {"reason": reason})
    outcome.raise_if_refused()
    return outcome


def decided_and_closed(case, clock):
    """A case decided now whose feedback wait (7 days) ran out: closed, its verification window open."""
    cid = case.handle_until_feedback()
    clock.advance(days=8)
    fire_due_timers(case.runtime)
    assert case.complaint(cid).status == "closed"
    return cid


def test_a_request_on_day_29_reopens_the_closed_case_for_the_verifier(case, clock):
    cid = case.handle_until_feedback()
    decided = clock.now()
    clock.advance(days=8)
    fire_due_timers(case.runtime)
    assert case.complaint(cid).status == "closed"
    clock.set(decided + timedelta(days=29))
    ask(case, cid)
    task = case.task(cid, "give_verification_opinion")
    assert task.lane == "Verifier" and task.candidate_roles == ["head_office_senior_manager"]
    assert case.complaint(cid).status == "under_verification"
    assert case.actor_for(task).username == "senior"
    with pytest.raises(NotAllowed):
        case.complete(cid, "give_verification_opinion", OPINION, actor=case.actors["coordinator"])
    [overdue] = [t for t in case.timers(cid) if t.element_id == "verification_overdue" and t.state == "waiting"]
    assert (overdue.sla, overdue.due_at) == ("verification", clock.now() + timedelta(days=30))


def test_a_request_on_day_31_is_refused_naming_the_decision_date_and_the_limit(case, clock):
    cid = decided_and_closed(case, clock)
    clock.advance(days=23)                       # 31 days after the decision
    with pytest.raises(Conflict) as refused:
        ask(case, cid)
    assert "Too late for verification" in refused.value.message
    assert "decision was sent on" in refused.value.message and "(30 calendar days after the decision)" in refused.value.message
    assert refused.value.params["sent"] in refused.value.message
    assert case.ready_names(cid) == []
    [window] = [t for t in case.timers(cid) if t.element_id == "verification_window_passed"]
    assert window.sla == "verification_request" and window.due_at <= clock.now()
    fire_due_timers(case.runtime)                # the window's own timer ends the process
    assert [t.state for t in case.timers(cid) if t.element_id == "verification_window_passed"] == ["fired"]
    with pytest.raises(Conflict):
        ask(case, cid)


def test_no_verification_without_a_sent_decision_or_a_reason(case, clock):
    cid = case.register()
    case.classify(cid)
    with pytest.raises(Conflict) as refused:
        ask(case, cid)
    assert "no decision sent yet" in refused.value.message
    with case.runtime.unit_of_work() as uow, pytest.raises(InvalidSubmission) as invalid:
        verification.request_verification(uow, case.actors["coordinator"], cid, {"reason": " ", "x": 1})
    assert set(invalid.value.errors) == {"reason", "x"}


def test_no_verification_outside_a_profile_that_offers_it(regime, clock):
    case = regime("uk_fca")
    cid = case.handle_until_feedback()
    with pytest.raises(Conflict) as refused:
        ask(case, cid)
    assert "'uk_fca'" in refused.value.message
    case.feedback(cid, True, 5)
    assert case.complaint(cid).status == "closed" and case.ready_names(cid) == []


def test_a_request_while_feedback_is_awaited_ends_the_wait_and_a_second_is_refused(case, clock):
    cid = case.handle_until_feedback()
    clock.advance(days=2)
    ask(case, cid, actor="intake")
    assert case.ready_names(cid) == ["give_verification_opinion"]
    assert [t.state for t in case.timers(cid) if t.element_id == "feedback_wait_expired"] == ["cancelled"]
    with pytest.raises(Conflict) as again:
        ask(case, cid)
    assert "not waiting for a verification request" in again.value.message


def test_the_opinion_timer_fires_after_30_days_and_escalates(case, clock):
    cid = decided_and_closed(case, clock)
    ask(case, cid)
    clock.advance(days=30, minutes=1)
    fire_due_timers(case.runtime)
    breaches = [b["sla"] for b in case.complaint(cid).breached_slas]
    assert breaches == ["verification"]
    assert "intervene_overdue_complaint" in case.ready_names(cid)
    assert "give_verification_opinion" in case.ready_names(cid)      # non-interrupting: the opinion is still due


def test_the_opinion_letter_in_chinese_carries_opinion_basis_and_recourse_and_closes_the_case(case, clock):
    cid = decided_and_closed(case, clock)
    ask(case, cid)
    clock.advance(days=3)
    case.complete(cid, "give_verification_opinion", OPINION, actor=case.actors["senior"])
    [letter] = case.messages(cid, "verification_opinion")
    assert "维持原处理决定" in letter.body and "《信用卡章程》第十二条" in letter.body
    assert "核查" in letter.subject
    assert "调解" in letter.body and "仲裁" in letter.body and "诉讼" in letter.body
    complaint = case.complaint(cid)
    assert complaint.status == "closed" and complaint.closed_at == clock.now() and case.ready(cid) == []


def test_the_customer_asks_on_their_own_complaint_and_nobody_else_outside_the_permission(case, clock):
    with case.runtime.unit_of_work() as uow:
        cid = registration.register_complaint(uow, case.actors["customer"], sample_registration(1)).id
    case.classify(cid)
    case.triage(cid)
    case.investigate(cid, "cards")
    case.draft(cid)
    case.approve(cid)
    with pytest.raises(NotAllowed):
        ask(case, cid, actor="approver")
    ask(case, cid, actor="customer")
    assert case.ready_names(cid) == ["give_verification_opinion"]


def test_a_customer_who_said_satisfied_closes_the_case_for_good(case, clock):
    cid = case.handle_until_feedback()
    case.feedback(cid, True, 5)
    assert case.complaint(cid).status == "closed"
    assert [t for t in case.timers(cid) if t.state == "waiting"] == []
    with pytest.raises(Conflict) as refused:
        ask(case, cid)
    assert "no running process" in refused.value.message
