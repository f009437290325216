"""One audit writer (issue 23): every event of the trail goes through app/engine/audit/writer.py, with the actor
and their user id (none only for the system's own jobs), the step's instant and, where a value changes, its
before and after. The clock is the manual one: every instant asserted here is one the test set.
Sign-in, sign-out and the export are recorded by the pages: tests/web/pages/test_audit_trail.py."""
from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.delivery import FileTransport, deliver_due
from app.engine import audit
from app.engine.complaints import extensions, registration
from app.engine.core.actors import SCHEDULER, SYSTEM, Actor
from app.engine.deadlines.sla_warnings import fire_due_warnings
from app.engine.demo.simulation import sample_registration
from app.engine.governance import migration, reviews
from app.engine.models import AuditEvent, ProcessDefinition, ProcessInstance
from app.engine.work import assignments
from app.scheduler import fire_due_timers
from tests.support import deploy_lane_move

APP = Path(__file__).resolve().parents[2] / "app"
WRITER = APP / "engine" / "audit" / "writer.py"
RECEIVED = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock(clock):
    clock.set(RECEIVED)
    return clock


def events(runtime, action: str, complaint_id: int | None = None) -> list[AuditEvent]:
    with runtime.unit_of_work() as uow:
        query = select(AuditEvent).where(AuditEvent.action == action)
        if complaint_id is not None:
            query = query.where(AuditEvent.complaint_id == complaint_id)
        return list(uow.session.scalars(query.order_by(AuditEvent.id)))


def one(runtime, action: str, complaint_id: int | None = None) -> AuditEvent:
    [event] = events(runtime, action, complaint_id)
    return event


def by(actor: Actor) -> tuple[str, int | None]:
    return actor.username, actor.user_id


# --- the one writer --------------------------------------------------------------------------------------------

def constructions_of_audit_events() -> set[Path]:
    found = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                if name == "AuditEvent":
                    found.add(path)
    return found


def test_no_module_but_the_writer_constructs_an_audit_event():
    found = constructions_of_audit_events()
    assert WRITER in found  # the scan sees a construction where there is one
    assert sorted(str(p.relative_to(APP.parent)) for p in found - {WRITER}) == []


def test_a_person_is_recorded_with_their_user_id_and_a_session_needs_the_step_instant(demo):
    with demo.unit_of_work() as uow:
        with pytest.raises(ValueError, match="no user id"):
            audit.record(uow, Actor("someone", roles=frozenset({"coordinator"})), "task_claimed")
        with pytest.raises(TypeError, match="at="):
            audit.record(uow.session, SYSTEM, "timer_fired")
        event = audit.record(uow.session, SCHEDULER, "timer_fired", at=RECEIVED, before={"a": 1}, after={"a": 2},
                             element_id="x")
        uow.session.flush()
        assert (event.actor, event.actor_id, event.occurred_at) == ("scheduler", None, RECEIVED)
        assert (event.before, event.after, event.detail) == ({"a": 1}, {"a": 2}, {"element_id": "x"})


# --- complaints and their work ---------------------------------------------------------------------------------

def test_registration_claim_release_and_assignment_with_the_assignee_before_and_after(demo, actors, case, clock):
    cid = case.register()
    registered = one(demo, "complaint_registered", cid)
    assert (registered.actor, registered.actor_id, registered.occurred_at) == (*by(actors["intake"]), RECEIVED)

    clock.advance(minutes=5)
    task = case.task(cid, "classify_complaint")
    with demo.unit_of_work() as uow:
        assignments.claim(uow, actors["intake"], task.id)
    with demo.unit_of_work() as uow:
        assignments.unclaim(uow, actors["intake"], task.id)
    claimed, released = one(demo, "task_claimed", cid), one(demo, "task_unclaimed", cid)
    assert (claimed.actor, claimed.actor_id) == by(actors["intake"]) and claimed.occurred_at == clock.now()
    assert (claimed.before, claimed.after) == ({"assignee": None}, {"assignee": "intake"})
    assert (released.before, released.after) == ({"assignee": "intake"}, {"assignee": None})

    case.classify(cid)
    case.triage(cid, lead="cards")
    investigation = case.task(cid, "investigate_complaint", "cards")
    with demo.unit_of_work() as uow:
        assignments.assign(uow, actors["coordinator"], investigation.id, "cards.officer")
    assigned = one(demo, "task_assigned", cid)
    assert (assigned.actor, assigned.actor_id) == by(actors["coordinator"])
    assert (assigned.before, assigned.after) == ({"assignee": None}, {"assignee": "cards.officer"})
    assert assigned.detail["task_id"] == investigation.id


