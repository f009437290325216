"""Fixtures over a real database: SQLite by default, PostgreSQL when DATABASE_URL points at one.

Every test gets a fresh runtime with a manual clock and empty tables (rows are deleted after each test, since
the services commit for real, as they do in production).
"""
from __future__ import annotations

import os

os.environ.setdefault("COMPLAINTFLOW_PASSWORD_HASH", "pbkdf2:sha256:1000")  # fast hashing in tests only

import pytest
from sqlalchemy import text

from app.composition import build_runtime
from app.engine.config.settings import database_url as configured_url
from app.engine.core.clock import ManualClock
from app.engine.core.db import Database
from app.engine.models import (
    Base,
    schema,
)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if os.environ.get("DATABASE_URL"):
        url = configured_url()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    database = Database(url)
    schema.drop_everything(database)
    schema.upgrade(database)
    database.dispose()
    return url


def _empty_tables(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if database.is_postgresql:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def runtime(database_url, clock):
    rt = build_runtime(database_url, clock=clock)
    yield rt
    _empty_tables(rt.database)
    rt.close()


@pytest.fixture
def demo(runtime):
    """A runtime with departments, demo users and the process definitions deployed."""
    from app.engine.demo.loader import load_demo
    with runtime.unit_of_work() as uow:
        load_demo(uow)
    return runtime


@pytest.fixture
def actors(demo):
    from sqlalchemy import select

    from app.engine.identity.users import actor_for
    from app.engine.models import User
    with demo.unit_of_work() as uow:
        return {u.username: actor_for(u) for u in uow.session.scalars(select(User))}
