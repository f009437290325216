"""coded classification: product and place-of-business codes on complaints, older products mapped

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Products, causes, places of business and outcomes are codes of config/classification.toml. ``product_code``
holds the product's code (``product`` keeps the text as registered, for history); ``place_code`` the place of
business (JR/T 0169 A). The cause was already a code (``category``: the former category choices are the causes'
codes). Data step: every existing free-text product is mapped by [legacy_products] of the config (ignoring case
and surrounding spaces); a text it does not list stays NULL, and ``complaintflow classification map-report`` lists
those. The place of business of existing complaints is the intake channel's default ([channel_places]), where
there is one. Downgrade drops the columns (the texts are untouched).
"""
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('product_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('place_code', sa.String(length=40), nullable=True))
        batch_op.create_index('ix_complaints_product_code', ['product_code'], unique=False)
    _map_existing()


def _map_existing() -> None:
    # The config as this installation runs it (the settings' own rule: $COMPLAINTFLOW_CONFIG_DIR, else config/).
    from app.engine.config.classification import load_classification  # noqa: PLC0415 - only the data step needs it
    from app.engine.config.settings import DEFAULT_CONFIG_DIR  # noqa: PLC0415

    classification = load_classification(Path(os.environ.get("COMPLAINTFLOW_CONFIG_DIR") or DEFAULT_CONFIG_DIR))
    bind = op.get_bind()
    complaints = sa.table('complaints', sa.column('product', sa.String), sa.column('product_code', sa.String),
                          sa.column('channel', sa.String), sa.column('place_code', sa.String))
    texts = bind.execute(sa.select(complaints.c.product).distinct()).scalars().all()
    for text in texts:
        code = classification.legacy_product(text)
        if code is not None:
            bind.execute(complaints.update().where(complaints.c.product == text).values(product_code=code))
    for channel, place in classification.channel_places.items():
        bind.execute(complaints.update().where(complaints.c.channel == channel).values(place_code=place))


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_product_code')
        batch_op.drop_column('place_code')
        batch_op.drop_column('product_code')
