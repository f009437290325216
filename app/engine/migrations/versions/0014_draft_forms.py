"""drafts carry the forms they edit; a draft's submission keeps the forms the review sees

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-14

A process owner edits forms in the modeler: a draft keeps the content of the forms it edits or adds
(process_drafts.forms, file name -> content), over app/forms/ for the forms it does not. Submitting a draft for
review keeps the content of the forms its user tasks name (definition_reviews.forms, with their digest in
forms_checksum), so the review shows, the sign-off covers and the deploy pins exactly those forms. Nullable:
drafts and submissions from before this revision have none and read app/forms/ as it is now.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('process_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forms', JSON, nullable=True))
    with op.batch_alter_table('definition_reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forms', JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('definition_reviews', schema=None) as batch_op:
        batch_op.drop_column('forms')
    with op.batch_alter_table('process_drafts', schema=None) as batch_op:
        batch_op.drop_column('forms')
