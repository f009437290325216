"""Alembic environment: the URL comes from the caller's config (app.engine.models.schema), never from a file."""
from alembic import context
from sqlalchemy.engine import Connection

from app.engine.models import Base

config = context.config


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        from app.engine.core.db import make_engine  # noqa: PLC0415
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("No sqlalchemy.url: run the migrations through app.engine.models.schema")
        engine = make_engine(url)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
