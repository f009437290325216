"""incidents: a failing step on one case is recorded and retried instead of stopping the run

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
import app.engine.models.base

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('error_type', sa.String(length=100), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_failed_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('next_retry_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_incidents_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_incidents_instance_id_process_instances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_incidents_state_next_retry_at', ['state', 'next_retry_at'], unique=False)


def downgrade() -> None:
    op.drop_table('incidents')
