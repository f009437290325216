"""regime_clocks: the bank's own answer target beside the regulatory point (a DISP holding response moves only
the target, never the 8-week point).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import app.engine.models.base

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaints') as batch_op:
        batch_op.add_column(sa.Column('target_due_at', app.engine.models.base.UtcDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaints') as batch_op:
        batch_op.drop_column('target_due_at')
