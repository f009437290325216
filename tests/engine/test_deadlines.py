"""Deadline extensions (issue 17): a coordinator's action with a reason, modelled in the diagram, moving the
waiting timer in the step that applies it, in the history, with a letter; refused (409, naming why) when the
profile does not allow it. Time travel with the manual clock, never sleeping; SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.engine.audit import personal
from app.engine.complaints import extensions
from app.engine.core.errors import Conflict, InvalidSubmission, NotAllowed
from app.engine.models import AuditEvent, DeadlineExtension
from app.engine.work import user_tasks
from app.scheduler import fire_due_timers

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches

# Monday 2027-03-01 10:00 in Shanghai.
RECEIVED = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock(clock):
    clock.set(RECEIVED)
    return clock


def extend(case, cid, extension, sla="decision", reason="The card scheme's records are needed", actor="coordinator"):
    with case.runtime.unit_of_work() as uow:
        record, outcome = extensions.request_extension(uow, case.actors[actor], cid,
                                                       {"sla": sla, "extension": extension, "reason": reason})
    outcome.raise_if_refused()
    return extensions.view(record)


def decision_timer(case, cid):
    [timer] = [t for t in case.timers(cid) if t.element_id == "handling_deadline_overdue" and t.state == "waiting"]
    return timer


def in_handling(case):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    return cid


def actions(case, cid):
    with case.runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid)
                                                .order_by(AuditEvent.id)))


def test_the_decision_timer_knows_its_sla_and_its_clock_start(case, clock):
    cid = case.register()
    clock.advance(hours=3)  # classified three hours later: the 15 days still run from receipt
    case.classify(cid)
    timer = decision_timer(case, cid)
    assert (timer.sla, timer.started_at) == ("decision", RECEIVED)
    assert timer.due_at == RECEIVED + timedelta(days=15)


def test_complex_case_extends_the_decision_deadline_to_30_days_in_the_same_step(case, clock):
    cid = in_handling(case)
    clock.advance(days=5)
    view = extend(case, cid, "complex_case")
    due = RECEIVED + timedelta(days=30)
    assert view["state"] == "applied" and view["new_due_at"] == due.isoformat()
    assert view["previous_due_at"] == (RECEIVED + timedelta(days=15)).isoformat()
    # The workflow's timer, its row, the task's and the complaint's due times moved together.
    assert decision_timer(case, cid).due_at == due
    assert case.task(cid, "investigate_complaint", "cards").due_at == due
    assert case.complaint(cid).due_at == due
    # In the history with its reason, and the customer is told (Chinese: the profile's language).
    [event] = [e for e in actions(case, cid) if e.action == "deadline_extended"]
    with case.runtime.unit_of_work() as uow:   # the reason is kept apart from the chained row (audit/personal.py)
        [shown] = personal.reveal(uow.session, [event])
    assert shown.detail["reason"] == "The card scheme's records are needed" and event.actor == "coordinator"
    [letter] = case.messages(cid, "extension_notice")
    assert letter.recipient == case.complaint(cid).customer_contact
    assert "延长" in letter.subject
    # The old deadline passes: nothing fires; the new one fires once.
    clock.set(RECEIVED + timedelta(days=29, hours=23))
    assert fire_due_timers(case.runtime).fired == 0
    clock.set(due + timedelta(minutes=1))
    assert fire_due_timers(case.runtime).fired == 1
    assert [b["sla"] for b in case.complaint(cid).breached_slas] == ["decision"]


def test_a_further_extension_waits_for_the_approval_of_the_role_config_names(case, clock):
    cid = in_handling(case)
    extend(case, cid, "complex_case")
    view = extend(case, cid, "further_extension", reason="Police report pending")
    assert view["state"] == "awaiting_approval"
    assert decision_timer(case, cid).due_at == RECEIVED + timedelta(days=30)  # not moved yet
    approval = case.task(cid, "approve_further_extension")
    # CBIRC: a head-office senior manager (config/sla.toml approval_role), not the head of complaint management.
    assert (approval.lane, approval.candidate_roles) == ("Extension approver", ["head_office_senior_manager"])
    assert not user_tasks.may_work_on(case.actors["coordinator"], approval)
    assert not user_tasks.may_work_on(case.actors["head"], approval)
    clock.advance(days=2)
    case.complete(cid, "approve_further_extension", {"extension_decision": "approve"}, actor=case.actors["senior"])
    assert decision_timer(case, cid).due_at == RECEIVED + timedelta(days=60)
    with case.runtime.unit_of_work() as uow:
        record = uow.session.scalars(select(DeadlineExtension).where(
            DeadlineExtension.extension == "further_extension")).one()
    assert (record.state, record.decided_by) == ("applied", "senior")
    assert len(case.messages(cid, "extension_notice")) == 2


def test_the_head_may_refuse_a_further_extension(case, clock):
    cid = in_handling(case)
    extend(case, cid, "complex_case")
    extend(case, cid, "further_extension")
    case.complete(cid, "approve_further_extension", {"extension_decision": "refuse",
                                                     "extension_comment": "Answer with what we have"},
                  actor=case.actors["senior"])
    assert decision_timer(case, cid).due_at == RECEIVED + timedelta(days=30)
    assert len(case.messages(cid, "extension_notice")) == 1
    assert "extension_refused" in [e.action for e in actions(case, cid)]


def test_a_further_extension_still_awaiting_approval_is_withdrawn_when_the_complaint_closes(case, clock):
    cid = in_handling(case)
    extend(case, cid, "complex_case")
    requested = extend(case, cid, "further_extension")
    case.investigate(cid, "cards")
    case.draft(cid)
    case.approve(cid)
    case.feedback(cid, True, 5)                                   # the head never decided
    assert case.complaint(cid).status == "closed"
    assert "approve_further_extension" not in case.ready_names(cid)
    with case.runtime.unit_of_work() as uow:
        record = uow.session.get(DeadlineExtension, requested["id"])
    assert (record.state, record.decided_at) == ("withdrawn", clock.now())
    assert "closed before the extension was decided" in record.comment
    [event] = [e for e in actions(case, cid) if e.action == "extension_withdrawn"]
    assert event.detail["extension_id"] == requested["id"] and event.detail["extension"] == "further_extension"
    # the granted one stays granted
    with case.runtime.unit_of_work() as uow:
        states = dict(uow.session.execute(select(DeadlineExtension.extension, DeadlineExtension.state)
                                          .where(DeadlineExtension.complaint_id == cid)).all())
    assert states == {"complex_case": "applied", "further_extension": "withdrawn"}


@pytest.mark.parametrize("first, request_, why", [
    ((), ("decision", "further_extension"), "requires the 'complex_case' extension"),
    (("complex_case",), ("decision", "complex_case"), "was already granted"),
    ((), ("decision", "holding_response"), "it allows: complex_case, further_extension"),
    ((), ("first_response", "complex_case"), "declares none"),
])
def test_an_extension_the_profile_does_not_allow_is_refused_naming_why(case, first, request_, why):
    cid = in_handling(case)
    for name in first:
        extend(case, cid, name)
    with pytest.raises(Conflict, match=why):
        extend(case, cid, request_[1], sla=request_[0])
    assert decision_timer(case, cid).due_at == RECEIVED + timedelta(days=30 if first else 15)


def test_only_coordinators_and_the_head_extend_and_a_reason_is_required(case):
    cid = in_handling(case)
    with pytest.raises(NotAllowed):
        extend(case, cid, "complex_case", actor="cards.officer")
    with pytest.raises(InvalidSubmission) as refused:
        extend(case, cid, "complex_case", reason="  ")
    assert "reason" in refused.value.errors


def test_no_extension_before_handling_starts(case):
    cid = case.register()
    with pytest.raises(Conflict, match="no running 'decision' deadline"):
        extend(case, cid, "complex_case")


def test_a_deadline_already_passed_fires_first_and_the_extension_is_refused(case, clock):
    """The timers-first rule: the step fires the overdue timer, commits that, and refuses the extension."""
    cid = in_handling(case)
    clock.advance(days=16)
    with pytest.raises(Conflict, match="passed before it could be extended"):
        extend(case, cid, "complex_case")
    assert case.complaint(cid).is_overdue
    assert "timer_fired" in [e.action for e in actions(case, cid)]


# --- other regimes: the same mechanism, their own extension names and letters --------------------------------

def days_after_receipt(days: int, zone: str) -> datetime:
    """Calendar days keep the local wall-clock time across a DST change (London and New York change in March)."""
    local = RECEIVED.astimezone(ZoneInfo(zone))
    return datetime.combine(local.date() + timedelta(days=days), local.time(), ZoneInfo(zone)).astimezone(UTC)


def test_disp_holding_response_keeps_the_8_week_point_and_moves_only_our_target(regime):
    case = regime("uk_fca")
    cid = in_handling(case)
    point = days_after_receipt(56, "Europe/London")
    assert decision_timer(case, cid).due_at == point
    view = extend(case, cid, "holding_response", reason="We are waiting for the merchant's records")
    target = days_after_receipt(84, "Europe/London")
    assert view["new_due_at"] == target.isoformat() and view["state"] == "applied"
    # DISP 1.6.2: the 8-week point never moves (issue 26); the bank's own target does.
    assert decision_timer(case, cid).due_at == point and case.complaint(cid).due_at == point
    assert case.complaint(cid).target_due_at == target
    [letter] = case.messages(cid, "holding_response")
    assert "Financial Ombudsman Service" in letter.body and "merchant's records" in letter.body


def test_cfpb_in_progress_gives_60_days_from_receipt(regime):
    case = regime("us_cfpb")
    cid = in_handling(case)
    extend(case, cid, "in_progress")
    assert decision_timer(case, cid).due_at == days_after_receipt(60, "America/New_York")
    [letter] = case.messages(cid, "extension_notice")
    assert "60 days" in letter.body


def test_the_customers_language_is_used_for_every_letter(case):
    cid = case.register(language="en")
    case.classify(cid)
    case.triage(cid)
    extend(case, cid, "complex_case")
    assert case.complaint(cid).language == "en"
    assert [m.subject.startswith("Your complaint") for m in case.messages(cid)] == [True, True]
    other = case.register(2)  # no choice: the regime's language
    assert case.complaint(other).language == "zh_CN"
