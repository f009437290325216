"""api: Idempotency-Key of registrations, so a retried submission never makes two complaints

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08

``idempotency_keys`` holds one row per caller and key (app/engine/complaints/idempotency.py): the digest of the
request and the complaint it made. Downgrade drops the table (retries then register again).
"""
import sqlalchemy as sa
from alembic import op

from app.engine.models.base import UtcDateTime

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'idempotency_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('caller', sa.String(length=100), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'],
                                name=op.f('fk_idempotency_keys_complaint_id_complaints')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
        sa.UniqueConstraint('caller', 'key', name=op.f('uq_idempotency_keys_caller')),
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_complaint_id', ['complaint_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_complaint_id')
    op.drop_table('idempotency_keys')
