"""Business-day calendars from the maintained `holidays` library, with a bank's own additions.

A business day is a weekday that is not a public holiday, or a weekend day the state has declared a working day
(China moves weekends around its Golden Weeks: "调休" make-up working days). The library knows both; a bank can
still add its own closing days or working days in config/sla.toml, e.g. before the state publishes next year's
schedule.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date

import holidays


@dataclass(frozen=True)
class BusinessCalendar:
    name: str
    country: str
    subdivision: str | None = None
    extra_holidays: frozenset[date] = frozenset()      # the bank is closed although the state is not
    extra_working_days: frozenset[date] = frozenset()  # the bank works although the state does not
    en: str = ""                                        # its name for people, in English and Chinese
    zh: str = ""
    # Which cases count on it when a profile has several (case_calendars): UK postcode areas ("EH") or districts
    # ("TD5") of the customer's address, and place-of-business codes (app/engine/deadlines/case_calendars.py).
    postcodes: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    _years: dict = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def __post_init__(self):
        # Fail at start-up, not at the first deadline: an unknown country or subdivision is a config error.
        self._holidays_of(date.today().year)

    def title(self, language: str) -> str:
        """Its name in ``language`` (zh_CN | en); its code when config gives none."""
        return (self.zh if language.startswith("zh") else self.en) or self.en or self.name

    def is_business_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_holidays:
            return False
        public = self._holidays_of(day.year)
        if day in public:
            return False
        if day.weekday() >= 5:
            return day in getattr(public, "weekend_workdays", ())
        return True

    def holiday_name(self, day: date) -> str | None:
        if day in self.extra_holidays:
            return "bank holiday (configured)"
        return self._holidays_of(day.year).get(day)

    def _holidays_of(self, year: int) -> holidays.HolidayBase:
        # One object per year: the library fills years lazily on lookup, which is not safe across threads.
        with self._lock:
            if year not in self._years:
                try:
                    self._years[year] = holidays.country_holidays(self.country, subdiv=self.subdivision,
                                                                  years=year)
                except NotImplementedError as err:
                    raise ValueError(f"calendar {self.name!r}: the holidays library has no calendar for "
                                     f"{self.country}{'-' + self.subdivision if self.subdivision else ''}: "
                                     f"{err}") from None
            return self._years[year]
