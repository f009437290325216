"""Which process instance a complaint runs on: the one answer registration, extensions and verification share."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine.models import ProcessDefinition, ProcessInstance

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

# The process a complaint is registered on and whose messages (extension, verification request) it receives.
COMPLAINT_PROCESS = "complaint_handling"


def running_instance(uow: UnitOfWork, complaint_id: int) -> ProcessInstance | None:
    """The complaint's running complaint-handling instance (the newest), which receives its messages: an extension
    request (complaints/extensions.py), a verification request (complaints/verification.py). None once its
    process has ended."""
    return uow.session.scalar(
        select(ProcessInstance).join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(ProcessInstance.complaint_id == complaint_id, ProcessInstance.status == "running",
               ProcessDefinition.process_id == COMPLAINT_PROCESS).order_by(ProcessInstance.id.desc()).limit(1))
