"""Time values the whole engine shares: ISO 8601 durations as the SLA configuration writes them, and instants
normalised to UTC (the database, the workflow state and the clock all hold UTC)."""
from __future__ import annotations

import re
from datetime import UTC, datetime

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
