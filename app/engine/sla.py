"""Deadlines from SLA profiles, in calendar or business days. Used by the BPMN timer expressions."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.engine.settings import SlaProfile


def parse_instant(value: str | datetime) -> datetime:
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return instant.replace(tzinfo=timezone.utc) if instant.tzinfo is None else instant.astimezone(timezone.utc)


def _is_business_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def _add_business_days(start: datetime, days: int, holidays: frozenset[date]) -> datetime:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if _is_business_day(current.date(), holidays):
            days -= 1
    return current


def due_at(profile: SlaProfile, sla_name: str, start: datetime) -> datetime:
    """The instant the named SLA expires for something that started at ``start``."""
    try:
        duration = profile.durations[sla_name]
    except KeyError:
        raise KeyError(f"SLA profile {profile.name!r} defines no deadline named {sla_name!r}; "
                       f"known: {', '.join(sorted(profile.durations))}") from None
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    if profile.calendar == "business":
        days = int(parsed.pop("days", 0)) + 7 * int(parsed.pop("weeks", 0))
        start = _add_business_days(start, days, profile.holidays)
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
