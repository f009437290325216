"""Does compressing the stored workflow state (zlib) or storing it as JSONB on PostgreSQL pay? (issue 15)

    .venv/bin/python bench/state_storage.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/bench_state]
                                            [--lifecycles 10] [--rounds 3]

Real states: the project's runner drives --lifecycles complaint lifecycles in memory and keeps the state after every
completed task (as a step would write it). Then, alternately and in one process, for each way of storing: one
UPDATE of a row with the state + commit + reading it back + ``json.loads`` per state, as a step and the next cold
step would (text, zlib level 1 bytes, and on PostgreSQL jsonb); SQLite on a temp file in WAL mode as the app runs
it. Printed: wall and client CPU per write+read, and the sizes. The table ``bench_state`` is created in the
database at --url and dropped at the end (the database is created if missing).
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_state"


def states(count: int) -> list[str]:
    from app.engine.config.settings import load_settings
    from app.engine.core.clock import SystemClock
    from app.engine.demo.simulation import answer
    from app.engine.workflow import runner
    from app.engine.workflow.scripting import SandboxedScriptEngine
    from app.engine.workflow.serialization import dump_state
    from bench.lifecycle import InMemory

    memory = InMemory(load_settings(), SystemClock())
    kept = []
    for n in range(5, 5 + count):
        workflow = runner.start(memory.spec, memory.subprocess_specs,
                                SandboxedScriptEngine(memory.functions, memory._call_service), memory._start_data(n))
        visits: dict[str, int] = {}
        while ready := runner.ready_user_tasks(workflow):
            task = ready[0]
            visits[task.element_id] = visits.get(task.element_id, 0) + 1
            runner.complete_user_task(workflow, task.task_id,
                                      answer(n, task.element_id, visits[task.element_id], memory.departments))
            kept.append(dump_state(workflow))
    return kept


def timed(run, items) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        run(item)
    return (1000 * (time.perf_counter() - wall) / len(items), 1000 * (time.process_time() - cpu) / len(items))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--lifecycles", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import psycopg
    from sqlalchemy.engine import make_url

    from bench.http_load import ensure_database

    texts = states(args.lifecycles)
    packed = [zlib.compress(t.encode(), 1) for t in texts]
    print(f"{len(texts)} states: {sum(map(len, texts)) / len(texts):,.0f} bytes of JSON on average, "
          f"{sum(map(len, packed)) / len(packed):,.0f} with zlib level 1")

    ensure_database(args.url)
    plain = make_url(args.url).set(drivername="postgresql").render_as_string(hide_password=False)
    pg = psycopg.connect(plain)
    pg.execute("DROP TABLE IF EXISTS bench_state")
    pg.execute("CREATE TABLE bench_state (id int PRIMARY KEY, t text, b bytea, j jsonb)")
    pg.execute("INSERT INTO bench_state VALUES (1, '', '', '{}')")
    pg.commit()
    folder = tempfile.mkdtemp(prefix="complaintflow-state-")
    lite = sqlite3.connect(os.path.join(folder, "state.db"), isolation_level=None)
    lite.execute("PRAGMA journal_mode=WAL")
    lite.execute("CREATE TABLE bench_state (id int PRIMARY KEY, t text, b blob)")
    lite.execute("INSERT INTO bench_state VALUES (1, '', '')")

    def pg_run(column, encode, decode):
        def run(state):
            pg.execute(f"UPDATE bench_state SET {column} = %s WHERE id = 1", (encode(state),))
            pg.commit()
            value = pg.execute(f"SELECT {column}{'::text' if column == 'j' else ''} FROM bench_state "
                               "WHERE id = 1").fetchone()[0]
            json.loads(decode(value))
            pg.commit()
        return run

    def lite_run(column, encode, decode):
        def run(state):
            lite.execute("BEGIN IMMEDIATE")
            lite.execute(f"UPDATE bench_state SET {column} = ? WHERE id = 1", (encode(state),))
            lite.execute("COMMIT")
            json.loads(decode(lite.execute(f"SELECT {column} FROM bench_state WHERE id = 1").fetchone()[0]))
        return run

    def same(value):
        return value

    def compress(state):
        return zlib.compress(state.encode(), 1)

    ways = [("postgresql text", pg_run("t", same, same)),
            ("postgresql zlib", pg_run("b", compress, zlib.decompress)),
            ("postgresql jsonb", pg_run("j", same, same)),
            ("sqlite text", lite_run("t", same, same)),
            ("sqlite zlib", lite_run("b", compress, zlib.decompress))]
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in ways}
    try:
        for _ in range(args.rounds):
            for name, run in ways:
                results[name].append(timed(run, texts))
    finally:
        pg.rollback()
        pg.execute("DROP TABLE IF EXISTS bench_state")
        pg.commit()
        pg.close()
        lite.close()
    print("per state written and read back (each round in turn; wall ms, client CPU ms):")
    for name, rows in results.items():
        print(f"  {name:<17} " + "   ".join(f"{wall:6.2f} / {cpu:5.2f}" for wall, cpu in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
