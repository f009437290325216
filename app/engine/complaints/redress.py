"""Redress paid: recorded by staff after the final response offered it (issue 26's outcome data; the FCA return
counts redress paid). The amount and the day it was paid go onto the complaint, through the audit writer with
their before and after; who may record it is config/permissions.toml ``redress.record_paid``."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from app.engine import audit
from app.engine.access import permissions, read_policy
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, InvalidSubmission
from app.engine.models import Complaint

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.engine.runtime import UnitOfWork

AMOUNT = re.compile(r"^[0-9]{1,13}(\.[0-9]{1,2})?$")


def may_record(source: permissions.TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "redress.record_paid")


def record_redress_paid(uow: UnitOfWork, actor: Actor, complaint_id: int, data: Mapping[str, object]) -> Complaint:
    """``data``: ``redress_paid`` (the amount, as text: "120.00") and ``paid_on`` (YYYY-MM-DD in the regime's
    time zone; default today). Refused before the final response, for a day before it or in the future."""
    complaint = read_policy.require_complaint(uow, actor, complaint_id)  # who may read it first, as everywhere
    permissions.require(uow, actor, "redress.record_paid", "Only complaint management records redress paid")
    if complaint.final_response_at is None:
        raise Conflict(f"Complaint {complaint.tracking_number} has had no final response: no redress was offered yet")
    amount = str(data.get("redress_paid") or "").strip().replace(",", "")
    if not AMOUNT.match(amount):
        raise InvalidSubmission({"redress_paid": ["Give the amount paid, e.g. 120.00"]})
    zone = ZoneInfo(uow.settings.sla_profile.timezone)
    now = uow.now()
    today = now.astimezone(zone).date()
    raw_day = str(data.get("paid_on") or "").strip()
    try:
        day = date.fromisoformat(raw_day) if raw_day else today
    except ValueError:
        raise InvalidSubmission({"paid_on": ["Give the day it was paid as YYYY-MM-DD"]}) from None
    if day > today or day < complaint.final_response_at.astimezone(zone).date():
        raise InvalidSubmission({"paid_on": ["The day it was paid lies between the final response and today"]})
    paid_at = now if day == today else datetime.combine(day, time(12, 0), zone).astimezone(UTC)
    before = {"redress_paid": _text(complaint.redress_paid), "redress_paid_at": _iso(complaint.redress_paid_at)}
    complaint.redress_paid, complaint.redress_paid_at = Decimal(amount), paid_at
    uow.session.flush()
    audit.record(uow, actor, "redress_paid_recorded", at=now, complaint_id=complaint.id, before=before,
                 after={"redress_paid": _text(complaint.redress_paid), "redress_paid_at": _iso(paid_at)},
                 redress_offered=_text(complaint.redress_offered))
    return complaint


def _text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
