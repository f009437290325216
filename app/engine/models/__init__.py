"""SQLAlchemy 2 models, one aggregate per module."""
from app.engine.models.attachments import Attachment
from app.engine.models.audit import AuditEvent, AuditPersonalData, OutboxMessage
from app.engine.models.audit_checkpoints import AuditCheckpoint
from app.engine.models.base import Base
from app.engine.models.complaints import Complaint
from app.engine.models.definitions import ProcessDefinition
from app.engine.models.drafts import ProcessDraft
from app.engine.models.extensions import DeadlineExtension
from app.engine.models.idempotency import IdempotencyKey
from app.engine.models.inbound import InboundMessage
from app.engine.models.incidents import Incident
from app.engine.models.instances import ProcessInstance
from app.engine.models.letter_library import LetterLibraryReview
from app.engine.models.reviews import DefinitionReview
from app.engine.models.saved_filters import SavedFilter
from app.engine.models.sessions import RateLimitCounter, UserSession
from app.engine.models.tasks import UserTask
from app.engine.models.timers import Timer
from app.engine.models.users import ApiToken, Department, User

__all__ = ["ApiToken", "Attachment", "AuditCheckpoint", "AuditEvent", "AuditPersonalData", "Base",
           "Complaint", "DeadlineExtension", "DefinitionReview",
           "Department", "IdempotencyKey", "InboundMessage", "Incident", "LetterLibraryReview",
           "OutboxMessage", "ProcessDefinition", "ProcessDraft",
           "ProcessInstance", "RateLimitCounter", "SavedFilter", "Timer", "User", "UserSession", "UserTask"]
