"""Settings read from config/: SLA profiles, lane-to-role mapping, departments, permissions, segregation of duties.
Data, not code."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path

from app.engine.config.attachments import AttachmentPolicy, load_attachment_policy
from app.engine.config.audit import AuditSettings, load_audit_settings
from app.engine.config.calendars import BusinessCalendar
from app.engine.config.classification import Classification, load_classification
from app.engine.config.letter_library import LetterLibrary, load_letter_library
from app.engine.config.permissions import Permissions, load_permissions
from app.engine.config.retention import RetentionPolicy, load_retention
from app.engine.config.security import ApiPolicy, SessionPolicy, load_api_policy, load_session_policy
from app.engine.config.segregation import Segregation, load_segregation
from app.engine.config.toml_files import read_toml
from app.engine.core.times import is_real_time_zone, parse_duration

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"
DEFAULT_PROCESSES_DIR = PROJECT_ROOT / "processes"
DEFAULT_FORMS_DIR = PROJECT_ROOT / "app" / "forms"
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "instance" / "complaintflow.db"


COUNTINGS = ("elapsed", "calendar_days", "business_days", "business_days_close")
REGIMES = ("cbirc", "disp", "cfpb")
SLA_KEYS = frozenset({"duration", "counting", "start", "warn_at", "extensions", "description", "verifier_role"})
# The lane (config/roles.toml) that holds the task each configured role works on, as the shipped diagram draws it:
# an extension's approval_role approves in "Approve further extension", the verification SLA's verifier_role gives
# the opinion in "Give the verification opinion". A role outside that lane could never see its task.
TASK_ROLE_LANES = {"approval_role": "Extension approver", "verifier_role": "Verifier"}


@dataclass(frozen=True)
class SlaExtension:
    """A way the regime lets a deadline move, e.g. CBIRC's complex case: 15 days become 30."""

    name: str
    total: str | None = None           # the new total duration from the clock's start (ISO 8601) ...
    add: str | None = None             # ... or a duration added to the current deadline
    approval_role: str | None = None   # who must approve it (None: the coordinator decides alone)
    customer_notice: bool = True       # the customer is told (a letter)
    description: str = ""
    requires: str | None = None        # an extension of the same SLA that must have been granted first
    letter: str = "extension_notice"   # the letter that tells the customer (or holding_response)
    title: str = ""                    # the short name staff see, translated through the catalog
    # False: the regulatory point stays where it is (DISP's holding response: the 8 weeks never move); only the
    # bank's own target (complaints.target_due_at) moves, and the letter may be sent before or after the point.
    moves_deadline: bool = True


@dataclass(frozen=True)
class SlaDefinition:
    """One regulated or promised deadline: how long, counted how, from which event, warned when."""

    name: str
    duration: str                       # ISO 8601 (PT24H, P15D, P3D ...)
    counting: str                       # one of COUNTINGS
    start: str = "received"             # the event its clock starts at; it never restarts on a status change
    warn_at: tuple[float, ...] = (0.75, 0.9)
    extensions: tuple[SlaExtension, ...] = ()
    description: str = ""
    verifier_role: str | None = None    # the verification SLA: who gives the opinion (a "Verifier" lane role)


@dataclass(frozen=True)
class SlaProfile:
    """The deadlines of one regime (CBIRC, FCA DISP, CFPB) in the regime's own time zone and calendar."""

    name: str
    description: str
    timezone: str                                   # IANA name: days and close of business are local
    close_of_business: time
    calendar: BusinessCalendar | None               # needed by business-day SLAs
    slas: dict[str, SlaDefinition]
    # product code -> {sla: its track}: the payment_services_tracks of every product config/classification.toml
    # flags payment_services, then any product_tracks the profile names by code
    product_tracks: dict[str, dict[str, str]] = field(default_factory=dict)
    regime: str = ""                                # cbirc | disp | cfpb: the mandated content of letters
    language: str = "en"                            # letters' language when the customer chose none
    currency: str = "CNY"
    institution: dict[str, str] = field(default_factory=dict)                  # language -> the bank's name
    # The calendars a case of this profile may count on, by code (its own ``calendar`` first): the customer's
    # nation's (config case_calendars; app/engine/deadlines/case_calendars.py picks one per case).
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict)

    @property
    def durations(self) -> dict[str, str]:
        return {name: sla.duration for name, sla in self.slas.items()}

    def extension_titles(self) -> dict[str, str]:
        """Every extension's name -> its title (the name when it has none), over all the profile's SLAs."""
        return {e.name: e.title or e.name for sla in self.slas.values() for e in sla.extensions}


