"""Database engine, sessions and the unit of work: one command = one transaction."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.engine.errors import Conflict, DomainError


def make_engine(url: str, **kwargs) -> Engine:
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
    def __init__(self, url: str, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit if the block finishes, roll back if it raises. Optimistic-lock losses become Conflict."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except StaleDataError as err:
            session.rollback()
            raise Conflict("Someone else changed this case at the same time; reload and try again") from err
        except DomainError as err:
            # Some refusals still carry a legitimate change, e.g. an overdue timer that fired and cancelled
            # the very task the caller tried to complete: the firing is kept, the completion is not applied.
            if err.persist_changes:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
