"""A small driver for process tests: every call is its own unit of work, as in production."""
from __future__ import annotations

from sqlalchemy import select

from app.engine.complaints import registration
from app.engine.demo.simulation import sample_registration
from app.engine.governance import definitions
from app.engine.models import Complaint, OutboxMessage, Timer, UserTask
from app.engine.work import user_tasks

# A complete draft of the resolution: the structured data every regime's decision letter needs (config/letters.toml).
DRAFT = {"resolution_outcome": "upheld", "resolution_summary": "Refund", "remedy_type": "monetary_redress",
         "redress_amount": "25.00", "customer_message": "We refunded the fee.",
         "facts_checked": "The annual fee was posted twice on 3 March.",
         "decision_basis": "Card agreement, clause 4.2 (one annual fee a year)", "ombudsman_consent": "does_not_consent",
         "root_cause_code": "system_failure"}


class CaseDriver:
    def __init__(self, runtime, actors):
        self.runtime = runtime
        self.actors = actors

    def register(self, n: int = 1, **overrides) -> int:
        data = {**sample_registration(n), **overrides}
        with self.runtime.unit_of_work() as uow:
            return registration.register_complaint(uow, self.actors["intake"], data).id

    def ready(self, complaint_id: int) -> list[UserTask]:
        with self.runtime.unit_of_work() as uow:
            return list(uow.session.scalars(select(UserTask).where(
                UserTask.complaint_id == complaint_id, UserTask.state == "ready").order_by(UserTask.id)))

    def ready_names(self, complaint_id: int) -> list[str]:
        return [t.element_id for t in self.ready(complaint_id)]

    def task(self, complaint_id: int, element_id: str, department: str | None = None) -> UserTask:
        matches = [t for t in self.ready(complaint_id) if t.element_id == element_id
                   and (department is None or t.department == department)]
        assert matches, f"no ready {element_id} ({department}); ready: {self.ready_names(complaint_id)}"
        return matches[0]

    def actor_for(self, task: UserTask):
        return next(a for a in self.actors.values() if user_tasks.may_work_on(a, task))

    def complete(self, complaint_id: int, element_id: str, data: dict, *, department: str | None = None,
                 actor=None) -> UserTask:
        task = self.task(complaint_id, element_id, department)
        with self.runtime.unit_of_work() as uow:
            outcome = user_tasks.complete_user_task(uow, actor or self.actor_for(task), task.id, data)
        outcome.raise_if_refused()  # after the commit, as the adapters do
        return outcome.task

    def complaint(self, complaint_id: int) -> Complaint:
        with self.runtime.unit_of_work() as uow:
            return uow.session.get(Complaint, complaint_id)

    def timers(self, complaint_id: int) -> list[Timer]:
        with self.runtime.unit_of_work() as uow:
            return list(uow.session.scalars(select(Timer).where(Timer.complaint_id == complaint_id)
                                            .order_by(Timer.id)))

    def messages(self, complaint_id: int, kind: str | None = None) -> list[OutboxMessage]:
        with self.runtime.unit_of_work() as uow:
            query = select(OutboxMessage).where(OutboxMessage.complaint_id == complaint_id)
            if kind:
                query = query.where(OutboxMessage.kind == kind)
            return list(uow.session.scalars(query.order_by(OutboxMessage.id)))

    def handle_until_approval(self, lead: str = "cards") -> int:
        """Register a complaint and take it to the approval of its resolution: the lead department
        investigated and drafted."""
        cid = self.register()
        self.classify(cid)
        self.triage(cid, lead=lead)
        self.investigate(cid, lead)
        self.draft(cid)
        return cid

    def handle_until_feedback(self, lead: str = "cards") -> int:
        """Register a complaint and take it, approved first time, to the customer-feedback step."""
        cid = self.handle_until_approval(lead)
        self.approve(cid)
        return cid

    # The happy-path answers of each step, overridable per test.
    def classify(self, cid, **kw):
        return self.complete(cid, "classify_complaint", {"category": "fees_charges", "severity": "general",
                                                         "product": "credit_card", **kw})

    def triage(self, cid, lead="cards", co=()):
        return self.complete(cid, "triage_complaint", {"lead_department": lead, "co_departments": list(co)})

    def investigate(self, cid, department, facts="Checked the ledger"):
        return self.complete(cid, "investigate_complaint", {"facts": facts, "root_cause": "Duplicate posting",
                                                            "proposed_remedy": "Refund"}, department=department)

    def draft(self, cid, message="We refunded the fee.", **kw):
        return self.complete(cid, "draft_resolution", {**DRAFT, "customer_message": message, **kw})

    def approve(self, cid):
        return self.complete(cid, "approve_resolution", {"approval_decision": "approve"})

    def reject(self, cid, comment):
        return self.complete(cid, "approve_resolution", {"approval_decision": "reject",
                                                         "approval_comment": comment})

    def feedback(self, cid, satisfied: bool, rating: int):
        return self.complete(cid, "record_feedback", {"customer_satisfied": satisfied,
                                                      "satisfaction_rating": rating})

    def reopen(self, cid, target):
        return self.complete(cid, "decide_reopen", {"reopen_target": target, "reopen_reason": "Disputed"})


def deploy_lane_move(runtime, actor, reason: str | None = None) -> int:
    """Deploy complaint_handling with "Approve resolution" moved from the Approver lane to the lane of triage
    (Complaint management), its performer with it: a change of who does it. Returns the new version's definition id."""
    files = definitions.read_directory(runtime.settings.processes_dir)
    source = files["complaint_handling.bpmn"].decode()
    ref = "<bpmn:flowNodeRef>approve_resolution</bpmn:flowNodeRef>"
    anchor = "<bpmn:flowNodeRef>triage_complaint</bpmn:flowNodeRef>"
    performer = '<spiffworkflow:property name="performer" value="{}" />'
    source = source.replace(performer.format("Approver"), performer.format("Complaint management"))
    files["complaint_handling.bpmn"] = source.replace(ref, "").replace(anchor, anchor + ref).encode()
    with runtime.unit_of_work() as uow:
        return next(d.id for d in definitions.deploy(uow, actor, files, reason=reason)
                    if d.process_id == "complaint_handling")


def deploy_approval_in_departments(runtime, actor) -> int:
    """Deploy complaint_handling with "Approve resolution" moved into the Departments lane (its performer with
    it): department officers become its candidates, so the drafter could approve their own resolution if the
    engine did not keep segregation of duties (config/segregation.toml). Returns the new version's id."""
    files = definitions.read_directory(runtime.settings.processes_dir)
    source = files["complaint_handling.bpmn"].decode()
    ref = "<bpmn:flowNodeRef>approve_resolution</bpmn:flowNodeRef>"
    anchor = "<bpmn:flowNodeRef>draft_resolution</bpmn:flowNodeRef>"
    performer = '<spiffworkflow:property name="performer" value="{}" />'
    assert source.count(ref) == source.count(anchor) == 1
    source = source.replace(performer.format("Approver"), performer.format("Departments"))
    files["complaint_handling.bpmn"] = source.replace(ref, "").replace(anchor, anchor + ref).encode()
    with runtime.unit_of_work() as uow:
        return next(d.id for d in definitions.deploy(uow, actor, files, reason="Departments approve their peers")
                    if d.process_id == "complaint_handling")
