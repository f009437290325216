"""Deadline extensions inside the process: the service tasks after "Deadline extension requested"."""
from __future__ import annotations

from app.engine.models import DeadlineExtension
from app.engine.process.service_tasks import ServiceContext
from app.tasks.registry import operator


def _record(ctx: ServiceContext) -> DeadlineExtension:
    request = ctx.data.get("extension_request") or {}
    record = ctx.session.get(DeadlineExtension, request.get("extension_id"))
    if record is None or record.instance_id != ctx.instance.id:
        raise LookupError(f"the extension request {request.get('extension_id')!r} of this case does not exist")
    return record


@operator("apply_extension")
def apply_extension(ctx: ServiceContext) -> dict:
    """Move the deadline, record it with its reason and tell the customer (services/extensions.py)."""
    from app.engine.complaints import extensions  # noqa: PLC0415 - the service imports the step machinery
    return extensions.apply(ctx, _record(ctx), comment=ctx.data.get("extension_comment"))


@operator("refuse_extension")
def refuse_extension(ctx: ServiceContext) -> dict:
    from app.engine.complaints import extensions  # noqa: PLC0415
    return extensions.refuse(ctx, _record(ctx), ctx.data.get("extension_comment"))
