"""Segregation of duties (issue 24): config/segregation.toml, answered by app/engine/access/segregation.py from
the rows the database keeps, checked when a task is claimed, assigned or completed, whatever the diagram says."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from app.engine.access import segregation
from app.engine.complaints import extensions
from app.engine.config.segregation import load_segregation
from app.engine.config.settings import DEFAULT_CONFIG_DIR, load_settings
from app.engine.core.errors import DutiesNotSegregated, InvalidSubmission
from app.engine.identity.users import actor_for, upsert_user
from app.engine.models import AuditEvent, DeadlineExtension, UserTask
from app.engine.work import assignments, user_tasks, worklist
from tests.support import DRAFT, deploy_approval_in_departments

RESOLUTION = "resolution_approver_independent"
EXTENSION = "extension_approver_not_requester"
APPROVE = {"approval_decision": "approve"}


def draft(message):
    return {**DRAFT, "resolution_summary": "Refund", "remedy_type": "monetary_redress", "redress_amount": "25.00",
            "customer_message": message}


def add_user(runtime, username, roles, department=None):
    with runtime.unit_of_work() as uow:
        return actor_for(upsert_user(uow, username, f"{username}-pw", display_name=username, roles=roles,
                                     department=department))


def refused(runtime, actor, task) -> str | None:
    with runtime.unit_of_work() as uow:
        rule = segregation.refusal(uow, actor, uow.session.get_one(UserTask, task.id))
    return rule.name if rule else None


def run(runtime, command, *args):
    with runtime.unit_of_work() as uow:
        return command(uow, *args)


# --- the file ------------------------------------------------------------------------------------------------

def test_the_shipped_rules_guard_elements_of_the_shipped_process():
    settings = load_settings()
    rules = {rule.name: rule for rule in settings.segregation.rules}
    assert set(rules) == {RESOLUTION, EXTENSION, "definition_reviewer_not_author"}
    assert (rules[RESOLUTION].task, set(rules[RESOLUTION].tasks), rules[RESOLUTION].round_starts_after) == (
        "approve_resolution", {"investigate_complaint", "draft_resolution"}, ("decide_reopen",))
    assert (rules[EXTENSION].task, rules[EXTENSION].excludes) == ("approve_further_extension", "extension_requester")
    assert rules["definition_reviewer_not_author"].action == "definition.review"
    ids = {node.get("id") for path in Path(settings.processes_dir).glob("*.bpmn")
           for node in etree.parse(str(path)).iter() if isinstance(node.tag, str)}
    named = {rule.task for rule in rules.values() if rule.task}
    named |= {name for rule in rules.values() for name in (*rule.tasks, *rule.round_starts_after)}
    assert named <= ids, f"config/segregation.toml names element ids the processes lack: {named - ids}"


@pytest.mark.parametrize(("text", "says"), [
    ('[rules.x]\ntask = "approve_resolution"\nexcludes = "completed_tasks"\ntasks = ["draft_resolution"]\n',
     "needs a title"),
    ('[rules.x]\ntitle = "T"\nexcludes = "extension_requester"\n', "guard exactly one thing"),
    ('[rules.x]\ntitle = "T"\ntask = "a"\naction = "definition.review"\nexcludes = "extension_requester"\n',
     "guard exactly one thing"),
    ('[rules.x]\ntitle = "T"\naction = "definition.sign"\nexcludes = "draft_authors"\n', "no action 'definition.sign'"),
    ('[rules.x]\ntitle = "T"\ntask = "a"\nexcludes = "same_department"\n', "excludes must be one of"),
    ('[rules.x]\ntitle = "T"\ntask = "a"\nexcludes = "completed_tasks"\n', "needs the tasks"),
    ('[rules.x]\ntitle = "T"\ntask = "a"\nexcludes = "draft_authors"\n', "guards an action"),
    ('[rules.x]\ntitle = "T"\ntask = "a"\nexcludes = "extension_requester"\ntasks = ["b"]\n', "belong to"),
    ('[rules.x]\ntitle = "T"\ntask = "a"\nexcludes = "completed_tasks"\ntasks = ["b"]\nround_start = ["c"]\n',
     "unknown key(s) round_start"),
    ('[rules.X]\ntitle = "T"\ntask = "a"\nexcludes = "extension_requester"\n', "snake_case"),
    ('[rule.x]\n', "unknown key(s) rule"),
])
def test_the_loader_refuses_a_malformed_file_naming_the_file_and_the_rule(tmp_path, text, says):
    (tmp_path / "segregation.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as refusal:
        load_segregation(tmp_path, load_settings(DEFAULT_CONFIG_DIR).permissions)
    assert str(tmp_path / "segregation.toml") in str(refusal.value) and says in str(refusal.value)


# --- the round of an approval --------------------------------------------------------------------------------

@pytest.fixture
def officers(demo):
    """Two more officers of the cards department, so drafting and investigating can be different people."""
    return {name: add_user(demo, name, ["department_officer"], "cards") for name in ("cards.second", "cards.third")}


def test_a_rejection_keeps_the_round_the_first_drafter_stays_out_of_approving_the_redraft(demo, case, actors,
                                                                                           officers):
    """Investigated by cards.third, drafted by cards.officer, rejected, redrafted by cards.second: all three are
    refused the approval (a rejection does not start a new round), the approver and other officers are not."""
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.complete(cid, "investigate_complaint", {"facts": "Ledger", "root_cause": "Duplicate", "proposed_remedy":
                                                 "Refund"}, actor=officers["cards.third"])
    case.complete(cid, "draft_resolution", draft("Sorry"), actor=actors["cards.officer"])
    first = case.task(cid, "approve_resolution")
    assert refused(demo, actors["cards.officer"], first) == RESOLUTION
    assert refused(demo, officers["cards.second"], first) is None  # did nothing yet
    case.reject(cid, "Explain the root cause")
    case.complete(cid, "draft_resolution", draft("Sorry, the fee was posted twice"),
                  actor=officers["cards.second"])
    again = case.task(cid, "approve_resolution")
    assert {name: refused(demo, actor, again) for name, actor in
            {"first drafter": actors["cards.officer"], "redrafter": officers["cards.second"],
             "investigator": officers["cards.third"], "approver": actors["approver"],
             "other officer": actors["retail_lending.officer"]}.items()} == {
        "first drafter": RESOLUTION, "redrafter": RESOLUTION, "investigator": RESOLUTION, "approver": None,
        "other officer": None}


def test_a_reopen_starts_a_new_round(demo, case, actors, officers):
    """After a reopen for a new resolution, the first round's drafter and investigator may approve the new
    draft; its drafter may not."""
    cid = case.handle_until_feedback(lead="cards")  # investigated and drafted by cards.officer, approved
    case.feedback(cid, satisfied=False, rating=2)
    case.reopen(cid, "resolution")
    case.complete(cid, "draft_resolution", draft("We looked again"), actor=officers["cards.second"])
    task = case.task(cid, "approve_resolution")
    assert refused(demo, actors["cards.officer"], task) is None
    assert refused(demo, officers["cards.second"], task) == RESOLUTION


def test_work_on_another_case_does_not_count(demo, case, actors, officers):
    """cards.officer drafted the first case; the second case, investigated and drafted by cards.second, is
    theirs to approve as far as the rule goes."""
    first = case.register()
    for cid, person in ((first, actors["cards.officer"]), (case.register(2), officers["cards.second"])):
        case.classify(cid)
        case.triage(cid, lead="cards")
        case.complete(cid, "investigate_complaint", {"facts": "Ledger", "root_cause": "Duplicate",
                                                     "proposed_remedy": "Refund"}, actor=person)
        case.complete(cid, "draft_resolution", draft("Sorry"), actor=person)
    tasks = [case.task(first, "approve_resolution").id, case.task(cid, "approve_resolution").id]
    with demo.unit_of_work() as uow:  # one page of a work list: the rows of both cases read together
        answers = {name: {task_id: rule.name for task_id, rule in segregation.refused_tasks(uow, person, tasks).items()}
                   for name, person in (("cards.officer", actors["cards.officer"]),
                                        ("cards.second", officers["cards.second"]))}
    assert answers == {"cards.officer": {tasks[0]: RESOLUTION}, "cards.second": {tasks[1]: RESOLUTION}}


# --- whatever the diagram says -------------------------------------------------------------------------------

def test_a_model_with_approval_in_the_departments_lane_still_refuses_the_drafter(demo, case, actors):
    deploy_approval_in_departments(demo, actors["owner"])
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    drafter, peer = actors["cards.officer"], actors["retail_lending.officer"]
    case.investigate(cid, "cards")
    case.draft(cid)
    task = case.task(cid, "approve_resolution")
    assert task.lane == "Departments" and user_tasks.may_work_on(drafter, task)  # the diagram lets the drafter
    with pytest.raises(DutiesNotSegregated) as claim:
        run(demo, assignments.claim, drafter, task.id)
    assert claim.value.rule == RESOLUTION and "Four eyes on a resolution" in claim.value.message
    with pytest.raises(DutiesNotSegregated, match=RESOLUTION):
        run(demo, user_tasks.complete_user_task, drafter, task.id, APPROVE)
    # Nor can a coordinator hand it to them; the people offered leave them out.
    with pytest.raises(DutiesNotSegregated, match="Credit cards officer may not take"):
        run(demo, assignments.assign, actors["coordinator"], task.id, "cards.officer")
    offered = {u.username for u in run(demo, assignments.candidates, actors["coordinator"], task.id)}
    assert "retail_lending.officer" in offered and "cards.officer" not in offered
    # The drafter still sees it, marked; the task page shows why and no form.
    with demo.unit_of_work() as uow:
        items = {i.id: i for i in worklist.list_tasks(uow, drafter, view="team").items}
        opened = assignments.open_task(uow, drafter, task.id)
    assert (items[task.id].refused_by, opened.may_work, opened.refused_by.name) == (RESOLUTION, False, RESOLUTION)
    with demo.unit_of_work() as uow:
        assert worklist.list_tasks(uow, peer, view="team").items[0].refused_by is None
    with demo.unit_of_work() as uow:
        assert uow.session.get_one(UserTask, task.id).assignee_id is None
        assert not list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "task_claimed")))
    # Another department's officer approves.
    run(demo, assignments.claim, peer, task.id)
    run(demo, user_tasks.complete_user_task, peer, task.id, APPROVE)
    with demo.unit_of_work() as uow:
        done = uow.session.get_one(UserTask, task.id)
    assert (done.state, done.completed_by) == ("completed", "retail_lending.officer")
    assert "record_feedback" in case.ready_names(cid)


def test_a_refused_assignment_is_not_an_invalid_submission(demo, case, actors):
    """The assignee check is a 403 naming the rule (not a 422 about the form), told apart from "may not work
    on this task at all"."""
    deploy_approval_in_departments(demo, actors["owner"])
    cid = case.handle_until_approval()
    task = case.task(cid, "approve_resolution")
    with pytest.raises(InvalidSubmission):
        run(demo, assignments.assign, actors["coordinator"], task.id, "approver")  # not in the lane now
    run(demo, assignments.assign, actors["coordinator"], task.id, "e_banking.officer")


