"""Deadlines: when a named SLA of the active profile expires, counted the way its regulation counts it.

Counting belongs to each SLA, not to the regime (see ../shared/domain.md): DISP's 8 weeks are 56 calendar days
after receipt, its 3 business days end at close of business on the third business day after the day of
receipt, its payment-services 15 business days skip weekends and bank holidays; CBIRC's 15/30/+30 days and
CFPB's 15/60 days are calendar days. Days and close of business are those of the regime's time zone.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from app.engine.core.times import parse_duration, parse_instant
from app.engine.deadlines.case_calendars import case_profile

if TYPE_CHECKING:
    from app.engine.config.settings import SlaDefinition, SlaProfile

def resolve_sla(profile: SlaProfile, sla_name: str, product: str | None = None) -> SlaDefinition:
    """The SLA that applies: a product track may replace it (DISP: payment services get 15 business days)."""
    if product:
        sla_name = profile.product_tracks.get(str(product).casefold(), {}).get(sla_name, sla_name)
    try:
        return profile.slas[sla_name]
    except KeyError:
        raise KeyError(f"SLA profile {profile.name!r} defines no deadline named {sla_name!r}; "
                       f"known: {', '.join(sorted(profile.slas))}") from None


def due_at(profile: SlaProfile, sla_name: str, start: datetime, *, product: str | None = None) -> datetime:
    """The instant (UTC) the named SLA expires for a clock that started at ``start``."""
    sla = resolve_sla(profile, sla_name, product)
    return add_duration(profile, sla.counting, sla.duration, parse_instant(start))


# The SLAs that bound the case's answer (the handling timer runs one of them): a forwarding body's own deadline
# for our answer governs them when it is earlier.
ANSWER_SLAS = ("decision", "urgent_handling")


def decision_due_at(profile: SlaProfile, start: datetime | str, product: str | None = None,
                    forwarded_due_at: datetime | str | None = None, calendar: str | None = None, *,
                    sla_name: str = "decision") -> datetime:
    """When the case's answer is due: the regulatory deadline ``sla_name`` (decision, or urgent_handling for an
    urgent case; a product track may replace it) counted on the case's calendar (``calendar``: its code, None:
    the profile's), or the forwarding body's deadline if that is earlier: the earliest deadline governs. The
    handling timer (sla_due_at in deadlines/expressions.py) and the acknowledgement letter both ask this."""
    due = due_at(case_profile(profile, calendar), sla_name, parse_instant(start), product=product)
    if forwarded_due_at is not None and sla_name in ANSWER_SLAS:
        return min(due, parse_instant(forwarded_due_at))
    return due


def add_duration(profile: SlaProfile, counting: str, duration: str, start: datetime) -> datetime:
    """``start`` moved forward by ``duration`` counted as ``counting`` (also used for extensions)."""
    parts = parse_duration(duration)
    if counting == "elapsed":
        return start + _timedelta(parts)
    days = parts.get("days", 0) + 7 * parts.get("weeks", 0)
    zone = ZoneInfo(profile.timezone)
    local = start.astimezone(zone)
    if counting == "calendar_days":
        # Local wall-clock arithmetic: "56 days after receipt" keeps the hour across a DST change.
        return _at(local.date() + timedelta(days=days), local.time(), zone)
    business_day = nth_business_day_after(profile, local.date(), days)
    if counting == "business_days":
        return _at(business_day, local.time(), zone)
    if counting == "business_days_close":
        return _at(business_day, profile.close_of_business, zone)
    raise ValueError(f"unknown counting {counting!r}")


def nth_business_day_after(profile: SlaProfile, day: date, n: int) -> date:
    """The n-th business day after ``day`` (``day`` itself never counts: DISP's "after the day of receipt")."""
    if profile.calendar is None:
        raise ValueError(f"SLA profile {profile.name!r} has no business-day calendar")
    current = day
    while n > 0:
        current += timedelta(days=1)
        if profile.calendar.is_business_day(current):
            n -= 1
    return current


def _timedelta(parts: dict[str, int]) -> timedelta:
    return timedelta(weeks=parts.get("weeks", 0), days=parts.get("days", 0), hours=parts.get("hours", 0),
                     minutes=parts.get("minutes", 0), seconds=parts.get("seconds", 0))


def _at(day: date, clock_time: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock_time.replace(tzinfo=None), tzinfo=zone).astimezone(UTC)
