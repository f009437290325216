"""Signing in to /api/v1: failed attempts are rate limited, an unknown name costs what a wrong password costs,
API tokens expire and can be revoked.

The rate limiter is the real one (Flask-Limiter over the `limits` in-memory storage); only its clock is the
test's: `limits` reads ``time.time()`` in two modules, and the throttle computes ``Retry-After`` with it too.
"""
from __future__ import annotations

from datetime import timedelta

import limits.storage.memory
import limits.strategies
import pytest
from sqlalchemy import select

from app.engine.identity import users
from app.engine.models import ApiToken, User
from app.web import create_app, throttle
from tests.web.conftest import basic

SMALL_LIMITS = {"TESTING": True, "SIGNIN_LIMITS_PER_ACCOUNT": "3 per minute",
                "SIGNIN_LIMITS_PER_ADDRESS": "6 per minute"}


class LimiterClock:
    def __init__(self, start: float = 1_900_000_000.0):
        self.now = start

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def limiter_clock(monkeypatch) -> LimiterClock:
    clock = LimiterClock()
    for module in (limits.storage.memory, limits.strategies, throttle):
        monkeypatch.setattr(module, "time", clock)  # raising=True: fails loudly if `limits` stops using it
    return clock


@pytest.fixture
def small_client(demo, limiter_clock):
    return create_app(runtime=demo, config=SMALL_LIMITS).test_client()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def get_tasks(client, headers, address="127.0.0.1"):
    return client.get("/api/v1/tasks", headers=headers, environ_base={"REMOTE_ADDR": address})


# --- rate limits ------------------------------------------------------------------------------------------------

def test_failures_lock_the_account_with_429_and_retry_after_then_the_right_password_works(small_client,
                                                                                          limiter_clock):
    assert [get_tasks(small_client, basic("intake", "guess")).status_code for _ in range(3)] == [401] * 3

    locked = get_tasks(small_client, basic("intake"))  # even the right password: a guess must not be confirmed
    assert locked.status_code == 429
    assert locked.json["error"] == "too_many_requests"
    assert "Too many failed sign-in attempts" in locked.json["message"]
    retry_after = int(locked.headers["Retry-After"])
    assert 0 < retry_after <= 60 and f"try again in {retry_after} s" in locked.json["message"]
    assert get_tasks(small_client, basic("coordinator")).status_code == 200  # other accounts are not locked

    limiter_clock.advance(retry_after - 1)
    assert get_tasks(small_client, basic("intake")).status_code == 429
    limiter_clock.advance(1)
    assert get_tasks(small_client, basic("intake")).status_code == 200


def test_successful_sign_ins_do_not_count(small_client):
    assert {get_tasks(small_client, basic("intake")).status_code for _ in range(12)} == {200}
    assert get_tasks(small_client, basic("intake", "typo")).status_code == 401


def test_the_address_limit_covers_unknown_names_and_bearer_tokens(small_client, limiter_clock):
    attempts = [basic(f"user{n}", "guess") for n in range(3)] + [bearer(f"cf_guess{n}") for n in range(3)]
    assert [get_tasks(small_client, headers).status_code for headers in attempts] == [401] * 6

    assert get_tasks(small_client, bearer("cf_another_guess")).status_code == 429
    assert get_tasks(small_client, basic("intake", "guess")).status_code == 429
    assert get_tasks(small_client, basic("user9", "guess"), address="10.0.0.8").status_code == 401  # another client
    limiter_clock.advance(60)
    assert get_tasks(small_client, basic("user9", "guess")).status_code == 401


def test_a_locked_address_does_not_block_valid_credentials(small_client, demo):
    with demo.unit_of_work() as uow:
        token = users.create_token(uow, "channel", "website")
    attempts = [bearer(f"cf_guess{n}") for n in range(6)]
    assert [get_tasks(small_client, headers).status_code for headers in attempts] == [401] * 6
    assert get_tasks(small_client, bearer("cf_guess")).status_code == 429  # the address is locked for failures

    assert get_tasks(small_client, bearer(token)).status_code == 200       # ... not for a valid token
    assert get_tasks(small_client, basic("intake")).status_code == 200     # ... nor an unlocked account's password
    assert get_tasks(small_client, basic("intake", "guess")).status_code == 429


def test_no_credentials_are_not_counted(small_client):
    assert {small_client.get("/api/v1/tasks").status_code for _ in range(10)} == {401}
    assert get_tasks(small_client, basic("intake")).status_code == 200


