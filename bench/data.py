"""Bulk data for the benchmarks: many realistic complaints, loaded in seconds instead of hours.

A handful of *template* complaints run through the real engine (real registration, real task completions,
real timers, audit events and outbox messages) and stop at different stages; closed ones run to the end,
with rejections, reopenings and one to three departments. Their rows are then cloned with new ids, tracking
numbers, customers and times, and written with bulk inserts (``COPY`` on PostgreSQL), never through HTTP.
Each clone's workflow state is the template's (with its facts rewritten), so any open clone can be worked on
through the API like a case registered by hand.

    from bench.data import load_complaints
    summary = load_complaints(runtime, total=20_000, open_=5_000)

Used by bench/http.py and bench/timers.py; the page benchmarks of the staff workspace can reuse it.
"""
from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Table, func, select, text

from app.engine.complaints import registration
from app.engine.demo.simulation import answer, sample_registration
from app.engine.identity.users import actor_for
from app.engine.models import AuditEvent, Complaint, OutboxMessage, ProcessInstance, Timer, User, UserTask
from app.engine.work import user_tasks

# Stages an open template stops at: how many user tasks were completed after registration.
OPEN_STAGES = (0, 1, 2, 3, 4, 5, 6)
CLOSED_TEMPLATES = 8       # complaint numbers 0..7: every mix of rejection, reopening and 1-3 departments
FIRST_NAMES = ("Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma",
               "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo", "Anna", "James", "Maria", "David", "Sarah", "Tom",
               "Emma", "Oliver", "Sophie", "Daniel")
LAST_NAMES = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Yan", "Jun", "Hui", "Ping", "Smith", "Jones", "Brown",
              "Taylor", "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Chan", "Leung", "Wong",
              "Ho", "Cheung", "Lau", "Tang", "Ng", "Kwok", "Tsang")
# Cloned tables, parents first; the columns that point at a cloned parent.
CLONED = (Complaint, ProcessInstance, UserTask, Timer, AuditEvent, OutboxMessage)
PARENTS = {"complaint_id": "complaints", "instance_id": "process_instances", "task_id": "tasks"}


@dataclass
class Template:
    complaint_id: int
    is_open: bool
    made_at: datetime
    rows: dict[str, list[dict]] = field(default_factory=dict)   # table name -> rows (column -> value)


@dataclass
class LoadSummary:
    complaints: int
    open: int
    templates: int
    rows: dict[str, int]
    seconds: float


# --- templates: real lifecycles through the real engine --------------------------------------------------

def _actors(runtime):
    with runtime.unit_of_work() as uow:
        return [actor_for(u) for u in uow.session.scalars(select(User).where(User.active.is_(True))
                                                          .order_by(User.id))]


def run_template(runtime, actors, n: int, stop_after: int | None) -> int:
    """Register complaint ``n`` and complete ``stop_after`` user tasks (all of them when None)."""
    registrar = next(a for a in actors if "intake_agent" in a.roles)
    departments = sorted(runtime.settings.departments)
    with runtime.unit_of_work() as uow:
        complaint_id = registration.register_complaint(uow, registrar, sample_registration(n)).id
    visits: dict[str, int] = {}
    done = 0
    while stop_after is None or done < stop_after:
        with runtime.unit_of_work() as uow:
            task = uow.session.scalars(select(UserTask).where(UserTask.complaint_id == complaint_id,
                                                              UserTask.state == "ready")
                                       .order_by(UserTask.id)).first()
            if task is None:
                break
            actor = next(a for a in actors if user_tasks.may_work_on(a, task, uow.session.get(Complaint,
                                                                                              complaint_id)))
            visits[task.element_id] = visits.get(task.element_id, 0) + 1
            user_tasks.complete_user_task(uow, actor, task.id, answer(n, task.element_id,
                                                                      visits[task.element_id], departments))
        done += 1
    return complaint_id


def make_templates(runtime, *, first_number: int = 0) -> list[Template]:
    actors = _actors(runtime)
    made: list[tuple[int, bool, datetime]] = []
    for i in range(CLOSED_TEMPLATES):
        made.append((run_template(runtime, actors, first_number + i, None), False, runtime.clock.now()))
    for i, stage in enumerate(OPEN_STAGES):
        n = first_number + CLOSED_TEMPLATES + i
        made.append((run_template(runtime, actors, n, stage), True, runtime.clock.now()))
    templates = []
    with runtime.database.engine.connect() as connection:
        for complaint_id, is_open, made_at in made:
            status = connection.execute(select(Complaint.status).where(Complaint.id == complaint_id)).scalar()
            template = Template(complaint_id, is_open and status != "closed", made_at)
            template.rows = _template_rows(connection, complaint_id)
            templates.append(template)
    return templates


def _template_rows(connection, complaint_id: int) -> dict[str, list[dict]]:
    rows = {}
    for model in CLONED:
        table = model.__table__
        key = table.c.id if model is Complaint else table.c.complaint_id
        rows[table.name] = [dict(r._mapping) for r in connection.execute(
            select(table).where(key == complaint_id).order_by(table.c.id))]
    return rows


# --- clones ----------------------------------------------------------------------------------------------