# --- the head and the extension ------------------------------------------------------------------------------

def in_handling(case):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    return cid


def extend(case, cid, extension, actor):
    with case.runtime.unit_of_work() as uow:
        _record, outcome = extensions.request_extension(uow, actor, cid, {"sla": "decision", "extension": extension,
                                                                          "reason": "Records needed"})
    outcome.raise_if_refused()


def test_an_approver_who_requested_a_further_extension_may_not_approve_it(demo, case, actors):
    # The configured approver (config/sla.toml approval_role: a head-office senior manager) who also heads the
    # complaints function, and so may request extensions too.
    both = add_user(demo, "senior.head", ["head_of_complaints", "head_office_senior_manager"])
    cid = in_handling(case)
    extend(case, cid, "complex_case", actors["coordinator"])
    extend(case, cid, "further_extension", both)
    task = case.task(cid, "approve_further_extension")
    assert user_tasks.may_work_on(both, task)
    assert not user_tasks.may_work_on(actors["head"], task)   # the head is no longer the approving level
    with pytest.raises(DutiesNotSegregated) as claim:
        run(demo, assignments.claim, both, task.id)
    assert claim.value.rule == EXTENSION
    assert "whoever approves it may not have requested it" in claim.value.message
    with pytest.raises(DutiesNotSegregated, match=EXTENSION):
        run(demo, user_tasks.complete_user_task, both, task.id, {"extension_decision": "approve"})
    run(demo, user_tasks.complete_user_task, actors["senior"], task.id, {"extension_decision": "approve"})
    with demo.unit_of_work() as uow:
        record = uow.session.scalars(select(DeadlineExtension).where(
            DeadlineExtension.extension == "further_extension")).one()
    assert (record.state, record.requested_by, record.decided_by) == ("applied", "senior.head", "senior")


def test_the_senior_manager_may_approve_what_a_coordinator_requested(demo, case, actors):
    cid = in_handling(case)
    extend(case, cid, "complex_case", actors["coordinator"])
    extend(case, cid, "further_extension", actors["coordinator"])
    task = case.task(cid, "approve_further_extension")
    assert refused(demo, actors["senior"], task) is None
    assert refused(demo, actors["coordinator"], task) == EXTENSION  # not a candidate anyway, but the rule says so
