"""work-list indexes: ready tasks by due time (overall, per department, lane, assignee); complaint search

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

The task indexes are partial (state = 'ready'), each ending in (due_at, id), the work list's keyset order
(services/worklist.py). They replace ix_tasks_state_lane, which mostly indexed completed tasks. On PostgreSQL
the complaint search gets a text_pattern_ops btree on tracking_number (prefix LIKE under any collation) and a
pg_trgm GIN index on customer_name (ILIKE '%part%'); pg_trgm is a trusted extension, so the database owner may
create it. SQLite gets plain btrees under the same names (the models declare one schema for both).
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

READY = {"postgresql_where": sa.text("state = 'ready'"), "sqlite_where": sa.text("state = 'ready'")}
TASK_INDEXES = {
    "ix_tasks_ready_due": ["due_at", "id"],
    "ix_tasks_ready_department": ["department", "due_at", "id"],
    "ix_tasks_ready_lane": ["lane", "due_at", "id"],
    "ix_tasks_ready_assignee": ["assignee_id", "due_at", "id"],
}


def upgrade() -> None:
    op.drop_index("ix_tasks_state_lane", table_name="tasks")
    for name, columns in TASK_INDEXES.items():
        op.create_index(name, "tasks", columns, **READY)
    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index("ix_complaints_tracking_number_pattern", "complaints", ["tracking_number"],
                    postgresql_ops={"tracking_number": "text_pattern_ops"})
    op.create_index("ix_complaints_customer_name_trgm", "complaints", ["customer_name"],
                    postgresql_using="gin", postgresql_ops={"customer_name": "gin_trgm_ops"})


def downgrade() -> None:
    op.drop_index("ix_complaints_customer_name_trgm", table_name="complaints")
    op.drop_index("ix_complaints_tracking_number_pattern", table_name="complaints")
    for name in reversed(TASK_INDEXES):
        op.drop_index(name, table_name="tasks")
    op.create_index("ix_tasks_state_lane", "tasks", ["state", "lane"])
