"""When a complaint reached the bank (``received_at``), as staff registering it later give it.

Every regulatory clock starts at receipt, not at registration: a letter opened a week after it arrived has used a
week of its 8 weeks. Staff and channel integrations may therefore give ``received_at``, an ISO 8601 date and time
with an offset or a local one read in the regime's time zone; it may not lie in the future (by the step's clock)
nor further back than config/sla.toml [receipt] ``earliest``. A customer registering themselves never gives it:
their complaint is received as they send it. The same reading serves the forwarding dates
(complaints/forwarding.py).

The messages are English sentences the pages translate (``N_`` marks them for the catalog).
"""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from app.engine.access import permissions
from app.engine.core.times import parse_duration

if TYPE_CHECKING:
    from app.engine.core.actors import Actor
    from app.engine.runtime import UnitOfWork

FIELD = "received_at"
# Who may say when a complaint was received (config/permissions.toml): staff and channels, never the customer.
ACTION = "complaint.record_receipt"


def N_(message: str) -> str:
    """Marks a message for the catalog (pybabel's default keyword); it is translated where it is shown."""
    return message


NOT_A_TIME = N_("Give a date and time such as 2027-03-22T09:30 (the bank's time zone) or with its offset, "
                "such as 2027-03-22T09:30+00:00.")
NOT_A_DAY = N_("Give a date such as 2027-03-22, or a date and time.")
IN_THE_FUTURE = N_("The complaint cannot have been received in the future.")
TOO_OLD = N_("This is further back than a receipt may be recorded (config/sla.toml [receipt] earliest); "
             "ask complaint management.")
NOT_YOURS = N_("Only staff registering a complaint may say when it was received; yours is received now.")


def read_instant(value: object, zone: str, *, day_at: time | None = None) -> datetime:
    """``value`` as a UTC instant: ISO 8601 with an offset, or a local date and time in ``zone``; a date alone only
    when ``day_at`` says which time of that local day it means. ValueError (with the message) otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(NOT_A_TIME if day_at is None else NOT_A_DAY)
    text = value.strip()
    try:
        if len(text) == 10 and day_at is not None:  # YYYY-MM-DD
            return datetime.combine(datetime.fromisoformat(text).date(), day_at, ZoneInfo(zone)).astimezone(UTC)
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(NOT_A_TIME if day_at is None else NOT_A_DAY) from None
    if len(text) == 10:  # a date where a time is needed: the clock must not start at an invented midnight
        raise ValueError(NOT_A_TIME)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=ZoneInfo(zone))
    return instant.astimezone(UTC)


def earliest(uow: UnitOfWork, now: datetime) -> datetime:
    """The earliest receipt a registration at ``now`` may record ([receipt] earliest, whole days or weeks)."""
    parts = parse_duration(uow.settings.receipt_earliest)
    return now - timedelta(days=parts.get("days", 0) + 7 * parts.get("weeks", 0))


def received_at(uow: UnitOfWork, actor: Actor, data: dict, now: datetime) -> tuple[datetime, dict[str, list[str]]]:
    """When the complaint was received (``now`` when not given) and the errors of ``received_at``, if any."""
    value = data.get(FIELD)
    if value is None or value == "":
        return now, {}
    if not permissions.may(uow, actor, "complaint.record_receipt"):
        return now, {FIELD: [NOT_YOURS]}
    try:
        instant = read_instant(value, uow.settings.sla_profile.timezone)
    except ValueError as err:
        return now, {FIELD: [str(err)]}
    if instant > now:
        return now, {FIELD: [IN_THE_FUTURE]}
    if instant < earliest(uow, now):
        return now, {FIELD: [TOO_OLD]}
    return instant, {}
