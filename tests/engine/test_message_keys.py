"""A queued message's key is the proof that a step already ran: the same step carried out on a stale state of
the instance (another process committed it first) meets its own message key and is refused as stale (a 409
for the API, a retry for the scheduler), with nothing of it written; never a 500. Notices are written with the
step's one flush, a customer letter at once (its message id goes into the history): both go through
registry.duplicate_message_is_stale. A notice of an escalation cannot meet its key again: the escalation's
tasks are new on every run of the firing, so only the letters of predicted tasks are tested here."""
import pytest
from sqlalchemy import func, select

from app.engine.core.errors import StaleInstance
from app.engine.models import OutboxMessage
from app.engine.work import user_tasks

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches


class _DryRun(Exception):
    """Rolls the dry run back."""


def _keys_of_a_dry_run(runtime, step) -> list[str]:
    """The message keys ``step(uow)`` queues, without committing anything."""
    keys: list[str] = []
    with pytest.raises(_DryRun), runtime.unit_of_work() as uow:
        step(uow)
        uow.session.flush()
        keys = list(uow.session.scalars(select(OutboxMessage.idempotency_key)
                                        .where(OutboxMessage.id.is_not(None)).order_by(OutboxMessage.id)))
        raise _DryRun()
    return keys


def _commit_message_first(runtime, key: str, complaint_id: int) -> None:
    """What the other process's committed run of the same step left: a message with that key."""
    with runtime.unit_of_work() as uow:
        uow.session.add(OutboxMessage(idempotency_key=key, complaint_id=complaint_id, kind="escalation",
                                      recipient="someone@example.com", subject="s", body="b",
                                      created_at=runtime.clock.now()))


def _count(runtime, model, **where) -> int:
    with runtime.unit_of_work() as uow:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return uow.session.scalar(query)


def test_a_reply_letter_already_queued_refuses_the_approval_as_stale(case):
    cid = case.register()
    case.classify(cid)
    case.triage(cid)
    case.investigate(cid, "cards")
    case.draft(cid)
    task = case.task(cid, "approve_resolution")
    data = {"approval_decision": "approve"}
    approve = lambda uow: user_tasks.complete_user_task(uow, case.actor_for(task), task.id, data)
    existing = {m.idempotency_key for m in case.messages(cid)}
    reply = [k for k in _keys_of_a_dry_run(case.runtime, approve) if k not in existing and ":reply:" in k]
    assert reply, "approving queues the reply letter"
    _commit_message_first(case.runtime, reply[0], cid)

    with pytest.raises(StaleInstance), case.runtime.unit_of_work() as uow:
        approve(uow)

    assert case.ready_names(cid) == ["approve_resolution"]
    assert _count(case.runtime, OutboxMessage, idempotency_key=reply[0]) == 1
