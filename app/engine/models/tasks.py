from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base

# Index keyword arguments (partial indexes): Any, because they are spread into Index's typed keywords.
_READY: dict[str, Any] = {"postgresql_where": text("state = 'ready'"), "sqlite_where": text("state = 'ready'")}
_UNASSIGNED: dict[str, Any] = {"postgresql_where": text("state = 'ready' AND assignee_id IS NULL"),
               "sqlite_where": text("state = 'ready' AND assignee_id IS NULL")}


class UserTask(Base):
    """One row per user task instance, kept in step with the workflow so work lists need no workflow load."""

    __tablename__ = "tasks"
    # The work-list indexes (services/worklist.py, migration 0005) cover ready tasks only: completed ones, most of
    # the table in time, never enter them; each ends with (due_at, id), the list's keyset order.
    __table_args__ = (UniqueConstraint("instance_id", "spiff_task_id"),
                      Index("ix_tasks_ready_due", "due_at", "id", **_READY),
                      Index("ix_tasks_ready_department", "department", "due_at", "id", **_READY),
                      Index("ix_tasks_ready_lane", "lane", "due_at", "id", **_READY),
                      Index("ix_tasks_ready_assignee", "assignee_id", "due_at", "id", **_READY),
                      # the team view and its badge count (migration 0011)
                      Index("ix_tasks_ready_unassigned", "lane", "department", "due_at", "id", **_UNASSIGNED))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))       # BPMN id of the user task
    title: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_roles: Mapped[list] = mapped_column(default=list)
    department: Mapped[str | None] = mapped_column(String(64), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))   # claimed by or assigned to
    assigned_at: Mapped[datetime | None]
    follow_up_at: Mapped[datetime | None]     # hidden from the assignee's "Mine" until then
    form: Mapped[str | None] = mapped_column(String(200))
    context: Mapped[dict] = mapped_column(default=dict)        # read-only facts shown with the form
    state: Mapped[str] = mapped_column(String(20), default="ready")   # ready | completed | cancelled
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_by: Mapped[str | None] = mapped_column(String(100))
    submitted_data: Mapped[dict | None]



def task_name(title: str, department: str | None, departments: Mapping[str, str]) -> str:
    """The element's name inside a task row's title: a department's task row is titled "<name> (<department>)"
    in English when it is made, so each half can be translated on its own."""
    if not department:
        return title
    suffix = f" ({departments.get(department, department)})"
    return title[: -len(suffix)] if title.endswith(suffix) else title