@dataclass(frozen=True)
class Settings:
    sla_profile: SlaProfile
    lane_roles: dict[str, tuple[str, ...]]
    roles: dict[str, str]
    departments: dict[str, str]
    permissions: Permissions                 # config/permissions.toml: who may take which action
    segregation: Segregation                 # config/segregation.toml: who may not, for work they did
    # Categories that are always urgent, whatever the recorded severity (config/sla.toml [urgency]).
    urgent_categories: frozenset[str] = frozenset()
    sessions: SessionPolicy = field(default_factory=SessionPolicy)  # config/security.toml: idle, absolute
    api: ApiPolicy = field(default_factory=ApiPolicy)  # config/security.toml [api]: the Idempotency-Key window
    attachments: AttachmentPolicy = field(default_factory=AttachmentPolicy)  # config/attachments.toml
    # config/classification.toml: products, causes, places of business, outcomes (codes, names, mappings)
    classification: Classification = field(default_factory=Classification)
    audit: AuditSettings = field(default_factory=AuditSettings)   # config/audit.toml: the trail's seals, keys
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)  # config/retention.toml
    # How far back before its registration a complaint's received_at may lie (config/sla.toml [receipt] earliest).
    receipt_earliest: str = "P30D"
    # config/letters.toml: the clause library letters are written from (signed off by compliance to be used).
    letter_library: LetterLibrary = field(default_factory=lambda: load_letter_library(DEFAULT_CONFIG_DIR))
    config_dir: Path = DEFAULT_CONFIG_DIR
    processes_dir: Path = DEFAULT_PROCESSES_DIR
    forms_dir: Path = DEFAULT_FORMS_DIR


def database_url() -> str:
    """DATABASE_URL selects the database; the default is an SQLite file under instance/."""
    url = os.environ.get("DATABASE_URL")
    if url:
        # psycopg 3 is the driver we ship; accept the common postgres:// spellings.
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def load_sla_profile(config_dir: Path, name: str | None = None) -> SlaProfile:
    return sla_profile_from(read_toml(config_dir / "sla.toml"), name, load_classification(config_dir))


def sla_profile_from(data: dict, name: str | None = None,
                     classification: Classification | None = None) -> SlaProfile:
    """The profile ``name`` (else $COMPLAINTFLOW_SLA_PROFILE, else the active one) of config/sla.toml's content.
    Its product tracks are keyed by product code: ``payment_services_tracks`` apply to every product the
    classification flags payment_services (one rule, one place: the flag), ``product_tracks`` to the codes named."""
    name = name or os.environ.get("COMPLAINTFLOW_SLA_PROFILE") or data["active_profile"]
    try:
        raw = dict(data["profiles"][name])
    except KeyError:
        raise ValueError(f"config/sla.toml has no profile named {name!r}; known: "
                         f"{', '.join(sorted(data.get('profiles', {})))}") from None
    where = f"config/sla.toml, profile {name!r}"
    calendar_name = raw.get("calendar")
    calendar = _calendar(data.get("calendars", {}), calendar_name, where) if calendar_name else None
    slas = {sla_name: _sla(sla_name, spec, f"{where}, SLA {sla_name!r}")
            for sla_name, spec in raw.get("slas", {}).items()}
    if not slas:
        raise ValueError(f"{where}: defines no SLA")
    needs_calendar = [s.name for s in slas.values() if s.counting.startswith("business")]
    if needs_calendar and calendar is None:
        raise ValueError(f"{where}: SLA(s) {', '.join(needs_calendar)} count business days but the profile "
                         "names no calendar")
    tracks = _product_tracks(raw, classification, where)
    for product, mapping in tracks.items():
        unknown = [t for t in (*mapping, *mapping.values()) if t not in slas]
        if unknown:
            raise ValueError(f"{where}: product track {product!r} names unknown SLA(s) {', '.join(unknown)}")
    zone = raw.get("timezone", "UTC")
    if not is_real_time_zone(zone):  # an IANA place; "Factory" or "localtime" would break every page
        raise ValueError(f"{where}: unknown time zone {zone!r}")
    regime = raw.get("regime", "")
    if regime not in REGIMES:
        raise ValueError(f"{where}: regime must be one of {', '.join(REGIMES)}, not {regime!r}")
    return SlaProfile(name=name, description=raw.get("description", ""), timezone=zone,
                      close_of_business=time.fromisoformat(raw.get("close_of_business", "17:00")),
                      calendar=calendar, slas=slas, product_tracks=tracks, regime=regime,
                      language=raw.get("language", "en"), currency=raw.get("currency", "CNY"),
                      institution=dict(data.get("institution", {})),
                      calendars=_case_calendars(data.get("calendars", {}), calendar, raw, where))


