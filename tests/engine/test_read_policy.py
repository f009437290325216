"""The read policy on the engine alone: the SQL scope per role, single reads agreeing with lists, fields by
audience, and the reports a process owner reads instead of case files."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.engine.access import read_policy
from app.engine.complaints import registration
from app.engine.config.settings import load_settings
from app.engine.core.actors import SCHEDULER, Actor
from app.engine.core.errors import NotAllowed, NotFound
from app.engine.models import Complaint, UserTask
from app.engine.reporting import reports
from app.engine.work import user_tasks
from tests.support import CaseDriver


@pytest.fixture
def driver(demo, actors):
    return CaseDriver(demo, {"intake": actors["intake"], **actors})


def readable(runtime, actor) -> set[int]:
    with runtime.unit_of_work() as uow:
        return set(uow.session.scalars(select(Complaint.id).where(read_policy.complaint_scope(uow.settings, actor))))


@pytest.fixture
def cases(demo, driver, actors):
    """a: investigated by e_banking (lead) and cards, at feedback; b: just registered by the channel;
    c: registered by the customer, still with the intake desk."""
    a = driver.register(1)
    driver.classify(a)
    driver.triage(a, lead="e_banking", co=["cards"])
    driver.investigate(a, "e_banking")
    driver.investigate(a, "cards")
    driver.draft(a)
    driver.reject(a, "Explain the fee schedule")
    driver.draft(a)
    driver.approve(a)
    with demo.unit_of_work() as uow:
        b = registration.register_complaint(uow, actors["channel"], _registration(2)).id
        c = registration.register_complaint(uow, actors["customer"], _registration(3)).id
    return {"a": a, "b": b, "c": c}


def _registration(n):
    from app.engine.demo.simulation import sample_registration
    # An e-mail, not the sample's regulator forwarding: its forwarding facts would be refused on this channel.
    sample = {k: v for k, v in sample_registration(n).items() if not k.startswith("forwarded_") and k != "reply_route"}
    return {**sample, "channel": "email"}


@pytest.mark.parametrize("username, expected", [
    ("coordinator", {"a", "b", "c"}), ("approver", {"a", "b", "c"}), ("head", {"a", "b", "c"}),
    ("compliance", {"a", "b", "c"}),
    ("e_banking.officer", {"a"}), ("cards.officer", {"a"}), ("wealth_management.officer", set()),
    # The desk: a and b wait in its lanes (feedback, classification), c too; it completed a's classification.
    ("intake", {"a", "b", "c"}),
    ("owner", set()), ("channel", {"b"}), ("customer", {"c"}),
])
def test_scope_per_role(demo, actors, cases, username, expected):
    actor = actors[username]
    assert readable(demo, actor) == {cases[k] for k in expected}
    with demo.unit_of_work() as uow:  # a single read agrees with the list, for every complaint
        for key, cid in cases.items():
            complaint = uow.session.get(Complaint, cid)
            assert read_policy.may_read_complaint(uow, actor, complaint) == (key in expected), key


def test_intake_loses_sight_of_cases_it_neither_registered_nor_worked_on(demo, actors, driver):
    cid = driver.register(5, channel="email")   # registered by intake: theirs for good
    driver.classify(cid)
    with demo.unit_of_work() as uow:            # classified by the coordinator on a case the channel registered
        other = registration.register_complaint(uow, actors["channel"], _registration(6)).id
    task = driver.task(other, "classify_complaint")
    with demo.unit_of_work() as uow:
        user_tasks.complete_user_task(uow, actors["coordinator"], task.id, {
            "category": "fees_charges", "severity": "general", "product": "credit_card"})
    assert readable(demo, actors["intake"]) == {cid}


def test_system_reads_everything_and_an_unknown_role_nothing(demo, cases):
    assert readable(demo, SCHEDULER) == set(cases.values())
    assert readable(demo, Actor("stranger", 999, frozenset({"visitor"}))) == set()
    assert read_policy.audience(demo, Actor("stranger", 999, frozenset({"visitor"}))) == "none"


def test_require_complaint_404_then_403(demo, actors, cases):
    with demo.unit_of_work() as uow:
        with pytest.raises(NotFound):
            read_policy.require_complaint(uow, actors["owner"], 999999)
        with pytest.raises(NotAllowed):
            read_policy.require_complaint(uow, actors["owner"], cases["a"])
        with pytest.raises(NotAllowed):
            registration.get_complaint(uow, actors["wealth_management.officer"], cases["a"])


def test_fields_by_audience(demo, actors, cases):
    with demo.unit_of_work() as uow:
        complaint = uow.session.get(Complaint, cases["b"])
        channel = read_policy.complaint_view(uow, actors["channel"], complaint)
        coordinator = read_policy.complaint_view(uow, actors["coordinator"], complaint)
    classes = read_policy.COMPLAINT_FIELDS
    assert {k for k in channel if k in classes} == {k for k, c in classes.items() if c == read_policy.PUBLIC}
    assert "messages" not in channel and "customer_name" not in channel
    assert set(classes) <= set(coordinator) and coordinator["open_tasks"]


def test_unclassified_variables_stay_internal():
    table = load_settings().permissions
    officer = Actor("o", 1, frozenset({"department_officer"}), "cards")
    data = {"root_cause": "x", "triage_note": "y", "brand_new_field": "z", "tracking_number": "CF-1"}
    assert read_policy.filter_variables(table, officer, data) == {"root_cause": "x", "tracking_number": "CF-1"}
    customer, coordinator = Actor("c", 2, frozenset({"customer"})), Actor("k", 3, frozenset({"coordinator"}))
    assert read_policy.filter_variables(table, customer, data) == {"tracking_number": "CF-1"}
    assert read_policy.filter_variables(table, coordinator, data) == data


def test_customer_task_context_has_no_case_file(demo, actors, driver):
    with demo.unit_of_work() as uow:
        cid = registration.register_complaint(uow, actors["customer"], _registration(7)).id
    driver.classify(cid)
    driver.triage(cid, lead="cards")
    driver.investigate(cid, "cards")
    driver.draft(cid)
    driver.reject(cid, "Internal: check fee waiver policy")
    driver.draft(cid)
    driver.approve(cid)
    task = driver.task(cid, "record_feedback")
    assert "approval_comment" in task.context and "findings" in task.context  # what the filter has to remove
    context = read_policy.task_context(demo, actors["customer"], task)
    assert context and not {"findings", "approval_comment", "resolution_summary", "customer_message",
                            "redress_amount", "lead_department"} & set(context)


def test_definitions_and_figures_for_the_process_owner(demo, actors, cases):
    with demo.unit_of_work() as uow:
        definitions = reports.list_definitions(uow, actors["owner"])
        figures = reports.figures(uow, actors["owner"])
        for username in ("intake", "customer", "channel", "cards.officer"):
            with pytest.raises(NotAllowed):
                reports.list_definitions(uow, actors[username])
        with pytest.raises(NotAllowed):
            reports.figures(uow, actors["customer"])
        total = uow.session.scalar(select(func.count()).select_from(Complaint))
    handling = next(d for d in definitions if d["process_id"] == "complaint_handling")
    assert handling["instances"]["running"] == 3 and len(handling["checksum"]) == 64
    assert figures["total"] == total == 3 and figures["open"] == 3
    assert sum(figures["by_status"].values()) == 3 and figures["by_status"]["awaiting_feedback"] == 1


def test_a_new_department_task_row_widens_the_officers_scope(demo, actors, cases):
    """Scope by task rows: a department that got a task on a case (e.g. added as co-investigator on a reopen)
    reads that case from then on, without any other bookkeeping."""
    officer = actors["operations.officer"]
    assert cases["b"] not in readable(demo, officer)
    with demo.unit_of_work() as uow:
        template = uow.session.scalars(select(UserTask).where(UserTask.complaint_id == cases["b"])).first()
        uow.session.add(UserTask(instance_id=template.instance_id, complaint_id=cases["b"], spiff_task_id="x" * 36,
                                 element_id="investigate_complaint", title="t", lane="Departments",
                                 department="operations", state="ready", created_at=uow.now()))
    assert cases["b"] in readable(demo, officer)
