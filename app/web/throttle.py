"""Failed sign-in attempts are rate limited, per account and per client address (Flask-Limiter's storage).

Only failures count, so a script signing in correctly on every request is never locked out. Once an account
or an address has used up its failures, every attempt through it (the right password included) gets 429 with
``Retry-After`` until the window moves on: otherwise the answer would still tell a right guess from a wrong one.

Storage: ``RATELIMIT_STORAGE_URI`` (default ``memory://``). In memory, each process counts on its own, so with
N gunicorn workers an attacker gets up to N times the limit; point it at a shared store (``redis://host:6379``)
to count once for all workers and machines.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

# Config name -> (environment variable, default). A moving window of failures: someone guessing a password
# locks the account for at most a minute (a longer lock would let anyone lock a colleague out), yet guessing
# stays at a few dozen tries an hour per account.
SETTINGS = {
    "SIGNIN_LIMITS_PER_ACCOUNT": ("COMPLAINTFLOW_SIGNIN_LIMITS_PER_ACCOUNT", "10 per minute; 60 per hour"),
    "SIGNIN_LIMITS_PER_ADDRESS": ("COMPLAINTFLOW_SIGNIN_LIMITS_PER_ADDRESS", "30 per minute; 300 per hour"),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", "memory://"),
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
        """Raise TooManyAttempts when this account or this address has no failures left."""
        if not self.limiter.enabled:  # RATELIMIT_ENABLED = False
            return
        waits = [self._wait(item, key) for item, key in self._keys(username)
                 if not self.limiter.limiter.test(item, key)]
        if waits:
            seconds = max(1, max(waits))
            raise TooManyAttempts(f"Too many failed sign-in attempts for this account or from this address; "
                                  f"try again in {seconds} s.", retry_after=seconds)

    def failed(self, username: str | None) -> None:
        # Test before, hit after a failure: two steps, so attempts already in flight when the limit is reached
        # may each still add one (at most one per worker thread). Hitting first would count successes too.
        if not self.limiter.enabled:
            return
        for item, key in self._keys(username):
            self.limiter.limiter.hit(item, key)

    def _keys(self, username: str | None):
        # Behind a reverse proxy remote_addr is the proxy's unless ProxyFix is configured (see create_app).
        yield from ((item, f"signin/address/{request.remote_addr}") for item in self.per_address)
        if username is not None:
            # Usernames are at most 100 characters; a longer one names no account, truncating it is harmless.
            yield from ((item, f"signin/account/{username[:100]}") for item in self.per_account)

    def _wait(self, item: RateLimitItem, key: str) -> int:
        reset_at = self.limiter.limiter.get_window_stats(item, key).reset_time
        return math.ceil(reset_at - time.time())


def init_app(app: Flask) -> None:
    for name, (variable, default) in SETTINGS.items():
        app.config.setdefault(name, os.environ.get(variable, default))
    limiter = Limiter(lambda: request.remote_addr or "", app=app)
    app.extensions["complaintflow.signin_throttle"] = SigninThrottle(
        limiter, tuple(parse_many(app.config["SIGNIN_LIMITS_PER_ACCOUNT"])),
        tuple(parse_many(app.config["SIGNIN_LIMITS_PER_ADDRESS"])))


def signin_throttle() -> SigninThrottle:
    return current_app.extensions["complaintflow.signin_throttle"]
