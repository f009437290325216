"""letters_and_outcomes: the clause library's sign-off trail, and the outcome data of a complaint (the decision's
outcome, redress offered and paid, the final response's date, the root cause) beside its closure outcome.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import app.engine.models.base

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'letter_library_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('checksum', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('source', sa.Text(), nullable=True),
        sa.Column('occurred_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_letter_library_reviews')),
    )
    with op.batch_alter_table('letter_library_reviews') as batch_op:
        batch_op.create_index('ix_letter_library_reviews_checksum', ['checksum'], unique=False)
    with op.batch_alter_table('complaints') as batch_op:
        batch_op.add_column(sa.Column('resolution_outcome', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('redress_offered', sa.Numeric(15, 2), nullable=True))
        batch_op.add_column(sa.Column('redress_paid', sa.Numeric(15, 2), nullable=True))
        batch_op.add_column(sa.Column('redress_paid_at', app.engine.models.base.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('final_response_at', app.engine.models.base.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('root_cause_code', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaints') as batch_op:
        for column in ('root_cause_code', 'final_response_at', 'redress_paid_at', 'redress_paid', 'redress_offered',
                       'resolution_outcome'):
            batch_op.drop_column(column)
    with op.batch_alter_table('letter_library_reviews') as batch_op:
        batch_op.drop_index('ix_letter_library_reviews_checksum')
    op.drop_table('letter_library_reviews')
