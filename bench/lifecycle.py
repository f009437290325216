"""Full complaint lifecycles per second: SpiffWorkflow in memory vs. persisted on SQLite and PostgreSQL.

    .venv/bin/python bench/lifecycle.py [--count N] [--warmup N] [--postgres URL | --no-postgres]
                                        [--profile FILE]

Four targets run the same BPMN (processes/complaint_handling.bpmn + escalation.bpmn) with the same start data
and answers (app.engine.demo.simulation.answer/registration, same complaint numbers, so the same rejections,
reopenings and department counts):

  spiff       THE BASELINE: SpiffWorkflow alone. Its own SpiffBpmnParser, its default PythonScriptEngine with
              the default TaskDataEnvironment, given only what the diagrams call as plain functions in its
              globals (``sla_due_at``: now + a fixed duration per SLA name; ``sla_defined``; ``now_iso``; ``is_urgent``: the
              shipped urgency rule written out) and the one method
              SpiffWorkflow leaves to the integrator (``call_service``, returning a small JSON result). Start
              data and answers are built before the clock starts. No project code runs while timed.
  project     the project's own in-memory runner: parse_process, runner.start with the SandboxedScriptEngine
              and script_functions, runner.complete_user_task for each ready task. No database.
  sqlite      app.simulate.simulate on a fresh temp-file database (schema upgraded, demo data loaded):
              every registration and every task completion is its own unit of work (load, step, save).
  postgresql  the same on database ``complaintflow_bench`` (created if missing) on the server of --postgres;
              the test suite's own database ``test`` is never written to.

Then the stored state: the average per closed case, and its growth per rejection and per reopening (cases
with 0..3 of each, persisted on SQLite); the growth must be linear.

The ratio printed per target is spiff rate / target rate, from the same run. See bench/README.md.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("COMPLAINTFLOW_PASSWORD_HASH", "pbkdf2:sha256:1000")  # demo users only; keeps setup fast
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.composition import build_runtime
from app.engine.complaints.registration import COMPLAINT_PROCESS, new_tracking_number, start_data
from app.engine.config.settings import load_settings
from app.engine.core.clock import SystemClock
from app.engine.core.db import Database
from app.engine.deadlines.expressions import script_functions
from app.engine.demo.simulation import answer, sample_registration
from app.engine.models import (
    Complaint,
    schema,
)
from app.engine.runtime import Runtime
from app.engine.workflow import runner
from app.engine.workflow.parsing import parse_process
from app.engine.workflow.scripting import SandboxedScriptEngine
from app.simulate import simulate

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = "complaintflow_bench"
PROCESS_FILES = ("complaint_handling.bpmn", "escalation.bpmn")
AIM = {"sqlite": 2.0, "postgresql": 3.0}  # issue 15: persisted within 2x (SQLite), 3x (PostgreSQL) of spiff


@dataclass
class Measurement:
    target: str
    lifecycles: int
    tasks: int
    seconds: float
    cpu_seconds: float            # this process only (not the PostgreSQL server); robust against a busy machine
    state_bytes: float | None = None

    @property
    def rate(self) -> float:
        return self.lifecycles / self.seconds

    @property
    def ms_per_lifecycle(self) -> float:
        return 1000 * self.seconds / self.lifecycles

    @property
    def cpu_ms_per_lifecycle(self) -> float:
        return 1000 * self.cpu_seconds / self.lifecycles

    @property
    def tasks_per_lifecycle(self) -> float:
        return self.tasks / self.lifecycles


# --- SpiffWorkflow alone (the baseline) -------------------------------------------------------------------

# What the diagrams' timer expressions get in the baseline: a fixed duration per SLA name, no calendar.
BASELINE_SLA_DAYS = {"first_response": 1, "decision": 15, "urgent_handling": 3, "feedback_wait": 7}


def baseline_sla_due_at(sla_name, start_iso=None, product=None):
    start = datetime.fromisoformat(start_iso) if start_iso else datetime.now(UTC)
    return (start + timedelta(days=BASELINE_SLA_DAYS.get(sla_name, 15))).isoformat()


def baseline_sla_defined(sla_name):
    """The baseline's profile: the shipped default (China), whose SLAs the diagram's regime paths ask for."""
    return sla_name in BASELINE_SLA_DAYS or sla_name in ("verification_request", "verification")


def baseline_now_iso():
    return datetime.now(UTC).isoformat()


def baseline_is_urgent(category, severity):
    return severity == "urgent" or category == "fund_security"   # config/sla.toml [urgency] as shipped


class ServiceEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's default environment; ``call_service`` is the method it leaves to the integrator."""

    def call_service(self, context, operation_name=None, operation_params=None, **kwargs):
        return json.dumps({"message_id": 1, "operator": operation_name})


