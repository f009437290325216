"""The service-task port: what the engine hands a service-task handler (``ServiceContext``) and how a
handler's queued messages are written. The handlers themselves live above the engine (``app/tasks``) and reach
the engine through the operators the composition root gives the runtime, so no engine module imports them."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.engine import audit
from app.engine.audit import personal
from app.engine.config.settings import Settings
from app.engine.core.actors import Actor
from app.engine.core.errors import StaleInstance
from app.engine.models import Complaint, OutboxMessage, ProcessInstance, UserTask

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork


@dataclass
class ServiceContext:
    """What a handler may touch: the step's session (so its writes commit with the step), the case, the clock."""

    session: Session
    settings: Settings
    now: datetime
    instance: ProcessInstance
    complaint: Complaint | None
    element_id: str
    spiff_task_id: str
    data: Mapping[str, Any]
    # Who the step acts for: the person whose completion ran this service task, or the scheduler firing a timer.
    actor: Actor
    # Moves a waiting timer of this workflow: (SpiffWorkflow task id, new due time). The step saves the row.
    reschedule_timer: Callable[[str, datetime], None]
    # The case's open (ready) task rows, by id, as the step found them: the step writes its own task changes
    # only when it saves, after every service task ran. Read once per step.
    open_tasks: Callable[[], list[UserTask]]
    messages: list[OutboxMessage] = field(default_factory=list)
    # The step's unit of work, for a handler that carries out a whole command of its own in the step's
    # transaction (e-mail intake's "Register complaint" registers the complaint and starts its process).
    uow: UnitOfWork | None = None

    def audit(self, action: str, *, before: Mapping[str, object] | None = None,
              after: Mapping[str, object] | None = None, **detail: object) -> None:
        """An event in the case's history, at the step's instant, for the step's actor (audit/writer.py)."""
        personal.use(self.session, self.settings)
        audit.record(self.session, self.actor, action, at=self.now,
                     complaint_id=self.complaint.id if self.complaint else None, instance_id=self.instance.id,
                     before=before, after=after, **detail)

    def require_complaint(self) -> Complaint:
        """The case, for a handler that only runs in a complaint's process (every handler in app/tasks)."""
        if self.complaint is None:
            raise LookupError(f"Service task '{self.element_id}' needs a complaint; this process has none")
        return self.complaint

    def send(self, kind: str, recipient: str, subject: str, body: str) -> OutboxMessage:
        """Queue a message; it leaves the system after commit. The key makes a re-run of the step harmless.
        The row is written with the step's one flush (``flush()`` first if the handler needs its id): an
        escalation notifying several people no longer writes the case's pending changes once per notice."""
        key = f"{self.instance.id}:{self.spiff_task_id}:{kind}:{recipient}"
        message = OutboxMessage(idempotency_key=key, complaint_id=self.complaint.id if self.complaint else None,
                                kind=kind, recipient=recipient, subject=subject, body=body, created_at=self.now)
        self.session.add(message)
        self.messages.append(message)
        return message

    def flush(self) -> None:
        """Write what the handler queued now (e.g. a letter whose message id goes into the history)."""
        with duplicate_message_is_stale():
            self.session.flush()


@contextmanager
def duplicate_message_is_stale() -> Iterator[None]:
    """Around a flush that may write queued messages (``send``; the step's final flush): a message key that
    already exists means the same step queued it in a transaction that committed first, so this step ran on a
    stale state of the instance, like a lost lock version (adapters retry on fresh state). Any other integrity
    error is a defect and stays one."""
    try:
        yield
    except IntegrityError as err:
        if "idempotency_key" not in str(err.orig):
            raise
        raise StaleInstance("This step was already carried out by someone else; reload and try again") from err
