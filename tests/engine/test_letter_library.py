"""Issue 26: regulated letters carry what each regime mandates, from a clause library compliance signed off, and are
refused (naming the element and the field) rather than sent without it; the outcome data of the final response."""
from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.engine.complaints import extensions
from app.engine.config.letter_library import library_from_source
from app.engine.config.settings import DEFAULT_CONFIG_DIR, load_settings, load_sla_profile
from app.engine.core.errors import Conflict, InvalidSubmission, NotAllowed
from app.engine.governance import letter_library
from app.engine.identity import users
from app.engine.identity.users import actor_for
from app.engine.letters import clauses, render_letter
from app.engine.models import AuditEvent, User
from tests.support import DRAFT

SHIPPED = (DEFAULT_CONFIG_DIR / "letters.toml").read_text(encoding="utf-8")
FACTS = {**DRAFT, "customer_name": "Li Wei", "tracking_number": "CF-20270104-ABCD"}


def profile(name):
    return load_sla_profile(DEFAULT_CONFIG_DIR, name)


def without(regime: str, element: str, source: str = SHIPPED, kind: str = "decision") -> str:
    """The library's text with one element of the regime's letter of ``kind`` removed."""
    blocks = source.split("\n[[")
    kept = [b for b in blocks if not b.startswith(f'{regime}.{kind}]]\nid = "{element}"\n')]
    assert len(kept) == len(blocks) - 1, f"{regime}.{kind}.{element} not found"
    return "\n[[".join(kept)


# --- per regime --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("language, texts", [
    ("en", ("The facts we checked: The annual fee", "The basis of our decision: Card agreement, clause 4.2",
            "Our decision: Upheld. We refunded the fee.", "next-higher institution for verification within 30 days")),
    ("zh_CN", ("经核实的事实：The annual fee", "处理依据：Card agreement", "处理决定：支持。", "30日内", "申请核查")),
])
def test_a_cbirc_decision_states_facts_basis_decision_and_verification_within_30_days(language, texts):
    body = render_letter("decision", language, profile("cn_cbirc"), **FACTS).body
    for text in texts:
        assert text in body, (text, body)


@pytest.mark.parametrize("outcome, sentence", [("upheld", "We uphold your complaint."),
                                                ("partly_upheld", "We uphold your complaint in part."),
                                                ("rejected", "We do not uphold your complaint.")])
def test_a_disp_final_response_says_whether_the_complaint_is_upheld(outcome, sentence):
    body = render_letter("decision", "en", profile("uk_fca"), **{**FACTS, "resolution_outcome": outcome}).body
    assert sentence in body
    for text in ("Our reasons: We refunded the fee.", "we offer you £25.00", "within six months",
                 "financial-ombudsman.org.uk/consumers/how-to-complain"):
        assert text in body, text


def test_a_disp_final_response_gives_the_annex_3_wording_that_applies():
    refused = render_letter("decision", "en", profile("uk_fca"), **FACTS).body
    consented = render_letter("decision", "en", profile("uk_fca"), **{**FACTS, "ombudsman_consent": "consents"}).body
    assert "will not have our permission" in refused and "we consent" not in refused
    assert "we consent to it doing so" in consented and "will not have our permission" not in consented


@pytest.mark.parametrize("forwarded_by, recorded", [("cfpb", True), (None, False), ("media", False)])
def test_the_cfpb_wording_is_only_in_letters_of_complaints_that_came_through_the_cfpb(forwarded_by, recorded):
    body = render_letter("decision", "en", profile("us_cfpb"), **{**FACTS, "forwarded_by": forwarded_by}).body
    assert "Closed with monetary relief" in body
    assert ("recorded with the Bureau" in body) is recorded
    assert ("Consumer Financial Protection Bureau" in body) is recorded


def test_the_internal_resolution_summary_never_reaches_a_letter():
    secret = "INTERNAL: customer is a known complainer"
    for name in ("cn_cbirc", "uk_fca", "us_cfpb"):
        body = render_letter("decision", "en", profile(name), **{**FACTS, "resolution_summary": secret}).body
        assert secret not in body


# --- a mandated element removed from the library -------------------------------------------------------------------

