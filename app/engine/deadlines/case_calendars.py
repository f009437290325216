"""The business-day calendar of one case: a UK customer's nation's bank holidays, not England's for everyone.

Scotland and Northern Ireland keep bank holidays England and Wales do not (St Andrew's Day, St Patrick's Day,
2 January, the Battle of the Boyne) and lack some it keeps (Easter Monday in Scotland), so a payment-services
deadline of 15 business days falls on another day. A profile lists the calendars its cases may count on
(config/sla.toml ``case_calendars``); one is chosen at registration, stored on the complaint
(``calendar_code``) and every business-day computation of the case counts on it through ``case_profile``.

The choice, first that decides: the postcode of the customer's postal address (a calendar's ``postcodes``:
areas such as ``EH``, districts such as ``TD5`` where an area straddles the border, ``*`` for every other UK
postcode; a district two calendars list decides nothing), else the place of business (a calendar's ``places``),
else the registrant's explicit choice, else the profile's own calendar.
"""
from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.engine.config.calendars import BusinessCalendar
    from app.engine.config.settings import SlaProfile

# A UK postcode: outward code (area letters, district digits and an optional letter or digit), then the inward
# code (a digit and two letters), with or without the space between them. Postcodes are written in capitals;
# addresses are matched case-insensitively and the last postcode of the address wins (it ends the address).
UK_POSTCODE = re.compile(r"\b(?P<area>[A-Z]{1,2})(?P<district>[0-9][A-Z0-9]?)\s*[0-9][A-Z]{2}\b", re.IGNORECASE)


def postcode_keys(address: str | None) -> tuple[str, ...]:
    """The district (``TD5``) then the area (``TD``) of the address's postcode; () without one."""
    matches = list(UK_POSTCODE.finditer(address or ""))
    if not matches:
        return ()
    area, district = matches[-1]["area"].upper(), matches[-1]["district"].upper()
    # "EH10": the district is EH10; "W1A": W1A's district is W1 followed by a sub-district letter.
    digits = district if district.isdigit() else district[0]
    return (area + digits, area)


def choose(profile: SlaProfile, *, address: str | None = None, place: str | None = None,
           explicit: str | None = None) -> str | None:
    """The code of the calendar a new case counts on (None: the profile counts no business days)."""
    calendars = list(profile.calendars.values())
    if len(calendars) > 1:
        by_postcode = _by_postcode(calendars, postcode_keys(address))
        if by_postcode is not None:
            return by_postcode
        found = [c for c in calendars if place and place in c.places]
        if found:
            return found[0].name
        if explicit in profile.calendars:
            return explicit
    return profile.calendar.name if profile.calendar is not None else None


def _by_postcode(calendars: list[BusinessCalendar], keys: tuple[str, ...]) -> str | None:
    """The calendar the postcode's district, else its area, names; a key listed by two calendars (a district
    straddling the border) decides nothing, and neither does the area behind it; a postcode no calendar lists
    belongs to the one listing "*" (England and Wales: every other UK postcode)."""
    for key in keys:
        found = [c for c in calendars if key in c.postcodes]
        if len(found) > 1:
            return None
        if found:
            return found[0].name
    rest = [c for c in calendars if "*" in c.postcodes]
    return rest[0].name if keys and rest else None


def calendar_of(profile: SlaProfile, code: str | None) -> BusinessCalendar | None:
    """The case's calendar; its own calendar when ``code`` is none or no longer one of the profile's (a case
    registered under another profile)."""
    return profile.calendars.get(code or "", profile.calendar)


def case_profile(profile: SlaProfile, code: str | None) -> SlaProfile:
    """``profile`` counting business days on the case's calendar: what every deadline of the case is computed
    with (timers, letters, extensions), so the SLA functions need no calendar argument of their own."""
    calendar = calendar_of(profile, code)
    return profile if calendar is profile.calendar else dataclasses.replace(profile, calendar=calendar)
