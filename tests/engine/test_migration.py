"""Migrating running instances to a newer version (issue 18): a case waiting at a task that exists in both
versions moves and finishes its lifecycle on the new version; a case waiting at a removed task stays, with the
reason. Real edited copies of processes/complaint_handling.bpmn, deployed through definitions.deploy."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select, update

from app.engine.complaints import extensions
from app.engine.core.errors import InvalidSubmission, NotAllowed, StaleInstance
from app.engine.deadlines.sla import due_at
from app.engine.demo.loader import load_demo
from app.engine.governance import definitions, migration
from app.engine.identity.users import actor_for
from app.engine.models import AuditEvent, Complaint, ProcessDefinition, ProcessInstance, Timer, User, UserTask
from app.engine.process import steps
from tests.conftest import _empty_tables, check_workflow_cache, make_runtime
from tests.support import CaseDriver

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches


def new_version(runtime, actor):
    """v2: the triage renamed (a removed task for cases waiting there; the ids segregation of duties names cannot
    be renamed, config/segregation.toml) and the approval moved from
    the Approver lane to Complaint management, performer and lane (so a migrated case visibly follows the new
    version)."""
    files = definitions.read_directory(runtime.settings.processes_dir)
    source = files["complaint_handling.bpmn"].decode()
    ref = "<bpmn:flowNodeRef>approve_resolution</bpmn:flowNodeRef>"
    anchor = "<bpmn:flowNodeRef>triage_complaint</bpmn:flowNodeRef>"
    source = source.replace(ref, "").replace(anchor, anchor + ref)
    source = re.sub(r'(?<=[">])triage_complaint(?=["<])', "triage_complaint_v2", source)
    performer = '<spiffworkflow:property name="performer" value="{}" />'
    source = source.replace(performer.format("Approver"), performer.format("Complaint management"))
    files["complaint_handling.bpmn"] = source.encode()
    with runtime.unit_of_work() as uow:
        return next(d.id for d in definitions.deploy(uow, actor, files) if d.process_id == "complaint_handling")


def instance_of(runtime, complaint_id):
    with runtime.unit_of_work() as uow:
        row = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.complaint_id == complaint_id)).one()
        return row.id, uow.session.get(ProcessDefinition, row.definition_id).version


def two_running_cases(case) -> tuple[int, int]:
    """One complaint waiting at the approval (movable to new_version), one at the triage (whose task new_version
    removes)."""
    waiting_at_approval = case.register()
    case.classify(waiting_at_approval)
    case.triage(waiting_at_approval, lead="cards")
    case.investigate(waiting_at_approval, "cards")
    case.draft(waiting_at_approval)
    at_triage = case.register()
    case.classify(at_triage)
    return waiting_at_approval, at_triage


def test_preview_and_migrate_then_the_case_finishes_on_the_new_version(demo, actors, case):
    waiting_at_approval, at_triage = two_running_cases(case)
    assert case.ready_names(at_triage) == ["triage_complaint"]
    target_id = new_version(demo, actors["owner"])

    with demo.unit_of_work() as uow:
        result = migration.preview(uow, actors["owner"], "complaint_handling")
    assert result["target_version"] == 2
    movable = {c.instance_id: c for c in result["movable"]}
    unmovable = {c.instance_id: c for c in result["unmovable"]}
    approval_instance, _ = instance_of(demo, waiting_at_approval)
    triage_instance, _ = instance_of(demo, at_triage)
    assert "approve_resolution" in movable[approval_instance].active
    assert any("triage_complaint" in reason and "removed" in reason for reason in unmovable[triage_instance].reasons)

    with demo.unit_of_work() as uow:
        migration.migrate_instance(uow, actors["owner"], approval_instance, target_id)
    assert instance_of(demo, waiting_at_approval) == (approval_instance, 2)
    task = case.task(waiting_at_approval, "approve_resolution")
    assert task.lane == "Complaint management" and task.candidate_roles == ["coordinator"]
    with pytest.raises(NotAllowed):  # the approver's lane no longer holds this task
        case.approve_as = case.complete(waiting_at_approval, "approve_resolution",
                                        {"approval_decision": "approve"}, actor=actors["approver"])
    case.complete(waiting_at_approval, "approve_resolution", {"approval_decision": "approve"},
                  actor=actors["coordinator"])
    case.feedback(waiting_at_approval, satisfied=True, rating=5)
    assert case.complaint(waiting_at_approval).status == "closed"
    with demo.unit_of_work() as uow:
        row = uow.session.get(ProcessInstance, approval_instance)
        assert row.status == "completed"
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "instance_migrated"))
        assert event.instance_id == approval_instance
        assert (event.detail["from_version"], event.detail["to_version"]) == (1, 2)

    # The unmovable one is refused with its reason and stays on v1, still workable there.
    with demo.unit_of_work() as uow, pytest.raises(InvalidSubmission, match="triage_complaint"):
        migration.migrate_instance(uow, actors["owner"], triage_instance, target_id)
    assert instance_of(demo, at_triage) == (triage_instance, 1)
    case.triage(at_triage, lead="cards")
    assert "investigate_complaint" in case.ready_names(at_triage)


def test_only_process_owners_migrate(demo, actors):
    for name in ("compliance", "coordinator", "head"):
        with demo.unit_of_work() as uow, pytest.raises(NotAllowed):
            migration.preview(uow, actors[name], "complaint_handling")


def test_ready_rows_are_untouched_when_nothing_moves(demo, actors, case):
    cid = case.register()
    new_version(demo, actors["owner"])
    with demo.unit_of_work() as uow:
        result = migration.preview(uow, actors["owner"], "complaint_handling")
        [candidate] = result["movable"]
        assert candidate.active == ("classify_complaint", "first_response_overdue")  # the task and its timer
        assert uow.session.scalar(select(UserTask.lane).where(UserTask.complaint_id == cid)) == "Intake desk"


# --- issue 24: SpiffWorkflow's own migrate, the same for every identical case, re-armed deadlines, one audited step

def deploy_edited(runtime, actor, *edits) -> int:
    """A new version of complaint_handling: the shipped diagram with ``edits`` (each source -> source)."""
    files = definitions.read_directory(runtime.settings.processes_dir)
    source = files["complaint_handling.bpmn"].decode()
    for edit in edits:
        source = edit(source)
    files["complaint_handling.bpmn"] = source.encode()
    with runtime.unit_of_work() as uow:
        return next(d.id for d in definitions.deploy(uow, actor, files) if d.process_id == "complaint_handling")


def replaced(old: str, new: str):
    def edit(source: str) -> str:
        assert old in source, f"{old!r} is no longer in the diagram: the test would change nothing"
        return source.replace(old, new)
    return edit


def moved_to_lane(element: str, lane: str):
    """The user task drawn in ``lane`` and performed there."""
    def edit(source: str) -> str:
        ref = f"<bpmn:flowNodeRef>{element}</bpmn:flowNodeRef>"
        assert ref in source
        source = source.replace(ref, "")
        at = re.search(rf'<bpmn:lane id="[^"]+" name="{re.escape(lane)}">', source).end()
        source = source[:at] + ref + source[at:]
        task = re.search(rf'<bpmn:userTask id="{element}".*?</bpmn:userTask>', source, re.S)
        performed = re.sub(r'(name="performer" value=")[^"]*', rf"\g<1>{lane}", task.group())
        return source[:task.start()] + performed + source[task.end():]
    return edit


def triage_renamed(source: str) -> str:
    """The triage under another id: SpiffWorkflow aligns it by its place, we refuse cases at it."""
    renamed = re.sub(r'(?<=[">])triage_complaint(?=["<])', "triage_complaint_v2", source)
    assert renamed != source
    return renamed


def script_task(element: str, incoming: str, outgoing: str, script: str) -> str:
    return (f'<bpmn:scriptTask id="{element}" name="{element}"><bpmn:incoming>{incoming}</bpmn:incoming>'
            f"<bpmn:outgoing>{outgoing}</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>")


def flow(flow_id: str, source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}" />'


def steps_inserted(source: str) -> str:
    """Two script tasks inserted: between "Drafting starts" and the drafting (after a running multi-instance and
    a gateway) and between the handling subprocess and the feedback (after a running subprocess)."""
    prepare = script_task("prepare_feedback", "flow_handle_to_decision_sent", "flow_prepare_to_decision_sent",
                          "feedback_prepared = True")
    note = script_task("note_findings", "flow_draft_merge_to_draft", "flow_note_to_draft",
                       "findings_noted = len(findings)")
    for old, new in (
            (flow("flow_handle_to_decision_sent", "handle_complaint", "decision_sent_throw"),
             flow("flow_handle_to_decision_sent", "handle_complaint", "prepare_feedback")
             + flow("flow_prepare_to_decision_sent", "prepare_feedback", "decision_sent_throw")),
            ("<bpmn:incoming>flow_handle_to_decision_sent</bpmn:incoming>",
             "<bpmn:incoming>flow_prepare_to_decision_sent</bpmn:incoming>"),
            ('<bpmn:boundaryEvent id="feedback_wait_expired"', prepare + '<bpmn:boundaryEvent id="feedback_wait_expired"'),
            ("<bpmn:flowNodeRef>record_feedback</bpmn:flowNodeRef>",
             "<bpmn:flowNodeRef>record_feedback</bpmn:flowNodeRef><bpmn:flowNodeRef>prepare_feedback</bpmn:flowNodeRef>"),
            (flow("flow_draft_merge_to_draft", "draft_merge", "draft_resolution"),
             flow("flow_draft_merge_to_draft", "draft_merge", "note_findings")
             + flow("flow_note_to_draft", "note_findings", "draft_resolution")),
            ("<bpmn:incoming>flow_draft_merge_to_draft</bpmn:incoming>", "<bpmn:incoming>flow_note_to_draft</bpmn:incoming>"),
            ('<bpmn:userTask id="draft_resolution"', note + '<bpmn:userTask id="draft_resolution"'),
            ("<bpmn:flowNodeRef>draft_merge</bpmn:flowNodeRef>",
             "<bpmn:flowNodeRef>draft_merge</bpmn:flowNodeRef><bpmn:flowNodeRef>note_findings</bpmn:flowNodeRef>")):
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


# Every handling deadline is the urgent one (12 hours from the clock's start instead of 15 days): in the timer's
# expression, its sla property and the escalation's pre-script.
_URGENT_NAME = replaced('"review" if reopen_count else "decision"', '"urgent_handling"')
_URGENT_DATE = replaced('sla_due_at("decision", sla_clock_start, product)',
                        'sla_due_at("urgent_handling", sla_clock_start, product)')


def URGENT_HANDLING(source: str) -> str:  # named like the edits it stands beside
    return _URGENT_DATE(_URGENT_NAME(source))
# The customer gets the review's 15 days to answer instead of 7: an expression that reads the step's clock.
LONGER_FEEDBACK_WAIT = (replaced('sla_due_at("feedback_wait")', 'sla_due_at("review")'),
                        replaced("""name="sla" value='"feedback_wait"'""", """name="sla" value='"review"'"""))


def at_approval(case) -> int:
    cid = case.handle_until_approval()
    return cid


def timer(case, cid, element_id):
    [row] = [t for t in case.timers(cid) if t.element_id == element_id]
    return row


def migrated_events(runtime):
    with runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "instance_migrated")
                                        .order_by(AuditEvent.id)))


def rows_of(runtime) -> dict:
    """Everything a migration could write, as plain values."""
    with runtime.unit_of_work() as uow:
        def table(model, *columns):
            return sorted(tuple(getattr(r, c) for c in columns) for r in uow.session.scalars(select(model)))
        return {
            "instances": table(ProcessInstance, "id", "definition_id", "state", "status", "lock_version",
                               "updated_at"),
            "tasks": table(UserTask, "id", "state", "lane", "candidate_roles", "form", "due_at", "completed_at"),
            "timers": table(Timer, "id", "state", "sla", "due_at", "started_at", "next_warning_at"),
            "complaints": table(Complaint, "id", "status", "due_at"),
            "audit": table(AuditEvent, "id"),
        }


def test_the_dry_run_changes_nothing(demo, actors, case):
    waiting_at_approval, at_triage = two_running_cases(case)
    in_feedback = case.handle_until_feedback()
    deploy_edited(demo, actors["owner"], triage_renamed, URGENT_HANDLING, *LONGER_FEEDBACK_WAIT)
    before, cached = rows_of(demo), len(demo.workflows)
    with demo.unit_of_work() as uow:
        result = migration.preview(uow, actors["owner"], "complaint_handling")
    assert rows_of(demo) == before
    assert len(demo.workflows) == cached  # nothing taken from the live-workflow cache either
    # What it found: the re-armed deadlines of the movable ones, the reason of the other.
    ids = {instance_of(demo, cid)[0]: cid for cid in (waiting_at_approval, at_triage, in_feedback)}
    rearm = {ids[c.instance_id]: c.rearm for c in result["movable"]}
    assert rearm == {waiting_at_approval: ("handling_deadline_overdue",), in_feedback: ("feedback_wait_expired",)}
    [unmovable] = result["unmovable"]
    assert ids[unmovable.instance_id] == at_triage
    assert [(r.code, r.element) for r in unmovable.refusals] == [("renamed_active", "triage_complaint")]


def test_a_changed_deadline_is_re_armed_from_its_clock_start(demo, actors, case, clock):
    approval, late = at_approval(case), at_approval(case)
    feedback = case.handle_until_feedback()
    started = timer(case, feedback, "feedback_wait_expired").started_at
    decision = timer(case, approval, "handling_deadline_overdue")
    assert decision.sla == "decision"
    target = deploy_edited(demo, actors["owner"], URGENT_HANDLING, *LONGER_FEEDBACK_WAIT)
    profile = demo.settings.sla_profile

    clock.advance(hours=1)
    with demo.unit_of_work() as uow:
        outcome = migration.migrate_instance(uow, actors["owner"], instance_of(demo, approval)[0], target)
    assert outcome.fired == ()
    urgent = timer(case, approval, "handling_deadline_overdue")
    due = due_at(profile, "urgent_handling", decision.started_at)
    assert (urgent.id, urgent.state, urgent.sla, urgent.started_at) == (decision.id, "waiting", "urgent_handling",
                                                                        decision.started_at)
    assert urgent.due_at == due != decision.due_at
    assert urgent.next_warning_at is not None and urgent.next_warning_at < due  # its warnings follow
    assert case.complaint(approval).due_at == due
    assert case.task(approval, "approve_resolution").due_at == due

    # An expression that reads the step's clock counts from when the wait began, not from the move.
    clock.advance(days=3)
    with demo.unit_of_work() as uow:
        migration.migrate_instance(uow, actors["owner"], instance_of(demo, feedback)[0], target)
    wait = timer(case, feedback, "feedback_wait_expired")
    assert (wait.sla, wait.started_at, wait.due_at) == ("review", started, due_at(profile, "review", started))

    # A re-armed deadline that has already passed fires in the move, as any due timer does.
    with demo.unit_of_work() as uow:
        outcome = migration.migrate_instance(uow, actors["owner"], instance_of(demo, late)[0], target)
    assert [f.element_id for f in outcome.fired] == ["handling_deadline_overdue"]
    assert timer(case, late, "handling_deadline_overdue").state == "fired"
    with demo.unit_of_work() as uow:
        [fired] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "timer_fired",
                                                               AuditEvent.complaint_id == late))
    assert fired.detail["sla"] == "urgent_handling"


def test_an_unchanged_deadline_keeps_its_due_time(demo, actors, case, clock):
    feedback = case.handle_until_feedback()
    wait = timer(case, feedback, "feedback_wait_expired")
    target = new_version(demo, actors["owner"])  # the approval's lane moved: the feedback wait is untouched
    clock.advance(days=2)
    with demo.unit_of_work() as uow:
        outcome = migration.migrate_instance(uow, actors["owner"], instance_of(demo, feedback)[0], target)
    assert outcome.fired == ()
    after = timer(case, feedback, "feedback_wait_expired")
    assert (after.id, after.state, after.due_at, after.sla) == (wait.id, "waiting", wait.due_at, "feedback_wait")
    [event] = migrated_events(demo)
    assert event.before["timers"] == event.after["timers"] == []


def test_an_extended_deadline_the_new_version_changes_stays_and_parallel_work_moves(demo, actors, case):
    extended, parallel = at_approval(case), case.register()
    case.classify(parallel)
    case.triage(parallel, lead="cards", co=("operations",))
    with demo.unit_of_work() as uow:
        extensions.request_extension(uow, actors["coordinator"], extended, {
            "sla": "decision", "extension": "complex_case", "reason": "The card scheme's records are needed"})
    due = timer(case, extended, "handling_deadline_overdue").due_at
    target = deploy_edited(demo, actors["owner"], URGENT_HANDLING, steps_inserted)
    with demo.unit_of_work() as uow:
        [unmovable] = migration.preview(uow, actors["owner"], "complaint_handling")["unmovable"]
    assert unmovable.instance_id == instance_of(demo, extended)[0]
    assert [(r.code, r.element) for r in unmovable.refusals] == [("deadline_extended", "handling_deadline_overdue")]
    with demo.unit_of_work() as uow, pytest.raises(InvalidSubmission, match="was extended"):
        migration.migrate_instance(uow, actors["owner"], unmovable.instance_id, target)
    assert instance_of(demo, extended)[1] == 1 and timer(case, extended, "handling_deadline_overdue").due_at == due

    # Two departments investigating in parallel: each keeps the item it works on through the move, and the steps
    # the new version inserts after their investigation and after the handling run.
    with demo.unit_of_work() as uow:
        migration.migrate_instance(uow, actors["owner"], instance_of(demo, parallel)[0], target)
    assert instance_of(demo, parallel)[1] == 2
    for department in ("cards", "operations"):
        case.investigate(parallel, department, facts=f"Checked by {department}")
    findings = case.task(parallel, "draft_resolution").context["findings"]
    assert sorted((f["department"], f["facts"]) for f in findings) == [
        ("cards", "Checked by cards"), ("operations", "Checked by operations")]
    with demo.unit_of_work() as uow:
        state = json.loads(uow.session.get(ProcessInstance, instance_of(demo, parallel)[0]).state)
    [handling] = state["subprocesses"].values()
    [noted] = [t for t in handling["tasks"].values() if t["task_spec"] == "note_findings" and t["state"] == 64]
    assert noted["delta"]["updates"]["findings_noted"] == 2  # it ran, over both findings
    case.draft(parallel)
    case.complete(parallel, "approve_resolution", {"approval_decision": "approve"}, actor=actors["approver"])
    assert case.ready_names(parallel) == ["record_feedback"]
    with demo.unit_of_work() as uow:
        state = json.loads(uow.session.get(ProcessInstance, instance_of(demo, parallel)[0]).state)
    assert [t["state"] for t in state["tasks"].values() if t["task_spec"] == "prepare_feedback"] == [64]


def test_one_audit_event_per_case_written_in_its_step(demo, actors, case, clock, monkeypatch):
    first, second = at_approval(case), at_approval(case)
    decision = timer(case, first, "handling_deadline_overdue")
    target = deploy_edited(demo, actors["owner"], URGENT_HANDLING)
    clock.advance(hours=1)
    instance = instance_of(demo, first)[0]
    with demo.unit_of_work() as uow:
        old_id = uow.session.get(ProcessInstance, instance).definition_id

    original_load = steps.load_instance

    def load_then_someone_else_commits(uow, *args, **kwargs):
        step = original_load(uow, *args, **kwargs)
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == step.row.id)
                            .values(lock_version=ProcessInstance.lock_version + 1)
                            .execution_options(synchronize_session=False))
        return step

    monkeypatch.setattr(steps, "load_instance", load_then_someone_else_commits)
    with pytest.raises(StaleInstance), demo.unit_of_work() as uow:  # raised by the step's flush or the commit
        migration.migrate_instance(uow, actors["owner"], instance, target)
    monkeypatch.setattr(steps, "load_instance", original_load)
    # The step lost: no event, no move, no re-armed timer (they are one transaction).
    assert migrated_events(demo) == []
    assert instance_of(demo, first)[1] == 1 and timer(case, first, "handling_deadline_overdue").sla == "decision"

    for cid in (first, second):
        with demo.unit_of_work() as uow:
            migration.migrate_instance(uow, actors["owner"], instance_of(demo, cid)[0], target)
    events = migrated_events(demo)
    assert [e.complaint_id for e in events] == [first, second]
    event = events[0]
    assert (event.instance_id, event.actor, event.occurred_at) == (instance, "owner", clock.now())
    assert event.before == {"definition_id": old_id, "version": 1, "timers": [
        {"element_id": "handling_deadline_overdue", "sla": "decision", "due_at": decision.due_at.isoformat()}]}
    urgent = due_at(demo.settings.sla_profile, "urgent_handling", decision.started_at)
    assert event.after == {"definition_id": target, "version": 2, "timers": [
        {"element_id": "handling_deadline_overdue", "sla": "urgent_handling", "due_at": urgent.isoformat()}]}
    assert "approve_resolution" in event.detail["active"]


def picture(runtime, cid) -> dict:
    """A case as plain values without its ids (SpiffWorkflow's task ids are random): the tasks of its state
    (spec, state, a waiting timer's due time), its task rows (lane, roles, form, due), timers and complaint."""
    with runtime.unit_of_work() as uow:
        row = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.complaint_id == cid)).one()
        state = json.loads(row.state)

        def tasks(dct):
            return sorted((t["task_spec"], t["state"], str(t["internal_data"].get("event_value")))
                          for t in dct["tasks"].values())
        return {
            "version": uow.session.get(ProcessDefinition, row.definition_id).version, "status": row.status,
            "tasks": tasks(state), "subprocesses": sorted((s["spec"], tasks(s)) for s in state["subprocesses"].values()),
            "rows": sorted((t.element_id, t.state, t.lane, t.candidate_roles, t.form, t.department, t.due_at)
                           for t in uow.session.scalars(select(UserTask).where(UserTask.complaint_id == cid))),
            "timers": sorted((t.element_id, t.state, t.sla, t.due_at, t.started_at, t.next_warning_at)
                             for t in uow.session.scalars(select(Timer).where(Timer.complaint_id == cid))),
            "complaint": (lambda c: (c.status, c.due_at))(uow.session.get(Complaint, cid)),
        }


