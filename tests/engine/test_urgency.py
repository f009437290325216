"""Urgency is one rule (config/sla.toml [urgency], asked through deadlines/urgency.is_urgent): registration and
the diagram's "Determine urgency" step agree, and changing the configured categories changes both."""
from __future__ import annotations

from dataclasses import replace

import pytest

from app.engine.config.settings import load_settings
from app.engine.deadlines.urgency import is_urgent


def _handling_sla(case, cid: int) -> str:
    [timer] = [t for t in case.timers(cid) if t.element_id == "handling_deadline_overdue" and t.state == "waiting"]
    return timer.sla


def test_the_shipped_rule_makes_fund_security_urgent_whatever_the_severity():
    assert load_settings().urgent_categories == frozenset({"fund_security"})
    assert is_urgent({"fund_security"}, "fund_security", "general")
    assert is_urgent({"fund_security"}, "fees_charges", "urgent")
    assert not is_urgent({"fund_security"}, "fees_charges", "general")


@pytest.mark.parametrize("categories, urgent", [({"fund_security"}, False), ({"fees_charges"}, True)])
def test_registration_and_the_diagram_follow_the_configured_categories(driver_on, categories, urgent):
    case = driver_on(replace(load_settings(), urgent_categories=frozenset(categories)))
    cid = case.register(category="fees_charges", severity="general")
    assert case.complaint(cid).urgent is urgent                       # registration asked the rule
    case.classify(cid, category="fees_charges", severity="general")
    complaint = case.complaint(cid)
    assert complaint.urgent is urgent                                 # so did the diagram's step
    assert complaint.severity == ("urgent" if urgent else "general")
    assert _handling_sla(case, cid) == ("urgent_handling" if urgent else "decision")
