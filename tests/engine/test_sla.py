"""Deadlines counted per SLA, per regime: calendar days, business days from the holidays library, close of
business; time zones and DST; the bank's own calendar overrides; configuration errors named. No clock is
waited on: every case is a computation from a fixed receipt instant."""
from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.engine.config.calendars import BusinessCalendar
from app.engine.config.settings import DEFAULT_CONFIG_DIR, SlaDefinition, load_sla_profile
from app.engine.core.times import parse_duration
from app.engine.deadlines.sla import add_duration, due_at, nth_business_day_after

LONDON, SHANGHAI, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")


def local(zone, *args) -> datetime:
    return datetime(*args, tzinfo=zone)


@pytest.fixture(scope="module")
def uk():
    return load_sla_profile(DEFAULT_CONFIG_DIR, "uk_fca")


@pytest.fixture(scope="module")
def cn():
    return load_sla_profile(DEFAULT_CONFIG_DIR, "cn_cbirc")


@pytest.fixture(scope="module")
def us():
    return load_sla_profile(DEFAULT_CONFIG_DIR, "us_cfpb")


# --- UK: FCA DISP 1 ---------------------------------------------------------------------------------------

def test_disp_eight_weeks_are_56_calendar_days_after_receipt(uk):
    received = local(LONDON, 2027, 1, 4, 10, 0)          # a Monday
    due = due_at(uk, "decision", received)
    assert due.astimezone(LONDON) == local(LONDON, 2027, 3, 1, 10, 0)
    assert (due - received).days == 56                   # not 56 business days (78 calendar days)


def test_disp_eight_weeks_keep_the_local_hour_across_the_clock_change(uk):
    received = local(LONDON, 2027, 3, 1, 9, 30)          # GMT; due after the switch to BST on 28 March
    assert due_at(uk, "decision", received).astimezone(LONDON) == local(LONDON, 2027, 4, 26, 9, 30)


def test_three_business_days_end_at_close_of_business_and_skip_christmas_bank_holidays(uk):
    # Received Thursday 24 Dec 2026: 25th Christmas (Fri), weekend, 28th Boxing Day (substitute, Mon).
    due = due_at(uk, "first_response", local(LONDON, 2026, 12, 24, 15, 0))
    assert due.astimezone(LONDON) == local(LONDON, 2026, 12, 31, 17, 0)


def test_three_business_days_skip_easter(uk):
    # Thursday 25 March 2027; Good Friday 26th and Easter Monday 29th are bank holidays in England.
    due = due_at(uk, "first_response", local(LONDON, 2027, 3, 25, 8, 0))
    assert due.astimezone(LONDON) == local(LONDON, 2027, 4, 1, 17, 0)


def test_the_day_of_receipt_never_counts_even_before_opening(uk):
    due = due_at(uk, "first_response", local(LONDON, 2027, 1, 5, 0, 5))   # Tuesday just after midnight
    assert due.astimezone(LONDON) == local(LONDON, 2027, 1, 8, 17, 0)


def test_payment_services_products_take_the_15_business_day_track(uk):
    received = local(LONDON, 2027, 5, 20, 11, 0)         # Thursday; 31 May (Spring bank holiday) is skipped
    general = due_at(uk, "decision", received, product="credit_card")
    payments = due_at(uk, "decision", received, product="debit_card")   # flagged payment_services in the config
    assert general.astimezone(LONDON) == local(LONDON, 2027, 7, 15, 11, 0)
    assert payments.astimezone(LONDON) == local(LONDON, 2027, 6, 11, 17, 0)


def test_scotland_has_its_own_bank_holidays():
    profile = load_sla_profile(DEFAULT_CONFIG_DIR, "uk_fca")
    scotland = replace(profile, calendar=BusinessCalendar(name="gb_sct", country="GB", subdivision="SCT"))
    received = local(LONDON, 2026, 12, 31, 12, 0)
    # England: 1 Jan holiday -> 4, 5, 6 Jan. Scotland: 1 Jan and the 2 January holiday (on Monday 4th).
    assert due_at(profile, "first_response", received).date() == date(2027, 1, 6)
    assert due_at(scotland, "first_response", received).date() == date(2027, 1, 7)


# --- China: CBIRC Order 2020 No. 3 --------------------------------------------------------------------------

def test_cbirc_fifteen_days_are_calendar_days_through_the_spring_festival(cn):
    received = local(SHANGHAI, 2026, 2, 12, 16, 0)
    assert due_at(cn, "decision", received).astimezone(SHANGHAI) == local(SHANGHAI, 2026, 2, 27, 16, 0)


def test_chinese_make_up_saturday_is_a_business_day_and_the_festival_is_not(cn):
    calendar = cn.calendar
    assert calendar.is_business_day(date(2026, 2, 14))       # Saturday worked before the Spring Festival
    assert not calendar.is_business_day(date(2026, 2, 17))   # Spring Festival
    assert not calendar.is_business_day(date(2026, 2, 21))   # an ordinary Saturday in the holiday week
    # Five business days after Thursday 12 Feb 2026: 13 (Fri), 14 (make-up Sat), then the holiday runs to the
    # 23rd (a substituted day off), so 24, 25, 26 Feb.
    assert nth_business_day_after(cn, date(2026, 2, 12), 5) == date(2026, 2, 26)


def test_a_business_day_sla_in_china_counts_the_make_up_saturday(cn):
    profile = replace(cn, slas={**cn.slas, "callback": SlaDefinition("callback", "P2D", "business_days")})
    due = due_at(profile, "callback", local(SHANGHAI, 2026, 2, 12, 10, 0))
    assert due.astimezone(SHANGHAI) == local(SHANGHAI, 2026, 2, 14, 10, 0)


