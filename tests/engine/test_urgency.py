"""Urgency is one rule (config/sla.toml [urgency], asked through deadlines/urgency.is_urgent): registration and
the diagram's "Determine urgency" step agree, and changing the configured categories changes both."""
from __future__ import annotations

from dataclasses import replace

import pytest

from app.engine.config.settings import load_settings
from app.engine.deadlines.urgency import is_urgent


def _waiting_slas(case, cid: int) -> list[str]:
    return sorted(t.sla for t in case.timers(cid) if t.state == "waiting" and t.sla != "first_response")


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
    # The regulatory decision clock always runs; an urgent case runs the 12-hour promise beside it (issue 26).
    assert _waiting_slas(case, cid) == (["decision", "urgent_handling"] if urgent else ["decision"])