@pytest.mark.parametrize("regime, element, extra", [
    ("cbirc", "facts", {}), ("cbirc", "basis", {}), ("cbirc", "decision", {}), ("cbirc", "verification_right", {}),
    ("disp", "outcome", {}), ("disp", "reasons", {}), ("disp", "redress", {}), ("disp", "ombudsman_leaflet", {}),
    ("disp", "six_month_right", {}), ("disp", "time_limit_wording", {}),
    ("cfpb", "response_category", {}), ("cfpb", "cfpb_recorded", {"forwarded_by": "cfpb"}),
    ("cbirc", "previous_decision", {"reopen_count": 1, "previous_decision_date": "2027-01-04"}),
])
def test_a_library_without_a_mandated_element_refuses_the_letter_naming_it(regime, element, extra):
    library = library_from_source(without(regime, element))
    name = {"cbirc": "cn_cbirc", "disp": "uk_fca", "cfpb": "us_cfpb"}[regime]
    with pytest.raises(clauses.MissingLetterElements) as refused:
        render_letter("decision", "en", profile(name), library=library, **{**FACTS, **extra})
    assert [m.element for m in refused.value.missing] == [element]
    assert f"'{element}'" in refused.value.message and library.checksum[:12] in refused.value.message


# The other regulated letters: every mandated element of each (regime, kind), removed from the library, refuses it.
DEADLINE = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
LETTER_FACTS = {
    "summary_resolution": {},
    "holding_response": {"reason": "We are waiting for the merchant's records", "deadline": DEADLINE,
                         "referral_from": DEADLINE - timedelta(days=28), "may_refer_now": False},
    "verification_opinion": {"opinion": "changed", "opinion_text": "We refund the fee.",
                             "basis": "Card agreement, clause 4.2", "requested_on": DEADLINE - timedelta(days=40)},
    "extension_notice": {"reason": "Complex case", "deadline": DEADLINE,
                         "previous_deadline": DEADLINE - timedelta(days=30)},
    "acknowledgement": {"product": "Credit card", "deadline": DEADLINE},
    "decision_maintained": {"previous_decision_date": date(2027, 1, 4), "maintain_reasons": "The fee is agreed.",
                            "ombudsman_consent": "does_not_consent"},
    "referral_notice": {"referral_body_name": "Financial Ombudsman Service", "referral_reason": "Outside our remit"},
}
PROFILES = {"cbirc": "cn_cbirc", "disp": "uk_fca", "cfpb": "us_cfpb"}
NEW_MANDATES = [(regime, kind, mandate.element) for (regime, kind), mandates in clauses.MANDATED.items()
                if kind != "decision" for mandate in mandates]


def test_every_regulated_letter_kind_is_mandated():
    assert {kind for _, kind, _ in NEW_MANDATES} == set(LETTER_FACTS)
    assert {(r, k) for r, k, _ in NEW_MANDATES} >= {("disp", "summary_resolution"), ("disp", "holding_response"),
                                                  ("cbirc", "verification_opinion"), ("cbirc", "extension_notice"),
                                                  ("cfpb", "extension_notice"), ("cbirc", "acknowledgement"),
                                                  ("disp", "acknowledgement"), ("cfpb", "acknowledgement")}


@pytest.mark.parametrize("regime, kind, element", NEW_MANDATES)
def test_a_library_without_a_mandated_element_refuses_every_regulated_letter(regime, kind, element):
    library = library_from_source(without(regime, element, kind=kind))
    facts = {**FACTS, **LETTER_FACTS[kind]}
    render_letter(kind, "en", profile(PROFILES[regime]), library=library_from_source(SHIPPED), **facts)  # complete
    with pytest.raises(clauses.MissingLetterElements) as refused:
        render_letter(kind, "en", profile(PROFILES[regime]), library=library, **facts)
    assert [m.element for m in refused.value.missing] == [element]
    assert f"'{element}'" in refused.value.message and library.checksum[:12] in refused.value.message


@pytest.mark.parametrize("regime, kind", sorted({(r, k) for r, k, _ in NEW_MANDATES}))
def test_a_library_without_the_whole_list_refuses_the_letter_rather_than_writing_it_from_the_template(regime, kind):
    blocks = SHIPPED.split("\n[[")
    library = library_from_source("\n[[".join(b for b in blocks if not b.startswith(f"{regime}.{kind}]]")))
    with pytest.raises(clauses.MissingLetterElements) as refused:
        render_letter(kind, "en", profile(PROFILES[regime]), library=library, **{**FACTS, **LETTER_FACTS[kind]})
    assert {m.element for m in refused.value.missing} == {m.element for m in clauses.MANDATED[(regime, kind)]}


