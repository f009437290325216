"""deadlines: SLA, clock start and warning state of timers; extensions with their reason; the customer's language

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
import app.engine.models.base

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('started_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('warned_level', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_warning_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_timers_state_next_warning_at', ['state', 'next_warning_at'], unique=False)
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.alter_column('warned_level', server_default=None)
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=10), nullable=True))
    op.create_table('deadline_extensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('timer_id', sa.Integer(), nullable=True),
    sa.Column('sla', sa.String(length=64), nullable=False),
    sa.Column('extension', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('previous_due_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('new_due_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_deadline_extensions_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_deadline_extensions_instance_id_process_instances')),
    sa.ForeignKeyConstraint(['timer_id'], ['timers.id'], name=op.f('fk_deadline_extensions_timer_id_timers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_extensions'))
    )
    with op.batch_alter_table('deadline_extensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_extensions_complaint_id'), ['complaint_id'], unique=False)


def downgrade() -> None:
    op.drop_table('deadline_extensions')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index('ix_timers_state_next_warning_at')
        batch_op.drop_column('next_warning_at')
        batch_op.drop_column('warned_level')
        batch_op.drop_column('started_at')
        batch_op.drop_column('sla')