class SpiffAlone:
    """SpiffWorkflow driven directly, as its documentation shows: parse, start, complete ready manual tasks."""

    def __init__(self, settings, plans):
        parser = SpiffBpmnParser()
        parser.add_bpmn_files([str(settings.processes_dir / name) for name in PROCESS_FILES])
        self.spec = parser.get_spec(COMPLAINT_PROCESS)
        self.subprocess_specs = parser.get_subprocess_specs(COMPLAINT_PROCESS)
        self.plans = plans

    def lifecycle(self, n: int) -> int:
        start, answers = self.plans[n]
        engine = PythonScriptEngine(environment=ServiceEnvironment(
            {"sla_due_at": baseline_sla_due_at, "sla_defined": baseline_sla_defined, "now_iso": baseline_now_iso,
             "is_urgent": baseline_is_urgent}))
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=engine)
        workflow.task_tree.data.update(start)
        workflow.do_engine_steps()
        self.after_unit(n)
        seen: dict = {}
        visits: dict[str, int] = {}
        completed = 0
        while True:
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            for task in ready:
                seen.setdefault(task.id, len(seen))
            task = min(ready, key=lambda t: seen[t.id])
            element = task.task_spec.bpmn_id
            visits[element] = visits.get(element, 0) + 1
            task.data.update(answers[element, visits[element]])
            task.run()
            workflow.do_engine_steps()
            self.after_unit(n)
            completed += 1
        if not workflow.is_completed():
            raise RuntimeError(f"spiff lifecycle {n} stopped with no ready task but is not completed")
        return completed

    def after_unit(self, n: int) -> None:
        """Nothing: SpiffWorkflow alone keeps nothing between steps."""

    target = "spiff"

    def run(self, start: int, count: int) -> Measurement:
        began, cpu, tasks = time.perf_counter(), time.process_time(), 0
        for n in range(start, start + count):
            tasks += self.lifecycle(n)
        return Measurement(self.target, count, tasks, time.perf_counter() - began, time.process_time() - cpu)