@pytest.mark.parametrize("regime, kind, field, element", [
    ("disp", "holding_response", "reason", "reason"), ("disp", "holding_response", "deadline", "expected_date"),
    ("cbirc", "verification_opinion", "basis", "basis"), ("cbirc", "verification_opinion", "opinion", "opinion"),
    ("cfpb", "extension_notice", "reason", "reason"), ("cbirc", "extension_notice", "deadline", "new_deadline"),
    ("disp", "acknowledgement", "deadline", "decision_deadline"),
])
def test_a_regulated_letter_missing_a_fact_is_refused_naming_element_and_field(regime, kind, field, element):
    with pytest.raises(clauses.MissingLetterElements) as refused:
        render_letter(kind, "en", profile(PROFILES[regime]), **{**FACTS, **LETTER_FACTS[kind], field: ""})
    assert list(refused.value.errors) == [field] and f"'{element}'" in refused.value.message


@pytest.mark.parametrize("language, texts", [
    ("en", ("We consider your complaint resolved", "may be able to refer it to the Financial Ombudsman Service",
            "will not have our permission", "www.financial-ombudsman.org.uk", "more information")),
    ("zh_CN", ("我们视该投诉为已解决", "金融申诉专员服务机构", "六个月", "www.financial-ombudsman.org.uk", "更多信息")),
])
def test_a_summary_resolution_states_what_disp_1_5_4r_mandates(language, texts):
    body = render_letter("summary_resolution", language, profile("uk_fca"), **FACTS).body
    for text in texts:
        assert text in body, (text, body)


def test_the_summary_resolution_gives_the_annex_3_wording_that_applies():
    consented = render_letter("summary_resolution", "en", profile("uk_fca"),
                              **{**FACTS, "ombudsman_consent": "consents"}).body
    assert "we consent to it doing so" in consented and "will not have our permission" not in consented


@pytest.mark.parametrize("language, may_refer_now, texts", [
    ("en", False, ("The reason: We are waiting for the merchant's records", "by 1 March 2027",
                   "if you have not received it by 1 February 2027", "financial-ombudsman.org.uk/consumers")),
    ("en", True, ("The reason: We are waiting", "You may now refer your complaint", "how-to-complain")),
    ("zh_CN", False, ("原因：We are waiting", "2027年3月1日", "2027年2月1日", "前仍未收到", "how-to-complain")),
    ("zh_CN", True, ("现在即可将投诉免费提交", "how-to-complain")),
])
def test_a_holding_response_states_what_disp_1_6_2r_2_mandates(language, may_refer_now, texts):
    facts = {**FACTS, **LETTER_FACTS["holding_response"], "may_refer_now": may_refer_now}
    body = render_letter("holding_response", language, profile("uk_fca"), **facts).body
    for text in texts:
        assert text in body, (text, body)
    assert ("may now refer" in body or "现在即可" in body) is may_refer_now


@pytest.mark.parametrize("language, texts", [
    ("en", ("applied for verification", "the decision is changed. We refund the fee.",
            "The basis of this opinion: Card agreement", "mediation", "arbitration or in court")),
    ("zh_CN", ("申请对我行", "变更原处理决定", "核查意见的依据：Card agreement", "调解", "仲裁、诉讼")),
])
def test_a_verification_opinion_states_opinion_basis_and_recourse(language, texts):
    body = render_letter("verification_opinion", language, profile("cn_cbirc"),
                         **{**FACTS, **LETTER_FACTS["verification_opinion"]}).body
    for text in texts:
        assert text in body, (text, body)


@pytest.mark.parametrize("regime, language, texts", [
    ("cbirc", "en", ("has been extended from", "The reason: Complex case", "within a further 30 days")),
    ("cbirc", "zh_CN", ("延长至", "原因：Complex case", "再延长 30 日")),
    ("cfpb", "en", ("has been extended from", "The reason: Complex case", "within 60 days")),
    ("cfpb", "zh_CN", ("延长至", "原因：Complex case", "60 日内")),
])
def test_an_extension_notice_states_the_new_deadline_and_the_reason(regime, language, texts):
    body = render_letter("extension_notice", language, profile(PROFILES[regime]),
                         **{**FACTS, **LETTER_FACTS["extension_notice"]}).body
    for text in texts:
        assert text in body, (text, body)


