"""merge the deadlines (0007), modeler drafts (0008) and definition reviews (0009) branches into one head

Revision ID: 0010
Revises: 0007, 0008, 0009
Create Date: 2026-11-23

The three features were built side by side on 0006 and touch different tables, so their order does not matter;
this revision only joins them so that later migrations have one parent again.
"""

revision = '0010'
down_revision = ('0007', '0008', '0009')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