class DurableFloor(SpiffAlone):
    """The floor any persisted design stands on: SpiffWorkflow alone, plus after every unit of work (the start,
    each completion) the least a durable step writes, on the raw driver: one version-checked UPDATE of the
    instance's state (a fixed text of the average stored size: no serialization is counted) and one INSERT (the
    audit line), then COMMIT with the project's durability settings (SQLite: WAL, synchronous=FULL, as
    app/engine/db.py leaves it; PostgreSQL: the server's defaults, synchronous_commit on). No ORM, no forms,
    letters or audit of the product: whatever the project does costs on top of this."""

    STATE_BYTES = 28_000  # about the average stored state per closed case (see the summary line)

    def __init__(self, settings, plans, target: str, connect):
        super().__init__(settings, plans)
        self.target = target
        self.connection, self.placeholder = connect()
        p = self.placeholder
        self.connection_execute("DROP TABLE IF EXISTS floor_instances")
        self.connection_execute("DROP TABLE IF EXISTS floor_audit")
        self.connection_execute("CREATE TABLE floor_instances (id INTEGER PRIMARY KEY, state TEXT, version INTEGER)")
        serial = "INTEGER PRIMARY KEY" if p == "?" else "SERIAL PRIMARY KEY"
        self.connection_execute(f"CREATE TABLE floor_audit (id {serial}, instance_id INTEGER, "
                                "action TEXT, detail TEXT)")
        self.commit()
        self.update = f"UPDATE floor_instances SET state = {p}, version = version + 1 WHERE id = {p} AND version = {p}"
        self.insert = f"INSERT INTO floor_audit (instance_id, action, detail) VALUES ({p}, {p}, {p})"
        self.versions: dict[int, int] = {}
        self.state = "x" * self.STATE_BYTES

    def connection_execute(self, sql, params=()):
        return self.connection.execute(sql, params)

    def commit(self):
        self.connection.commit()

    def after_unit(self, n: int) -> None:
        version = self.versions.get(n)
        if version is None:
            self.connection_execute(f"INSERT INTO floor_instances (id, state, version) VALUES "
                                    f"({self.placeholder}, '', 0)", (n,))
            version = 0
        cursor = self.connection_execute(self.update, (self.state, n, version))
        if cursor.rowcount != 1:
            raise RuntimeError("lost the version check")
        self.versions[n] = version + 1
        self.connection_execute(self.insert, (n, "task_completed", '{"data": {}}'))
        self.commit()

    def close(self):
        self.connection.rollback()  # whatever a failed run left open
        self.connection_execute("DROP TABLE floor_instances")
        self.connection_execute("DROP TABLE floor_audit")
        self.commit()
        self.connection.close()


def sqlite_floor_connection(path: Path):
    import sqlite3

    def connect():
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection, "?"
    return connect


def postgres_floor_connection(url: str):
    import psycopg

    def connect():
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(plain), "%s"
    return connect


ELEMENTS = ("classify_complaint", "triage_complaint", "investigate_complaint", "draft_resolution",
            "approve_resolution", "record_feedback", "decide_reopen")


def plans(memory: InMemory, numbers) -> dict[int, tuple[dict, dict]]:
    """Start data and every answer a lifecycle may need, built before any clock starts."""
    return {n: (memory._start_data(n), {(e, v): answer(n, e, v, memory.departments)
                                        for e in ELEMENTS for v in range(1, 13)}) for n in numbers}


# --- in memory -------------------------------------------------------------------------------------------

class InMemory:
    """The project's runner in memory: the same specs, sandbox and answers as the persisted run, nothing stored."""

    def __init__(self, settings, clock):
        files = {name: (settings.processes_dir / name).read_bytes() for name in PROCESS_FILES}
        self.spec, self.subprocess_specs = parse_process(files, COMPLAINT_PROCESS)
        self.settings, self.clock = settings, clock
        self.departments = sorted(settings.departments)
        self.functions = script_functions(clock, settings)

    def _call_service(self, task, operation_name, params):
        return {"message_id": 1, "sent_at": self.clock.now().isoformat(), "operator": operation_name}

    def _start_data(self, n: int) -> dict:
        # The rows register_complaint would write, as a transient object, so start_data is the real one.
        data, now = sample_registration(n), self.clock.now()
        complaint = Complaint(id=n + 1, tracking_number=new_tracking_number(now), customer_name=data["customer_name"],
                              customer_contact=data["customer_contact"], channel=data["channel"],
                              product=data["product"], category=data["category"], severity=data["severity"],
                              urgent=data["severity"] == "urgent" or data["category"] == "fund_security",
                              amount_involved=Decimal(data["amount_involved"]), description=data["description"],
                              received_at=now)
        return start_data(complaint)

    def lifecycle(self, n: int) -> int:
        engine = SandboxedScriptEngine(self.functions, self._call_service, clock=self.clock)
        workflow = runner.start(self.spec, self.subprocess_specs, engine, self._start_data(n))
        seen: dict[str, int] = {}   # task id -> order first seen ready, like the UserTask row ids simulate orders by
        visits: dict[str, int] = {}
        completed = 0
        while True:
            ready = runner.ready_user_tasks(workflow)
            if not ready:
                break
            for task in ready:
                seen.setdefault(task.task_id, len(seen))
            task = min(ready, key=lambda t: seen[t.task_id])
            visits[task.element_id] = visits.get(task.element_id, 0) + 1
            runner.complete_user_task(workflow, task.task_id,
                                      answer(n, task.element_id, visits[task.element_id], self.departments))
            completed += 1
        if not runner.is_completed(workflow):
            raise RuntimeError(f"in-memory lifecycle {n} stopped with no ready task but is not completed")
        return completed

    def run(self, start: int, count: int) -> Measurement:
        began, cpu, tasks = time.perf_counter(), time.process_time(), 0
        for n in range(start, start + count):
            tasks += self.lifecycle(n)
        return Measurement("project", count, tasks, time.perf_counter() - began, time.process_time() - cpu)


