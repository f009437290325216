"""Reopening never restarts the decision clock (domain.md: "A clock never restarts because a case changes
status"). The decision clock runs from receipt and its record shows whether the first decision met it; the
customer's review request (the case reopened) gets its own named SLA clock, ``review``, counted from the
reopening by the step's clock. Time travel with the manual clock; SQLite and PostgreSQL."""
from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.composition import build_runtime
from app.engine.complaints import extensions
from app.engine.config.settings import DEFAULT_CONFIG_DIR, load_settings, load_sla_profile
from app.engine.core.errors import Conflict
from app.engine.governance import definitions
from app.engine.models import AuditEvent, ProcessInstance
from app.engine.process import diagram_state
from app.engine.workflow.validation import validate_bpmn_files
from app.scheduler import fire_due_timers

RECEIVED = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)   # Monday 10:00 in Shanghai
HANDLING = "handling_deadline_overdue"


@pytest.fixture
def clock(clock):
    clock.set(RECEIVED)
    return clock


def handling_clocks(case, cid):
    return [t for t in case.timers(cid) if t.element_id == HANDLING]


def decided_then_reopened(case, clock, *, days_to_decide=3, days_to_reopen=4, target="investigation") -> int:
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    clock.advance(days=days_to_decide)
    case.investigate(cid, "cards")
    case.draft(cid)
    case.approve(cid)                       # the first decision: the decision clock stops here
    fire_due_timers(case.runtime)
    clock.advance(days=days_to_reopen)
    case.feedback(cid, False, 1)            # the customer asks for a review
    case.reopen(cid, target)
    return cid


def test_reopening_keeps_the_decision_clock_and_starts_a_review_clock(case, clock):
    cid = decided_then_reopened(case, clock)
    reopened_at = clock.now()
    decision, review = handling_clocks(case, cid)
    # the decision clock: from receipt, met at the first decision (stopped, never restarted)
    assert (decision.sla, decision.started_at, decision.state) == ("decision", RECEIVED, "cancelled")
    assert decision.due_at == RECEIVED + timedelta(days=15)
    # the review: its own clock from the reopening, 15 calendar days under CBIRC
    assert (review.sla, review.started_at, review.state) == ("review", reopened_at, "waiting")
    assert review.due_at == reopened_at + timedelta(days=15)
    assert case.complaint(cid).due_at == review.due_at
    assert {t.due_at for t in case.ready(cid)} == {review.due_at}


def values_of(node, key: str) -> set:
    """Every value stored under ``key`` anywhere in the serialized workflow (task data, deltas included)."""
    if isinstance(node, dict):
        found = {node[key]} if isinstance(node.get(key), str) else set()
        return found.union(*(values_of(v, key) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(values_of(v, key) for v in node))
    return set()


def test_the_receipt_stays_the_decision_clocks_start_in_the_process_data(case, clock):
    cid = decided_then_reopened(case, clock, target="resolution")
    with case.runtime.unit_of_work() as uow:
        state = json.loads(uow.session.scalar(select(ProcessInstance.state)
                                              .where(ProcessInstance.complaint_id == cid)))
    assert values_of(state, "sla_clock_start") == {RECEIVED.isoformat()}
    assert values_of(state, "review_requested_at") == {clock.now().isoformat()}


def test_a_decision_breached_before_the_first_reply_stays_breached_after_reopening(case, clock):
    cid = decided_then_reopened(case, clock, days_to_decide=16)     # first decision 16 days after receipt
    decision, review = handling_clocks(case, cid)
    assert (decision.sla, decision.state) == ("decision", "fired")
    assert decision.fired_at == RECEIVED + timedelta(days=16)
    assert (review.sla, review.state) == ("review", "waiting")


def test_a_late_review_is_escalated_as_a_review_breach(case, clock):
    cid = decided_then_reopened(case, clock)
    clock.advance(days=15, minutes=1)
    assert fire_due_timers(case.runtime).fired == 1
    [review] = [t for t in handling_clocks(case, cid) if t.sla == "review"]
    assert review.state == "fired"
    assert [b["sla"] for b in case.complaint(cid).breached_slas] == ["review"]
    with case.runtime.unit_of_work() as uow:
        escalated = uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid,
                                                                 AuditEvent.action == "escalated_to_head")).all()
    assert [e.detail["sla"] for e in escalated] == ["review"]
    assert "intervene_overdue_complaint" in case.ready_names(cid)


