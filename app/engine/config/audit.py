"""The audit trail's settings, config/audit.toml: how often events are sealed into the hash chain, when a signed
checkpoint is due, and where the signing key lives. Read once with the other settings."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.engine.config.toml_files import read_toml

FILE_NAME = "audit.toml"
KEY_ENVIRONMENT = "COMPLAINTFLOW_AUDIT_KEY"
INSTANCE_DIR = Path(__file__).resolve().parents[3] / "instance"
_INTEGERS = ("seal_every_seconds", "unsealed_grace_seconds", "checkpoint_every_events", "checkpoint_every_minutes")
_KEYS = frozenset({*_INTEGERS, "key_file", "personal_fields"})


@dataclass(frozen=True)
class AuditSettings:
    seal_every_seconds: int = 5               # the scheduler's sealing job
    unsealed_grace_seconds: int = 300         # older unsealed events are a finding of `audit verify`
    checkpoint_every_events: int = 1000       # a checkpoint after this many sealed events ...
    checkpoint_every_minutes: int = 10        # ... or this long after the previous one
    key_file: Path = INSTANCE_DIR / "audit-signing-key.pem"
    # Keys whose values leave the chained row (audit/personal.py adds the forms' free-text fields).
    personal_fields: tuple[str, ...] = ()


def load_audit_settings(config_dir: Path) -> AuditSettings:
    """config/audit.toml (a missing file: the defaults); $COMPLAINTFLOW_AUDIT_KEY overrides ``key_file``."""
    path = config_dir / FILE_NAME
    data = read_toml(path) if path.exists() else {}
    unknown = set(data) - _KEYS
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_KEYS))}")
    values: dict[str, object] = {}
    for key in _INTEGERS:
        if key in data:
            value = data[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{path}: {key} must be a whole number of at least 1, not {value!r}")
            values[key] = value
    if "personal_fields" in data:
        names = data["personal_fields"]
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise ValueError(f"{path}: personal_fields must be a list of field names, not {names!r}")
        values["personal_fields"] = tuple(names)
    key_file = os.environ.get(KEY_ENVIRONMENT) or data.get("key_file")
    if key_file is not None:
        if not isinstance(key_file, str) or not key_file.strip():
            raise ValueError(f"{path}: key_file must be a file path")
        key_path = Path(key_file).expanduser()
        values["key_file"] = key_path if key_path.is_absolute() else INSTANCE_DIR / key_path
    return AuditSettings(**values)  # type: ignore[arg-type]
