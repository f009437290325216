"""Code behind BPMN service tasks. Each module registers its operators by the name the diagrams use; the
composition root (``app.composition``) hands ``OPERATORS`` to the runtime."""
from app.tasks import (  # noqa: F401 - registration by import
    customer_messages, deadlines, escalation, mail_intake, process_letters)
from app.tasks.registry import OPERATORS, operator

__all__ = ["OPERATORS", "operator"]
