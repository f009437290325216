"""The API and the staff pages under load: gunicorn as ./run starts it, PostgreSQL, 20,000 complaints, 20
concurrent clients.

    .venv/bin/python bench/http_load.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/complaintflow_http]
                                   [--total 20000] [--open 5000] [--clients 20] [--requests 2000]
                                   [--completions 600] [--reuse] [--gunicorn "--workers 2 app.web:create_app()"]

1. Data: the database at --url is reset (schema, demo users, definitions) and filled by bench/data.py:
   a handful of real lifecycles through the engine, cloned with bulk inserts to --total complaints of which
   --open are open, then VACUUM ANALYZE (what autovacuum would do soon after). ``--reuse`` keeps data a
   previous run loaded (then completed tasks stay completed).
2. Server: ``gunicorn --workers 2 "app.web:create_app()"`` (the command line of ./run; keep them
   in step; ``--gunicorn`` tries others) on a free port, its own process group, stopped at the end.
3. Clients: --clients threads, each with its own keep-alive connection (http.client), one scenario at a time.
   The API with tokens (``Authorization: Bearer``), the pages with a session signed in through the sign-in
   form as a browser does:
   - ``tasks``: GET /api/v1/tasks (first page), as each staff user in turn (team view; coordinator and head
     also the "all" view);
   - ``complaint``: GET /api/v1/complaints/<id> of random complaints, as the coordinator;
   - ``inbox page``, ``task page``, ``complaint page``: GET /inbox (each staff user; coordinator and head also
     "All open"), /tasks/<id> (a ready task, by a user who may work on it), /complaints/<id> (coordinator);
   - ``complete``: POST /api/v1/tasks/<id>/complete on distinct ready, not overdue tasks (one per case), each
     by a user who may work on it, with the simulation's answers.
   Per scenario: requests/s, latency p50/p95/p99 as the client sees it, the server's own time (its
   Server-Timing header) p50/p95, and the CPU per request of gunicorn and of its PostgreSQL backends (CPU, unlike
   latency, does not depend on what else the machine runs). Targets: issue 15, latency p95 of tasks and
   complaint < 50 ms, completion < 100 ms; issue 16, server time p95 of each page < 100 ms.

The clients run on the same two cores as the server: the figures include that competition; with 20 clients
and closed loops, a client's latency is mostly its wait behind the others (about clients / workers x the
server time). (Not named http.py: run as a script from bench/, that name would shadow the standard library's
http package for every bench.)
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import http.client
import json
import os
import random
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

os.environ.setdefault("COMPLAINTFLOW_PASSWORD_HASH", "pbkdf2:sha256:1000")  # demo users only; keeps setup fast

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/complaintflow_http"
TARGETS_MS = {"tasks": 50.0, "complaint": 50.0, "complete": 100.0}
# The pages (issue 16): the server's own time for the request (its Server-Timing header), p95.
PAGE_TARGETS_MS = {"inbox page": 100.0, "task page": 100.0, "complaint page": 100.0}
# As ./run starts it (WEB_CONCURRENCY, else 2 sync workers); keep in step with ./run.
GUNICORN = ["--workers", os.environ.get("WEB_CONCURRENCY") or "2", "app.web:create_app()"]


# --- data ------------------------------------------------------------------------------------------------

def ensure_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    server = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)).fetchone():
            connection.execute(f'CREATE DATABASE "{target.database}"')


def prepare(url: str, total: int, open_: int, reuse: bool):
    from sqlalchemy import func, select

    from app.composition import build_runtime
    from app.engine.core.db import Database
    from app.engine.demo.loader import load_demo
    from app.engine.models import (
        Complaint,
        schema,
    )
    from bench.data import load_complaints

    ensure_database(url)
    if reuse:
        runtime = build_runtime(url)
        with runtime.unit_of_work() as uow:
            have = uow.session.scalar(select(func.count()).select_from(Complaint))
        if have >= total:
            print(f"data: reusing {have:,} complaints in {runtime.database.engine.url.database}")
            return runtime
        runtime.close()
    database = Database(url)
    schema.drop_everything(database)
    schema.upgrade(database)
    database.dispose()
    runtime = build_runtime(url)
    with runtime.unit_of_work() as uow:
        load_demo(uow)
    summary = load_complaints(runtime, total=total, open_=open_,
                              progress=lambda done, of: print(f"\r  cloned {done:,}/{of:,}", end="", flush=True))
    print(f"\ndata: {summary.complaints:,} complaints ({summary.open:,} open, {summary.templates} real "
          f"lifecycles cloned) in {summary.seconds:.1f} s; rows: "
          + ", ".join(f"{name} {count:,}" for name, count in summary.rows.items()))
    vacuum_analyze(url)
    return runtime


def vacuum_analyze(url: str) -> None:
    """What autovacuum does some minutes after a bulk load, done now: planner statistics, and the visibility map
    that lets the work-list counts be index-only scans."""
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(target, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def tokens(runtime) -> dict[str, str]:
    from sqlalchemy import select

    from app.engine.identity.users import create_token
    from app.engine.models import User
    with runtime.unit_of_work() as uow:
        names = list(uow.session.scalars(select(User.username).where(User.active.is_(True))))
        return {name: create_token(uow, name, "bench") for name in names}


def completion_work(runtime, count: int, rng: random.Random) -> list[tuple[str, int, dict]]:
    """(username, task id, form data) for ``count`` ready tasks on distinct cases, none overdue."""
    from sqlalchemy import select

    from app.engine.demo.simulation import answer
    from app.engine.identity.users import actor_for
    from app.engine.models import Complaint, User, UserTask
    from app.engine.work.user_tasks import may_work_on

    departments = sorted(runtime.settings.departments)
    with runtime.unit_of_work() as uow:
        actors = [actor_for(u) for u in uow.session.scalars(select(User).where(User.active.is_(True)))]
        rows = uow.session.execute(
            select(UserTask, Complaint).join(Complaint, Complaint.id == UserTask.complaint_id)
            .where(UserTask.state == "ready", UserTask.due_at > uow.now())).all()
    rng.shuffle(rows)
    work, seen_instances = [], set()
    for task, complaint in rows:
        if task.instance_id in seen_instances:
            continue
        actor = next((a for a in actors if a.is_staff and may_work_on(a, task, complaint)), None)
        if actor is None:
            continue
        seen_instances.add(task.instance_id)
        work.append((actor.username, task.id, answer(task.id, task.element_id, 1, departments)))
        if len(work) == count:
            break
    return work


# --- server ----------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, arguments: list[str] = GUNICORN) -> subprocess.Popen:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    env = {**os.environ, "DATABASE_URL": url, "COMPLAINTFLOW_SECRET_KEY": os.environ.get(
        "COMPLAINTFLOW_SECRET_KEY", "bench-only-secret-key-bench-only-secret-key")}
    process = subprocess.Popen([str(gunicorn), "--bind", f"127.0.0.1:{port}", *arguments], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited: " + process.stderr.read().decode(errors="replace")[-2000:])
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


# --- clients ---------------------------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)     # seconds, successful answers only
    server_ms: list[float] = field(default_factory=list)     # the answers' Server-Timing, successful ones
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    bytes: int = 0
    server_cpu: float = 0.0                                   # CPU seconds of gunicorn (master and workers)
    database_cpu: float = 0.0                                 # and of its PostgreSQL backends

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    def percentile(self, p: float) -> float:
        return 1000 * _percentile(self.latencies, p)

    def server_percentile(self, p: float) -> float:
        return _percentile(self.server_ms, p)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0


class Client:
    def __init__(self, port: int):
        self.port = port
        self.connection = None

    def send(self, method: str, path: str, credential: str, body: dict | str | None = None,
             ) -> tuple[int, int, float | None, http.client.HTTPResponse]:
        """``credential``: an API token, or "cookie:<session cookie>" for the pages. A str body is a form."""
        if credential.startswith("cookie:"):
            headers = {"Cookie": credential[len("cookie:"):], "Accept": "text/html"}
        else:
            headers = {"Authorization": f"Bearer {credential}"}
        headers["Connection"] = "keep-alive"
        payload = None
        if isinstance(body, str):
            payload = body.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.connection.request(method, path, body=payload, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                response.data = data
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                    self.connection = None
                timing = response.getheader("Server-Timing", "")
                server_ms = float(timing.split("dur=")[1]) if "dur=" in timing else None
                return response.status, len(data), server_ms, response
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def sign_in(port: int, username: str, password: str) -> str:
    """A page session for ``username``: the sign-in form with its CSRF token, as a browser does it."""
    client = Client(port)
    status, _, _, page = client.send("GET", "/sign-in", "cookie:")
    cookie = _cookie(page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.data.decode()).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "username": username, "password": password})
    status, _, _, answer = client.send("POST", "/sign-in", "cookie:" + cookie, form)
    if status != 302:
        raise RuntimeError(f"sign-in of {username} answered {status}")
    return "cookie:" + _cookie(answer)


def _cookie(response: http.client.HTTPResponse) -> str:
    cookies = [value.split(";", 1)[0] for name, value in response.getheaders() if name.lower() == "set-cookie"]
    return "; ".join(cookies)


def run_scenario(name: str, port: int, clients: int, requests: list[tuple[str, str, str, dict | None]],
                 server: subprocess.Popen | None = None, database: str | None = None) -> Result:
    """Send ``requests`` (method, path, token, body) from ``clients`` threads; each request is sent once."""
    result, lock, position = Result(name), threading.Lock(), iter(range(len(requests)))

    def worker():
        client = Client(port)
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                return
            method, path, token, body = requests[index]
            began = time.perf_counter()
            status, size, server_ms, _ = client.send(method, path, token, body)
            elapsed = time.perf_counter() - began
            with lock:
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.bytes += size
                if 200 <= status < 300:
                    result.latencies.append(elapsed)
                    if server_ms is not None:
                        result.server_ms.append(server_ms)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    cpu_before = cpu_seconds(server, database)
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    cpu_after = cpu_seconds(server, database)
    result.server_cpu, result.database_cpu = (after - before for after, before in zip(cpu_after, cpu_before, strict=False))
    return result


def cpu_seconds(server: subprocess.Popen | None, database: str | None) -> tuple[float, float]:
    """CPU seconds used so far by gunicorn (master and workers) and by the PostgreSQL backends connected to
    ``database``: CPU per request, unlike latency, does not depend on what else the machine is running."""
    def used(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def group(pgid: int) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == pgid:
                        pids.append(int(entry.name))
                except OSError:
                    pass
        return pids

    app = sum(used(pid) for pid in group(server.pid)) if server is not None else 0.0
    backends = 0.0
    if database:
        import psycopg
        with psycopg.connect(database, autocommit=True) as connection:
            pids = [row[0] for row in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        backends = sum(used(pid) for pid in pids)
    return app, backends


def report(result: Result) -> str:
    failures = {s: n for s, n in result.statuses.items() if not 200 <= s < 300}
    count = max(result.count, 1)
    line = (f"{result.name:<15} {result.count:6,} req  {result.count / result.seconds:7.1f} req/s  "
            f"p50 {result.percentile(50):7.1f}  p95 {result.percentile(95):7.1f}  p99 {result.percentile(99):7.1f} ms  "
            f"server p50 {result.server_percentile(50):6.1f}  p95 {result.server_percentile(95):6.1f} ms  "
            f"CPU/req app {1000 * result.server_cpu / count:5.1f} db {1000 * result.database_cpu / count:4.1f} ms  "
            f"{result.bytes / count / 1024:5.1f} KB")
    if result.name in TARGETS_MS:
        target = TARGETS_MS[result.name]
        line += f"  target p95 < {target:.0f} ms: {'met' if result.percentile(95) < target else 'NOT met'}"
    if result.name in PAGE_TARGETS_MS:
        target = PAGE_TARGETS_MS[result.name]
        line += (f"  target server p95 < {target:.0f} ms: "
                 f"{'met' if result.server_percentile(95) < target else 'NOT met'}")
    return line + (f"  non-2xx: {failures}" if failures else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help=f"PostgreSQL database to (re)fill (default {DEFAULT_URL})")
    parser.add_argument("--total", type=int, default=20_000)
    parser.add_argument("--open", dest="open_", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2_000, help="per read scenario (default 2000)")
    parser.add_argument("--completions", type=int, default=600)
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run if big enough")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--gunicorn", type=shlex.split, default=GUNICORN,
                        help="gunicorn's arguments after --bind (default: as ./run starts it)")
    args = parser.parse_args(argv)

    from sqlalchemy.engine import make_url

    from app.engine.demo.loader import demo_users

    rng = random.Random(args.seed)
    runtime = prepare(args.url, args.total, args.open_, args.reuse)
    try:
        token = tokens(runtime)
        passwords = {entry["username"]: entry["password"] for entry in demo_users(runtime.settings)}
        with runtime.unit_of_work() as uow:
            from sqlalchemy import func, select

            from app.engine.models import Complaint, UserTask
            max_complaint = uow.session.scalar(select(func.max(Complaint.id)))
            ready = uow.session.scalar(select(func.count()).select_from(UserTask).where(UserTask.state == "ready"))
        work = completion_work(runtime, args.completions + args.requests, rng)
    finally:
        runtime.close()
    # the completions get their own cases; the task pages are read on the others (reads leave them ready)
    work, viewed = work[: args.completions], work[args.completions:] or work
    print(f"{ready:,} ready tasks; {len(work)} of them (distinct cases) for the completion scenario")

    staff = [n for n in token if n not in ("customer", "channel", "owner", "compliance")]
    list_paths = [(n, "/api/v1/tasks") for n in staff] + [(n, "/api/v1/tasks?view=all")
                                                          for n in ("coordinator", "head") if n in token]
    complaint_ids = [rng.randint(1, max_complaint) for _ in range(args.requests)]
    port = free_port()
    server = start_server(args.url, port, args.gunicorn)
    try:
        cookie = {name: sign_in(port, name, passwords[name]) for name in staff if name in passwords}
        inbox_paths = [(n, "/inbox") for n in cookie] + [(n, "/inbox?view=all") for n in ("coordinator", "head")]
        scenarios = {
            "tasks": [("GET", path, token[user], None)
                      for user, path in (list_paths[i % len(list_paths)] for i in range(args.requests))],
            "complaint": [("GET", f"/api/v1/complaints/{cid}", token["coordinator"], None) for cid in complaint_ids],
            "inbox page": [("GET", path, cookie[user], None)
                           for user, path in (inbox_paths[i % len(inbox_paths)] for i in range(args.requests))],
            "task page": [("GET", f"/tasks/{task_id}", cookie[user], None)
                          for user, task_id, _ in (viewed[i % len(viewed)] for i in range(args.requests))],
            "complaint page": [("GET", f"/complaints/{cid}", cookie["coordinator"], None) for cid in complaint_ids],
            "complete": [("POST", f"/api/v1/tasks/{task_id}/complete", token[user], {"data": data})
                         for user, task_id, data in work],
        }
        database = make_url(args.url).set(drivername="postgresql").render_as_string(hide_password=False)
        print(f"gunicorn {' '.join(args.gunicorn)} on port {port}; {args.clients} clients; "
              f"load average {os.getloadavg()[0]:.1f}")
        for name, requests in scenarios.items():
            if name != "complete":   # warm both workers (spec cache, connections) outside the measurement
                run_scenario("warm-up", port, args.clients, requests[: 4 * args.clients])
            print(report(run_scenario(name, port, args.clients, requests, server, database)), flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
    finally:
        stop_server(server)
    return 0

if __name__ == "__main__":
    sys.exit(main())