# --- persisted -------------------------------------------------------------------------------------------

def prepare_database(url: str, settings, clock) -> Runtime:
    database = Database(url)
    schema.drop_everything(database)
    schema.upgrade(database)
    database.dispose()
    runtime = build_runtime(url, clock=clock, settings=settings)
    from app.engine.demo.loader import load_demo
    with runtime.unit_of_work() as uow:
        load_demo(uow)
    return runtime


def average_state_bytes(runtime: Runtime) -> float:
    length = "octet_length(state)" if runtime.database.is_postgresql else "length(CAST(state AS BLOB))"
    with runtime.database.engine.connect() as connection:
        value = connection.execute(text(f"SELECT avg({length}) FROM process_instances "
                                        "WHERE status = 'completed'")).scalar()
    return float(value or 0)


def run_persisted(target: str, runtime: Runtime, warmup: int, count: int, profile: str | None = None) -> Measurement:
    simulate(runtime, warmup, start=0)
    # CPU time, not wall time: on a shared machine the waits for the CPU would otherwise land on random functions.
    profiler = cProfile.Profile(time.process_time) if profile else None
    if profiler:
        profiler.enable()
    cpu = time.process_time()
    result = simulate(runtime, count, start=warmup)
    cpu = time.process_time() - cpu
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    return Measurement(target, result.complaints, result.tasks_completed, result.seconds, cpu,
                       average_state_bytes(runtime))


def postgres_bench_url(server_url: str, database: str = BENCH_DATABASE) -> str | None:
    """Create ``complaintflow_bench`` on the server of ``server_url`` if missing; None if unreachable."""
    import psycopg

    url = make_url(server_url)
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=3) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{database}"')
    except psycopg.Error as err:
        print(f"postgresql  skipped: {url.render_as_string(hide_password=True)} is unreachable "
              f"({type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''})")
        return None
    return url.set(database=database).render_as_string(hide_password=False)


# --- stored state growth ---------------------------------------------------------------------------------

def _growth_answer(n: int, rejections: int, reopenings: int, departments):
    def respond(element: str, visits: int) -> dict:
        if element == "approve_resolution":
            return ({"approval_decision": "reject", "approval_comment": "Explain the root cause"}
                    if visits <= rejections else {"approval_decision": "approve"})
        if element == "record_feedback":
            satisfied = visits > reopenings
            return {"customer_satisfied": satisfied, "satisfaction_rating": 5 if satisfied else 2}
        if element == "decide_reopen":
            return {"reopen_target": "investigation", "reopen_reason": "Customer disputes the amount"}
        return answer(n, element, 1, departments)
    return respond