@pytest.fixture
def two_processes(database_url, clock):
    """Two runtimes on one database, as two processes: one keeps the live workflows it stepped (warm), the other
    deserializes every step (cold)."""
    runtimes = {name: make_runtime(database_url, clock, name) for name in ("warm", "cold")}
    yield runtimes
    try:
        check_workflow_cache(runtimes["cold"], "cold")
    finally:
        _empty_tables(runtimes["warm"].database)
        for runtime in runtimes.values():
            runtime.close()


def test_two_identical_cases_migrated_in_different_processes_end_identical(two_processes):
    warm, cold = two_processes["warm"], two_processes["cold"]
    with warm.unit_of_work() as uow:
        load_demo(uow)
        actors = {u.username: actor_for(u) for u in uow.session.scalars(select(User))}
    drivers = {"warm": CaseDriver(warm, actors), "cold": CaseDriver(cold, actors)}
    # One case waiting at classification, one at the approval, in each process.
    cases = {}
    for name, case in drivers.items():
        cases[name] = (case.register(), at_approval(case))
    # v2: both tasks change hands, the handling deadline is the urgent one.
    target = deploy_edited(warm, actors["owner"], moved_to_lane("classify_complaint", "Complaint management"),
                           moved_to_lane("approve_resolution", "Complaint management"), URGENT_HANDLING)
    hits = warm.workflows.hits
    for name, case in drivers.items():
        for cid in cases[name]:
            with case.runtime.unit_of_work() as uow:
                migration.migrate_instance(uow, actors["owner"], instance_of(case.runtime, cid)[0], target)
    assert warm.workflows.hits == hits + 2  # the warm process moved the live workflows it had cached
    warm_pictures = [picture(warm, cid) for cid in cases["warm"]]
    assert warm_pictures == [picture(cold, cid) for cid in cases["cold"]]
    classify = next(r for r in warm_pictures[0]["rows"] if r[0] == "classify_complaint")
    approve = next(r for r in warm_pictures[1]["rows"] if r[0] == "approve_resolution")
    assert classify[2:4] == approve[2:4] == ("Complaint management", ["coordinator"])
    assert ("handling_deadline_overdue", "waiting", "urgent_handling") in [t[:3] for t in warm_pictures[1]["timers"]]

    # ... and they go on identically to the end, each in its own process.
    for name, case in drivers.items():
        classified, approved = cases[name]
        case.classify(classified)
        case.complete(approved, "approve_resolution", {"approval_decision": "approve"}, actor=actors["coordinator"])
        case.feedback(approved, satisfied=True, rating=5)
    for warm_cid, cold_cid in zip(cases["warm"], cases["cold"], strict=True):
        assert picture(warm, warm_cid) == picture(cold, cold_cid)
    assert picture(warm, cases["warm"][1])["status"] == "completed"