@pytest.mark.parametrize("regime", ["cbirc", "disp", "cfpb"])
@pytest.mark.parametrize("language, texts", [
    ("en", ("We have received your complaint about Credit card", "tracking number CF-20270104-ABCD", "at the latest")),
    ("zh_CN", ("收到", "Credit card", "投诉编号为 CF-20270104-ABCD", "最迟")),
])
def test_an_acknowledgement_states_receipt_tracking_number_and_decision_deadline(regime, language, texts):
    body = render_letter("acknowledgement", language, profile(PROFILES[regime]),
                         **{**FACTS, **LETTER_FACTS["acknowledgement"]}).body
    for text in texts:
        assert text in body, (text, body)
    assert ("受理" in body) is (regime == "cbirc" and language == "zh_CN")


def test_the_cfpb_element_may_be_absent_from_letters_that_did_not_come_through_the_cfpb():
    library = library_from_source(without("cfpb", "cfpb_recorded"))
    assert "Closed with" in render_letter("decision", "en", profile("us_cfpb"), library=library, **FACTS).body


@pytest.mark.parametrize("name, field, element", [("cn_cbirc", "facts_checked", "facts"),
                                                  ("cn_cbirc", "decision_basis", "basis"),
                                                  ("uk_fca", "ombudsman_consent", "time_limit_wording"),
                                                  ("uk_fca", "resolution_outcome", "outcome")])
def test_a_missing_fact_refuses_the_letter_naming_element_and_field(name, field, element):
    with pytest.raises(clauses.MissingLetterElements) as refused:
        render_letter("decision", "en", profile(name), **{**FACTS, field: ""})
    assert list(refused.value.errors) == [field] and element in refused.value.message


# --- through the engine: the draft, the approval, the sending ------------------------------------------------------

def test_a_draft_missing_a_mandated_fact_is_refused_naming_the_field(case):
    cid = case.register()
    case.classify(cid)
    case.triage(cid)
    case.investigate(cid, "cards")
    with pytest.raises(InvalidSubmission) as refused:
        case.draft(cid, facts_checked="")
    assert "facts_checked" in refused.value.errors and "'facts'" in refused.value.errors["facts_checked"][0]
    assert case.ready_names(cid) == ["draft_resolution"]


def test_a_library_losing_a_mandated_element_refuses_approval_and_sending(case, demo, actors):
    cid = case.handle_until_approval()
    library = library_from_source(without("cbirc", "verification_right"))
    demo.settings = dataclasses.replace(demo.settings, letter_library=library)
    _sign_off(demo, actors, library)       # signed off or not: the regulation's element is still missing
    with pytest.raises(InvalidSubmission, match="verification_right"):
        case.approve(cid)
    assert case.messages(cid, "reply") == []


def test_the_decision_is_written_from_the_library_and_the_outcome_data_recorded(case, clock):
    cid = case.handle_until_feedback()
    [reply] = case.messages(cid, "reply")
    assert "经核实的事实：The annual fee was posted twice" in reply.body and "申请核查" in reply.body
    assert "Refund" not in reply.body                          # the internal resolution summary
    complaint = case.complaint(cid)
    assert (complaint.resolution_outcome, str(complaint.redress_offered), complaint.root_cause_code) == (
        "upheld", "25.00", "system_failure")
    assert complaint.final_response_at == clock.now() and complaint.outcome is None   # closure is apart


def test_the_reopened_cases_second_decision_refers_to_the_first(case, clock):
    clock.set(clock.now().replace(year=2027, month=1, day=4, hour=3))   # 4 January 2027 in Shanghai
    cid = case.handle_until_feedback()
    first = case.complaint(cid).final_response_at
    clock.advance(timedelta(days=3))
    case.feedback(cid, False, 1)
    case.reopen(cid, "resolution")
    case.draft(cid, message="We looked again and refund the fee and the interest.")
    case.approve(cid)
    first_reply, second_reply = case.messages(cid, "reply")
    assert "2027年1月4日" in second_reply.body and "复核" in second_reply.body
    assert "复核" not in first_reply.body
    assert case.complaint(cid).final_response_at > first


