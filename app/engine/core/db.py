"""Database engine, sessions and the unit of work: one command = one transaction."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.engine.core.errors import StaleInstance

# deadlock_detected, serialization_failure: the transaction lost a race and may simply be run again.
RETRYABLE_PGCODES = {"40P01", "40001"}


def make_engine(url: str, **kwargs: object) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, emit BEGIN so we can make it BEGIN IMMEDIATE below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Take the write lock up front: a deferred transaction that reads and later writes fails at once
        # with "database is locked" when another writer got in between, instead of waiting its turn.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str, **engine_kwargs: object) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit if the block finishes, roll back if it raises; nothing is ever half applied. A lost race on
        an instance's lock version (or a PostgreSQL deadlock / serialization failure) becomes StaleInstance."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except StaleDataError as err:
            session.rollback()
            raise StaleInstance("Someone else changed this case at the same time; reload and try again") from err
        except DBAPIError as err:
            session.rollback()
            if getattr(err.orig, "pgcode", None) in RETRYABLE_PGCODES:
                raise StaleInstance("This case was busy with another change; reload and try again") from err
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
