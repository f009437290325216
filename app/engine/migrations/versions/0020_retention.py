"""retention: when a complaint's personal data was anonymised, and compliance's legal hold on it

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

``anonymised_at`` is stamped by the retention job (app/engine/complaints/retention.py) once the personal data of a
closed complaint whose retention period (config/retention.toml) has passed is replaced; NULL until then, so the job
finds what is left and a re-run does nothing. ``legal_hold_*``: a hold set by compliance (`complaintflow retention
hold`), with who set it and why; a held complaint is never anonymised. Existing rows: nothing anonymised, no hold.
Downgrade drops the columns (anonymised data stays anonymised: what was replaced is gone).
"""
import sqlalchemy as sa
from alembic import op

from app.engine.models.base import UtcDateTime

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('legal_hold_at', UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('legal_hold_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('legal_hold_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('legal_hold_reason')
        batch_op.drop_column('legal_hold_by')
        batch_op.drop_column('legal_hold_at')
        batch_op.drop_column('anonymised_at')
