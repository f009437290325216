"""Complaints put in a given state through the real services (not the browser), for tests that start mid-way."""
from __future__ import annotations

from sqlalchemy import select

from app.engine.models import Complaint, UserTask
from tests.support import CaseDriver


def ready_task_id(case: CaseDriver, complaint_id: int, element_id: str, department: str | None = None) -> int:
    return case.task(complaint_id, element_id, department).id


def task_states(case: CaseDriver, complaint_id: int) -> list[tuple[str, str]]:
    with case.runtime.unit_of_work() as uow:
        return [(t.element_id, t.state) for t in uow.session.scalars(
            select(UserTask).where(UserTask.complaint_id == complaint_id).order_by(UserTask.id))]


def tracking_number(case: CaseDriver, complaint_id: int) -> str:
    with case.runtime.unit_of_work() as uow:
        return uow.session.get(Complaint, complaint_id).tracking_number