def test_cbirc_extensions_are_declared_with_their_approval(cn):
    extensions = {e.name: e for e in cn.slas["decision"].extensions}
    assert extensions["complex_case"].total == "P30D" and extensions["complex_case"].approval_role is None
    assert extensions["further_extension"].add == "P30D"
    # Order 2020 No. 3: the superior institution or a head-office senior manager (issue 26), configurable.
    assert extensions["further_extension"].approval_role == "head_office_senior_manager"
    assert cn.slas["decision"].warn_at == (0.75, 0.9)


# --- US: CFPB ---------------------------------------------------------------------------------------------

def test_cfpb_fifteen_calendar_days_across_the_dst_change(us):
    received = local(NEW_YORK, 2027, 3, 1, 12, 0)            # EST; due in EDT
    due = due_at(us, "decision", received)
    assert due.astimezone(NEW_YORK) == local(NEW_YORK, 2027, 3, 16, 12, 0)
    in_progress = next(e for e in us.slas["decision"].extensions if e.name == "in_progress")
    assert add_duration(us, "calendar_days", in_progress.total, received).astimezone(NEW_YORK).date() == \
        date(2027, 4, 30)


def test_us_federal_holidays_are_not_business_days(us):
    assert not us.calendar.is_business_day(date(2027, 7, 5))      # Independence Day observed
    assert nth_business_day_after(us, date(2027, 7, 2), 1) == date(2027, 7, 6)


# --- Configuration ------------------------------------------------------------------------------------------

def _config_copy(tmp_path: Path, replace_text: tuple[str, str] | None = None, append: str = "") -> Path:
    target = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, target)
    text = (target / "sla.toml").read_text(encoding="utf-8")
    if replace_text:
        assert replace_text[0] in text
        text = text.replace(*replace_text)
    (target / "sla.toml").write_text(text + append, encoding="utf-8")
    return target


def test_the_bank_can_add_closing_days_and_working_days(tmp_path):
    config = _config_copy(tmp_path, ('extra_holidays = []\nextra_working_days = []',
                                     'extra_holidays = ["2026-02-13"]\nextra_working_days = ["2026-02-21"]'))
    profile = load_sla_profile(config, "cn_cbirc")
    assert not profile.calendar.is_business_day(date(2026, 2, 13))
    assert profile.calendar.is_business_day(date(2026, 2, 21))
    assert nth_business_day_after(profile, date(2026, 2, 12), 2) == date(2026, 2, 21)


@pytest.mark.parametrize("change, message", [
    (('[profiles.uk_fca.slas.decision]\ndescription', '[profiles.uk_fca.slas.decision]\ncounting_typo = 1\ndescription'),
     "unknown key(s) counting_typo"),
    (('duration = "P56D"\ncounting = "calendar_days"', 'duration = "P56D"\ncounting = "weekdays"'),
     "counting must be one of"),
    (('duration = "P3D"\ncounting = "business_days_close"', 'duration = "PT72H"\ncounting = "business_days_close"'),
     "counts whole days"),
    (('duration = "P56D"', 'duration = "56 days"'), "not an ISO 8601 duration"),
    (('calendar = "gb_eng"', 'calendar = "gb_wales"'), "no calendar named 'gb_wales'"),
    (('timezone = "Europe/London"', 'timezone = "Europe/Londres"'), "unknown time zone"),
    (('decision = "payment_services_decision"', 'decision = "psd_decision"'), "unknown SLA(s) psd_decision"),
    (('decision = "payment_services_decision"\n',
      ('decision = "payment_services_decision"\n\n[profiles.uk_fca.product_tracks]\n'
       '"Payment account" = { decision = "payment_services_decision" }\n')),
     "product_tracks names 'Payment account', not a product code of config/classification.toml"),
])
def test_configuration_errors_name_the_profile_and_the_value(tmp_path, change, message):
    config = _config_copy(tmp_path, change)
    with pytest.raises(ValueError, match="profile 'uk_fca'") as err:
        load_sla_profile(config, "uk_fca")
    assert message in str(err.value)


def test_business_counting_without_a_calendar_is_refused(tmp_path):
    config = _config_copy(tmp_path, ('calendar = "gb_eng"\n', ''))
    with pytest.raises(ValueError, match="count business days but the profile names no calendar"):
        load_sla_profile(config, "uk_fca")


def test_an_unknown_sla_is_named_with_the_known_ones(uk):
    with pytest.raises(KeyError, match="no deadline named 'final_answer'.*decision"):
        due_at(uk, "final_answer", local(LONDON, 2027, 1, 4, 10, 0))


@pytest.mark.parametrize("text", ["P1Y", "P2M", "", "PT", "P", "15D", "P-1D"])
def test_durations_in_years_months_or_malformed_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("change, message", [
    (('approval_role = "head_office_senior_manager"', 'approval_role = "approver"'),
     ("profile 'cn_cbirc', SLA 'decision', extension 'further_extension': approval_role 'approver' is not a role of "
      "the lane 'Extension approver'")),
    (('verifier_role = "head_office_senior_manager"', 'verifier_role = "coordinator"'),
     "profile 'cn_cbirc', SLA 'verification': verifier_role 'coordinator' is not a role of the lane 'Verifier'"),
])
def test_a_configured_role_outside_the_lane_of_its_task_is_a_configuration_error(tmp_path, change, message):
    from app.engine.config.settings import load_settings
    with pytest.raises(ValueError, match=re.escape(message)):
        load_settings(_config_copy(tmp_path, change), sla_profile="cn_cbirc")
    assert load_settings(_config_copy(tmp_path / "shipped"), sla_profile="cn_cbirc").sla_profile.slas[
        "verification"].verifier_role == "head_office_senior_manager"