def _replacer(template: Template, new: dict, new_complaint_id: int):
    old = template.rows["complaints"][0]
    pairs = [(old[k], new[k]) for k in ("tracking_number", "customer_name", "customer_contact")]
    id_pattern = re.compile(rf'("complaint_id": ?){template.complaint_id}\b')

    def replace(value):
        if isinstance(value, str):
            for a, b in pairs:
                if a in value:
                    value = value.replace(a, b)
            if '"complaint_id"' in value:
                value = id_pattern.sub(lambda m: m.group(1) + str(new_complaint_id), value)
            return value
        if isinstance(value, dict):
            out = {k: replace(v) if isinstance(v, str) else v for k, v in value.items()}
            if out.get("complaint_id") == template.complaint_id:
                out["complaint_id"] = new_complaint_id
            return out
        return value

    return replace


def _shift(template: Template, rng: random.Random, now: datetime) -> timedelta:
    """How far back the clone's times move. Open cases spread over their SLA, about one in eleven overdue;
    closed ones over the past year."""
    if not template.is_open:
        return timedelta(days=rng.uniform(1, 365))
    due = template.rows["complaints"][0]["due_at"]
    if due is None:
        return timedelta(hours=rng.uniform(0, 72))
    # The clone is that share of its SLA in: it looks made at now - share * (due - made).
    return (due - template.made_at) * rng.uniform(0, 1.1) - (now - template.made_at)


class _Ids:
    def __init__(self, connection):
        self.next = {}
        for model in CLONED:
            table = model.__table__
            self.next[table.name] = (connection.execute(select(func.max(table.c.id))).scalar() or 0) + 1

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def clone_rows(template: Template, ids: _Ids, number: int, rng: random.Random, now: datetime) -> dict:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    shift = _shift(template, rng, now)
    old = template.rows["complaints"][0]
    complaint_id = ids.take("complaints")
    received = old["received_at"] - shift
    new = {"tracking_number": f"CF-{received:%Y%m%d}-{number:08X}", "customer_name": f"{first} {last}",
           "customer_contact": f"{first}.{last}.{number}@example.com".lower()}
    replace = _replacer(template, new, complaint_id)
    mapping = {"complaints": {old["id"]: complaint_id}}
    out: dict[str, list[dict]] = {}
    for model in CLONED:
        table = model.__table__
        new_rows = []
        for row in template.rows[table.name]:
            clone = {}
            for column in table.columns:
                value = row[column.name]
                if value is None:
                    clone[column.name] = None
                elif column.name == "id":
                    clone["id"] = complaint_id if table.name == "complaints" else ids.take(table.name)
                    mapping.setdefault(table.name, {})[value] = clone["id"]
                elif column.name in PARENTS and PARENTS[column.name] in mapping and \
                        value in mapping[PARENTS[column.name]]:
                    clone[column.name] = mapping[PARENTS[column.name]][value]
                elif isinstance(value, datetime):
                    clone[column.name] = value - shift
                elif column.name in new and table.name == "complaints":
                    clone[column.name] = new[column.name]
                elif column.unique and isinstance(value, str):
                    clone[column.name] = f"{value}#{number}"
                else:
                    clone[column.name] = replace(value) if isinstance(value, (str, dict)) else value
            new_rows.append(clone)
        out[table.name] = new_rows
    return out


# --- bulk writing ----------------------------------------------------------------------------------------

def _copy_value(value):
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def write_rows(connection, table: Table, rows: list[dict]) -> None:
    """Insert many rows: ``COPY`` on PostgreSQL, an executemany elsewhere."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    names = [c.name for c in table.columns]
    raw = connection.connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_copy_value(row[name]) for name in names])


def _reset_sequences(connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    for model in CLONED:
        name = model.__table__.name
        connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                f"(SELECT coalesce(max(id), 1) FROM {name}))"))


def load_complaints(runtime, *, total: int, open_: int, seed: int = 7, batch: int = 2000,
                    templates: list[Template] | None = None, progress=None) -> LoadSummary:
    """Bring the database to ``total`` complaints of which ``open_`` are open (templates included).

    Needs the schema, the demo users and the process definitions (``load_demo``) in place."""
    began = time.perf_counter()
    templates = templates if templates is not None else make_templates(runtime)
    open_templates = [t for t in templates if t.is_open]
    closed_templates = [t for t in templates if not t.is_open]
    open_clones = max(0, open_ - len(open_templates))
    closed_clones = max(0, total - open_ - len(closed_templates))
    rng, now = random.Random(seed), runtime.clock.now()
    counts = {model.__table__.name: 0 for model in CLONED}
    plan = [open_templates[i % len(open_templates)] for i in range(open_clones)] + \
           [closed_templates[i % len(closed_templates)] for i in range(closed_clones)]
    rng.shuffle(plan)
    with runtime.database.engine.begin() as connection:
        ids = _Ids(connection)
        numbers = ids.next["complaints"]
        for start in range(0, len(plan), batch):
            chunk: dict[str, list[dict]] = {model.__table__.name: [] for model in CLONED}
            for offset, template in enumerate(plan[start:start + batch]):
                for name, rows in clone_rows(template, ids, numbers + start + offset, rng, now).items():
                    chunk[name].extend(rows)
            for model in CLONED:
                table = model.__table__
                write_rows(connection, table, chunk[table.name])
                counts[table.name] += len(chunk[table.name])
            if progress:
                progress(min(start + batch, len(plan)), len(plan))
        _reset_sequences(connection)
    if runtime.database.is_postgresql:
        with runtime.database.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return LoadSummary(complaints=len(templates) + len(plan), open=len(open_templates) + open_clones,
                       templates=len(templates), rows=counts, seconds=time.perf_counter() - began)


__all__ = ["LoadSummary", "Template", "clone_rows", "load_complaints", "make_templates", "run_template",
           "write_rows"]
