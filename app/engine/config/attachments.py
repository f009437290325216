"""config/attachments.toml: which files a complaint may carry (types by content, sizes, counts), where they are
kept and which scanner checks them. Read once with the other settings; a missing file keeps the defaults below."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app.engine.config.toml_files import read_toml

FILE_NAME = "attachments.toml"
DIR_ENVIRONMENT = "COMPLAINTFLOW_ATTACHMENTS_DIR"
CLAMD_ENVIRONMENT = "COMPLAINTFLOW_CLAMD"
INSTANCE_DIR = Path(__file__).resolve().parents[3] / "instance"
SCANNERS = ("none", "clamd")
_TABLES = {"limits": {"max_bytes", "max_per_complaint", "max_unpacked_bytes", "max_ratio"}, "types": None,
           "storage": {"backend", "path"}, "scanner": {"backend", "address", "timeout_seconds"}}

DEFAULT_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "text/plain": "txt"}


@dataclass(frozen=True)
class AttachmentPolicy:
    max_bytes: int = 10 * 1024 * 1024
    max_per_complaint: int = 20
    max_unpacked_bytes: int = 50 * 1024 * 1024
    max_ratio: int = 100
    types: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TYPES))   # media type -> extension
    storage_dir: Path = INSTANCE_DIR / "attachments"
    scanner: str = "none"
    scanner_address: str = "127.0.0.1:3310"
    scanner_timeout: float = 30.0


def load_attachment_policy(config_dir: Path) -> AttachmentPolicy:
    path = config_dir / FILE_NAME
    data = read_toml(path) if path.exists() else {}
    where = f"config/{FILE_NAME}"
    for table, value in data.items():
        if table not in _TABLES or not isinstance(value, dict):
            raise ValueError(f"{where}: unknown table [{table}]; allowed: {', '.join(_TABLES)}")
        allowed = _TABLES[table]
        unknown = set(value) - allowed if allowed is not None else set()
        if unknown:  # a misspelt key would otherwise silently keep the default
            raise ValueError(f"{where} [{table}]: unknown key(s) {', '.join(sorted(unknown))}")
    default = AttachmentPolicy()
    limits = data.get("limits", {})
    numbers = {name: _positive(limits, name, getattr(default, name), where)
               for name in ("max_bytes", "max_per_complaint", "max_unpacked_bytes", "max_ratio")}
    types = data.get("types", default.types)
    if not types or not all(isinstance(k, str) and "/" in k and isinstance(v, str) and v.isalnum()
                            for k, v in types.items()):
        raise ValueError(f"{where} [types]: give media types with their extension, e.g. \"application/pdf\" = \"pdf\"")
    storage = data.get("storage", {})
    if storage.get("backend", "filesystem") != "filesystem":
        raise ValueError(f"{where} [storage]: backend must be \"filesystem\"")
    directory = os.environ.get(DIR_ENVIRONMENT) or storage.get("path")
    storage_dir = default.storage_dir
    if directory is not None:
        if not isinstance(directory, str) or not directory.strip():
            raise ValueError(f"{where} [storage]: path must be a directory path")
        chosen = Path(directory).expanduser()
        storage_dir = chosen if chosen.is_absolute() else INSTANCE_DIR / chosen
    scanner = data.get("scanner", {})
    backend = scanner.get("backend", "none")
    if backend not in SCANNERS:
        raise ValueError(f"{where} [scanner]: backend must be one of {', '.join(SCANNERS)}, not {backend!r}")
    address = os.environ.get(CLAMD_ENVIRONMENT) or scanner.get("address", default.scanner_address)
    if os.environ.get(CLAMD_ENVIRONMENT):
        backend = "clamd"
    timeout = scanner.get("timeout_seconds", default.scanner_timeout)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"{where} [scanner]: timeout_seconds must be a positive number")
    return AttachmentPolicy(**numbers, types=dict(types), storage_dir=storage_dir, scanner=backend,
                            scanner_address=str(address), scanner_timeout=float(timeout))


def _positive(table: dict, name: str, default: int, where: str) -> int:
    value = table.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{where} [limits]: {name} must be a whole number above zero")
    return value
