"""Failed sign-in attempts are rate limited, per account and per client address, in a storage every worker and
node shares: a limit of 10 is 10 whatever the number of gunicorn workers.

Only failures count, so a script signing in correctly on every request is never locked out. Once an account
has used up its failures, every attempt on it (the right password included) gets 429 with ``Retry-After`` until
the window moves on: otherwise the answer would still tell a right guess from a wrong one. An address that has
used up its failures gets 429 for every further failure, but valid credentials from it still pass (a valid
bearer token, or the password of an account that is not locked): one client's typos behind a shared address (a
branch's proxy) must not lock out everyone, nor an integration's token. Guessing many accounts from one address
then meets each account's own limit, and every failure still answers 429.

Storage: ``RATELIMIT_STORAGE_URI``. The default, ``database://``, keeps the counters in the application's
database (``rate_limit_counters``, app/engine/identity/attempt_counters.py); ``redis://host:6379`` (or any other
`limits` storage) where one is configured. ``memory://`` counts in each process alone: tests only.
"""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many
from limits.storage import MovingWindowSupport, Storage
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import TooManyRequests

from app.engine.core.db import Database
from app.engine.identity import attempt_counters

log = logging.getLogger(__name__)

# Config name -> (environment variable, default). A moving window of failures: someone guessing a password
# locks the account for at most a minute (a longer lock would let anyone lock a colleague out), yet guessing
# stays at a few dozen tries an hour per account.
SETTINGS = {
    "SIGNIN_LIMITS_PER_ACCOUNT": ("COMPLAINTFLOW_SIGNIN_LIMITS_PER_ACCOUNT", "10 per minute; 60 per hour"),
    "SIGNIN_LIMITS_PER_ADDRESS": ("COMPLAINTFLOW_SIGNIN_LIMITS_PER_ADDRESS", "30 per minute; 300 per hour"),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", "database://"),
    "RATELIMIT_STRATEGY": ("RATELIMIT_STRATEGY", "moving-window"),
}


class TooManyAttempts(TooManyRequests):
    """429 with ``Retry-After`` (werkzeug adds the header); the JSON body is made in app/web/errors.py."""


@dataclass(frozen=True)
class SigninThrottle:
    limiter: Limiter
    per_account: tuple[RateLimitItem, ...]
    per_address: tuple[RateLimitItem, ...]

    def check(self, username: str | None) -> None:
        """Before the credentials are checked: raise TooManyAttempts when this account has no failures left."""
        if username is not None:
            self._refuse_when_used_up(self._account_keys(username))

    def failed(self, username: str | None) -> None:
        """After credentials were refused: count the failure for the address and the account; raise
        TooManyAttempts (instead of the caller's 401) when the address or the account had no failures left."""
        # Test before, hit after a failure: two steps, so attempts already in flight when the limit is reached
        # may each still add one (at most one per worker thread). Hitting first would count successes too.
        if not self.limiter.enabled:
            return
        keys = [*self._address_keys(), *(self._account_keys(username) if username is not None else ())]
        exhausted = [(item, key) for item, key in keys if not self.limiter.limiter.test(item, key)]
        for item, key in keys:
            self.limiter.limiter.hit(item, key)
        self._refuse(exhausted)

    def _refuse_when_used_up(self, keys: list[tuple[RateLimitItem, str]]) -> None:
        if self.limiter.enabled:  # RATELIMIT_ENABLED = False turns the throttle off
            self._refuse([(item, key) for item, key in keys if not self.limiter.limiter.test(item, key)])

    def _refuse(self, exhausted: list[tuple[RateLimitItem, str]]) -> None:
        if exhausted:
            seconds = max(1, *(self._wait(item, key) for item, key in exhausted))
            raise TooManyAttempts(f"Too many failed sign-in attempts for this account or from this address; "
                                  f"try again in {seconds} s.", retry_after=seconds)

    def _address_keys(self) -> list[tuple[RateLimitItem, str]]:
        # Behind a reverse proxy remote_addr is the proxy's unless ProxyFix is configured (see create_app).
        return [(item, f"signin/address/{request.remote_addr}") for item in self.per_address]

    def _account_keys(self, username: str) -> list[tuple[RateLimitItem, str]]:
        # Usernames are at most 100 characters; a longer one names no account, truncating it is harmless.
        return [(item, f"signin/account/{username[:100]}") for item in self.per_account]

    def _wait(self, item: RateLimitItem, key: str) -> int:
        reset_at = self.limiter.limiter.get_window_stats(item, key).reset_time
        return math.ceil(reset_at - time.time())


class DatabaseStorage(Storage, MovingWindowSupport):
    """The `limits` storage ``database://``: the counters in the application's database, shared by every worker
    and node. Moving and fixed windows (not the sliding window counter). Flask-Limiter passes the runtime's
    ``Database`` as the storage option ``database`` (init_app)."""

    STORAGE_SCHEME = ["database"]
    SWEEP_EVERY = 60.0  # seconds between deletions of everyone's expired counters, per process

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, database: Database,
                 **options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.database = database
        self._swept_at = 0.0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        now = time.time()
        self._sweep(now)
        return attempt_counters.acquire(self.database, key, limit, expiry, now, amount)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        return attempt_counters.moving_window(self.database, key, expiry, time.time())

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        self._sweep(now)
        return attempt_counters.increment(self.database, key, expiry, now, amount)

    def get(self, key: str) -> int:
        return attempt_counters.current(self.database, key, time.time())[0]

    def get_expiry(self, key: str) -> float:
        return attempt_counters.current(self.database, key, time.time())[1]

    def clear(self, key: str) -> None:
        attempt_counters.clear(self.database, key)

    def reset(self) -> int | None:
        return attempt_counters.clear_all(self.database)

    def check(self) -> bool:
        try:
            attempt_counters.moving_window(self.database, "healthcheck", 1, time.time())
        except SQLAlchemyError:
            return False
        return True

    def _sweep(self, now: float) -> None:
        if now - self._swept_at < self.SWEEP_EVERY:
            return
        self._swept_at = now
        try:
            attempt_counters.sweep(self.database, now)
        except SQLAlchemyError:  # e.g. a deadlock with another worker's sweep: the next one will do
            log.warning("Could not delete expired sign-in counters", exc_info=True)


def init_app(app: Flask) -> None:
    for name, (variable, default) in SETTINGS.items():
        app.config.setdefault(name, os.environ.get(variable, default))
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith("database://"):
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {**app.config.get("RATELIMIT_STORAGE_OPTIONS", {}),
                                                   "database": app.extensions["complaintflow"].database}
    limiter = Limiter(lambda: request.remote_addr or "", app=app)
    app.extensions["complaintflow.signin_throttle"] = SigninThrottle(
        limiter, tuple(parse_many(app.config["SIGNIN_LIMITS_PER_ACCOUNT"])),
        tuple(parse_many(app.config["SIGNIN_LIMITS_PER_ADDRESS"])))


def signin_throttle() -> SigninThrottle:
    return current_app.extensions["complaintflow.signin_throttle"]
