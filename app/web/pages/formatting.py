"""Dates, times, money and SLA time left as the reader's locale and time zone write them (Babel)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from babel import dates, numbers
from flask import Flask

from app.web import current_runtime
from app.web.pages.i18n import gettext, reader_locale

# Past this share of its SLA a deadline shows amber; past the deadline, red.
WARNING_SHARE = 0.75


def init(app: Flask) -> None:
    app.jinja_env.filters.update(datetime=fmt_datetime, date=fmt_date, money=fmt_money, time_left=time_left,
                                 local_isodate=local_isodate, file_size=fmt_file_size)
    app.jinja_env.globals.update(now=now, sla_state=sla_state, sla_class=sla_class, currency=currency,
                                 reader_zone_name=reader_zone_name,
                                 config_departments=lambda: sorted(current_runtime().settings.departments))


def now() -> datetime:
    # The runtime's clock, so tests that move time see the same "now" as the engine.
    return current_runtime().clock.now()


def reader_zone() -> ZoneInfo:
    """The reader's time zone as a zoneinfo object (Flask-Babel hands out pytz ones)."""
    return ZoneInfo(str(reader_locale()[1]))


def reader_zone_name() -> str:
    """The IANA name of the zone the page shows times in (the header says it; times carry it as their title)."""
    return str(reader_locale()[1])


# Babel's own functions with the reader's locale and zone looked up once per request (reader_locale), as
# flask_babel's wrappers would do on every call: a work-list page formats a hundred-odd dates. A naive datetime
# is UTC, as for flask_babel.

def fmt_datetime(value: datetime | str | None, style: str = "medium") -> str:
    if isinstance(value, str):  # the read policy's views carry ISO strings
        value = datetime.fromisoformat(value) if value else None
    if not value:
        return ""
    locale, zone = reader_locale()
    return dates.format_datetime(value, style, tzinfo=zone, locale=locale)


def fmt_date(value, style: str = "medium") -> str:
    if isinstance(value, str) and value:  # an instant of the read policy's views: its day in the reader's zone
        value = datetime.fromisoformat(value)
    if not value:
        return ""
    locale, zone = reader_locale()
    if isinstance(value, datetime):  # the day it is in the reader's zone
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)
    return dates.format_date(value, style, locale=locale)


def currency() -> str:
    """The ISO code of the money the bank deals in: the active SLA profile's (config/sla.toml ``currency``)."""
    return current_runtime().settings.sla_profile.currency


def fmt_money(amount) -> str:
    """An amount in the active profile's currency, written as the reader's locale writes it (£1,250.50 to an
    English reader under the FCA, ¥1,250.50 to a Chinese reader under the CBIRC, CN¥1,250.50 to an English one)."""
    if amount is None or amount == "":
        return ""
    try:
        number = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    return numbers.format_currency(number, currency(), locale=reader_locale()[0])


def fmt_file_size(count: int) -> str:
    """A file's size as people read it: "12 KB", "1.5 MB" (decimal point as the reader's locale writes it)."""
    locale = reader_locale()[0]
    if count >= 1024 * 1024:
        return f"{numbers.format_decimal(round(count / 1024 / 1024, 1), locale=locale)} MB"
    return f"{numbers.format_decimal(max(1, round(count / 1024)), locale=locale)} KB"


def time_left(due: datetime | None, at: datetime | None = None) -> str:
    """'in 3 hours' or, once passed, '2 days overdue', in the reader's language."""
    if due is None:
        return ""
    delta: timedelta = due - (at or now())
    locale = reader_locale()[0]
    if delta.total_seconds() >= 0:
        return dates.format_timedelta(delta, add_direction=True, threshold=1.5, locale=locale)
    return gettext("%(time)s overdue", time=dates.format_timedelta(-delta, threshold=1.5, locale=locale))


def sla_state(start: datetime | None, due: datetime | None, at: datetime | None = None) -> str:
    """'breached' past the deadline, 'warning' past 75 % of it, else 'ok' ('' without a deadline)."""
    if due is None:
        return ""
    at = at or now()
    if at >= due:
        return "breached"
    if start is not None and due > start and (at - start) / (due - start) >= WARNING_SHARE:
        return "warning"
    return "ok"


def sla_class(used: float | None) -> str:
    """The same colours from a share of the SLA already used (the work list computes it in SQL)."""
    if used is None:
        return ""
    return "breached" if used >= 1 else "warning" if used >= WARNING_SHARE else "ok"


def local_isodate(value: datetime | None) -> str:
    """The calendar date (YYYY-MM-DD) of an instant in the reader's time zone, for date inputs."""
    return value.astimezone(reader_zone()).date().isoformat() if value else ""
