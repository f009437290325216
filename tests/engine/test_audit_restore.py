"""The restore drill (finding M7): a sealed, checkpointed trail is backed up and restored the way an operator
would (SQLite: the file copied; PostgreSQL: pg_dump piped into psql, into a scratch database cf_audit_restore),
and the restored copy verifies intact; one row edited in the copy and its verification fails, the original's not."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.composition import build_runtime
from app.engine import audit

RESTORE_DATABASE = "cf_audit_restore"


def verification(runtime) -> audit.Verification:
    with runtime.unit_of_work() as uow:
        return audit.verify_trail(uow)


def restored_copy(runtime, database_url: str, tmp_path) -> str:
    """Back the database up and restore it elsewhere; returns the restored copy's URL."""
    url = make_url(database_url)
    if runtime.database.is_postgresql:
        server = url.set(drivername="postgresql")
        plain = lambda name: server.set(database=name).render_as_string(hide_password=False)
        _psql(plain("postgres"), f"DROP DATABASE IF EXISTS {RESTORE_DATABASE}")
        _psql(plain("postgres"), f"CREATE DATABASE {RESTORE_DATABASE}")
        dump = subprocess.run(["pg_dump", "--no-owner", plain(url.database)], check=True, capture_output=True)
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", plain(RESTORE_DATABASE)], input=dump.stdout,
                       check=True, capture_output=True)
        return url.set(database=RESTORE_DATABASE).render_as_string(hide_password=False)
    runtime.database.engine.dispose()
    with sqlite3.connect(url.database) as connection:  # the WAL into the main file, then the file is the backup
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    copy = tmp_path / "restored.db"
    shutil.copy(url.database, copy)
    return f"sqlite:///{copy}"


def _psql(url: str, command: str) -> None:
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", command], check=True, capture_output=True)


@pytest.fixture
def drop_restored(database_url):
    yield
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        _psql(url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False),
              f"DROP DATABASE IF EXISTS {RESTORE_DATABASE}")


def test_a_restored_backup_verifies_and_an_edit_in_it_is_found(demo, case, clock, database_url, tmp_path,
                                                               drop_restored):
    cid = case.handle_until_feedback()
    case.feedback(cid, satisfied=False, rating=2)
    case.classify(case.register(2))
    report = audit.seal(demo, force_checkpoint=True)
    assert report.sealed and report.checkpoints == 1
    original = verification(demo)
    assert original.intact

    restored = build_runtime(restored_copy(demo, database_url, tmp_path), clock=clock)
    try:
        copy = verification(restored)
        assert copy.intact, copy.findings
        assert (copy.events, copy.head_hash, copy.checkpoints) == (original.events, original.head_hash, 1)
        with restored.database.engine.begin() as connection:
            connection.execute(text("UPDATE audit_events SET action = 'nothing_happened' WHERE chain_seq = 5"))
        first = verification(restored).first
        assert (first.kind, first.chain_seq) == ("edited", 5)
    finally:
        restored.close()
    assert verification(demo).intact