def test_a_completion_records_the_submitted_data_as_after_with_the_approval_decision(demo, actors, case, clock):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards")
    case.draft(cid)
    clock.advance(hours=2)
    case.approve(cid)
    [approval] = [e for e in events(demo, "task_completed", cid) if e.detail["element_id"] == "approve_resolution"]
    assert (approval.actor, approval.actor_id) == by(actors["approver"]) and approval.occurred_at == clock.now()
    assert approval.after == {"approval_decision": "approve"} and approval.before is None
    assert "data" not in approval.detail  # the data is the event's after, not a copy in its detail


def test_a_breach_found_by_a_completion_is_the_completing_persons_at_the_steps_instant(demo, actors, case, clock):
    cid = case.register()
    clock.advance(hours=30)  # nobody ran the scheduler: the completion's step fires the deadline first
    case.classify(cid)
    intake = by(actors["intake"])
    for action in ("timer_fired", "sla_breached", "escalation_notified", "escalated_to_head", "task_completed"):
        event = one(demo, action, cid)
        assert (event.actor, event.actor_id, event.occurred_at) == (*intake, clock.now()), action
    breach, escalation = one(demo, "sla_breached", cid), one(demo, "escalated_to_head", cid)
    assert (breach.before, breach.after) == ({"is_overdue": False}, {"is_overdue": True})
    assert (escalation.before, escalation.after) == ({"escalation_level": 0}, {"escalation_level": 1})


def test_the_schedulers_breach_warning_and_deadline_have_no_user(demo, case, clock):
    cid = case.register()
    clock.advance(hours=19)  # past 75 % of the first response's 24 hours
    fire_due_warnings(demo)
    [warning, *_] = events(demo, "sla_warning", cid)
    assert (warning.actor, warning.actor_id, warning.occurred_at) == ("scheduler", None, clock.now())
    assert warning.before["warned_level"] < warning.after["warned_level"]

    clock.advance(hours=6)
    assert fire_due_timers(demo).fired == 1
    breach = one(demo, "sla_breached", cid)
    assert (breach.actor, breach.actor_id, breach.occurred_at) == ("scheduler", None, clock.now())
    assert breach.detail["sla"] == "first_response"


def test_a_deadline_extension_records_the_due_time_before_and_after(demo, actors, case, clock):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    clock.advance(days=5)
    with demo.unit_of_work() as uow:
        _record, outcome = extensions.request_extension(uow, actors["coordinator"], cid, {
            "sla": "decision", "extension": "complex_case", "reason": "The card scheme's records are needed"})
    outcome.raise_if_refused()
    extended = one(demo, "deadline_extended", cid)
    # Applied by a service task of the coordinator's step: the coordinator's, with their id.
    assert (extended.actor, extended.actor_id, extended.occurred_at) == (*by(actors["coordinator"]), clock.now())
    assert extended.before == {"due_at": (RECEIVED + timedelta(days=15)).isoformat()}
    assert extended.after == {"due_at": (RECEIVED + timedelta(days=30)).isoformat()}