def test_a_step_renamed_in_its_history_is_saved_under_its_new_name(demo, actors, case):
    approval = at_approval(case)
    target = deploy_edited(demo, actors["owner"], lambda source: re.sub(
        r'(?<=[">])triage_complaint(?=["<])', "triage_case", source))
    with demo.unit_of_work() as uow:
        migration.migrate_instance(uow, actors["owner"], instance_of(demo, approval)[0], target)
    with demo.unit_of_work() as uow:
        state = json.loads(uow.session.get(ProcessInstance, instance_of(demo, approval)[0]).state)
    [handling] = state["subprocesses"].values()
    names = {t["task_spec"] for t in handling["tasks"].values()}
    assert "triage_case" in names and "triage_complaint" not in names  # SpiffWorkflow aligned it by its place
    case.complete(approval, "approve_resolution", {"approval_decision": "approve"}, actor=actors["approver"])
    case.feedback(approval, satisfied=True, rating=5)
    assert case.complaint(approval).status == "closed"


def test_a_migrated_approval_task_keeps_its_configured_approver(demo, case, actors, clock):
    """The further extension's approval goes to the one role config/sla.toml names (candidateRole); moving the
    case to a newer version must not widen it to every role of its lane."""
    cid = case.register()
    case.classify(cid)
    case.triage(cid)
    for name in ("complex_case", "further_extension"):
        with demo.unit_of_work() as uow:
            extensions.request_extension(uow, actors["coordinator"], cid,
                                         {"sla": "decision", "extension": name, "reason": "Records are missing"})
    assert case.task(cid, "approve_further_extension").candidate_roles == ["head_office_senior_manager"]
    target = new_version(demo, actors["owner"])
    with demo.unit_of_work() as uow:
        migration.migrate_instance(uow, actors["owner"], instance_of(demo, cid)[0], target)
    assert instance_of(demo, cid)[1] == 2
    task = case.task(cid, "approve_further_extension")
    assert task.candidate_roles == ["head_office_senior_manager"]
    assert case.actor_for(task).username == "senior"
