"""Settings read from config/: SLA profiles, lane-to-role mapping, departments. Data, not code."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"
DEFAULT_PROCESSES_DIR = PROJECT_ROOT / "processes"
DEFAULT_FORMS_DIR = PROJECT_ROOT / "app" / "forms"
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "instance" / "complaintflow.db"


@dataclass(frozen=True)
class SlaProfile:
    name: str
    description: str
    calendar: str                       # "calendar" or "business"
    durations: dict[str, str]           # SLA name -> ISO 8601 duration
    holidays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Settings:
    sla_profile: SlaProfile
    lane_roles: dict[str, tuple[str, ...]]
    roles: dict[str, str]
    departments: dict[str, str]
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


def _read(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def load_sla_profile(config_dir: Path, name: str | None = None) -> SlaProfile:
    data = _read(config_dir / "sla.toml")
    name = name or os.environ.get("COMPLAINTFLOW_SLA_PROFILE") or data["active_profile"]
    try:
        raw = dict(data["profiles"][name])
    except KeyError:
        raise ValueError(f"config/sla.toml has no profile named {name!r}") from None
    description = raw.pop("description", "")
    calendar = raw.pop("calendar", "calendar")
    if calendar not in ("calendar", "business"):
        raise ValueError(f"SLA profile {name!r}: calendar must be 'calendar' or 'business', not {calendar!r}")
    holiday_set = raw.pop("holidays", None)
    holidays = frozenset(date.fromisoformat(d) for d in data.get("holidays", {}).get(holiday_set, []))
    return SlaProfile(name, description, calendar, {k: str(v) for k, v in raw.items()}, holidays)


def load_settings(config_dir: Path | None = None, *, sla_profile: str | None = None,
                  processes_dir: Path | None = None, forms_dir: Path | None = None) -> Settings:
    config_dir = Path(config_dir or os.environ.get("COMPLAINTFLOW_CONFIG_DIR") or DEFAULT_CONFIG_DIR)
    roles = _read(config_dir / "roles.toml")
    departments = _read(config_dir / "departments.toml")["departments"]
    return Settings(
        sla_profile=load_sla_profile(config_dir, sla_profile),
        lane_roles={lane: tuple(r) for lane, r in roles["lanes"].items()},
        roles=dict(roles["roles"]),
        departments=dict(departments),
        config_dir=config_dir,
        processes_dir=Path(processes_dir or DEFAULT_PROCESSES_DIR),
        forms_dir=Path(forms_dir or DEFAULT_FORMS_DIR),
    )
