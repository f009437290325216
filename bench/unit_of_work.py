"""What one persisted step costs the database layer alone: a unit of work with a step's reads and writes, through
the ORM as the step does it, as prebuilt SQLAlchemy Core statements, and one statement on the raw driver.

    .venv/bin/python bench/unit_of_work.py [--steps 300] [--postgres URL | --no-postgres]

Each target, on SQLite (a temp file, WAL, synchronous=FULL as app/engine/db.py leaves it) and on PostgreSQL
(database ``complaintflow_bench`` on the server of --postgres, created if missing):

  orm        what a completion does through the ORM (services/steps.py): read the instance with its complaint in
             one query, the task by id, then change the task, add the next task, add an audit event, change the
             complaint and the instance's state (a 28 KB text; version-checked by the ORM), flush, commit.
  core       the same reads and writes as SQLAlchemy Core statements built once, run in a session's transaction.
  statement  one prebuilt Core UPDATE against the same UPDATE on the raw driver's cursor, per statement.

No workflow runs: this is the floor under issue 15's persisted lifecycle from the database layer's side. The
lifecycle bench's ``floor`` targets give the other floor (SpiffWorkflow plus the least durable write per step,
raw driver). See bench/README.md.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("COMPLAINTFLOW_PASSWORD_HASH", "pbkdf2:sha256:1000")  # demo users only; keeps setup fast
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Column, Integer, MetaData, Table, Text, bindparam, create_engine, insert, select, update

from app.engine.config.settings import load_settings
from app.engine.core.clock import SystemClock
from app.engine.models import AuditEvent, Complaint, ProcessInstance, UserTask
from app.engine.runtime import Runtime
from app.simulate import simulate
from bench.lifecycle import BENCH_DATABASE, DEFAULT_POSTGRES, postgres_bench_url, prepare_database

STATE_BYTES = 28_000  # the average stored state of a closed case (bench/lifecycle.py prints it)

tasks, audit, complaints, instances = (UserTask.__table__, AuditEvent.__table__, Complaint.__table__,
                                       ProcessInstance.__table__)
_READ_INSTANCE = (select(ProcessInstance, Complaint).join(Complaint, Complaint.id == ProcessInstance.complaint_id)
                  .where(ProcessInstance.id == bindparam("instance_id")))
_CORE_READ_INSTANCE = (select(instances.c.id, instances.c.lock_version, complaints.c.status)
                       .join(complaints, complaints.c.id == instances.c.complaint_id)
                       .where(instances.c.id == bindparam("instance_id")))
_CORE_READ_TASK = select(tasks).where(tasks.c.id == bindparam("task_id"))
_CORE_UPDATE_TASK = (update(tasks).where(tasks.c.id == bindparam("task_id"))
                     .values(state=bindparam("state"), completed_at=bindparam("now"), submitted_data=bindparam("data")))
_CORE_INSERT_TASK = insert(tasks)
_CORE_INSERT_AUDIT = insert(audit)
_CORE_UPDATE_COMPLAINT = (update(complaints).where(complaints.c.id == bindparam("complaint_id"))
                          .values(status=bindparam("status")))
_CORE_UPDATE_INSTANCE = (update(instances).where(instances.c.id == bindparam("instance_id"),
                                                 instances.c.lock_version == bindparam("version"))
                         .values(state=bindparam("state"), updated_at=bindparam("now"),
                                 lock_version=bindparam("next_version")))


class Case:
    """One real case (a simulated lifecycle), whose rows every step of the bench rewrites."""

    def __init__(self, runtime: Runtime):
        simulate(runtime, 1)
        with runtime.unit_of_work() as uow:
            row = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.complaint_id.is_not(None))).first()
            self.instance_id, self.complaint_id = row.id, row.complaint_id
            self.task_id = uow.session.scalar(select(UserTask.id).where(UserTask.instance_id == row.id))
        self.state = "x" * STATE_BYTES
        self.ids = itertools.count()

    def new_task(self, now) -> dict:
        return {"instance_id": self.instance_id, "complaint_id": self.complaint_id, "spiff_task_id": f"b{next(self.ids)}",
                    "element_id": "investigate_complaint", "title": "Investigate", "lane": "Departments",
                    "candidate_roles": ["department_officer"], "department": None, "form": "investigate.json",
                    "context": {"tracking_number": "CF-1"}, "state": "ready", "created_at": now}

    def audit(self, now, k: int) -> dict:
        return {"occurred_at": now, "actor": "bench", "actor_id": None, "action": "task_completed",
                    "complaint_id": self.complaint_id, "instance_id": self.instance_id, "detail": {"data": {"k": k}}}


def orm_step(runtime: Runtime, case: Case, k: int) -> None:
    now = runtime.clock.now()
    with runtime.unit_of_work() as uow:
        session = uow.session
        row, complaint = session.execute(_READ_INSTANCE, {"instance_id": case.instance_id}).one()
        task = session.get(UserTask, case.task_id)
        task.state, task.completed_at, task.submitted_data = ("completed" if k % 2 else "ready"), now, {"k": k}
        session.add(UserTask(**case.new_task(now)))
        session.add(AuditEvent(**case.audit(now, k)))
        complaint.status = "investigating" if k % 2 else "triage"
        row.state, row.updated_at = case.state + str(k), now
        session.flush()


def core_step(runtime: Runtime, case: Case, k: int) -> None:
    now = runtime.clock.now()
    with runtime.unit_of_work() as uow:
        session = uow.session
        found = session.execute(_CORE_READ_INSTANCE, {"instance_id": case.instance_id}).one()
        session.execute(_CORE_READ_TASK, {"task_id": case.task_id}).one()
        session.execute(_CORE_UPDATE_TASK, {"task_id": case.task_id, "state": "completed" if k % 2 else "ready",
                                            "now": now, "data": {"k": k}})
        session.execute(_CORE_INSERT_TASK, case.new_task(now))
        session.execute(_CORE_INSERT_AUDIT, case.audit(now, k))
        session.execute(_CORE_UPDATE_COMPLAINT, {"complaint_id": case.complaint_id,
                                                 "status": "investigating" if k % 2 else "triage"})
        result = session.execute(_CORE_UPDATE_INSTANCE, {"instance_id": case.instance_id, "version": found.lock_version,
                                                         "next_version": found.lock_version + 1,
                                                         "state": case.state + str(k), "now": now})
        if result.rowcount != 1:
            raise RuntimeError("lost the version check")


def timed(label: str, func, count: int) -> None:
    for k in range(min(20, count)):
        func(k)
    began, cpu = time.perf_counter(), time.process_time()
    for k in range(count):
        func(k)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(f"  {label:<34} wall {wall / count * 1000:7.3f} ms   cpu {cpu / count * 1000:7.3f} ms")


def per_statement(url: str, count: int) -> None:
    """One prebuilt Core UPDATE against the same statement on the raw driver's cursor."""
    metadata = MetaData()
    table = Table("bench_statement", metadata, Column("id", Integer, primary_key=True), Column("v", Integer),
                  Column("s", Text))
    engine = create_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    statement = update(table).where(table.c.id == bindparam("i")).values(v=bindparam("vv"), s=bindparam("ss"))
    try:
        with engine.begin() as connection:
            connection.execute(insert(table).values(id=1, v=0, s=""))
        with engine.connect() as connection:
            timed("statement, Core prebuilt", lambda k: connection.execute(statement, {"i": 1, "vv": k, "ss": "a"}),
                  count * 5)
            raw = connection.connection.dbapi_connection
            if engine.dialect.name == "sqlite":
                cursor = raw.cursor()
                timed("statement, raw cursor", lambda k: cursor.execute(
                    "UPDATE bench_statement SET v = ?, s = ? WHERE id = ?", (k, "a", 1)), count * 5)
            else:
                timed("statement, raw cursor", lambda k: raw.execute(
                    "UPDATE bench_statement SET v = %s, s = %s WHERE id = %s", (k, "a", 1)), count * 5)
            connection.rollback()
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def run(label: str, url: str, steps: int) -> None:
    print(f"{label}:")
    runtime = prepare_database(url, load_settings(), SystemClock())
    try:
        case = Case(runtime)
        for name, step in (("orm", orm_step), ("core", core_step), ("orm", orm_step), ("core", core_step)):
            timed(f"unit of work, {name}", lambda k, step=step: step(runtime, case, k), steps)
    finally:
        runtime.close()
    per_statement(url, steps)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="units of work per target (default 300)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="URL")
    group.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="complaintflow-uow-") as tmp:
        run("SQLite", f"sqlite:///{Path(tmp) / 'uow.db'}", args.steps)
    if not args.no_postgres:
        url = postgres_bench_url(args.postgres, BENCH_DATABASE)
        if url:
            run("PostgreSQL", url, args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
