"""Code behind BPMN service tasks. Each module registers its operators by the name the diagrams use; the
composition root (``app.composition``) hands ``OPERATORS`` to the runtime."""
# Registration by import:
from app.tasks import customer_messages, deadlines, escalation, mail_intake, process_letters  # noqa: F401
from app.tasks.registry import OPERATORS, operator

__all__ = ["OPERATORS", "operator"]
