"""Which complaints are urgent: the one rule, asked at registration and by the diagram's "Determine urgency"
step (``is_urgent`` in BPMN scripts). Urgency chooses the urgent_handling deadline over the decision one."""
from __future__ import annotations

from collections.abc import Collection


def is_urgent(urgent_categories: Collection[str], category: str | None, severity: str | None) -> bool:
    """Severity "urgent", or a category config/sla.toml [urgency] names (fund security), whatever the severity."""
    return severity == "urgent" or category in urgent_categories
