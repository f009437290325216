"""The audit trail: every event goes through ``record`` (the one writer); the sealer links committed events into
a global and a per-complaint hash chain and signs checkpoints of it; ``verify_trail`` checks both."""
from app.engine.audit.checkpoints import ReceiptCheckpoint, receipt_checkpoint
from app.engine.audit.sealer import SealReport, seal
from app.engine.audit.trail import TrailState, latest_event, trail_state, verify_trail
from app.engine.audit.verify import Finding, Verification
from app.engine.audit.writer import record

__all__ = ["Finding", "ReceiptCheckpoint", "SealReport", "TrailState", "Verification", "latest_event",
           "receipt_checkpoint", "record", "seal", "trail_state", "verify_trail"]