def test_an_edit_awaiting_sign_off_leaves_the_approved_library_in_force(case, demo, actors):
    """Like a deployed process version: while an edit of config/letters.toml awaits compliance, letters are
    written from the library compliance approved last (the bytes its submission stored), never from the edit;
    once the edit is signed off, from the edit."""
    edited = library_from_source(SHIPPED.replace("经核实的事实：", "经查明的事实："))
    demo.settings = dataclasses.replace(demo.settings, letter_library=edited)
    cid = case.handle_until_approval()
    case.approve(cid)
    [reply] = case.messages(cid, "reply")
    assert "经核实的事实：" in reply.body and "经查明的事实：" not in reply.body
    _sign_off(demo, actors, edited)
    later = case.handle_until_approval()
    case.approve(later)
    [reply] = case.messages(later, "reply")
    assert "经查明的事实：" in reply.body


def test_without_any_approved_library_the_decision_is_refused_naming_its_checksum(case, demo):
    from app.engine.models import LetterLibraryReview

    cid = case.handle_until_approval()
    with demo.unit_of_work() as uow:       # a bank that never had its library signed off
        for row in uow.session.scalars(select(LetterLibraryReview)):
            uow.session.delete(row)
    with pytest.raises(InvalidSubmission) as refused:
        case.approve(cid)
    assert demo.settings.letter_library.checksum in refused.value.message
    assert case.messages(cid, "reply") == [] and case.ready_names(cid) == ["approve_resolution"]


def _uk_case(driver_on, library):
    """A case driver under DISP whose runtime writes letters from ``library`` (the demo signs it off)."""
    return driver_on(dataclasses.replace(load_settings(sla_profile="uk_fca"), letter_library=library))


def test_the_summary_resolution_step_refuses_a_library_without_a_mandated_element(driver_on, clock):
    clock.set(datetime(2027, 3, 1, 10, 0, tzinfo=UTC))         # Monday: three business days end Thursday 17:00
    case = _uk_case(driver_on, library_from_source(without("disp", "fos_website", kind="summary_resolution")))
    cid = case.register()
    case.classify(cid)
    clock.set(datetime(2027, 3, 4, 16, 30, tzinfo=UTC))
    with pytest.raises(InvalidSubmission, match="fos_website"):
        case.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                                "summary_resolution": True})
    assert case.messages(cid, "summary_resolution") == [] and case.ready_names(cid) == ["triage_complaint"]


def _hold(case, cid):
    with case.runtime.unit_of_work() as uow:
        extensions.request_extension(uow, case.actors["coordinator"], cid, {
            "sla": "decision", "extension": "holding_response", "reason": "Waiting for the card scheme's records"})


def test_the_holding_response_is_refused_by_a_library_without_the_ombudsman_leaflet(driver_on, clock):
    clock.set(datetime(2027, 3, 1, 10, 0, tzinfo=UTC))
    case = _uk_case(driver_on, library_from_source(without("disp", "ombudsman_leaflet", kind="holding_response")))
    cid = case.register()
    case.classify(cid)
    case.triage(cid)
    before = case.complaint(cid).target_due_at
    with pytest.raises(InvalidSubmission, match="ombudsman_leaflet"):
        _hold(case, cid)
    assert case.messages(cid, "holding_response") == [] and case.complaint(cid).target_due_at == before


def test_a_holding_response_awaiting_a_library_edit_is_written_from_the_approved_library(driver_on, clock):
    clock.set(datetime(2027, 3, 1, 10, 0, tzinfo=UTC))
    case = _uk_case(driver_on, library_from_source(SHIPPED))
    cid = case.register()
    case.classify(cid)
    case.triage(cid)
    edited = library_from_source(SHIPPED.replace("The reason: {{ reason }}", "Why: {{ reason }}"))
    case.runtime.settings = dataclasses.replace(case.runtime.settings, letter_library=edited)
    _hold(case, cid)
    [letter] = case.messages(cid, "holding_response")
    assert "The reason: Waiting for the card scheme's records" in letter.body and "Why:" not in letter.body


# --- sign-off ------------------------------------------------------------------------------------------------------

