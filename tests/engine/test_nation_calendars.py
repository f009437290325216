"""Per-nation UK calendars (issue 26): a UK case counts business days on its customer's nation's bank holidays,
chosen from the postcode of their postal address, else the place of business, else the registrant's choice,
else England's. Easter Monday 2027 (29 March) is a bank holiday in England and Wales and Northern Ireland but not
in Scotland; St Patrick's Day (17 March) only in Northern Ireland. Through the real engine with the manual clock."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.engine.config.settings import load_settings
from app.engine.deadlines import case_calendars
from app.engine.models import AuditEvent

pytestmark = pytest.mark.both_caches

LONDON = ZoneInfo("Europe/London")
ENGLAND = "1 Victoria Street\nLondon\nSW1H 0ET"
SCOTLAND = "14 Princes Street\nEdinburgh\nEH2 2AN"
NORTHERN_IRELAND = "5 Donegall Square\nBelfast\nBT1 5GS"
PAYMENT_ACCOUNT = "current_account_personal"   # flagged payment_services: 15 business days under DISP


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)


def timer(case, cid, element_id):
    [found] = [t for t in case.timers(cid) if t.element_id == element_id and t.state == "waiting"]
    return found


def handling_due(case, cid) -> datetime:
    case.classify(cid, product=PAYMENT_ACCOUNT)
    case.triage(cid, lead="cards")
    return timer(case, cid, "handling_deadline_overdue").due_at


def acknowledged_deadline(case, cid) -> datetime:
    with case.runtime.unit_of_work() as uow:
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid,
                                                               AuditEvent.action == "acknowledgement_queued"))
        return datetime.fromisoformat(event.detail["decision_due_at"])


@pytest.fixture
def uk(regime, clock):
    # Thursday 25 March 2027, 10:00 in London: Good Friday and Easter Monday follow.
    clock.set(london(2027, 3, 25, 10, 0))
    return regime("uk_fca")


def test_a_payment_services_case_before_easter_ends_a_business_day_apart_in_england_and_scotland(uk):
    english = uk.register(customer_contact=ENGLAND, product=PAYMENT_ACCOUNT)
    scottish = uk.register(2, customer_contact=SCOTLAND, product=PAYMENT_ACCOUNT)
    assert uk.complaint(english).calendar_code == "gb_eng" and uk.complaint(scottish).calendar_code == "gb_sct"
    # England skips Good Friday and Easter Monday: the 15th business day is Monday 19 April. Scotland works on
    # Easter Monday: Friday 16 April. Close of business (17:00) both.
    assert acknowledged_deadline(uk, english) == london(2027, 4, 19, 17, 0)
    assert acknowledged_deadline(uk, scottish) == london(2027, 4, 16, 17, 0)
    assert handling_due(uk, english) == london(2027, 4, 19, 17, 0)
    assert handling_due(uk, scottish) == london(2027, 4, 16, 17, 0)


def test_a_northern_ireland_postcode_counts_st_patricks_day(regime, clock):
    clock.set(london(2027, 3, 16, 10, 0))   # Tuesday; Wednesday 17 March is St Patrick's Day in NI only
    case = regime("uk_fca")
    english = case.register(customer_contact=ENGLAND)
    northern = case.register(2, customer_contact=NORTHERN_IRELAND)
    assert case.complaint(northern).calendar_code == "gb_nir"
    # DISP's 3 business days after the day of receipt (the first_response timer): Friday in England, Monday in NI.
    assert timer(case, english, "first_response_overdue").due_at == london(2027, 3, 19, 17, 0)
    assert timer(case, northern, "first_response_overdue").due_at == london(2027, 3, 22, 17, 0)


def test_the_registrants_choice_decides_when_the_address_does_not(uk):
    cid = uk.register(customer_contact="ann@example.com", calendar_code="gb_sct", product=PAYMENT_ACCOUNT)
    assert uk.complaint(cid).calendar_code == "gb_sct"
    assert acknowledged_deadline(uk, cid) == london(2027, 4, 16, 17, 0)
    # The postcode wins over the choice: it is where the customer lives.
    cid = uk.register(2, customer_contact=ENGLAND, calendar_code="gb_sct")
    assert uk.complaint(cid).calendar_code == "gb_eng"


def test_an_unknown_calendar_is_refused_naming_the_field(uk):
    from app.engine.complaints import registration
    from app.engine.core.errors import InvalidSubmission
    from app.engine.demo.simulation import sample_registration

    with pytest.raises(InvalidSubmission) as err, uk.runtime.unit_of_work() as uow:
        registration.register_complaint(uow, uk.actors["intake"], {**sample_registration(1), "calendar_code": "fr"})
    assert list(err.value.errors) == ["calendar_code"]


def test_without_address_place_or_choice_england_counts(uk):
    cid = uk.register(customer_contact="+44 20 7946 0000")
    assert uk.complaint(cid).calendar_code == "gb_eng"


# --- the choice itself ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def profile():
    return load_settings(sla_profile="uk_fca").sla_profile


@pytest.mark.parametrize("address, calendar", [
    (SCOTLAND, "gb_sct"), (NORTHERN_IRELAND, "gb_nir"), (ENGLAND, "gb_eng"),
    ("Flat 2\n3 High Street\nGlasgow g1 1aa", "gb_sct"),       # written in lower case, area G
    ("Mill House\nKelso\nTD5 7AA", "gb_sct"),                  # TD5: Scottish Borders
    ("Walkergate\nBerwick-upon-Tweed\nTD15 1DB", "gb_eng"),    # TD15 straddles the border: decides nothing
    ("12 George Street\nGateshead NE8 1AA", "gb_eng"),         # NE, not EH: the area must match whole
    ("No postcode here, Edinburgh", "gb_eng"),
])
def test_the_postcode_area_or_district_picks_the_nation(profile, address, calendar):
    assert case_calendars.choose(profile, address=address) == calendar


def test_a_district_on_both_sides_of_the_border_leaves_the_choice_to_the_registrant(profile):
    assert case_calendars.choose(profile, address="Walkergate\nBerwick-upon-Tweed\nTD15 1DB",
                                 explicit="gb_sct") == "gb_sct"
    assert case_calendars.choose(profile, address="Mill House\nKelso\nTD5 7AA", explicit="gb_eng") == "gb_sct"


def test_a_place_of_business_the_config_maps_decides_before_the_registrants_choice(profile):
    scotland = dataclasses.replace(profile.calendars["gb_sct"], places=frozenset({"branch_counter"}))
    mapped = dataclasses.replace(profile, calendars={**profile.calendars, "gb_sct": scotland})
    assert case_calendars.choose(mapped, place="branch_counter", explicit="gb_nir") == "gb_sct"
    assert case_calendars.choose(mapped, place="online_banking", explicit="gb_nir") == "gb_nir"


def test_a_single_calendar_profile_always_counts_on_its_own(regime):
    profile = load_settings(sla_profile="cn_cbirc").sla_profile
    assert case_calendars.choose(profile, address=SCOTLAND, explicit="gb_sct") == "cn"
