"""Receipt and source of a complaint (issue 26): staff may say when a complaint reached the bank and every clock
starts then; a forwarded complaint records its body, dates, deadline and reply route, and the body's deadline
governs when it is earlier. Through the real engine with the manual clock; SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.engine.complaints import registration
from app.engine.core.errors import InvalidSubmission
from app.engine.deadlines.sla import due_at
from app.engine.models import AuditEvent

pytestmark = pytest.mark.both_caches

# Monday 2027-03-08 10:00 in Shanghai (the demo's CBIRC profile: 15 calendar days for the decision).
NOW = datetime(2027, 3, 8, 2, 0, tzinfo=UTC)
FORWARDED = {"channel": "regulator", "forwarded_reference": "CBIRC-2027-118", "forwarded_by": "cbirc",
             "forwarded_at": "2027-03-05", "reply_route": "customer"}


@pytest.fixture
def clock(clock):
    clock.set(NOW)
    return clock


def handling_timer(case, cid):
    case.classify(cid)
    case.triage(cid, lead="cards")
    [timer] = [t for t in case.timers(cid) if t.element_id == "handling_deadline_overdue" and t.state == "waiting"]
    return timer


def acknowledged_deadline(case, cid) -> datetime:
    with case.runtime.unit_of_work() as uow:
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid,
                                                               AuditEvent.action == "acknowledgement_queued"))
        return datetime.fromisoformat(event.detail["decision_due_at"])


def refused(case, actor="intake", **data) -> dict:
    with pytest.raises(InvalidSubmission) as err, case.runtime.unit_of_work() as uow:
        registration.register_complaint(uow, case.actors[actor], {**sample(), **data})
    return err.value.errors


def sample() -> dict:
    return {"customer_name": "Ann Lee", "customer_contact": "ann@example.com", "channel": "email",
            "product": "credit_card", "category": "fees_charges", "description": "Charged twice for one purchase."}


# --- received_at ------------------------------------------------------------------------------------------------

def test_a_receipt_back_dated_a_week_starts_the_clocks_then(case, clock):
    received = NOW - timedelta(days=7)
    cid = case.register(received_at=received.isoformat())
    complaint = case.complaint(cid)
    assert complaint.received_at == received and complaint.registered_at == NOW
    expected = due_at(case.runtime.settings.sla_profile, "decision", received)
    assert expected == received + timedelta(days=15)
    # The handling timer and the acknowledgement letter both count from receipt, not from registration.
    assert acknowledged_deadline(case, cid) == expected
    assert handling_timer(case, cid).due_at == expected
    # The registration's history entry says both instants.
    with case.runtime.unit_of_work() as uow:
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid,
                                                               AuditEvent.action == "complaint_registered"))
        assert event.occurred_at == NOW and event.detail["received_at"] == received.isoformat()


def test_a_local_time_without_offset_is_read_in_the_profiles_time_zone(case, clock):
    cid = case.register(received_at="2027-03-05T09:30")   # Shanghai, UTC+8
    assert case.complaint(cid).received_at == datetime(2027, 3, 5, 1, 30, tzinfo=UTC)


def test_without_received_at_the_complaint_is_received_when_registered(case, clock):
    cid = case.register()
    complaint = case.complaint(cid)
    assert complaint.received_at == complaint.registered_at == NOW


@pytest.mark.parametrize("value, message", [
    ((NOW + timedelta(minutes=5)).isoformat(), "future"),
    ((NOW - timedelta(days=31)).isoformat(), "further back"),
    ("last Tuesday", "Give a date and time"),
    ("2027-03-05", "Give a date and time"),
], ids=["future", "older-than-config-allows", "not-a-time", "date-without-time"])
def test_a_receipt_in_the_future_or_too_old_is_refused_naming_the_field(case, clock, value, message):
    errors = refused(case, received_at=value)
    assert list(errors) == ["received_at"] and message in errors["received_at"][0]


def test_the_configured_bound_is_inclusive_of_30_days(case, clock):
    cid = case.register(received_at=(NOW - timedelta(days=30)).isoformat())
    assert case.complaint(cid).received_at == NOW - timedelta(days=30)


def test_a_customer_never_sets_received_at(case, clock):
    errors = refused(case, actor="customer", received_at=(NOW - timedelta(days=1)).isoformat())
    assert list(errors) == ["received_at"] and "Only staff" in errors["received_at"][0]


# --- forwarded complaints ------------------------------------------------------------------------------------

def test_a_forwarded_complaint_records_its_source(case, clock):
    cid = case.register(**FORWARDED, received_at=(NOW - timedelta(days=2)).isoformat(),
                        forwarded_due_at="2027-03-31")
    complaint = case.complaint(cid)
    assert (complaint.forwarded_by, complaint.forwarded_reference, complaint.reply_route) == (
        "cbirc", "CBIRC-2027-118", "customer")
    assert complaint.forwarded_at == datetime(2027, 3, 4, 16, 0, tzinfo=UTC)       # 5 March 00:00 Shanghai
    assert complaint.forwarded_due_at == datetime(2027, 3, 31, 9, 0, tzinfo=UTC)   # close of business, 17:00


def test_an_earlier_body_deadline_governs_the_handling_clock_and_the_letter(case, clock):
    # The regulatory decision deadline is 23 March (15 days); the body wants our answer by 18 March.
    cid = case.register(**FORWARDED, forwarded_due_at="2027-03-18T12:00+08:00")
    body_deadline = datetime(2027, 3, 18, 4, 0, tzinfo=UTC)
    assert body_deadline < due_at(case.runtime.settings.sla_profile, "decision", NOW)
    assert acknowledged_deadline(case, cid) == body_deadline
    assert handling_timer(case, cid).due_at == body_deadline


def test_a_later_body_deadline_does_not_govern(case, clock):
    cid = case.register(**FORWARDED, forwarded_due_at="2027-04-30")
    regulatory = due_at(case.runtime.settings.sla_profile, "decision", NOW)
    assert acknowledged_deadline(case, cid) == regulatory
    assert handling_timer(case, cid).due_at == regulatory


def _extend(case, cid, extension):
    from app.engine.complaints import extensions

    with case.runtime.unit_of_work() as uow:
        record, outcome = extensions.request_extension(uow, case.actors["coordinator"], cid, {
            "sla": "decision", "extension": extension, "reason": "The card scheme's records are needed"})
    outcome.raise_if_refused()
    return extensions.view(record)


def test_an_extension_stops_at_the_body_deadline(case, clock):
    # Regulatory: 23 March; the body's deadline 28 March (17:00 Shanghai) is later, so it does not govern at
    # first. The complex-case extension (30 days: 7 April) would carry the answer past it: it stops there.
    cid = case.register(**FORWARDED, forwarded_due_at="2027-03-28")
    handling_timer(case, cid)
    body_deadline = datetime(2027, 3, 28, 9, 0, tzinfo=UTC)
    assert _extend(case, cid, "complex_case")["new_due_at"] == body_deadline.isoformat()
    [timer] = [t for t in case.timers(cid) if t.element_id == "handling_deadline_overdue" and t.state == "waiting"]
    assert timer.due_at == body_deadline


def test_no_extension_when_the_body_deadline_already_governs(case, clock):
    from app.engine.core.errors import Conflict

    cid = case.register(**FORWARDED, forwarded_due_at="2027-03-18T12:00+08:00")
    handling_timer(case, cid)
    with pytest.raises(Conflict, match="forwarding body set"):
        _extend(case, cid, "complex_case")


def test_the_forwarded_facts_are_required_on_a_forwarding_channel(case, clock):
    errors = refused(case, channel="media")
    assert set(errors) == {"forwarded_reference", "forwarded_by", "forwarded_at", "reply_route"}


def test_a_direct_complaint_has_no_forwarding_details(case, clock):
    errors = refused(case, forwarded_by="fca", forwarded_due_at="2027-04-01")
    assert set(errors) == {"forwarded_by", "forwarded_due_at"}
    assert "forwarding channel" in errors["forwarded_by"][0]


@pytest.mark.parametrize("changes, field", [
    ({"forwarded_by": "media"}, "forwarded_by"),                   # the media do not forward as a regulator
    ({"forwarded_at": "2027-03-09"}, "forwarded_at"),              # after it reached us
    ({"forwarded_due_at": "2027-03-01"}, "forwarded_due_at"),      # before it reached us
    ({"forwarded_due_at": "soon"}, "forwarded_due_at"),
    ({"reply_route": "pigeon"}, "reply_route"),
], ids=["body-of-another-channel", "forwarded-after-receipt", "deadline-before-receipt", "deadline-not-a-date",
        "unknown-route"])
def test_bad_forwarding_facts_are_refused_naming_the_field(case, clock, changes, field):
    errors = refused(case, **{**FORWARDED, **changes})
    assert list(errors) == [field]


def test_the_decision_also_goes_to_the_body_when_the_route_includes_it(case, clock):
    cid = case.register(**{**FORWARDED, "reply_route": "both"})
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards")
    case.draft(cid)
    case.approve(cid)
    [reply] = case.messages(cid, "reply")
    [copy] = case.messages(cid, "reply_to_forwarding_body")
    assert reply.recipient == case.complaint(cid).customer_contact
    assert copy.recipient == "complaints-office@cbirc.example"
    assert copy.body == reply.body and "CBIRC-2027-118" in copy.subject


def test_a_reply_routed_to_the_body_only_is_not_sent_to_the_customer(case, clock):
    cid = case.register(**{**FORWARDED, "reply_route": "body"})
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards")
    case.draft(cid)
    case.approve(cid)
    assert case.messages(cid, "reply") == []
    [copy] = case.messages(cid, "reply_to_forwarding_body")
    assert copy.recipient == "complaints-office@cbirc.example"
