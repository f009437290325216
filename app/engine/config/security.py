"""config/security.toml: how long a browser session lasts. A missing file or key keeps a bank's usual defaults
(30 minutes idle, 12 hours in all)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from app.engine.config.toml_files import read_toml
from app.engine.core.times import parse_duration

SESSION_KEYS = frozenset({"idle_timeout", "absolute_lifetime"})


@dataclass(frozen=True)
class SessionPolicy:
    idle_timeout: timedelta = timedelta(minutes=30)
    absolute_lifetime: timedelta = timedelta(hours=12)


def load_session_policy(config_dir: Path) -> SessionPolicy:
    path = config_dir / "security.toml"
    raw = read_toml(path).get("sessions", {}) if path.exists() else {}
    unknown = set(raw) - SESSION_KEYS
    if unknown:  # a misspelt key would otherwise silently keep the default
        raise ValueError(f"config/security.toml [sessions]: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                         f"{', '.join(sorted(SESSION_KEYS))}")
    default = SessionPolicy()
    policy = SessionPolicy(idle_timeout=_duration(raw, "idle_timeout", default.idle_timeout),
                           absolute_lifetime=_duration(raw, "absolute_lifetime", default.absolute_lifetime))
    if policy.idle_timeout > policy.absolute_lifetime:
        raise ValueError("config/security.toml [sessions]: idle_timeout is longer than absolute_lifetime")
    return policy


def _duration(raw: dict, key: str, default: timedelta) -> timedelta:
    if key not in raw:
        return default
    try:
        value = timedelta(**parse_duration(str(raw[key])))
    except ValueError as err:
        raise ValueError(f"config/security.toml [sessions] {key}: {err}") from None
    if value <= timedelta(0):
        raise ValueError(f"config/security.toml [sessions] {key}: must be longer than zero")
    return value