def test_letters_sent_and_failed_are_the_systems_with_message_kind_and_channel(demo, case, clock, tmp_path):
    cid = case.register()
    case.classify(cid)  # the acknowledgement follows the classification
    clock.advance(minutes=1)
    report = deliver_due(demo, FileTransport(tmp_path))
    assert report.sent >= 1
    [sent, *_] = events(demo, "message_sent", cid)
    assert (sent.actor, sent.actor_id, sent.occurred_at) == ("system", None, clock.now())
    assert sent.detail["kind"] == "acknowledgement" and sent.detail["channel"] == "file"
    assert (sent.before, sent.after) == ({"state": "sending"}, {"state": "sent"})

    class Unreachable:
        def send(self, email, key):
            raise OSError("connection refused")

    case.classify(case.register(2))
    deliver_due(demo, Unreachable())
    [failed, *_] = events(demo, "message_failed")
    assert (failed.actor, failed.actor_id) == ("system", None)
    assert failed.detail["channel"] == "email" and failed.detail["message_id"] and not failed.detail["gave_up"]
    assert (failed.before, failed.after) == ({"state": "sending"}, {"state": "pending"})


# --- definitions ---------------------------------------------------------------------------------------------

def test_deployment_sign_off_and_migration_record_the_versions_before_and_after(demo, actors, case, clock):
    cid = case.register()
    clock.advance(days=1)
    target_id = deploy_lane_move(demo, actors["owner"], reason="approval by complaint management")
    deployed = [e for e in events(demo, "definition_deployed") if e.actor == "owner"]
    assert [(e.actor_id, e.occurred_at) for e in deployed] == [(actors["owner"].user_id, clock.now())]
    with demo.unit_of_work() as uow:
        first = uow.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_id == "complaint_handling", ProcessDefinition.version == 1)).one()
        instance_id = uow.session.scalars(select(ProcessInstance.id).where(ProcessInstance.complaint_id == cid)).one()
        checksum = uow.session.get(ProcessDefinition, target_id).checksum
    assert deployed[0].before == {"definition_id": first.id, "version": 1}
    assert deployed[0].after == {"definition_id": target_id, "version": 2}

    clock.advance(hours=1)
    with demo.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "approved", "Four eyes: fine")
    signed = one(demo, "definition_approved")
    assert (signed.actor, signed.actor_id, signed.occurred_at) == (*by(actors["compliance"]), clock.now())
    assert (signed.before, signed.after) == ({"review": None}, {"review": "approved"})

    clock.advance(hours=1)
    with demo.unit_of_work() as uow:
        migration.migrate_instance(uow, actors["owner"], instance_id, target_id)
    migrated = one(demo, "instance_migrated", cid)
    assert (migrated.actor, migrated.actor_id, migrated.occurred_at) == (*by(actors["owner"]), clock.now())
    # No deadline of this case changes in the new version: none re-armed.
    assert migrated.before == {"definition_id": first.id, "version": 1, "timers": []}
    assert migrated.after == {"definition_id": target_id, "version": 2, "timers": []}


# --- who sees what of a change -----------------------------------------------------------------------------------

def test_the_read_policy_filters_before_and_after_like_the_detail(demo, actors, case):
    with demo.unit_of_work() as uow:
        cid = registration.register_complaint(uow, actors["customer"], sample_registration(1)).id
    case.classify(cid)
    case.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                            "triage_note": "INTERNAL-TRIAGE-NOTE"})

    def triage_after(actor):
        with demo.unit_of_work() as uow:
            history = registration.get_complaint(uow, actor, cid)["history"]
        return [e for e in history if e["action"] == "task_completed"][-1]["after"]

    assert triage_after(actors["coordinator"])["triage_note"] == "INTERNAL-TRIAGE-NOTE"
    officer = triage_after(actors["cards.officer"])
    assert officer["lead_department"] == "cards" and "triage_note" not in officer
    with demo.unit_of_work() as uow:
        customer = registration.get_complaint(uow, actors["customer"], cid)["history"]
    assert customer and all(set(e) == {"at", "action"} for e in customer)
