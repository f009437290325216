"""config/security.toml: how long a browser session lasts, and how long the API remembers a client's
``Idempotency-Key``. A missing file or key keeps a bank's usual defaults (30 minutes idle, 12 hours in all; keys
remembered 24 hours)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from app.engine.config.toml_files import read_toml
from app.engine.core.times import parse_duration

SESSION_KEYS = frozenset({"idle_timeout", "absolute_lifetime"})
API_KEYS = frozenset({"idempotency_window"})


@dataclass(frozen=True)
class SessionPolicy:
    idle_timeout: timedelta = timedelta(minutes=30)
    absolute_lifetime: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class ApiPolicy:
    # A retried registration with the same Idempotency-Key within this window answers with the first one's
    # complaint; after it, the key may name a new submission.
    idempotency_window: timedelta = timedelta(hours=24)


def load_session_policy(config_dir: Path) -> SessionPolicy:
    raw = _table(_document(config_dir), "sessions", SESSION_KEYS)
    default = SessionPolicy()
    policy = SessionPolicy(idle_timeout=_duration(raw, "idle_timeout", default.idle_timeout),
                           absolute_lifetime=_duration(raw, "absolute_lifetime", default.absolute_lifetime))
    if policy.idle_timeout > policy.absolute_lifetime:
        raise ValueError("config/security.toml [sessions]: idle_timeout is longer than absolute_lifetime")
    return policy


def load_api_policy(config_dir: Path) -> ApiPolicy:
    raw = _table(_document(config_dir), "api", API_KEYS)
    return ApiPolicy(idempotency_window=_duration(raw, "idempotency_window", ApiPolicy.idempotency_window,
                                                  table="api"))


def _document(config_dir: Path) -> dict:
    path = config_dir / "security.toml"
    return read_toml(path) if path.exists() else {}


def _table(document: dict, name: str, allowed: frozenset[str]) -> dict:
    raw = document.get(name, {})
    unknown = set(raw) - allowed
    if unknown:  # a misspelt key would otherwise silently keep the default
        raise ValueError(f"config/security.toml [{name}]: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                         f"{', '.join(sorted(allowed))}")
    return raw


def _duration(raw: dict, key: str, default: timedelta, *, table: str = "sessions") -> timedelta:
    if key not in raw:
        return default
    try:
        value = timedelta(**parse_duration(str(raw[key])))
    except ValueError as err:
        raise ValueError(f"config/security.toml [{table}] {key}: {err}") from None
    if value <= timedelta(0):
        raise ValueError(f"config/security.toml [{table}] {key}: must be longer than zero")
    return value
