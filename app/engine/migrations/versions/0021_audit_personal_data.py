"""audit: personal values of audit events kept apart from the hash-chained rows, erasable by retention

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

``audit_personal_data`` holds each personal value an event recorded (app/engine/audit/personal.py) with the salt of
the HMAC commitment the chained row keeps in its place. Existing events are not rewritten: their values stay inline
and their hashes stay valid. Downgrade drops the table (the contents are lost; the rows keep their commitments).
"""
import sqlalchemy as sa
from alembic import op

from app.engine.models.base import JsonType, UtcDateTime

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit_personal_data',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('salt', sa.String(length=64), nullable=False),
        sa.Column('commitment', sa.String(length=64), nullable=False),
        sa.Column('content', JsonType, nullable=True),
        sa.Column('erased_at', UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['audit_events.id'],
                                name=op.f('fk_audit_personal_data_event_id_audit_events'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_personal_data')),
    )
    with op.batch_alter_table('audit_personal_data', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_personal_data_event_id'), ['event_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_personal_data', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_personal_data_event_id'))
    op.drop_table('audit_personal_data')
