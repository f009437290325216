"""Record retention, config/retention.toml: per regime how long a closed complaint's personal data is kept, what is
anonymised once that time has passed, and what holds a case back. Read once with the other settings; the job is
app/engine/complaints/retention.py.

The file is checked as it is read: a period that is not a calendar duration, a regime without one, a field that is
not personal data this system can replace (a code or a date returns need), or a legal hold weaker than the rule
stops the load with a message naming the file and the entry.
"""
from __future__ import annotations

import calendar
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from app.engine.config.toml_files import read_toml

FILE_NAME = "retention.toml"

# What may be anonymised, per place: the free text and contact data this system holds. Codes, amounts, outcomes
# and dates are not in these sets, so no configuration can erase what returns and statistics count.
ANONYMISABLE = {
    "complaint": frozenset({"customer_name", "customer_contact", "customer_reference", "forwarded_reference",
                            "description"}),
    "outbox": frozenset({"recipient", "subject", "body"}),
    "extensions": frozenset({"reason", "comment"}),
    "incidents": frozenset({"message"}),
    "inbound": frozenset({"sender", "sender_name", "subject", "body"}),
}
# The variables returns and statistics read (codes, amounts, outcomes, dates): never anonymised.
KEPT_VARIABLES = frozenset({"complaint_id", "tracking_number", "channel", "product", "category", "place_of_business",
                            "severity", "urgent", "amount_involved", "received_at", "sla_clock_start",
                            "lead_department", "co_departments", "departments", "remedy_type", "redress_amount",
                            "approval_decision", "customer_satisfied", "satisfaction_rating", "reopen_count",
                            "reopen_target", "outcome", "language", "resolution_outcome", "root_cause_code",
                            "calendar_code", "forwarded_by", "forwarded_at", "forwarded_due_at"})
# The legal hold (see config/retention.toml [legal_hold]): every condition is required.
HOLD_CONDITIONS = ("open_incident", "pending_process", "compliance_hold")
_KEYS = frozenset({"batch_size", "placeholder", "regimes", "anonymise", "legal_hold"})
_PERIOD = re.compile(r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?$")


@dataclass(frozen=True)
class RetentionPeriod:
    """A calendar period (years, months, days): retention is counted in years, unlike deadlines."""

    text: str
    years: int = 0
    months: int = 0
    days: int = 0

    def before(self, instant: datetime) -> datetime:
        """The instant this period before ``instant``: a case closed at or before it has been kept long enough."""
        months = instant.year * 12 + instant.month - 1 - self.years * 12 - self.months
        year, month = divmod(months, 12)
        day = min(instant.day, calendar.monthrange(year, month + 1)[1])
        return instant.replace(year=year, month=month + 1, day=day) - timedelta(days=self.days)

    def after(self, instant: datetime) -> datetime:
        """The instant this period after ``instant`` (when a case closed then may be anonymised)."""
        months = instant.year * 12 + instant.month - 1 + self.years * 12 + self.months
        year, month = divmod(months, 12)
        day = min(instant.day, calendar.monthrange(year, month + 1)[1])
        return instant.replace(year=year, month=month + 1, day=day) + timedelta(days=self.days)


@dataclass(frozen=True)
class RegimeRetention:
    regime: str
    keep_for: RetentionPeriod
    basis: str = ""                      # the rule or the bank's reason, shown with the dry run


@dataclass(frozen=True)
class RetentionPolicy:
    regimes: Mapping[str, RegimeRetention] = field(default_factory=lambda: MappingProxyType({}))
    batch_size: int = 50
    placeholder: str = "[anonymised]"
    complaint_fields: tuple[str, ...] = ()
    variables: frozenset[str] = frozenset()
    outbox_fields: tuple[str, ...] = ()
    extension_fields: tuple[str, ...] = ()
    incident_fields: tuple[str, ...] = ()
    inbound_fields: tuple[str, ...] = ()      # the customer's e-mails (inbound_messages)
    hold_conditions: tuple[str, ...] = HOLD_CONDITIONS

    def for_regime(self, regime: str) -> RegimeRetention:
        try:
            return self.regimes[regime]
        except KeyError:
            raise LookupError(f"config/{FILE_NAME} gives no retention for the regime {regime!r}") from None


def parse_period(text: object, where: str) -> RetentionPeriod:
    match = _PERIOD.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{where}: {text!r} is not a calendar period such as P3Y, P5Y, P3Y6M or P30D")
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    period = RetentionPeriod(text=match.string.strip(), years=parts.get("years", 0), months=parts.get("months", 0),
                             days=parts.get("days", 0) + 7 * parts.get("weeks", 0))
    if not (period.years or period.months or period.days):
        raise ValueError(f"{where}: {text!r} keeps nothing; a retention period is longer than zero")
    return period


def load_retention(config_dir: Path, regimes: Collection[str]) -> RetentionPolicy:
    """Read and check ``<config_dir>/retention.toml``; ``regimes``: those config/sla.toml's profiles may name, each
    needs a period."""
    path = Path(config_dir) / FILE_NAME
    data = read_toml(path)
    unknown = set(data) - _KEYS
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_KEYS))}")
    batch = data.get("batch_size", 50)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ValueError(f"{path}: batch_size must be a whole number of at least 1, not {batch!r}")
    placeholder = data.get("placeholder", "[anonymised]")
    if not isinstance(placeholder, str) or not placeholder.strip():
        raise ValueError(f"{path}: placeholder must be a text that marks anonymised data")
    anonymise = _table(data, "anonymise", path)
    return RetentionPolicy(
        regimes=MappingProxyType(_regimes(_table(data, "regimes", path), tuple(regimes), path)), batch_size=batch,
        placeholder=placeholder, complaint_fields=_fields(anonymise, "complaint", path),
        variables=_variables(anonymise, path), outbox_fields=_fields(anonymise, "outbox", path),
        extension_fields=_fields(anonymise, "extensions", path),
        incident_fields=_fields(anonymise, "incidents", path), inbound_fields=_fields(anonymise, "inbound", path),
        hold_conditions=_hold(_table(data, "legal_hold", path), path))


