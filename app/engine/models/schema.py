"""Create or upgrade the database schema with Alembic."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from app.engine.core.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database: Database) -> None:
    config = alembic_config(database.url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        # "heads": features developed side by side may each add a migration on the same parent; every branch is
        # applied (they touch different tables) until a merge revision joins them.
        command.upgrade(config, "heads")


def drop_everything(database: Database) -> None:
    """Tests and `init-db --reset` only."""
    from sqlalchemy import text  # noqa: PLC0415

    from app.engine.models import Base  # noqa: PLC0415
    with database.engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
