"""Urgency is one rule (config/sla.toml [urgency], asked through deadlines/urgency.is_urgent): registration and
the diagram's "Determine urgency" step agree, and changing the configured categories changes both."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from app.engine.config.settings import load_settings
from app.engine.deadlines.urgency import is_urgent
from app.engine.demo.loader import load_demo
from app.engine.identity.users import actor_for
from app.engine.models import User
from tests.conftest import _empty_tables, make_runtime
from tests.support import CaseDriver


@pytest.fixture
def driver_with(database_url, clock):
    runtimes = []

    def make(categories: set[str]) -> CaseDriver:
        settings = replace(load_settings(), urgent_categories=frozenset(categories))
        runtime = make_runtime(database_url, clock, settings=settings)
        runtimes.append(runtime)
        with runtime.unit_of_work() as uow:
            load_demo(uow)
            actors = {u.username: actor_for(u) for u in uow.session.scalars(select(User))}
        return CaseDriver(runtime, actors)

    yield make
    for runtime in runtimes:
        _empty_tables(runtime.database)
        runtime.close()


def _handling_sla(case: CaseDriver, cid: int) -> str:
    [timer] = [t for t in case.timers(cid) if t.element_id == "handling_deadline_overdue" and t.state == "waiting"]
    return timer.sla


def test_the_shipped_rule_makes_fund_security_urgent_whatever_the_severity():
    assert load_settings().urgent_categories == frozenset({"fund_security"})
    assert is_urgent({"fund_security"}, "fund_security", "general")
    assert is_urgent({"fund_security"}, "fees_charges", "urgent")
    assert not is_urgent({"fund_security"}, "fees_charges", "general")


@pytest.mark.parametrize("categories, urgent", [({"fund_security"}, False), ({"fees_charges"}, True)])
def test_registration_and_the_diagram_follow_the_configured_categories(driver_with, categories, urgent):
    case = driver_with(categories)
    cid = case.register(category="fees_charges", severity="general")
    assert case.complaint(cid).urgent is urgent                       # registration asked the rule
    case.classify(cid, category="fees_charges", severity="general")
    complaint = case.complaint(cid)
    assert complaint.urgent is urgent                                 # so did the diagram's step
    assert complaint.severity == ("urgent" if urgent else "general")
    assert _handling_sla(case, cid) == ("urgent_handling" if urgent else "decision")
