"""audit events: the values a change replaced and the values it set

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24

Every event now goes through one writer (app/engine/audit/writer.py) with a before/after: an assignee, a
deadline, a definition version, a completion's submitted data. Both nullable: events that change no value, and
those written before this revision, have none.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('before', JSON, nullable=True))
        batch_op.add_column(sa.Column('after', JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('after')
        batch_op.drop_column('before')
