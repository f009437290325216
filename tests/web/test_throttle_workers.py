"""Sign-in limits hold across gunicorn workers (finding M5): the counters live in the database every worker
shares, so 10 failures per account per minute are 10 whatever the number of workers; and an address locked for
failures still lets a valid token through.

Real gunicorn processes (the app factory ``./run`` serves) on the test database: SQLite, or PostgreSQL when
DATABASE_URL points at one. A new connection per request, so the workers take turns as the kernel hands them out.
"""
from __future__ import annotations

import base64
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.engine.identity import users

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={**(headers or {}), "Connection": "close"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def basic(username: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


class Gunicorn:
    def __init__(self, database_url: str, workers: int, log_dir: Path):
        self.port = free_port()
        self.access_log = log_dir / f"access-{workers}.log"
        self.error_log = log_dir / f"error-{workers}.log"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RATELIMIT_", "COMPLAINTFLOW_SIGNIN_"))}  # the shipped limits and storage
        env["DATABASE_URL"] = database_url
        self.workers = workers
        self.ready_dir = log_dir / f"ready-{workers}"
        self.ready_dir.mkdir()
        config = log_dir / f"gunicorn-{workers}.conf.py"
        # Each worker leaves a file once it has built the app (gunicorn's post_worker_init hook).
        config.write_text("import pathlib\n\n\ndef post_worker_init(worker):\n"
                          f"    (pathlib.Path({str(self.ready_dir)!r}) / str(worker.pid)).touch()\n")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(config), "--workers", str(workers),
             "--bind", f"127.0.0.1:{self.port}", "--no-control-socket",
             "--access-logfile", str(self.access_log), "--access-logformat", "%(p)s %(s)s %(U)s",
             "--error-logfile", str(self.error_log), "app.web:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_until_every_worker_is_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.error_log.read_text()
            if len(list(self.ready_dir.iterdir())) >= self.workers:
                return
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not start:\n{self.error_log.read_text()}")

    def pids(self, path: str | None = None) -> set[str]:
        if not self.access_log.exists():
            return set()
        lines = [line.split() for line in self.access_log.read_text().splitlines() if line.strip()]
        return {pid for pid, _status, url in lines if path is None or url == path}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # quick shutdown: nothing is in flight
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.mark.parametrize("workers", [2, 4])
def test_ten_failures_per_account_whatever_the_number_of_workers(runtime, database_url, tmp_path, workers):
    username = f"tester{workers}"
    with runtime.unit_of_work() as uow:
        users.upsert_user(uow, username, "right-password", display_name="Tester", roles=["intake"])
        token = users.create_token(uow, username, "integration")
    server = Gunicorn(database_url, workers, tmp_path)
    try:
        server.wait_until_every_worker_is_ready()
        started = time.monotonic()
        # Ten wrong passwords at once, so several workers take them (a sync worker serves one request at a time
        # and the password check is slow), then the eleventh.
        with ThreadPoolExecutor(max_workers=10) as pool:
            first = list(pool.map(lambda n: get(server.port, "/api/v1/tasks", basic(username, f"guess{n}")),
                                  range(10)))
        eleventh = get(server.port, "/api/v1/tasks", basic(username, "guess10"))
        assert time.monotonic() - started < 60  # all inside the one-minute window
        assert (first, eleventh) == ([401] * 10, 429)
        assert len(server.pids("/api/v1/tasks")) >= 2, "the attempts should have reached several workers"

        # The address has 10 failures now; a valid token from it still passes (and the locked account's
        # right password does not).
        assert get(server.port, "/api/v1/tasks", {"Authorization": f"Bearer {token}"}) == 200
        assert get(server.port, "/api/v1/tasks", basic(username, "right-password")) == 429
    finally:
        server.stop()
