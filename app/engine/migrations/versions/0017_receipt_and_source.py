"""receipt_and_source: when a complaint was entered beside when it reached the bank, the forwarding body's facts,
and the business-day calendar of the case.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

``received_at`` (existing) is when the complaint reached the bank and starts every regulatory clock; staff may now
back-date it, so ``registered_at`` records when it was entered. Every existing complaint was entered as it was
received: registered_at = received_at. A forwarded complaint records its body (``forwarded_by``, a code of
config/classification.toml), the forwarding date, the body's own deadline and the reply route. ``calendar_code``
is the case's business-day calendar (config/sla.toml [calendars]); existing complaints keep NULL, which counts
on the profile's own calendar as they always did. Downgrade drops the columns.
"""
import sqlalchemy as sa
from alembic import op

import app.engine.models.base

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def _instant() -> sa.types.TypeEngine:
    return app.engine.models.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('complaints') as batch_op:
        batch_op.add_column(sa.Column('registered_at', _instant(), nullable=True))
        batch_op.add_column(sa.Column('forwarded_by', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('forwarded_at', _instant(), nullable=True))
        batch_op.add_column(sa.Column('forwarded_due_at', _instant(), nullable=True))
        batch_op.add_column(sa.Column('reply_route', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('calendar_code', sa.String(length=20), nullable=True))
    complaints = sa.table('complaints', sa.column('received_at'), sa.column('registered_at'))
    op.get_bind().execute(complaints.update().values(registered_at=complaints.c.received_at))
    with op.batch_alter_table('complaints') as batch_op:
        batch_op.alter_column('registered_at', existing_type=_instant(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('complaints') as batch_op:
        batch_op.drop_column('calendar_code')
        batch_op.drop_column('reply_route')
        batch_op.drop_column('forwarded_due_at')
        batch_op.drop_column('forwarded_at')
        batch_op.drop_column('forwarded_by')
        batch_op.drop_column('registered_at')
