"""What the process owner (and oversight) read instead of case files: the deployed definitions and aggregate
figures. Counts only: no tracking number, name or other personal data ever leaves this module."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app.engine.access import read_policy
from app.engine.core.actors import Actor
from app.engine.core.errors import NotAllowed
from app.engine.models import Complaint, ProcessDefinition, ProcessInstance

if TYPE_CHECKING:
    from sqlalchemy.orm import QueryableAttribute

    from app.engine.runtime import UnitOfWork


def list_definitions(uow: UnitOfWork, actor: Actor) -> list[dict]:
    """Every deployed definition version, newest first per process, with how many instances run on it."""
    if not read_policy.may_read_definitions(uow, actor):
        raise NotAllowed("Only process owners, compliance and the head of complaints read process definitions")
    counts: dict[int, dict[str, int]] = {}
    for definition_id, status, n in uow.session.execute(
            select(ProcessInstance.definition_id, ProcessInstance.status, func.count())
            .group_by(ProcessInstance.definition_id, ProcessInstance.status)):
        counts.setdefault(definition_id, {})[status] = n
    rows = uow.session.scalars(select(ProcessDefinition)
                               .order_by(ProcessDefinition.process_id, ProcessDefinition.version.desc()))
    return [{"process_id": d.process_id, "version": d.version, "name": d.name, "file_name": d.file_name,
             "deployed_at": d.deployed_at.isoformat(), "deployed_by": d.deployed_by, "checksum": d.checksum,
             "instances": {"running": counts.get(d.id, {}).get("running", 0),
                           "completed": counts.get(d.id, {}).get("completed", 0)}}
            for d in rows]


def figures(uow: UnitOfWork, actor: Actor) -> dict:
    """Complaint counts by status and by category, open and overdue totals."""
    if not read_policy.may_read_figures(uow, actor):
        raise NotAllowed("Only process owners, coordinators, compliance and the head of complaints read figures")
    session = uow.session

    def count_by(column: QueryableAttribute[str | None]) -> dict[str | None, int]:  # None: no category yet
        rows = session.execute(select(column, func.count()).group_by(column).order_by(column))
        return {key: n for key, n in rows}  # noqa: C416 - a Row is not the 2-tuple dict() wants

    is_open = Complaint.status != "closed"
    return {
        "total": session.scalar(select(func.count()).select_from(Complaint)),
        "open": session.scalar(select(func.count()).where(is_open)),
        "overdue_open": session.scalar(select(func.count()).where(is_open, Complaint.is_overdue.is_(True))),
        "escalated_open": session.scalar(select(func.count()).where(is_open, Complaint.escalation_level > 0)),
        "by_status": count_by(Complaint.status),
        "by_category": count_by(Complaint.category),
    }