def _table(data: dict, name: str, path: Path) -> dict:
    section = data.get(name)
    if not isinstance(section, dict):
        raise ValueError(f"{path}: needs a [{name}] table")
    return section


def _regimes(section: dict, known: tuple[str, ...], path: Path) -> dict[str, RegimeRetention]:
    unknown = set(section) - set(known)
    if unknown:
        raise ValueError(f"{path}: [regimes] names unknown regime(s) {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(known)}")
    missing = [r for r in known if r not in section]
    if missing:
        raise ValueError(f"{path}: [regimes] gives no retention for {', '.join(missing)}")
    regimes = {}
    for regime in known:
        where = f"{path}, [regimes.{regime}]"
        spec = section[regime]
        if not isinstance(spec, dict) or "keep_for" not in spec:
            raise ValueError(f"{where}: needs keep_for, the period after closure (e.g. keep_for = \"P3Y\")")
        regimes[regime] = RegimeRetention(regime=regime, keep_for=parse_period(spec["keep_for"], f"{where} keep_for"),
                                          basis=str(spec.get("basis", "")))
    return regimes


def _names(section: dict, key: str, path: Path) -> list[str]:
    names = section.get(key, [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{path}, [anonymise] {key}: a list of field names")
    return names


def _fields(section: dict, key: str, path: Path) -> tuple[str, ...]:
    names = _names(section, key, path)
    refused = [n for n in names if n not in ANONYMISABLE[key]]
    if refused:
        raise ValueError(f"{path}, [anonymise] {key}: {', '.join(map(repr, refused))} cannot be anonymised (not "
                         f"personal data, or kept for returns); allowed: {', '.join(sorted(ANONYMISABLE[key]))}")
    return tuple(names)


def _variables(section: dict, path: Path) -> frozenset[str]:
    names = _names(section, "variables", path)
    kept = [n for n in names if n in KEPT_VARIABLES]
    if kept:
        raise ValueError(f"{path}, [anonymise] variables: {', '.join(map(repr, kept))} are kept for returns and "
                         "statistics (codes, amounts, outcomes, dates), never anonymised")
    return frozenset(names)


def _hold(section: dict, path: Path) -> tuple[str, ...]:
    conditions = section.get("conditions")
    if not isinstance(conditions, list) or not all(isinstance(c, str) for c in conditions):
        raise ValueError(f"{path}, [legal_hold] conditions: a list of {', '.join(HOLD_CONDITIONS)}")
    unknown = [c for c in conditions if c not in HOLD_CONDITIONS]
    if unknown:
        raise ValueError(f"{path}, [legal_hold] conditions: unknown {', '.join(map(repr, unknown))}; known: "
                         f"{', '.join(HOLD_CONDITIONS)}")
    missing = [c for c in HOLD_CONDITIONS if c not in conditions]
    if missing:
        raise ValueError(f"{path}, [legal_hold] conditions: {', '.join(missing)} may not be left out: a case it "
                         "holds is never anonymised")
    return tuple(conditions)
