"""outbox delivery: each message's state, attempts, next attempt, claim lease and last error

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
import app.engine.models.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=20), nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_until', app.engine.models.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.create_index('ix_outbox_messages_state_next_attempt_at', ['state', 'next_attempt_at'], unique=False)
    # Messages written before delivery existed and already stamped as sent stay sent.
    op.execute("UPDATE outbox_messages SET state = 'sent' WHERE sent_at IS NOT NULL")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('state', server_default=None)
        batch_op.alter_column('attempts', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_state_next_attempt_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('state')