def test_default_limits_answer_a_burst_of_100_guesses_with_429_after_the_first_ten(demo, limiter_clock):
    client = create_app(runtime=demo, config={"TESTING": True}).test_client()
    statuses = [get_tasks(client, basic("approver", f"guess{n}")).status_code for n in range(100)]
    assert statuses == [401] * 10 + [429] * 90
    limiter_clock.advance(60)
    assert get_tasks(client, basic("approver")).status_code == 200


def test_limits_and_storage_come_from_the_environment(demo, monkeypatch):
    monkeypatch.setenv("COMPLAINTFLOW_SIGNIN_LIMITS_PER_ACCOUNT", "1 per hour")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    client = create_app(runtime=demo, config={"TESTING": True}).test_client()
    assert get_tasks(client, basic("head", "guess")).status_code == 401
    assert get_tasks(client, basic("head")).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(demo, limiter_clock):
    client = create_app(runtime=demo, config={**SMALL_LIMITS, "TRUSTED_PROXIES": 1}).test_client()

    def attempt(headers, client_address):
        return get_tasks(client, {**headers, "X-Forwarded-For": client_address}, address="192.168.0.1")

    assert [attempt(bearer(f"cf_guess{n}"), "203.0.113.5").status_code for n in range(6)] == [401] * 6
    assert attempt(bearer("cf_guess"), "203.0.113.5").status_code == 429
    assert attempt(bearer("cf_guess"), "203.0.113.6").status_code == 401  # same proxy, another client


# --- an unknown name costs what a wrong password costs ------------------------------------------------------------

@pytest.fixture
def hash_checks(monkeypatch) -> list[str]:
    """The password hashes verified, in order (the real check still runs)."""
    checked: list[str] = []
    real = users.verify_password

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(users, "verify_password", counting)
    return checked


def test_unknown_and_inactive_users_run_the_same_hash_check_as_a_wrong_password(client, demo, hash_checks):
    with demo.unit_of_work() as uow:
        uow.session.scalar(select(User).where(User.username == "head")).active = False
        stored = uow.session.scalar(select(User.password_hash).where(User.username == "intake"))

    for headers in (basic("intake", "wrong"), basic("nobody", "whatever"), basic("head")):
        before = len(hash_checks)
        assert client.get("/api/v1/tasks", headers=headers).status_code == 401
        assert len(hash_checks) == before + 1, headers

    real, dummy, inactive = hash_checks
    assert real == stored
    method = stored.split("$")[0]  # e.g. "scrypt:32768:8:1": the method and its cost parameters
    assert dummy != stored and dummy.split("$")[0] == method and inactive.split("$")[0] == method


def test_the_dummy_hash_follows_the_configured_method(monkeypatch, demo):
    monkeypatch.setenv("COMPLAINTFLOW_PASSWORD_HASH", "pbkdf2:sha256:2000")
    with demo.unit_of_work() as uow:
        record = users.sign_in_record(uow, "nobody")
    assert record.actor is None and record.password_hash.startswith("pbkdf2:sha256:2000$")
    assert users.check_password(record, "") is None


# --- API tokens -------------------------------------------------------------------------------------------------

def test_a_token_expires_after_its_days(client, demo, clock):
    with demo.unit_of_work() as uow:
        token = users.create_token(uow, "channel", "website", days=2)
    clock.advance(days=2, seconds=-1)
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    clock.advance(seconds=1)
    response = client.get("/api/v1/tasks", headers=bearer(token))
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == 'Basic realm="complaintflow"'


def test_the_default_lifetime_is_90_days(demo, clock):
    with demo.unit_of_work() as uow:
        row, _ = users.issue_token(uow, "channel", "website")
        assert row.expires_at == clock.now() + timedelta(days=90)


def test_a_revoked_token_gets_401(client, demo):
    with demo.unit_of_work() as uow:
        token = users.create_token(uow, "channel", "website")
        token_id = uow.session.scalar(select(ApiToken.id))
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    with demo.unit_of_work() as uow:
        users.revoke_token(uow, token_id)
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 401


def test_last_use_is_written_at_most_once_a_minute(client, demo, clock):
    with demo.unit_of_work() as uow:
        token = users.create_token(uow, "channel", "website")

    def last_used():
        with demo.unit_of_work() as uow:
            return uow.session.scalar(select(ApiToken.last_used_at))

    assert last_used() is None
    first = clock.now()
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    assert last_used() == first
    clock.advance(seconds=59)
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    assert last_used() == first
    clock.advance(seconds=1)
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    assert last_used() == clock.now()
