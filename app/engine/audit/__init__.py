"""The audit trail: every event goes through ``record`` (the one writer)."""
from app.engine.audit.writer import record

__all__ = ["record"]
