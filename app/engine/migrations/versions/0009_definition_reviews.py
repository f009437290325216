"""definition reviews: submissions for review and compliance's sign-off, keyed by the file's checksum

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
import app.engine.models.base

revision = '0009'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'definition_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('checksum', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('file_name', sa.String(length=300), nullable=True),
        sa.Column('bpmn_source', sa.Text(), nullable=True),
        sa.Column('occurred_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_definition_reviews')),
    )
    with op.batch_alter_table('definition_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_definition_reviews_checksum', ['checksum'], unique=False)
        batch_op.create_index(batch_op.f('ix_definition_reviews_process_id'), ['process_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('definition_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_reviews_process_id'))
        batch_op.drop_index('ix_definition_reviews_checksum')
    op.drop_table('definition_reviews')
