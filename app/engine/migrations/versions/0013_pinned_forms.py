"""definitions pin their forms; a sign-off records the forms it covered

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A deployed version keeps the content of the forms its user tasks name (process_definitions.forms, with their
digest in forms_checksum), so editing app/forms/ no longer changes what running cases render and validate. A
decision on the review desk records the digest of the forms it reviewed (definition_reviews.forms_checksum),
which the deploy gate compares. All nullable: versions and decisions from before this revision have none (such a
version reads app/forms/ as it is now; such an approval covers no forms and needs a new sign-off to deploy).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forms', JSON, nullable=True))
        batch_op.add_column(sa.Column('forms_checksum', sa.String(length=64), nullable=True))
    with op.batch_alter_table('definition_reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forms_checksum', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('definition_reviews', schema=None) as batch_op:
        batch_op.drop_column('forms_checksum')
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.drop_column('forms_checksum')
        batch_op.drop_column('forms')
