"""Time values the whole engine shares: ISO 8601 durations as the SLA configuration writes them, and instants
normalised to UTC (the database, the workflow state and the clock all hold UTC); which time zones and filter dates a
person may give."""
from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime
from functools import cache
from typing import TypeGuard

_DURATION = re.compile(r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
                       r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$")


def parse_duration(text: str) -> dict[str, int]:
    """The parts of an ISO 8601 duration (``P15D``, ``PT24H``, ``P8W``); years and months are refused because
    no regulation we implement counts in them and their length varies."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as P15D or PT24H")
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    if parts.get("years") or parts.get("months"):
        raise ValueError(f"{text!r}: write deadlines in weeks, days or hours, not years or months")
    return parts


def parse_instant(value: str | datetime) -> datetime:
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


# --- what a person may give as a time zone or as a date to filter by --------------------------------------------

# Names in the tz database that are not places: "Factory" (offset -00, "local time zone must be set") and
# "localtime" (a link to this server's /etc/localtime). zoneinfo lists them; pytz, behind Flask-Babel, does not.
PSEUDO_ZONES = frozenset({"Factory", "localtime", "posixrules"})


@cache
def real_time_zones() -> frozenset[str]:
    """The IANA zones a reader or an SLA profile may name (read once: available_timezones() walks the disk)."""
    return frozenset(zoneinfo.available_timezones()) - PSEUDO_ZONES


def is_real_time_zone(name: object) -> TypeGuard[str]:
    return isinstance(name, str) and name in real_time_zones()


# Filters name days a complaint can have been received or be due on: far enough either side for any search, and
# far from the ends of Python's calendar (year 1 and 9999), where a day's start in a time zone or the next day
# overflows (received_to=9999-12-31 was a 500, the CSV export broke mid-stream).
EARLIEST_FILTER_DAY = date(1900, 1, 1)
LATEST_FILTER_DAY = date(2999, 12, 31)
FILTER_DAY_RANGE = f"Give a date from {EARLIEST_FILTER_DAY.isoformat()} to {LATEST_FILTER_DAY.isoformat()}"


def filter_day(text: str) -> date:
    """A calendar day given to a filter, YYYY-MM-DD within the filter range; ValueError otherwise."""
    day = date.fromisoformat(text)
    if not EARLIEST_FILTER_DAY <= day <= LATEST_FILTER_DAY:
        raise OutOfRange(FILTER_DAY_RANGE)
    return day


def filter_instant(text: str) -> datetime:
    """An instant given to a filter (ISO 8601, UTC without an offset), on a day within the filter range."""
    instant = datetime.fromisoformat(text)
    if not EARLIEST_FILTER_DAY <= instant.date() <= LATEST_FILTER_DAY:
        raise OutOfRange(FILTER_DAY_RANGE)
    return parse_instant(instant)


class OutOfRange(ValueError):
    """A well-formed date outside the filter range (its message says the range)."""
