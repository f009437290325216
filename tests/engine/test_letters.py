"""Letters carry what each regime requires, in the customer's language, with local dates and currency."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.engine.config.settings import DEFAULT_CONFIG_DIR, load_sla_profile
from app.engine.letters import KINDS, NOTICE_KINDS, language_for, open_work, render_letter, render_notice
from app.engine.letters.clauses import MissingLetterElements

DECISION = {"customer_name": "Li Wei", "tracking_number": "CF-20270104-ABCD", "customer_message": "We refunded the fee.",
                "facts_checked": "The fee was posted twice.", "decision_basis": "Card terms, clause 4.2",
                "redress_amount": "25.00", "remedy_type": "monetary_redress", "resolution_outcome": "upheld",
                "ombudsman_consent": "does_not_consent"}


def profile(name):
    return load_sla_profile(DEFAULT_CONFIG_DIR, name)


def test_a_cbirc_decision_states_facts_basis_and_the_30_day_verification_right():
    letter = render_letter("decision", "en", profile("cn_cbirc"), **DECISION)
    assert "CF-20270104-ABCD" in letter.subject
    for text in ("The fee was posted twice.", "Card terms, clause 4.2", "within 30 days", "next-higher institution",
                 "mediation", "arbitration", "¥25.00"):
        assert text in letter.body, text
    assert "Ombudsman" not in letter.body


def test_a_disp_final_response_gives_the_ombudsman_right_and_its_six_months():
    body = render_letter("decision", "en", profile("uk_fca"), **DECISION).body
    assert "Financial Ombudsman Service" in body and "within six months" in body and "£25.00" in body
    assert "next-higher institution" not in body


@pytest.mark.parametrize("remedy, category", [("monetary_redress", "Closed with monetary relief"),
                                              ("non_monetary_redress", "Closed with non-monetary relief"),
                                              ("explanation", "Closed with explanation")])
def test_a_cfpb_response_names_its_category(remedy, category):
    body = render_letter("decision", "en", profile("us_cfpb"), **{**DECISION, "remedy_type": remedy}).body
    assert category in body and "$25.00" in body


def test_dates_are_local_to_the_regime():
    deadline = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    body = render_letter("acknowledgement", "en", profile("cn_cbirc"), customer_name="Li Wei",
                         tracking_number="CF-1", product="Credit card", deadline=deadline).body
    assert "March 1, 2027 5:00" in body            # 17:00 in Shanghai


# Each kind in a regime that writes it (the clause library's kinds: a regime it lists them for).
REGIME_OF = {"summary_resolution": "uk_fca", "holding_response": "uk_fca"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_letter_renders_in_both_languages_without_template_residue(kind):
    facts = {"customer_name": "Li Wei", "tracking_number": "CF-1", "product": "Credit card", "customer_message": "OK",
                 "deadline": datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
                 "previous_deadline": datetime(2027, 2, 1, 9, 0, tzinfo=UTC), "reason": "Complex case",
                 "resolution_outcome": "rejected", "facts_checked": "Checked", "decision_basis": "Terms",
                 "opinion": "upheld", "basis": "Terms", "referral_from": datetime(2027, 2, 1, 9, 0, tzinfo=UTC),
                 "previous_decision_date": date(2027, 1, 4), "maintain_reasons": "Terms",
                 "referral_body_name": "Mediation centre", "referral_reason": "Agreed"}
    for language in ("en", "zh_CN"):
        letter = render_letter(kind, language, profile(REGIME_OF.get(kind, "cn_cbirc")), **facts)
        assert letter.subject and "CF-1" in letter.body + letter.subject
        assert "{{" not in letter.body and "{%" not in letter.body and "\n\n\n" not in letter.body


def test_a_regime_the_library_writes_no_such_letter_for_gets_a_refusal_not_an_empty_letter():
    with pytest.raises(MissingLetterElements) as refused:
        render_letter("holding_response", "en", profile("cn_cbirc"), customer_name="Li Wei", tracking_number="CF-1",
                      reason="Complex case", deadline=datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    assert "[[cbirc.holding_response]]" in refused.value.message


def test_the_customers_language_wins_and_unknown_ones_fall_back_to_the_regimes():
    cn, uk = profile("cn_cbirc"), profile("uk_fca")
    assert language_for("en-GB", cn) == "en"
    assert language_for("zh", uk) == "zh_CN"
    assert language_for("fr", uk) == "en" and language_for(None, cn) == "zh_CN"


# --- notices to staff: the recipient's language and time zone ---------------------------------------------------

class Staff:
    def __init__(self, locale=None, timezone=None):
        self.locale, self.timezone = locale, timezone


NOTICE_FACTS = {"tracking_number": "CF-7", "customer_name": "Li Wei", "sla": "decision", "level": 1, "percent": 75,
                    "due_at": datetime(2027, 3, 1, 9, 0, tzinfo=UTC), "instruction": "Call the customer today.",
                    "open_work": [("Investigate complaint", "Credit cards"), ("Approve resolution", None)]}


@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_every_staff_notice_renders_in_both_languages_without_template_residue(kind):
    english = render_notice(kind, Staff("en"), profile("cn_cbirc"), **NOTICE_FACTS)
    chinese = render_notice(kind, Staff("zh_CN"), profile("cn_cbirc"), **NOTICE_FACTS)
    for notice in (english, chinese):
        assert "CF-7" in notice.subject
        assert "{{" not in notice.body and "{%" not in notice.body and "%(" not in notice.body + notice.subject
    assert english.subject != chinese.subject
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in english.subject + english.body)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese.subject)


def test_a_notice_names_the_deadline_and_the_open_work_in_the_readers_language():
    notice = render_notice("escalation_notice", Staff("zh_CN"), profile("uk_fca"), **NOTICE_FACTS)
    assert "处理决定" in notice.body and "decision" not in notice.body     # the SLA's name, not its code
    english = render_notice("escalation_notice", Staff(), profile("uk_fca"), **NOTICE_FACTS)
    assert english.language == "en" and 'deadline "Handling decision"' in english.body
    assert "Open work: Investigate complaint (Credit cards), Approve resolution." in english.body
    assert "调查投诉 (信用卡部)" in notice.body                                  # each half translated


def test_open_work_splits_a_department_task_title_into_its_two_translatable_halves():
    class Row:
        def __init__(self, title, department):
            self.title, self.department = title, department

    rows = [Row("Investigate complaint (Credit cards)", "cards"), Row("Approve resolution", None)]
    assert open_work(rows, {"cards": "Credit cards"}) == [("Investigate complaint", "Credit cards"),
                                                          ("Approve resolution", None)]


def test_a_deadline_warning_gives_the_due_time_in_the_readers_time_zone():
    london = render_notice("deadline_warning", Staff("en", "Europe/London"), profile("cn_cbirc"), **NOTICE_FACTS)
    shanghai = render_notice("deadline_warning", Staff("en"), profile("cn_cbirc"), **NOTICE_FACTS)
    assert "9:00" in london.body and "5:00" in shanghai.body          # 09:00 UTC; 17:00 in Shanghai
    assert london.subject == "Deadline warning (75 %): complaint CF-7"


# Issue 26: a letter writes dates and money as its language is written in the regime's country.
@pytest.mark.parametrize("regime, language, date, amount, wrong", [
    ("uk_fca", "en", "7 December 2026", "£1,234.50", ("December 7, 2026", "$", "¥")),     # en_GB
    ("us_cfpb", "en", "December 7, 2026", "$1,234.50", ("7 December 2026", "£", "US$")),  # en_US
    ("cn_cbirc", "zh_CN", "2026年12月7日", "¥1,234.50", ("CN¥", "December")),              # zh_CN
])
def test_a_letter_formats_dates_and_amounts_for_its_regime(regime, language, date, amount, wrong):
    deadline = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)   # midday UTC: the same day in London, New York, Shanghai
    ack = render_letter("acknowledgement", language, profile(regime), customer_name="Li Wei", tracking_number="CF-1",
                        product="Credit card", deadline=deadline).body
    decision = render_letter("decision", language, profile(regime), **{**DECISION, "redress_amount": "1234.50"}).body
    assert date in ack, ack
    assert amount in decision, decision
    for text in wrong:
        assert text not in ack + decision, text


def test_a_uk_letter_gives_the_local_time_in_24_hours():
    deadline = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)   # 17:00 in London in winter
    body = render_letter("acknowledgement", "en", profile("uk_fca"), customer_name="Li Wei", tracking_number="CF-1",
                         product="Credit card", deadline=deadline).body
    assert "7 December 2026 17:00" in body and "PM" not in body
