"""Drive complaints through their full lifecycle via the real services and database (CLI `simulate`, bench).

Every step is its own unit of work, as it would be for a person clicking through the pages; the answers
vary by complaint number so that runs include rejections, reopenings and multi-department investigations.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from app.engine.models import User, UserTask
from app.engine.services import complaints, user_tasks
from app.engine.services.users import actor_for

CATEGORIES = ("service_quality", "product", "fees_charges", "mis_selling", "fund_security", "debt_collection",
              "personal_information", "other")
CHANNELS = ("phone_hotline", "email", "website", "mobile_app", "branch_counter", "social_media", "regulator")


@dataclass
class SimulationResult:
    complaints: int
    tasks_completed: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.complaints / self.seconds if self.seconds else float("inf")


def registration(n: int) -> dict:
    channel = CHANNELS[n % len(CHANNELS)]
    data = {"customer_name": f"Customer {n}", "customer_contact": f"customer{n}@example.com", "channel": channel,
            "product": "Credit card", "category": CATEGORIES[n % len(CATEGORIES)], "severity": "general",
            "amount_involved": f"{(n % 50) * 10 + 5}.50",
            "description": f"Simulated complaint number {n}: a fee was charged twice on my card statement."}
    if channel == "regulator":
        data["forwarded_reference"] = f"REG-{n:05d}"
    return data


def answer(n: int, element_id: str, visits: int, departments: list[str]) -> dict:
    """The form data a person would submit for this task, the ``visits``-th time this complaint reaches it."""
    if element_id == "classify_complaint":
        return {"category": CATEGORIES[n % len(CATEGORIES)], "severity": "general", "product": "Credit card"}
    if element_id == "triage_complaint":
        count = 1 + n % 3
        return {"lead_department": departments[n % len(departments)],
                "co_departments": [departments[(n + i) % len(departments)] for i in range(1, count)]}
    if element_id == "investigate_complaint":
        return {"facts": "Checked the statement and the fee schedule.", "root_cause": "Duplicate posting",
                "proposed_remedy": "Refund the duplicate fee"}
    if element_id == "draft_resolution":
        return {"resolution_summary": "Duplicate fee refunded", "remedy_type": "monetary_redress",
                "redress_amount": "25.00", "customer_message": "We have refunded the duplicate fee."}
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
    raise ValueError(f"the simulation has no answer for task {element_id!r}")


def simulate(runtime, count: int, *, start: int = 0) -> SimulationResult:
    with runtime.unit_of_work() as uow:
        users = uow.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
        actors = [actor_for(u) for u in users]
    registrar = next(a for a in actors if "intake_agent" in a.roles)
    departments = sorted(runtime.settings.departments)
    began, completed = time.perf_counter(), 0
    for n in range(start, start + count):
        with runtime.unit_of_work() as uow:
            complaint_id = complaints.register_complaint(uow, registrar, registration(n)).id
        visits: dict[str, int] = {}
        while True:
            with runtime.unit_of_work() as uow:
                task = _next_task(uow, complaint_id)
                if task is None:
                    break
                actor = next(a for a in actors if user_tasks.may_work_on(a, task))
                visits[task.element_id] = visits.get(task.element_id, 0) + 1
                user_tasks.complete_user_task(uow, actor, task.id, answer(n, task.element_id,
                                                                          visits[task.element_id], departments))
            completed += 1
    return SimulationResult(complaints=count, tasks_completed=completed, seconds=time.perf_counter() - began)


def _next_task(uow, complaint_id: int):
    return uow.session.scalars(select(UserTask).where(UserTask.complaint_id == complaint_id,
                                                      UserTask.state == "ready").order_by(UserTask.id)).first()