def _second_compliance_officer(demo):
    with demo.unit_of_work() as uow:
        users.upsert_user(uow, "compliance2", "pw-compliance2", display_name="Second compliance officer",
                          roles=["compliance"], department=None, email="compliance2@bank.example")
        uow.session.flush()
        return actor_for(uow.session.scalars(select(User).where(User.username == "compliance2")).one())


def _sign_off(demo, actors, library):
    with demo.unit_of_work() as uow:
        letter_library.submit(uow, actors["owner"], source=library.source, comment="Edited")
    with demo.unit_of_work() as uow:
        letter_library.decide(uow, actors["compliance"], library.checksum, "approved", "Reviewed")


def test_the_author_cannot_sign_off_their_own_submission(demo, actors):
    edited = library_from_source(SHIPPED.replace("Our reasons:", "Why:"))
    with demo.unit_of_work() as uow:
        letter_library.submit(uow, actors["compliance"], source=edited.source, comment="Shorter")
    with pytest.raises(NotAllowed, match="four eyes"), demo.unit_of_work() as uow:
        letter_library.decide(uow, actors["compliance"], edited.checksum, "approved", "Looks fine")
    other = _second_compliance_officer(demo)
    with demo.unit_of_work() as uow:
        letter_library.decide(uow, other, edited.checksum, "approved", "Looks fine")
        assert letter_library.latest_decision(uow.session, edited.checksum).actor == "compliance2"
        events = list(uow.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("letter_library_%")).order_by(AuditEvent.id)))
    assert events == ["letter_library_submitted", "letter_library_approved"] * 2   # the demo's, then these


def test_only_compliance_signs_off_and_a_comment_is_required(demo, actors):
    with demo.unit_of_work() as uow:
        checksum = letter_library.submit(uow, actors["owner"], comment="Resubmitted").checksum
    with pytest.raises(NotAllowed), demo.unit_of_work() as uow:
        letter_library.decide(uow, actors["head"], checksum, "approved", "Fine")
    with pytest.raises(InvalidSubmission) as refused, demo.unit_of_work() as uow:
        letter_library.decide(uow, actors["compliance"], checksum, "approved", " ")
    assert list(refused.value.errors) == ["comment"]


def test_a_submitted_library_must_parse(demo, actors):
    with pytest.raises(InvalidSubmission) as refused, demo.unit_of_work() as uow:
        letter_library.submit(uow, actors["owner"], source=SHIPPED.replace('id = "facts"', 'id = "facts"\ncolour = 1'))
    assert "colour" in refused.value.errors["source"][0]


def test_the_demo_signs_off_the_shipped_library_once(demo):
    with demo.unit_of_work() as uow:
        status = letter_library.status(uow, actor_for(uow.session.scalars(
            select(User).where(User.username == "compliance")).one()))
    assert status["signed_off"] and status["review"]["reviewer"] == "compliance"
    assert status["submitted_by"] == ["system"]


# --- redress paid ----------------------------------------------------------------------------------------------------

def test_redress_paid_is_recorded_after_the_final_response_and_audited(case, demo, actors, clock):
    from app.engine.complaints import redress

    cid = case.handle_until_approval()
    with pytest.raises(Conflict), demo.unit_of_work() as uow:
        redress.record_redress_paid(uow, actors["coordinator"], cid, {"redress_paid": "25.00"})
    case.approve(cid)
    clock.advance(timedelta(days=2))
    for data, field in [({"redress_paid": "lots"}, "redress_paid"),
                        ({"redress_paid": "25", "paid_on": "2999-01-01"}, "paid_on")]:
        with pytest.raises(InvalidSubmission) as refused, demo.unit_of_work() as uow:
            redress.record_redress_paid(uow, actors["coordinator"], cid, data)
        assert list(refused.value.errors) == [field]
    with pytest.raises(NotAllowed), demo.unit_of_work() as uow:
        redress.record_redress_paid(uow, actors["cards.officer"], cid, {"redress_paid": "25.00"})
    with demo.unit_of_work() as uow:
        redress.record_redress_paid(uow, actors["coordinator"], cid, {"redress_paid": "25.00"})
    complaint = case.complaint(cid)
    assert str(complaint.redress_paid) == "25.00" and complaint.redress_paid_at == clock.now()
    with demo.unit_of_work() as uow:
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "redress_paid_recorded")).one()
    assert event.actor == "coordinator" and event.after["redress_paid"] == "25.00"


