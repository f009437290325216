"""The deadline functions BPMN expressions may call (timer durations, due dates written into task data).

They are built per step from the step's clock, the active SLA profile (config/sla.toml) and the case's own
deadline facts (``CaseDeadlines``: its business-day calendar and a forwarding body's deadline, from the complaint
row) and handed to the sandboxed script engine, so the workflow glue itself knows nothing of deadlines. The case
facts come from the complaint, not from task data a script could overwrite: no diagram can run a case on another
nation's calendar or past the body's deadline."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.engine.core.times import parse_instant
from app.engine.deadlines.case_calendars import case_profile
from app.engine.deadlines.sla import decision_due_at
from app.engine.deadlines.urgency import is_urgent

if TYPE_CHECKING:
    from app.engine.config.settings import Settings
    from app.engine.core.clock import Clock


@dataclass(frozen=True)
class CaseDeadlines:
    """What of one case changes its deadlines: the calendar it counts business days on (None: the profile's)
    and the deadline the forwarding body set for our answer (None: not forwarded, or none set)."""

    calendar: str | None = None
    forwarded_due_at: datetime | None = None

    @classmethod
    def of(cls, complaint: object | None) -> CaseDeadlines:
        """The facts of a complaint row (None: a process without a complaint counts as the profile does)."""
        return cls(getattr(complaint, "calendar_code", None), getattr(complaint, "forwarded_due_at", None))


def script_functions(clock: Clock, settings: Settings, case: CaseDeadlines | None = None) -> dict[str, Callable]:
    """The functions BPMN expressions may call. Deadlines come from the SLA profile in config/sla.toml, counted on
    the case's calendar, the answer's (decision, urgent_handling) capped by a forwarding body's earlier deadline;
    urgency from its [urgency] table."""
    case = case or CaseDeadlines()
    profile = case_profile(settings.sla_profile, case.calendar)

    def sla_due_at(sla_name, start_iso=None, product=None):
        # ``product`` picks a regime's product track (DISP: payment services have their own deadline).
        start = parse_instant(start_iso) if start_iso else clock.now()
        return decision_due_at(profile, start, product, case.forwarded_due_at, sla_name=sla_name).isoformat()

    def sla_defined(sla_name):
        # A path only some regimes have (DISP's "Send final or holding response") asks the profile, not the regime.
        return sla_name in profile.slas

    def now_iso():
        return clock.now().isoformat()

    def urgent(category, severity):
        return is_urgent(settings.urgent_categories, category, severity)

    return {"sla_due_at": sla_due_at, "sla_defined": sla_defined, "now_iso": now_iso, "is_urgent": urgent}
