"""The database storage of the sign-in limits (app/engine/identity/attempt_counters.py): moving and fixed windows,
counted atomically, expired rows deleted."""
from __future__ import annotations

from sqlalchemy import func, select

from app.engine.identity import attempt_counters as counters
from app.engine.models import RateLimitCounter

T = 1_900_000_000.0


def rows(runtime) -> int:
    with runtime.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(RateLimitCounter))


def test_a_moving_window_admits_the_limit_then_frees_the_oldest_hit_after_the_window(runtime):
    db = runtime.database
    assert [counters.acquire(db, "k", 3, 60, T + n) for n in range(4)] == [True, True, True, False]
    assert counters.moving_window(db, "k", 60, T + 10) == (T, 3)
    assert counters.acquire(db, "k", 3, 60, T + 59.9) is False
    assert counters.acquire(db, "k", 3, 60, T + 60) is True  # the hit at T has left the window
    assert counters.moving_window(db, "k", 60, T + 60) == (T + 1, 3)
    assert counters.moving_window(db, "other", 60, T) == (T, 0)


def test_hits_at_the_same_instant_add_up(runtime):
    db = runtime.database
    assert [counters.acquire(db, "k", 2, 60, T) for _ in range(3)] == [True, True, False]
    assert counters.moving_window(db, "k", 60, T) == (T, 2)


def test_a_fixed_window_counts_until_it_ends(runtime):
    db = runtime.database
    start = T - T % 60
    assert [counters.increment(db, "f", 60, start + n) for n in (1, 2, 3)] == [1, 2, 3]
    assert counters.current(db, "f", start + 30) == (3, start + 60)
    assert counters.increment(db, "f", 60, start + 61) == 1
    assert counters.current(db, "f", start + 200) == (0, start + 200)


def test_expired_rows_are_deleted(runtime):
    db = runtime.database
    for n in range(3):
        counters.acquire(db, f"k{n}", 5, 60, T)
    assert rows(runtime) == 3
    assert counters.sweep(db, T + 59) == 0
    assert counters.sweep(db, T + 60) == 3 and rows(runtime) == 0
    counters.acquire(db, "k", 5, 60, T)
    counters.acquire(db, "k", 5, 60, T + 61)  # a key's own expired rows go when it is written again
    assert rows(runtime) == 1
    counters.clear(db, "k")
    assert rows(runtime) == 0