def _case_calendars(calendars: dict, default: BusinessCalendar | None, raw: dict,
                    where: str) -> dict[str, BusinessCalendar]:
    """The profile's calendar, then those of its ``case_calendars`` list (each a [calendars] table)."""
    names = raw.get("case_calendars", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{where}: case_calendars must list calendar names of [calendars]")
    if names and default is None:
        raise ValueError(f"{where}: case_calendars needs the profile's own calendar (its default)")
    chosen = {default.name: default} if default is not None else {}
    for name in names:
        if name not in chosen:
            chosen[name] = _calendar(calendars, name, where)
    return chosen


def _product_tracks(raw: dict, classification: Classification | None, where: str) -> dict[str, dict[str, str]]:
    flagged = dict(raw.get("payment_services_tracks", {}))
    tracks = {code: flagged for code in (classification.payment_services_products() if classification else ())
              if flagged}
    for code, mapping in raw.get("product_tracks", {}).items():
        if classification is not None and not classification.knows("products", code):
            raise ValueError(f"{where}: product_tracks names {code!r}, not a product code of "
                             "config/classification.toml")
        tracks[code] = {**tracks.get(code, {}), **mapping}
    return tracks


def _calendar(calendars: dict, name: str, where: str) -> BusinessCalendar:
    try:
        spec = calendars[name]
    except KeyError:
        raise ValueError(f"{where}: no calendar named {name!r} in [calendars]") from None
    return BusinessCalendar(
        name=name, country=spec["country"], subdivision=spec.get("subdivision"),
        extra_holidays=frozenset(date.fromisoformat(str(d)) for d in spec.get("extra_holidays", [])),
        extra_working_days=frozenset(date.fromisoformat(str(d)) for d in spec.get("extra_working_days", [])),
        en=str(spec.get("en", "")), zh=str(spec.get("zh", "")),
        postcodes=frozenset(str(p).strip().upper() for p in spec.get("postcodes", [])),
        places=frozenset(str(p) for p in spec.get("places", [])))


def _sla(name: str, spec: dict, where: str) -> SlaDefinition:
    unknown = set(spec) - SLA_KEYS
    if unknown:   # a misspelt key would otherwise silently fall back to a default
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                         f"{', '.join(sorted(SLA_KEYS))}")
    counting = spec.get("counting", "elapsed")
    if counting not in COUNTINGS:
        raise ValueError(f"{where}: counting must be one of {', '.join(COUNTINGS)}, not {counting!r}")
    duration = str(spec["duration"])
    try:
        parts = parse_duration(duration)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    if counting != "elapsed" and (set(parts) - {"days", "weeks"} or not parts):
        raise ValueError(f"{where}: {counting} counts whole days; write the duration in days (P15D), not "
                         f"{duration!r}")
    warn_at = tuple(float(x) for x in spec.get("warn_at", (0.75, 0.9)))
    if any(not 0 < x < 1 for x in warn_at):
        raise ValueError(f"{where}: warn_at thresholds are fractions between 0 and 1")
    for key in ("total", "add"):
        for extension in spec.get("extensions", []):
            if extension.get(key) is not None:
                try:
                    parse_duration(str(extension[key]))
                except ValueError as err:
                    raise ValueError(f"{where}, extension {extension.get('name')!r}: {err}") from None
    extensions = tuple(SlaExtension(name=e["name"], total=e.get("total"), add=e.get("add"),
                                    approval_role=e.get("approval_role"),
                                    customer_notice=e.get("customer_notice", True),
                                    description=e.get("description", ""), requires=e.get("requires"),
                                    letter=e.get("letter", "extension_notice"), title=e.get("title", ""),
                                    moves_deadline=bool(e.get("moves_deadline", True)))
                       for e in spec.get("extensions", []))
    names = {e.name for e in extensions}
    for extension in extensions:
        if extension.requires and extension.requires not in names:
            raise ValueError(f"{where}: extension {extension.name!r} requires unknown extension {extension.requires!r}")
        if extension.letter not in ("extension_notice", "holding_response"):
            raise ValueError(f"{where}: extension {extension.name!r}: letter must be extension_notice or "
                             f"holding_response, not {extension.letter!r}")
        if (extension.total is None) == (extension.add is None):
            raise ValueError(f"{where}: extension {extension.name!r} needs exactly one of total or add")
    return SlaDefinition(name=name, duration=duration, counting=counting, start=spec.get("start", "received"),
                         warn_at=warn_at, extensions=extensions, description=spec.get("description", ""),
                         verifier_role=spec.get("verifier_role"))