def closed_case_state_bytes(runtime: Runtime, rejections: int, reopenings: int, n: int = 1) -> int:
    """Run one complaint (``n`` fixes its departments) with that many rejections and reopenings to its end,
    through the real services, and return the stored state of its instance(s)."""
    from sqlalchemy import select

    from app.engine.complaints import registration
    from app.engine.identity.users import actor_for
    from app.engine.models import ProcessInstance, User, UserTask
    from app.engine.work import user_tasks

    respond = _growth_answer(n, rejections, reopenings, sorted(runtime.settings.departments))
    with runtime.unit_of_work() as uow:
        actors = [actor_for(u) for u in uow.session.scalars(select(User).order_by(User.id))]
        registrar = next(a for a in actors if "intake_agent" in a.roles)
        complaint_id = registration.register_complaint(uow, registrar, sample_registration(n)).id
    visits: dict[str, int] = {}
    while True:
        with runtime.unit_of_work() as uow:
            task = uow.session.scalars(select(UserTask).where(UserTask.complaint_id == complaint_id,
                                                              UserTask.state == "ready").order_by(UserTask.id)).first()
            if task is None:
                break
            actor = next(a for a in actors if a.is_staff and user_tasks.may_work_on(a, task))
            visits[task.element_id] = visits.get(task.element_id, 0) + 1
            user_tasks.complete_user_task(uow, actor, task.id, respond(task.element_id, visits[task.element_id]))
    with runtime.unit_of_work() as uow:
        rows = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.complaint_id == complaint_id)).all()
        assert all(r.status == "completed" for r in rows), "the growth lifecycle did not finish"
        return sum(len(r.state.encode()) for r in rows)


def state_growth(settings, clock, loops: int = 3) -> None:
    with tempfile.TemporaryDirectory(prefix="complaintflow-state-") as tmp:
        runtime = prepare_database(f"sqlite:///{Path(tmp) / 'state.db'}", settings, clock)
        try:
            base = closed_case_state_bytes(runtime, 0, 0)
            rejected = [closed_case_state_bytes(runtime, k, 0) for k in range(1, loops + 1)]
            reopened = [closed_case_state_bytes(runtime, 0, k) for k in range(1, loops + 1)]
        finally:
            runtime.close()
    print(f"\nStored state of one closed case (2 departments): {base:,} bytes with no rejection or reopening")
    for label, sizes in (("rejection", rejected), ("reopening", reopened)):
        steps = [b - a for a, b in zip([base, *sizes], sizes, strict=False)]
        linear = max(steps) <= 1.25 * min(steps) and min(steps) > 0
        print(f"  per {label:<10} " + "  ".join(f"{k}: {size:,} B (+{step:,})" for k, (size, step)
                                                  in enumerate(zip(sizes, steps, strict=False), start=1))
              + f"   growth {'linear' if linear else 'NOT linear'} (about +{sum(steps) / len(steps) / 1024:.1f} KB each)")


# --- report ----------------------------------------------------------------------------------------------

