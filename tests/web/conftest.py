"""The app over the real engine and database (the ``demo`` runtime from tests/conftest.py)."""
from __future__ import annotations

import base64

import pytest

from app.web import create_app


def basic(username: str, password: str | None = None) -> dict:
    """Authorization header for a demo user; the password defaults to the demo convention ``<name>-demo``."""
    password = password if password is not None else demo_password(username)
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def demo_password(username: str) -> str:
    # Department officers are "<code>.officer" with password "<code>-demo"; the others "<name>-demo".
    return f"{username.split('.')[0]}-demo"


@pytest.fixture
def app(demo):
    return create_app(runtime=demo, config={"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()
