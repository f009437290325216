"""The deadline functions BPMN expressions may call (timer durations, due dates written into task data).

They are built per step from the step's clock and the active SLA profile (config/sla.toml) and handed to the
sandboxed script engine, so the workflow glue itself knows nothing of deadlines."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.engine.core.times import parse_instant
from app.engine.deadlines.sla import due_at
from app.engine.deadlines.urgency import is_urgent

if TYPE_CHECKING:
    from app.engine.config.settings import Settings
    from app.engine.core.clock import Clock


def script_functions(clock: Clock, settings: Settings) -> dict[str, Callable]:
    """The functions BPMN expressions may call. Deadlines come from the SLA profile in config/sla.toml, urgency
    from its [urgency] table."""
    profile = settings.sla_profile

    def sla_due_at(sla_name, start_iso=None, product=None):
        # ``product`` picks a regime's product track (DISP: payment services have their own deadline).
        start = parse_instant(start_iso) if start_iso else clock.now()
        return due_at(profile, sla_name, start, product=product).isoformat()

    def now_iso():
        return clock.now().isoformat()

    def urgent(category, severity):
        return is_urgent(settings.urgent_categories, category, severity)

    return {"sla_due_at": sla_due_at, "now_iso": now_iso, "is_urgent": urgent}