def test_a_second_reopening_starts_a_new_review_clock_and_keeps_the_first(case, clock):
    cid = decided_then_reopened(case, clock, target="resolution")
    first_review_at = clock.now()
    case.draft(cid)
    case.approve(cid)
    clock.advance(days=2)
    case.feedback(cid, False, 1)
    case.reopen(cid, "resolution")
    decision, first, second = handling_clocks(case, cid)
    assert decision.sla == "decision" and decision.started_at == RECEIVED
    assert (first.sla, first.started_at, first.state) == ("review", first_review_at, "cancelled")
    assert (second.sla, second.started_at, second.state) == ("review", clock.now(), "waiting")


def test_the_complaint_page_lists_the_review_clock_next_to_the_decision_clock(case, clock):
    cid = decided_then_reopened(case, clock)
    with case.runtime.unit_of_work() as uow:
        clocks = diagram_state.clocks(uow, case.actors["coordinator"], cid)
    handling = [(c.sla, c.started_at, c.state) for c in clocks if c.element_id == HANDLING]
    assert handling == [("decision", RECEIVED, "cancelled"), ("review", clock.now(), "waiting")]


def test_the_review_clock_allows_no_extension_and_says_why(case, clock):
    cid = decided_then_reopened(case, clock)
    with pytest.raises(Conflict, match="No extension is allowed: the 'review' deadline of profile 'cn_cbirc' "
                                       "declares none"), case.runtime.unit_of_work() as uow:
        extensions.request_extension(uow, case.actors["coordinator"], cid,
                                     {"sla": "review", "extension": "complex_case", "reason": "More time"})
    # the decision deadline is over: met at the first decision, it cannot be extended after the fact
    with pytest.raises(Conflict, match="no running 'decision' deadline"), case.runtime.unit_of_work() as uow:
        extensions.request_extension(uow, case.actors["coordinator"], cid,
                                     {"sla": "decision", "extension": "complex_case", "reason": "More time"})


# --- every regime has its review SLA, counted in calendar days from the review request ---------------------

@pytest.mark.parametrize("profile, days", [("cn_cbirc", 15), ("uk_fca", 56), ("us_cfpb", 15)])
def test_every_profile_declares_the_review_sla_in_calendar_days(profile, days):
    sla = load_sla_profile(DEFAULT_CONFIG_DIR, profile).slas["review"]
    assert sla.counting == "calendar_days"
    assert sla.extensions == () or not sla.extensions
    assert "review" in sla.description.lower() and "reopened" in sla.description.lower()


@pytest.mark.parametrize("profile, zone, days", [("uk_fca", "Europe/London", 56),
                                                 ("us_cfpb", "America/New_York", 15)])
def test_the_review_clock_counts_calendar_days_from_the_reopening(regime, clock, profile, zone, days):
    case = regime(profile)
    cid = decided_then_reopened(case, clock, days_to_reopen=5)
    reopened = clock.now().astimezone(ZoneInfo(zone))
    expected = datetime.combine(reopened.date() + timedelta(days=days), reopened.time(),
                                ZoneInfo(zone)).astimezone(UTC)
    decision, review = handling_clocks(case, cid)
    assert decision.sla == "decision" and decision.started_at == RECEIVED
    assert (review.sla, review.due_at) == ("review", expected)


# --- the deployment check: the review SLA is a known name in every profile --------------------------------

def shipped_errors(runtime) -> list:
    """The shipped diagrams validated exactly as at deploy (whose samples include a reopened case, so the
    timer's review branch is evaluated too)."""
    return validate_bpmn_files(definitions.read_directory(runtime.settings.processes_dir),
                               definitions.validation_context(runtime))


@pytest.mark.parametrize("profile", ["cn_cbirc", "uk_fca", "us_cfpb"])
def test_the_shipped_diagrams_validate_with_a_reopened_case_in_every_profile(database_url, clock, profile):
    runtime = build_runtime(database_url, clock=clock, settings=load_settings(sla_profile=profile))
    try:
        assert shipped_errors(runtime) == []
    finally:
        runtime.close()


def test_a_profile_without_the_review_sla_is_refused_naming_it(database_url, clock, tmp_path):
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    text = (config / "sla.toml").read_text(encoding="utf-8")
    text = text.replace("[profiles.cn_cbirc.slas.review]", "[profiles.cn_cbirc.slas.review_typo]")
    (config / "sla.toml").write_text(text, encoding="utf-8")
    runtime = build_runtime(database_url, clock=clock, settings=load_settings(config))
    try:
        [error] = shipped_errors(runtime)
    finally:
        runtime.close()
    assert error.element_id == HANDLING and "no deadline named 'review'" in error.message