def check_task_roles(profile: SlaProfile, lane_roles: dict[str, tuple[str, ...]]) -> None:
    """Each role the profile names for a task (approval_role, verifier_role) must be a role of the lane that holds
    that task, else nobody could ever work on it: a configuration error naming profile, SLA and role."""
    for sla in profile.slas.values():
        named = [("approval_role", e.approval_role, f", extension {e.name!r}") for e in sla.extensions]
        for key, role, what in [*named, ("verifier_role", sla.verifier_role, "")]:
            lane = TASK_ROLE_LANES[key]
            if role is not None and role not in lane_roles.get(lane, ()):
                raise ValueError(
                    f"config/sla.toml, profile {profile.name!r}, SLA {sla.name!r}{what}: {key} {role!r} is not a role "
                    f"of the lane {lane!r} that holds its task (config/roles.toml [lanes] gives it: "
                    f"{', '.join(lane_roles.get(lane, ())) or 'no lane of that name'}); add the role to the lane or "
                    "name one of its roles")


def _receipt_earliest(sla_toml: dict, profile: SlaProfile, classification: Classification) -> str:
    """[receipt] earliest, checked (whole days or weeks); also checks the places the case calendars name."""
    for calendar in profile.calendars.values():
        unknown = sorted(p for p in calendar.places if not classification.knows("places", p))
        if unknown:
            raise ValueError(f"config/sla.toml [calendars.{calendar.name}]: places {', '.join(unknown)} are not "
                             "place codes of config/classification.toml")
    receipt = sla_toml.get("receipt", {})
    earliest = str(receipt.get("earliest", "P30D")) if isinstance(receipt, dict) else ""
    try:
        parts = parse_duration(earliest)
    except ValueError as err:
        raise ValueError(f"config/sla.toml [receipt] earliest: {err}") from None
    if set(parts) - {"days", "weeks"}:
        raise ValueError(f"config/sla.toml [receipt] earliest counts whole days or weeks (P30D), not {earliest!r}")
    return earliest


def _urgent_categories(sla_toml: dict, classification: Classification) -> frozenset[str]:
    urgency = sla_toml.get("urgency")
    categories = urgency.get("categories") if isinstance(urgency, dict) else None
    if not isinstance(categories, list) or not all(isinstance(c, str) and c for c in categories):
        raise ValueError("config/sla.toml: [urgency] categories must list the category codes that are always "
                         "urgent (e.g. categories = [\"fund_security\"])")
    unknown = [c for c in categories if not classification.knows("causes", c)]
    if unknown:
        raise ValueError(f"config/sla.toml: [urgency] categories names {', '.join(map(repr, unknown))}, not a cause "
                         "code of config/classification.toml")
    return frozenset(categories)


def load_settings(config_dir: Path | None = None, *, sla_profile: str | None = None,
                  processes_dir: Path | None = None, forms_dir: Path | None = None) -> Settings:
    config_dir = Path(config_dir or os.environ.get("COMPLAINTFLOW_CONFIG_DIR") or DEFAULT_CONFIG_DIR)
    roles = read_toml(config_dir / "roles.toml")
    departments = read_toml(config_dir / "departments.toml")["departments"]
    permissions = load_permissions(config_dir, roles["roles"])
    sla_toml = read_toml(config_dir / "sla.toml")  # read once: the profile and [urgency] both come from it
    classification = load_classification(config_dir)
    profile = sla_profile_from(sla_toml, sla_profile, classification)
    lane_roles = {lane: tuple(r) for lane, r in roles["lanes"].items()}
    check_task_roles(profile, lane_roles)
    return Settings(
        sla_profile=profile,
        lane_roles=lane_roles,
        roles=dict(roles["roles"]),
        departments=dict(departments),
        permissions=permissions,
        segregation=load_segregation(config_dir, permissions),
        urgent_categories=_urgent_categories(sla_toml, classification),
        receipt_earliest=_receipt_earliest(sla_toml, profile, classification),
        classification=classification,
        letter_library=load_letter_library(config_dir),
        sessions=load_session_policy(config_dir),
        api=load_api_policy(config_dir),
        attachments=load_attachment_policy(config_dir),
        audit=load_audit_settings(config_dir),
        retention=load_retention(config_dir, REGIMES),
        config_dir=config_dir,
        processes_dir=Path(processes_dir or DEFAULT_PROCESSES_DIR),
        forms_dir=Path(forms_dir or DEFAULT_FORMS_DIR),
    )