def line(m: Measurement, baseline: Measurement | None) -> str:
    text_ = (f"{m.target:<11} {m.rate:7.1f} lifecycles/s  {m.ms_per_lifecycle:7.2f} ms/lifecycle  "
             f"{m.tasks_per_lifecycle:5.2f} tasks/lifecycle  (cpu {m.cpu_ms_per_lifecycle:6.2f} ms)")
    if baseline is not None:
        text_ += (f"  {baseline.rate / m.rate:5.2f}x the time of {baseline.target} "
                  f"(cpu {m.cpu_seconds / m.lifecycles / (baseline.cpu_seconds / baseline.lifecycles):5.2f}x)")
    return text_


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="timed lifecycles per target (default 100)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed lifecycles first (default 5)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="URL",
                       help=f"server to use; the bench runs in database {BENCH_DATABASE!r} there "
                            f"(default {DEFAULT_POSTGRES})")
    group.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--database", default=BENCH_DATABASE,
                        help=f"database on that server to reset and use (default {BENCH_DATABASE!r})")
    parser.add_argument("--no-growth", action="store_true", help="skip the state growth measurement")
    parser.add_argument("--no-floor", action="store_true", help="skip the durability floor targets")
    parser.add_argument("--profile", metavar="FILE",
                        help="write a cProfile (CPU time) of the timed SQLite run to FILE; prints the top functions")
    args = parser.parse_args(argv)

    settings, clock = load_settings(), SystemClock()
    print(f"{args.count} timed lifecycles per target after {args.warmup} warm-up; complaint numbers "
          f"{args.warmup}..{args.warmup + args.count - 1}")

    memory = InMemory(settings, clock)
    spiff = SpiffAlone(settings, plans(memory, range(args.warmup + args.count)))
    for n in range(args.warmup):
        spiff.lifecycle(n)
        memory.lifecycle(n)
    baseline = spiff.run(args.warmup, args.count)
    print(line(baseline, None))
    project = memory.run(args.warmup, args.count)
    print(line(project, baseline))

    results: list[Measurement] = []
    skipped: list[str] = []
    floors: dict[str, Measurement] = {}
    pg_url = None if args.no_postgres else postgres_bench_url(args.postgres, args.database)
    if not args.no_floor:
        with tempfile.TemporaryDirectory(prefix="complaintflow-floor-") as tmp:
            connections = [("sqlite", sqlite_floor_connection(Path(tmp) / "floor.db"))]
            if pg_url:
                connections.append(("postgresql", postgres_floor_connection(pg_url)))
            for target, connect in connections:
                floor = DurableFloor(settings, spiff.plans, f"{target} floor", connect)
                try:
                    for n in range(args.warmup):
                        floor.lifecycle(n)
                    floors[target] = floor.run(args.warmup, args.count)
                finally:
                    floor.close()
                print(line(floors[target], baseline))

    with tempfile.TemporaryDirectory(prefix="complaintflow-bench-") as tmp:
        runtime = prepare_database(f"sqlite:///{Path(tmp) / 'bench.db'}", settings, clock)
        try:
            results.append(run_persisted("sqlite", runtime, args.warmup, args.count, args.profile))
        finally:
            runtime.close()
        print(line(results[-1], baseline))

    if not args.no_postgres:
        url = pg_url
        if url is None:
            skipped.append("postgresql")
        else:
            runtime = prepare_database(url, settings, clock)
            try:
                results.append(run_persisted("postgresql", runtime, args.warmup, args.count))
            finally:
                runtime.close()
            print(line(results[-1], baseline))

    for m in [project, *results]:
        if m.tasks != baseline.tasks:
            print(f"WARNING: {m.target} completed {m.tasks} tasks, spiff {baseline.tasks}: the runs differ")

    print()
    print("Summary (ratios to SpiffWorkflow alone, same run; aim: SQLite within 2x, PostgreSQL within 3x)")
    def cpu_ratio(m):  # this process's CPU only: steadier on a shared machine, but blind to the server's
        return (m.cpu_seconds / m.lifecycles) / (baseline.cpu_seconds / baseline.lifecycles)

    print(f"  {'project':<11} {baseline.rate / project.rate:5.2f}x  (cpu {cpu_ratio(project):5.2f}x; in memory)")
    for m in results:
        ratio = baseline.rate / m.rate
        print(f"  {m.target:<11} {ratio:5.2f}x  (cpu {cpu_ratio(m):5.2f}x)  "
              f"{'met' if ratio <= AIM[m.target] else 'not met'}   "
              f"average stored state per closed case {m.state_bytes:,.0f} bytes")
    for target in skipped:
        print(f"  {target:<11} skipped (unreachable)")
    if floors:
        print("Durability floor (SpiffWorkflow alone + one state UPDATE, one INSERT and a COMMIT per unit of work on the "
              "raw driver): what any persisted design pays before doing the product's work")
        for target, floor in floors.items():
            budget = AIM[target] * baseline.ms_per_lifecycle - floor.ms_per_lifecycle
            print(f"  {target:<11} floor {baseline.rate / floor.rate:5.2f}x the time of spiff "
                  f"({floor.ms_per_lifecycle:.2f} ms/lifecycle); left at the aim of {AIM[target]:g}x for everything "
                  f"else the product does (ORM, state serialization, forms, letters, audit, authorization): "
                  f"{budget:.2f} ms/lifecycle, {budget / floor.tasks_per_lifecycle:.2f} ms per task")
    if not args.no_growth:
        state_growth(settings, clock)
    if args.profile:
        print(f"\ncProfile (CPU time) of the timed SQLite run written to {args.profile}; top 25 by cumulative time:")
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)
        print("Top 10 by self time:")
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
