"""Clocks per regime that never disappear (issue 26): the acknowledgement at registration, an urgent case's 12-hour
promise beside the regulatory clock, DISP's 8-week point that a holding response never moves (and the task at
that point), the DISP 1.5 summary resolution, and the letters of a reopened case and of the wait for feedback.
Time travel through the engine with the manual clock; SQLite and PostgreSQL, warm and cold."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.engine.complaints import extensions
from app.engine.core.errors import InvalidSubmission
from app.engine.process import diagram_state
from app.scheduler import fire_due_timers

pytestmark = pytest.mark.both_caches

# Monday 2027-03-01 10:00 in London (GMT): three business days end Thursday 17:00.
RECEIVED = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock(clock):
    clock.set(RECEIVED)
    return clock


def hold(case, cid, reason="We are waiting for the card scheme's records"):
    with case.runtime.unit_of_work() as uow:
        record, outcome = extensions.request_extension(uow, case.actors["coordinator"], cid,
                                                       {"sla": "decision", "extension": "holding_response",
                                                        "reason": reason})
    outcome.raise_if_refused()
    return extensions.view(record)


def breaches(case, cid):
    return [b["sla"] for b in case.complaint(cid).breached_slas]


def in_handling(case, **classification):
    cid = case.register()
    case.classify(cid, **classification)
    case.triage(cid)
    return cid


def test_the_acknowledgement_is_queued_at_registration_before_any_classification(case, clock):
    cid = case.register()
    assert [m.kind for m in case.messages(cid)] == ["acknowledgement"]
    assert case.ready_names(cid) == ["classify_complaint"]
    clock.advance(hours=25)                      # nobody classified it: the first response escalates
    fire_due_timers(case.runtime)
    assert breaches(case, cid) == ["first_response"]
    assert [m.kind for m in case.messages(cid, "acknowledgement")] == ["acknowledgement"]


def test_an_urgent_uk_card_fraud_case_runs_both_clocks_and_records_both_breaches(regime, clock):
    case = regime("uk_fca")
    cid = case.register(category="fund_security", product="debit_card")
    case.classify(cid, category="fund_security", product="debit_card")
    timers = {t.element_id: t for t in case.timers(cid) if t.state == "waiting"}
    promise, regulatory = timers["urgent_promise_missed"], timers["handling_deadline_overdue"]
    # Debit cards are payment services: 15 business days (close of business), beside the bank's 12 hours.
    assert (promise.sla, promise.due_at) == ("urgent_handling", RECEIVED + timedelta(hours=12))
    assert regulatory.sla == "payment_services_decision"
    assert regulatory.due_at == datetime(2027, 3, 22, 17, 0, tzinfo=UTC)
    with case.runtime.unit_of_work() as uow:
        clocks = diagram_state.clocks(uow, case.actors["coordinator"], cid)
    assert {c.sla for c in clocks if c.state == "waiting"} >= {"urgent_handling", "payment_services_decision"}
    clock.advance(hours=13)
    fire_due_timers(case.runtime)
    assert breaches(case, cid) == ["urgent_handling"]
    assert "handling_deadline_overdue" in [t.element_id for t in case.timers(cid) if t.state == "waiting"]
    clock.set(regulatory.due_at + timedelta(minutes=1))
    fire_due_timers(case.runtime)
    # Recorded separately: the promise, then the regulatory deadline that applied (the payment-services track).
    assert breaches(case, cid) == ["urgent_handling", "payment_services_decision"]
    with case.runtime.unit_of_work() as uow:
        fired = {c.sla for c in diagram_state.clocks(uow, case.actors["coordinator"], cid) if c.breached}
    assert {"urgent_handling", "payment_services_decision"} <= fired


def test_a_decision_within_12_hours_keeps_the_promise_and_stops_its_clock(case, clock):
    cid = case.register(category="fund_security")
    case.classify(cid, category="fund_security")
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards")
    case.draft(cid)
    case.approve(cid)                            # the decision letter, within the hour
    [promise] = [t for t in case.timers(cid) if t.element_id == "urgent_promise_missed"]
    assert promise.state == "cancelled"
    clock.advance(hours=13)
    fire_due_timers(case.runtime)
    assert breaches(case, cid) == []


def test_a_non_urgent_case_has_no_promise_clock(case, clock):
    cid = in_handling(case)
    assert [t.sla for t in case.timers(cid) if t.state == "waiting"] == ["decision"]


def test_a_holding_response_keeps_the_8_week_point_and_the_task_appears_there(regime, clock):
    case = regime("uk_fca")
    cid = in_handling(case)
    point = RECEIVED + timedelta(days=56)
    clock.advance(days=40)
    view = hold(case, cid)                       # early: the customer may refer only from the point on
    assert view["state"] == "applied"
    [early] = case.messages(cid, "holding_response")
    assert "may now refer" not in early.body and "26 April 2027" in early.body
    clock.set(point + timedelta(minutes=1))
    fire_due_timers(case.runtime)
    assert breaches(case, cid) == ["decision"]   # the point was never moved
    task = case.task(cid, "send_final_or_holding_response")
    assert task.lane == "Complaint management" and task.due_at == datetime(2027, 4, 28, 16, 0, tzinfo=UTC)
    case.complete(cid, "send_final_or_holding_response",
                  {"breach_response": "holding_response", "breach_response_note": "Records still missing"})
    late = case.messages(cid, "holding_response")[-1]
    assert "may now refer" in late.body and "Records still missing" in late.body
    assert "send_final_or_holding_response" not in case.ready_names(cid)


def test_a_holding_response_after_the_breach_is_allowed_and_says_the_customer_may_refer_now(regime, clock):
    case = regime("uk_fca")
    cid = in_handling(case)
    clock.set(RECEIVED + timedelta(days=57))
    fire_due_timers(case.runtime)
    assert breaches(case, cid) == ["decision"]
    view = hold(case, cid)
    assert view["state"] == "applied"
    [letter] = case.messages(cid, "holding_response")
    assert "You may now refer your complaint to the Financial Ombudsman Service" in letter.body
    assert breaches(case, cid) == ["decision"]


def test_a_summary_resolution_by_the_third_business_day_closes_the_case(regime, clock):
    case = regime("uk_fca")
    cid = case.register()
    case.classify(cid)
    clock.set(datetime(2027, 3, 4, 16, 30, tzinfo=UTC))       # Thursday 16:30, before close of business
    case.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                            "summary_resolution": True})
    [letter] = case.messages(cid, "summary_resolution")
    assert "considered resolved" in letter.body or "consider your complaint resolved" in letter.body
    assert "www.financial-ombudsman.org.uk" in letter.body and "six months" in letter.body
    complaint = case.complaint(cid)
    assert complaint.status == "closed" and case.ready(cid) == []


def test_a_summary_resolution_after_the_third_business_day_is_refused_naming_the_field(regime, clock):
    case = regime("uk_fca")
    cid = case.register()
    case.classify(cid)
    clock.set(datetime(2027, 3, 4, 17, 1, tzinfo=UTC))        # Thursday 17:01: too late
    with pytest.raises(InvalidSubmission) as refused:
        case.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                                "summary_resolution": True})
    assert "2027-03-04 17:00" in refused.value.errors["summary_resolution"][0]
    assert case.ready_names(cid) == ["triage_complaint"] and case.messages(cid, "summary_resolution") == []


def test_no_summary_resolution_under_cbirc(case, clock):
    cid = case.register()
    case.classify(cid)
    with pytest.raises(InvalidSubmission) as refused:
        case.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                                "summary_resolution": True})
    assert "summary_resolution" in refused.value.errors


def test_the_feedback_request_and_the_review_notice_are_queued(case, clock):
    cid = case.handle_until_feedback()
    [request] = case.messages(cid, "feedback_request")
    assert request.recipient == case.complaint(cid).customer_contact
    clock.advance(days=2)
    case.feedback(cid, False, 2)
    case.reopen(cid, "resolution")
    [notice] = case.messages(cid, "review_notice")
    assert "复核" in notice.subject or "review" in notice.subject
    [review] = [t for t in case.timers(cid) if t.state == "waiting" and t.sla == "review"]
    assert review.due_at == clock.now() + timedelta(days=15)


def test_the_head_sends_a_holding_response_from_the_intervention_after_the_breach(regime, clock):
    case = regime("uk_fca")
    cid = in_handling(case)
    [point] = [t.due_at for t in case.timers(cid) if t.element_id == "handling_deadline_overdue"]
    clock.set(point + timedelta(hours=1))
    fire_due_timers(case.runtime)
    assert breaches(case, cid) == ["decision"]
    case.complete(cid, "intervene_overdue_complaint", {"intervention_action": "extend", "extension": "holding_response",
                                                       "instruction": "Records from the card scheme are late"},
                  actor=case.actors["head"])
    [letter] = case.messages(cid, "holding_response")
    assert "You may now refer your complaint to the Financial Ombudsman Service" in letter.body
    [timer] = [t for t in case.timers(cid) if t.element_id == "handling_deadline_overdue"]
    assert (timer.state, timer.due_at) == ("fired", point)          # the 8-week point never moves
    assert case.complaint(cid).target_due_at == datetime(2027, 5, 24, 10, 0, tzinfo=UTC)   # 4 weeks after now
    assert "intervene_overdue_complaint" not in case.ready_names(cid)