# --- the CLI ---------------------------------------------------------------------------------------------------------

def test_the_cli_submits_signs_off_and_reports_the_library(demo_cli):
    status = demo_cli("letters", "status")
    assert "approved by compliance" in status.output
    checksum = status.output.split("sha256 ")[1].split(":")[0]
    demo_cli("letters", "submit", "--as", "compliance", "--comment", "Yearly review")
    refused = demo_cli("letters", "sign-off", checksum, "--as", "compliance", "--comment", "ok", exit_code=1)
    assert "four eyes" in refused.output
    demo_cli("letters", "sign-off", checksum, "--as", "head", "--comment", "ok", exit_code=1)   # not compliance


# --- the reopen decision (issue 27): the maintained decision restates the decision letter's referral rights --------

@pytest.mark.parametrize("regime, borrowed", [
    ("cbirc", ("verification_right", "other_remedies")),
    ("disp", ("six_month_right", "time_limit_wording", "ombudsman_leaflet")),
])
def test_the_maintained_decision_borrows_the_referral_rights_of_the_decision_letter(regime, borrowed):
    library = library_from_source(SHIPPED)
    decision = {e.id: e for e in library.elements(regime, "decision")}
    maintained = {e.id: e for e in library.elements(regime, "decision_maintained")}
    for element in borrowed:
        # one text: the element is the decision letter's own, not a second copy compliance could let drift
        assert maintained[element].texts == decision[element].texts and maintained[element].borrowed_from == "decision"
    assert SHIPPED.count(decision[borrowed[0]].texts["en"]) == 1


@pytest.mark.parametrize("language, texts", [
    ("en", ("our final response of 4 January 2027", "Our final response stands", "Our reasons: The fee is agreed.",
            "refer your complaint to the Financial Ombudsman Service", "within six months",
            "www.financial-ombudsman.org.uk")),
    ("zh_CN", ("我们维持该最终答复", "理由：The fee is agreed.", "金融申诉专员服务机构", "六个月")),
])
def test_a_maintained_final_response_names_the_ombudsman_under_disp(language, texts):
    body = render_letter("decision_maintained", language, profile("uk_fca"),
                         **{**FACTS, **LETTER_FACTS["decision_maintained"]}).body
    for text in texts:
        assert text in body, (text, body)


@pytest.mark.parametrize("language, texts", [
    ("en", ("We maintain that decision", "Our reasons: The fee is agreed.",
            "next-higher institution for verification within 30 days", "mediation")),
    ("zh_CN", ("我们维持原处理决定", "理由：The fee is agreed.", "申请核查", "调解")),
])
def test_a_maintained_decision_names_verification_and_mediation_under_cbirc(language, texts):
    body = render_letter("decision_maintained", language, profile("cn_cbirc"),
                         **{**FACTS, **LETTER_FACTS["decision_maintained"]}).body
    for text in texts:
        assert text in body, (text, body)


def test_removing_a_referral_right_from_the_decision_letter_refuses_the_maintained_decision_too():
    library = library_from_source(without("disp", "six_month_right"))
    with pytest.raises(clauses.MissingLetterElements) as refused:
        render_letter("decision_maintained", "en", profile("uk_fca"), library=library,
                      **{**FACTS, **LETTER_FACTS["decision_maintained"]})
    assert [m.element for m in refused.value.missing] == ["six_month_right"]


def test_a_borrowed_element_names_a_letter_of_the_library():
    source = SHIPPED.replace('id = "other_remedies"\nfrom = "decision"', 'id = "other_remedies"\nfrom = "decisoin"')
    with pytest.raises(ValueError, match=r"\[\[cbirc.decision_maintained\]\], element 'other_remedies': from = "
                                         r"'decisoin' names no letter"):
        library_from_source(source)


@pytest.mark.parametrize("language, subject, text", [
    ("en", "has been referred to Financial Ombudsman Service", "The reason: Outside our remit"),
    ("zh_CN", "Financial Ombudsman Service", "原因：Outside our remit"),
])
def test_the_referral_letter_names_the_body_and_the_reason(language, subject, text):
    letter = render_letter("referral_notice", language, profile("uk_fca"),
                           **{**FACTS, **LETTER_FACTS["referral_notice"]})
    assert subject in letter.subject and text in letter.body
    assert "Financial Ombudsman Service" in letter.body
