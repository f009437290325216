"""Fixtures over a real database: SQLite by default, PostgreSQL when DATABASE_URL points at one.

Every test gets a fresh runtime with a manual clock and empty tables (rows are deleted after each test, since
the services commit for real, as they do in production).
"""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("COMPLAINTFLOW_PASSWORD_HASH", "pbkdf2:sha256:1000")  # fast hashing in tests only
# The audit trail's checkpoint signing key: generated on first use, here and not in the project's instance/.
os.environ.setdefault("COMPLAINTFLOW_AUDIT_KEY", os.path.join(tempfile.mkdtemp(prefix="complaintflow-audit-"),
                                                              "signing-key.pem"))
# Attachments (config/attachments.toml [storage]): kept under a temporary directory, not the project's instance/.
os.environ.setdefault("COMPLAINTFLOW_ATTACHMENTS_DIR", tempfile.mkdtemp(prefix="complaintflow-attachments-"))

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from app.cli import main as cli_main
from app.composition import build_runtime
from app.engine.config.settings import database_url as configured_url
from app.engine.core.clock import ManualClock
from app.engine.core.db import Database
from app.engine.models import Base, schema
from app.engine.workflow.specs import WorkflowCache


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


# The live-workflow cache (Runtime.workflows) a test's runtimes run with. "warm": production's, a step on the
# version this process saved takes the live workflow from memory. "cold": no room, so every step deserializes the
# stored row and installs the sandboxed script engine again, as after a restart or a step elsewhere. The step
# tests run in both: every test in tests/processes (its conftest) and those marked ``both_caches``.
WORKFLOW_CACHES = {"warm": WorkflowCache.SIZE, "cold": 0}


@pytest.fixture
def workflow_cache(request) -> str:
    return getattr(request, "param", "warm")


def parametrize_workflow_cache(metafunc) -> None:
    if "workflow_cache" in metafunc.fixturenames:
        metafunc.parametrize("workflow_cache", list(WORKFLOW_CACHES), indirect=True)


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("both_caches"):
        parametrize_workflow_cache(metafunc)


def make_runtime(database_url: str, clock, workflow_cache: str = "warm", **options):
    return build_runtime(database_url, clock=clock, workflow_cache_size=WORKFLOW_CACHES[workflow_cache], **options)


def check_workflow_cache(runtime, workflow_cache: str) -> None:
    """A cold runtime never served a step from memory: had the switch failed, the cold runs would be warm ones."""
    if workflow_cache == "cold":
        cache = runtime.workflows
        assert (cache.hits, len(cache)) == (0, 0), f"cold cache served {cache.hits} steps from memory"


@pytest.fixture
def runtime(database_url, clock, workflow_cache):
    rt = make_runtime(database_url, clock, workflow_cache)
    yield rt
    try:
        check_workflow_cache(rt, workflow_cache)
    finally:
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


@pytest.fixture
def cli(runtime, database_url, monkeypatch):
    """Invoke the CLI on the test database; fails the test with the output when the exit code is unexpected."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()

    def invoke(*args, exit_code=0):
        # Each command closes its own runtime (pytest turns a leaked connection's ResourceWarning into an error).
        result = runner.invoke(cli_main, [str(a) for a in args])
        assert result.exit_code == exit_code, (
            f"`complaintflow {' '.join(map(str, args))}` exited {result.exit_code}\n{result.output}"
            + (f"\n{result.exception!r}" if result.exception and not isinstance(result.exception, SystemExit) else ""))
        return result

    return invoke


@pytest.fixture
def demo_cli(cli):
    cli("load-demo")
    return cli
