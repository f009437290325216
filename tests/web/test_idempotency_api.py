"""A retried submission never makes two complaints (issue 28, other channels): POST /api/v1/complaints with an
Idempotency-Key answers a retry with the complaint the first request made, refuses the key on another body, keeps
keys apart per caller, forgets them after the window (config/security.toml [api]) and holds under two copies sent
at the same moment, on both databases."""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from app.engine.models import Complaint, IdempotencyKey
from tests.web.conftest import basic
from tests.web.test_api import registration

CHANNEL, INTAKE = basic("channel"), basic("intake")


def post(client, key, headers=CHANNEL, **changes):
    return client.post("/api/v1/complaints", json=registration(**changes),
                       headers={**headers, "Idempotency-Key": key})


def complaints(demo) -> int:
    with demo.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(Complaint))


def test_a_retry_with_the_same_key_answers_with_the_first_complaint(client, demo):
    first = post(client, "7f1c2b1e-retry")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = post(client, "7f1c2b1e-retry")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"] and again.json["tracking_number"] == first.json["tracking_number"]
    assert again.headers["Location"] == first.headers["Location"]
    assert complaints(demo) == 1


def test_the_same_body_in_another_key_order_is_the_same_request(client, demo):
    body = registration()
    first = client.post("/api/v1/complaints", json=body, headers={**CHANNEL, "Idempotency-Key": "order"})
    reordered = dict(reversed(list(body.items())))
    again = client.post("/api/v1/complaints", json=reordered, headers={**CHANNEL, "Idempotency-Key": "order"})
    assert again.json["id"] == first.json["id"] and complaints(demo) == 1


def test_the_key_on_a_different_body_is_refused_naming_the_header(client, demo):
    assert post(client, "same-key").status_code == 201
    response = post(client, "same-key", description="Another matter entirely: my card was blocked abroad.")
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["Idempotency-Key"]
    assert complaints(demo) == 1


def test_keys_are_the_callers_own(client, demo):
    mine = post(client, "shared-key")
    theirs = post(client, "shared-key", headers=INTAKE)
    assert theirs.status_code == 201 and theirs.json["id"] != mine.json["id"]
    assert "Idempotent-Replayed" not in theirs.headers and complaints(demo) == 2


def test_after_the_window_the_key_names_a_new_submission(client, demo, clock):
    first = post(client, "daily-key")
    clock.advance(demo.settings.api.idempotency_window + timedelta(minutes=1))
    later = post(client, "daily-key")
    assert later.status_code == 201 and later.json["id"] != first.json["id"]
    assert "Idempotent-Replayed" not in later.headers
    with demo.unit_of_work() as uow:  # one row per caller and key: the old one gave way
        assert uow.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_without_a_key_each_post_registers(client, demo):
    for _ in range(2):
        assert client.post("/api/v1/complaints", json=registration(), headers=CHANNEL).status_code == 201
    assert complaints(demo) == 2


def test_a_malformed_key_is_refused_naming_the_header(client, demo):
    for key in ("", "x" * 256, "clé-é", "with space"):
        response = post(client, key)
        assert response.status_code == 422, key
        assert list(response.json["errors"]) == ["Idempotency-Key"]
    assert complaints(demo) == 0


def test_an_invalid_body_keeps_the_key_free_for_the_corrected_retry(client, demo):
    assert post(client, "fix-and-retry", product=None).status_code == 422
    response = post(client, "fix-and-retry")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert complaints(demo) == 1


def test_two_copies_at_the_same_moment_make_one_complaint(app, demo):
    answers: list = []
    start = threading.Barrier(4)

    def send():
        start.wait()
        answers.append(post(app.test_client(), "raced-key"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [a.status_code for a in answers] == [201] * 4, [a.json for a in answers]
    assert len({a.json["id"] for a in answers}) == 1
    assert sum("Idempotent-Replayed" in a.headers for a in answers) == 3
    assert complaints(demo) == 1
