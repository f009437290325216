from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class Complaint(Base):
    __tablename__ = "complaints"
    # Search (services/worklist.py): a tracking-number prefix and any part of the customer's name, case-insensitive,
    # served on PostgreSQL by a text_pattern_ops btree and a pg_trgm GIN index (migration 0005). SQLite gets plain
    # btrees under the same names, so both schemas match these models; the search scans there, fine at its scale.
    __table_args__ = (Index("ix_complaints_status_due", "status", "due_at"),
                      Index("ix_complaints_tracking_number_pattern", "tracking_number",
                            postgresql_ops={"tracking_number": "text_pattern_ops"}),
                      Index("ix_complaints_customer_name_trgm", "customer_name", postgresql_using="gin",
                            postgresql_ops={"customer_name": "gin_trgm_ops"}))

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_contact: Mapped[str] = mapped_column(String(200))
    customer_reference: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(40))
    forwarded_reference: Mapped[str | None] = mapped_column(String(100))
    # The product as registered: its English name (config/classification.toml) since products are coded, free
    # text before; kept for history. product_code is the code (NULL: an older text the mapping did not know).
    product: Mapped[str] = mapped_column(String(200))
    product_code: Mapped[str | None] = mapped_column(String(40), index=True)
    category: Mapped[str] = mapped_column(String(40), index=True)   # the cause code (classification.toml causes)
    place_code: Mapped[str | None] = mapped_column(String(40))       # the place of business (JR/T 0169 A) code
    severity: Mapped[str] = mapped_column(String(20))
    urgent: Mapped[bool] = mapped_column(default=False)
    amount_involved: Mapped[Decimal | None] = mapped_column(Numeric(15, 2))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(40), default="registered")
    lead_department: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(40))
    is_overdue: Mapped[bool] = mapped_column(default=False)
    breached_slas: Mapped[list] = mapped_column(default=list)
    escalation_level: Mapped[int] = mapped_column(default=0)
    reopen_count: Mapped[int] = mapped_column(default=0)
    customer_satisfied: Mapped[bool | None]
    satisfaction_rating: Mapped[int | None]
    language: Mapped[str | None] = mapped_column(String(10))   # of the customer's letters (zh_CN | en)
    received_at: Mapped[datetime]              # when it reached the bank: every regulatory clock starts here
    registered_at: Mapped[datetime]            # when it was entered into the system (received_at or later)
    # A complaint forwarded by a regulator, the media or a consumer association (complaints/forwarding.py): the
    # body (a forwarding_bodies code of config/classification.toml), when it forwarded it, the deadline it set
    # for our answer (the earlier of it and the regulatory one governs) and where the reply goes.
    forwarded_by: Mapped[str | None] = mapped_column(String(40))
    forwarded_at: Mapped[datetime | None]
    forwarded_due_at: Mapped[datetime | None]
    reply_route: Mapped[str | None] = mapped_column(String(20))   # customer | body | both
    # The business-day calendar of the case (config/sla.toml [calendars]): the customer's nation's for a UK case;
    # NULL (older complaints) counts on the profile's own calendar.
    calendar_code: Mapped[str | None] = mapped_column(String(20))
    acknowledged_at: Mapped[datetime | None]
    # Outcome data (issue 26, migration 0019), apart from ``outcome`` (how the case closed: resolved | no_feedback):
    # the decision's outcome (classification.toml outcomes), the redress offered with the final response and the
    # redress paid (recorded later by staff, complaints/redress.py), when the final response went out, and the
    # root cause (classification.toml root_causes).
    resolution_outcome: Mapped[str | None] = mapped_column(String(40))
    redress_offered: Mapped[Decimal | None] = mapped_column(Numeric(15, 2))
    redress_paid: Mapped[Decimal | None] = mapped_column(Numeric(15, 2))
    redress_paid_at: Mapped[datetime | None]
    final_response_at: Mapped[datetime | None]
    root_cause_code: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime | None]            # the next SLA deadline of the case, from its waiting timers
    # The bank's own target for its answer, moved by a holding response; the regulatory point never moves (DISP).
    target_due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    registered_by: Mapped[str] = mapped_column(String(100))
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Retention (app/engine/complaints/retention.py, config/retention.toml, migration 0020): when the personal data
    # was anonymised (None: not yet), and compliance's legal hold, which keeps it from ever being anonymised.
    anonymised_at: Mapped[datetime | None]
    legal_hold_at: Mapped[datetime | None]
    legal_hold_by: Mapped[str | None] = mapped_column(String(100))
    legal_hold_reason: Mapped[str | None] = mapped_column(Text)
