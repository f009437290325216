"""Complaints driven through their full lifecycle via the real services: the answers a person would give.

Each function is one command in the caller's unit of work (the loop, one unit of work per step as for a person
clicking through the pages, is app/simulate.py). The answers vary by complaint number so that runs include
rejections, reopenings and multi-department investigations.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine.complaints import registration
from app.engine.core.actors import Actor
from app.engine.identity.users import actor_for
from app.engine.models import User, UserTask
from app.engine.work import user_tasks

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

CATEGORIES = ("service_quality", "product", "fees_charges", "mis_selling", "fund_security", "debt_collection",
              "personal_information", "other")
CHANNELS = ("phone_hotline", "email", "website", "mobile_app", "branch_counter", "social_media", "regulator")


def sample_registration(n: int) -> dict:
    channel = CHANNELS[n % len(CHANNELS)]
    data = {"customer_name": f"Customer {n}", "customer_contact": f"customer{n}@example.com", "channel": channel,
            "product": "credit_card", "category": CATEGORIES[n % len(CATEGORIES)], "severity": "general",
            "amount_involved": f"{(n % 50) * 10 + 5}.50",
            "description": f"Simulated complaint number {n}: a fee was charged twice on my card statement."}
    if channel == "regulator":
        # Dated at the classification's first day, so it precedes any receipt a registration can have (the
        # forwarding date may not be after it: complaints/forwarding.py), whatever clock a demo or test runs on.
        data.update(forwarded_reference=f"REG-{n:05d}", forwarded_by="cbirc", forwarded_at="2020-03-01",
                    reply_route="customer")
    return data


def answer(n: int, element_id: str, visits: int, departments: list[str]) -> dict:
    """The form data a person would submit for this task, the ``visits``-th time this complaint reaches it."""
    if element_id == "classify_complaint":
        return {"category": CATEGORIES[n % len(CATEGORIES)], "severity": "general", "product": "credit_card"}
    if element_id == "triage_complaint":
        count = 1 + n % 3
        return {"lead_department": departments[n % len(departments)],
                "co_departments": [departments[(n + i) % len(departments)] for i in range(1, count)]}
    if element_id == "investigate_complaint":
        return {"facts": "Checked the statement and the fee schedule.", "root_cause": "Duplicate posting",
                "proposed_remedy": "Refund the duplicate fee"}
    if element_id == "draft_resolution":
        return {"resolution_summary": "Duplicate fee refunded", "remedy_type": "monetary_redress",
                "redress_amount": "25.00", "customer_message": "We have refunded the duplicate fee.",
                "resolution_outcome": "upheld", "facts_checked": "The annual fee was posted twice on the statement.",
                "decision_basis": "Card agreement, clause 4.2 (one annual fee a year)",
                "ombudsman_consent": "does_not_consent", "root_cause_code": "system_failure"}
    if element_id == "approve_resolution":
        reject = n % 3 == 0 and visits == 1
        return ({"approval_decision": "reject", "approval_comment": "Explain the root cause to the customer"}
                if reject else {"approval_decision": "approve"})
    if element_id == "record_feedback":
        satisfied = not (n % 4 == 0 and visits == 1)
        return {"customer_satisfied": satisfied, "satisfaction_rating": 5 if satisfied else 2}
    if element_id == "decide_reopen":
        return {"reopen_target": "resolution" if n % 8 == 0 else "investigation",
                "reopen_reason": "Customer disputes the refunded amount"}
    if element_id == "send_final_or_holding_response":
        return {"breach_response": "holding_response",
                "breach_response_note": "We are still waiting for the card scheme's records."}
    if element_id in ("approve_further_extension", "approve_extension"):
        return {"extension_decision": "approve"}
    if element_id == "give_verification_opinion":
        return {"verification_opinion": "upheld", "verification_opinion_text": "The decision was correct.",
                "verification_basis": "The card agreement and the transaction records"}
    if element_id == "complete_registration":  # an e-mail taken in (processes/mail_intake.bpmn): registered
        registered = sample_registration(n)
        return {"intake_decision": "register", **{k: registered[k] for k in (
            "customer_name", "customer_contact", "product", "category", "severity", "description")}}
    if element_id in ("intervene_overdue_complaint", "executive_intervention"):
        return {"intervention_action": "instruct", "instruction": "Call the customer today and finish the reply."}
    raise ValueError(f"the simulation has no answer for task {element_id!r}")


def load_actors(uow: UnitOfWork) -> list[Actor]:
    users = uow.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    return [actor_for(u) for u in users]


def register_case(uow: UnitOfWork, actors: list[Actor], n: int) -> int:
    """Register complaint number ``n`` as the first intake agent; returns its id."""
    registrar = next(a for a in actors if "intake_agent" in a.roles)
    return registration.register_complaint(uow, registrar, sample_registration(n)).id


def complete_next_task(uow: UnitOfWork, actors: list[Actor], complaint_id: int, n: int, visits: dict[str, int]) -> bool:
    """Complete the complaint's oldest ready task as someone allowed to; False when none is left.
    ``visits`` counts how often each task was reached (the answers depend on it)."""
    task = uow.session.scalars(select(UserTask).where(UserTask.complaint_id == complaint_id,
                                                      UserTask.state == "ready").order_by(UserTask.id)).first()
    if task is None:
        return False
    actor = next(a for a in actors if user_tasks.may_work_on(a, task))
    visits[task.element_id] = visits.get(task.element_id, 0) + 1
    departments = sorted(uow.settings.departments)
    user_tasks.complete_user_task(uow, actor, task.id, answer(n, task.element_id, visits[task.element_id],
                                                              departments)).raise_if_refused()
    return True
