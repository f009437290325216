"""The regulatory decision clock per regime, by time travel through the engine (issue 26's "done when"): a
complaint is registered at a chosen instant under each regime's profile; the waiting decision timer, the deadline
the acknowledgement tells the customer and the breach record must all agree with a due date computed here by hand
from the regulation (../shared/domain.md), never from the engine's own arithmetic. A second before the due
instant nothing is breached; a second after, the breach is recorded once, under the SLA that applied.

Each row: the profile, the instant of receipt (local, in the regime's time zone), the product code (it picks the
payment-services track in the UK), the SLA the timer enforces, and the due instant (local)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.scheduler import fire_due_timers

ZONES = {"cn_cbirc": "Asia/Shanghai", "uk_fca": "Europe/London", "us_cfpb": "America/New_York"}


def local(profile: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(ZONES[profile])).astimezone(UTC)  # type: ignore[misc]


ENGLAND = "10 Deansgate\nManchester\nM3 2BW"
SCOTLAND = "14 Princes Street\nEdinburgh\nEH2 2AN"

CASES = [
    # China, CBIRC: 15 calendar days from receipt, same local time.
    pytest.param("cn_cbirc", (2027, 3, 1, 10, 0), "credit_card", "decision", (2027, 3, 16, 10, 0), id="cn-weekday"),
    pytest.param("cn_cbirc", (2027, 3, 5, 18, 30), "credit_card", "decision", (2027, 3, 20, 18, 30),
                 id="cn-friday-evening"),
    # Spring Festival 2027 (6 Feb) with its make-up working days: calendar days are not stretched by the
    # festival nor shortened by the make-up Saturdays.
    pytest.param("cn_cbirc", (2027, 2, 4, 9, 0), "credit_card", "decision", (2027, 2, 19, 9, 0),
                 id="cn-spring-festival"),
    # 23:59 and 00:01 local are different days of receipt (the day is Shanghai's, not UTC's).
    pytest.param("cn_cbirc", (2027, 3, 1, 23, 59), "credit_card", "decision", (2027, 3, 16, 23, 59),
                 id="cn-23:59"),
    pytest.param("cn_cbirc", (2027, 3, 2, 0, 1), "credit_card", "decision", (2027, 3, 17, 0, 1), id="cn-00:01"),
    # UK, DISP: 8 weeks = 56 calendar days, the local hour kept across the clock change (28 March 2027).
    pytest.param("uk_fca", (2027, 3, 1, 10, 0), "credit_card", "decision", (2027, 4, 26, 10, 0), id="uk-weekday"),
    pytest.param("uk_fca", (2027, 3, 5, 18, 30), "credit_card", "decision", (2027, 4, 30, 18, 30),
                 id="uk-friday-evening-dst"),
    # Payment services by product code: 15 business days, close of business, after the day of receipt. Received
    # Friday evening: the day of receipt never counts, so day one is Monday 8 March; the 14th is Thursday 25
    # March, then Good Friday (26) and Easter Monday (29) are bank holidays: the 15th is Tuesday 30 March (BST).
    pytest.param("uk_fca", (2027, 3, 5, 18, 30), "debit_card", "payment_services_decision", (2027, 3, 30, 17, 0),
                 id="uk-payment-services-friday-evening"),
    # 23:59 Monday vs 00:01 Tuesday: one business day apart (Monday 22 March vs Tuesday 23 March, 17:00).
    pytest.param("uk_fca", (2027, 3, 1, 23, 59), "debit_card", "payment_services_decision", (2027, 3, 22, 17, 0),
                 id="uk-payment-services-23:59"),
    pytest.param("uk_fca", (2027, 3, 2, 0, 1), "debit_card", "payment_services_decision", (2027, 3, 23, 17, 0),
                 id="uk-payment-services-00:01"),
    # Across Easter in England: Good Friday 26 March and Easter Monday 29 March 2027 are not business days.
    pytest.param("uk_fca", (2027, 3, 19, 12, 0), "debit_card", "payment_services_decision", (2027, 4, 13, 17, 0),
                 id="uk-payment-services-easter"),
    # The same receipt from a customer in England and one in Scotland (their postal addresses): Easter Monday is
    # no bank holiday in Scotland, so the Scottish case is due one business day earlier, Monday 12 April.
    pytest.param("uk_fca", (2027, 3, 19, 12, 0), "debit_card", "payment_services_decision", (2027, 4, 13, 17, 0),
                 ENGLAND, id="uk-easter-england"),
    pytest.param("uk_fca", (2027, 3, 19, 12, 0), "debit_card", "payment_services_decision", (2027, 4, 12, 17, 0),
                 SCOTLAND, id="uk-easter-scotland"),
    # US, CFPB: 15 calendar days; across the DST change (14 March 2027) the local hour is kept; a federal
    # holiday (Independence Day, observed Monday 5 July 2027) does not stretch calendar days.
    pytest.param("us_cfpb", (2027, 3, 8, 10, 0), "credit_card", "decision", (2027, 3, 23, 10, 0), id="us-dst"),
    pytest.param("us_cfpb", (2027, 7, 2, 16, 0), "credit_card", "decision", (2027, 7, 17, 16, 0),
                 id="us-federal-holiday"),
]


@pytest.mark.parametrize(("profile", "received", "product", "sla", "due", "address"),
                         [pytest.param(*c.values[:5], c.values[5] if len(c.values) > 5 else None, id=c.id)
                          for c in CASES])
def test_the_decision_clock_is_due_when_the_regulation_says_and_breaches_once(regime, clock, profile, received,
                                                                              product, sla, due, address):
    received_at, due_at = local(profile, *received), local(profile, *due)
    clock.set(received_at)
    case = regime(profile)
    contact = {"customer_contact": address} if address else {}
    cid = case.register(product=product, category="fees_charges", **contact)
    case.classify(cid, product=product, category="fees_charges")
    case.triage(cid)
    [timer] = [t for t in case.timers(cid) if t.element_id == "handling_deadline_overdue" and t.state == "waiting"]
    assert (timer.sla, timer.due_at) == (sla, due_at)
    # The customer was told the same instant, in the regime's time zone.
    [acknowledgement] = case.messages(cid, "acknowledgement")
    told = due_at.astimezone(ZoneInfo(ZONES[profile]))
    assert str(told.year) in acknowledgement.body and str(told.day) in acknowledgement.body
    if profile == "cn_cbirc":   # a Chinese letter names the product in Chinese, not the registered English text
        assert "信用卡" in acknowledgement.body and "Credit card" not in acknowledgement.body

    clock.set(due_at - timedelta(seconds=1))
    fire_due_timers(case.runtime)
    assert case.complaint(cid).breached_slas == []
    clock.set(due_at + timedelta(seconds=1))
    fire_due_timers(case.runtime)
    fire_due_timers(case.runtime)                 # a second pass records nothing more
    assert [b["sla"] for b in case.complaint(cid).breached_slas] == [sla]
    assert case.complaint(cid).is_overdue
