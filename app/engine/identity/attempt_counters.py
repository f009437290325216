"""Counters of rate-limit keys in the database (``rate_limit_counters``), shared by every worker and node: the
storage behind the sign-in throttle when no Redis is configured (app/web/throttle.py adapts it to `limits`).

Times are the limiter's epoch seconds, stored as whole microseconds. Each call is its own short transaction
(the counters are not part of any command). Counting is atomic: a moving window takes a per-key lock first
(PostgreSQL: a transaction-scoped advisory lock; SQLite: every transaction holds the write lock, BEGIN IMMEDIATE),
a fixed window is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``. Expired rows of a key go when the key is
next written; ``sweep`` deletes everyone's (the throttle calls it at most once a minute per process).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.sqlite import Insert

from app.engine.models import RateLimitCounter

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.engine.core.db import Database

Counter = RateLimitCounter


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def _seconds(us: int) -> float:
    return us / 1_000_000


def _insert(session: Session) -> Insert | postgresql.Insert:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(Counter)


def moving_window(database: Database, key: str, expiry: float, now: float) -> tuple[float, int]:
    """(the oldest hit inside the window, or ``now`` if none; the number of hits inside it)."""
    with database.transaction() as session:
        return _window(session, key, expiry, now)


def _window(session: Session, key: str, expiry: float, now: float) -> tuple[float, int]:
    oldest, hits = session.execute(select(func.min(Counter.window_start), func.sum(Counter.count))
                                   .where(Counter.key == key, Counter.window_start > _us(now - expiry))).one()
    return (_seconds(oldest) if oldest is not None else now), int(hits or 0)


def acquire(database: Database, key: str, limit: int, expiry: float, now: float, amount: int = 1) -> bool:
    """Count ``amount`` hits at ``now`` if the moving window of ``expiry`` seconds leaves room under ``limit``."""
    if amount > limit:
        return False
    with database.transaction() as session:
        if database.is_postgresql:  # SQLite: the transaction already holds the database's write lock
            session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
        session.execute(delete(Counter).where(Counter.key == key, Counter.expires_at <= _us(now)))
        if _window(session, key, expiry, now)[1] + amount > limit:
            return False
        statement = _insert(session).values(key=key, window_start=_us(now), count=amount,
                                            expires_at=_us(now + expiry))
        session.execute(statement.on_conflict_do_update(
            index_elements=[Counter.key, Counter.window_start],
            set_={"count": Counter.count + statement.excluded.count}))
        return True


def increment(database: Database, key: str, expiry: float, now: float, amount: int = 1) -> int:
    """A fixed window of ``expiry`` seconds aligned to the epoch: add ``amount``, return the window's count."""
    start = _us(now - now % expiry)
    with database.transaction() as session:
        statement = _insert(session).values(key=key, window_start=start, count=amount,
                                            expires_at=start + _us(expiry))
        count = session.execute(statement.on_conflict_do_update(
            index_elements=[Counter.key, Counter.window_start],
            set_={"count": Counter.count + statement.excluded.count}).returning(Counter.count)).scalar_one()
        session.execute(delete(Counter).where(Counter.key == key, Counter.expires_at <= _us(now)))
        return count


def current(database: Database, key: str, now: float) -> tuple[int, float]:
    """(the count of the key's fixed window running at ``now``, when it ends: ``now`` if there is none)."""
    with database.transaction() as session:
        row = session.execute(select(Counter.count, Counter.expires_at)
                              .where(Counter.key == key, Counter.window_start <= _us(now),
                                     Counter.expires_at > _us(now))
                              .order_by(Counter.window_start.desc()).limit(1)).first()
    return (int(row[0]), _seconds(row[1])) if row is not None else (0, now)


def clear(database: Database, key: str) -> None:
    with database.transaction() as session:
        session.execute(delete(Counter).where(Counter.key == key))


def clear_all(database: Database) -> int:
    with database.transaction() as session:
        return int(session.execute(delete(Counter)).rowcount or 0)  # type: ignore[attr-defined]


def sweep(database: Database, now: float) -> int:
    """Delete every expired row; returns how many."""
    with database.transaction() as session:
        return int(session.execute(delete(Counter).where(Counter.expires_at <= _us(now)))
                   .rowcount or 0)  # type: ignore[attr-defined]
