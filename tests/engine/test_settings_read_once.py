"""Settings read each config file once (app/engine/config/toml_files.read_toml is the one TOML reader)."""
from __future__ import annotations

from collections import Counter

from app.engine.config import settings as settings_module
from app.engine.config.settings import load_settings


def test_load_settings_reads_sla_toml_once(monkeypatch):
    reads: Counter[str] = Counter()
    read_toml = settings_module.read_toml

    def counted(path):
        reads[path.name] += 1
        return read_toml(path)

    monkeypatch.setattr(settings_module, "read_toml", counted)
    loaded = load_settings()
    assert reads["sla.toml"] == 1
    assert loaded.urgent_categories == frozenset({"fund_security"}) and loaded.sla_profile.slas
