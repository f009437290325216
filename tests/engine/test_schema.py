"""The migrations and the models describe the same schema: a model change without its migration fails here."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.engine.models import Base


def test_models_match_the_migrations(runtime):
    # The session fixture built the database with `alembic upgrade head`; autogenerate must find nothing to add.
    with runtime.database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
