"""The complaint list page (coordinators, the head, compliance) with 100,000 complaints on PostgreSQL: the first
page under each filter, a search, a date range, pages deep in the keyset order, and the CSV export.

    .venv/bin/python bench/complaint_list.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/complaintflow_100k]
                                             [--total 100000] [--open 5000] [--rounds 20] [--reuse]

The data comes from bench/data.py as in http_load.py (``--reuse`` keeps what an earlier run loaded). Each
request goes through the whole app in this process (Flask's test client, signed in as the coordinator through
the sign-in form), so the time is the server's own time for the page: query, read policy, template. Prints
p50/p95 per scenario and the rows a page showed; target (issue 16): p95 < 100 ms, and a page deep in the list
as fast as the first (keyset pagination: ``WHERE id < cursor ORDER BY id DESC``, never an OFFSET).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import os
import re
import statistics
import time
from datetime import timedelta

os.environ.setdefault("COMPLAINTFLOW_PASSWORD_HASH", "pbkdf2:sha256:1000")  # demo users only; keeps setup fast

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/complaintflow_100k"
TARGET_MS = 100.0
BROWSER = {"Accept": "text/html"}


def signed_in_client(app, username: str, password: str):
    client = app.test_client()
    page = client.get("/sign-in", headers=BROWSER).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/sign-in", data={"csrf_token": token, "username": username, "password": password})
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in of {username} answered {answer.status_code}")
    return client


def scenarios(runtime) -> dict[str, str]:
    from sqlalchemy import func, select

    from app.engine.models import Complaint
    with runtime.unit_of_work() as uow:
        newest = uow.session.scalar(select(func.max(Complaint.received_at)))
        sample = uow.session.execute(select(Complaint.tracking_number, Complaint.customer_name)
                                     .order_by(func.random()).limit(1)).one()
        rare_channel = uow.session.scalar(select(Complaint.channel).group_by(Complaint.channel)
                                          .order_by(func.count()).limit(1))
    earlier = (newest - timedelta(days=182)).date()
    month = f"received_from={earlier:%Y-%m}-01&received_to={earlier:%Y-%m}-28"
    return {
        "first page": "/complaints",
        "status investigating": "/complaints?status=investigating",
        "status reopened (rare)": "/complaints?status=reopened",
        "status=closed": "/complaints?status=closed",
        "category": "/complaints?category=fees_charges",
        f"rare channel ({rare_channel})": f"/complaints?channel={rare_channel}",
        "lead department": "/complaints?department=cards",
        "overdue": "/complaints?overdue=true",
        "a month half a year ago": f"/complaints?{month}",
        "tracking number prefix": f"/complaints?q={sample.tracking_number[:11]}",
        "part of a name": f"/complaints?q={sample.customer_name.split()[-1][1:]}",
    }


def timed(client, path: str) -> tuple[float, str]:
    began = time.perf_counter()
    response = client.get(path, headers=BROWSER)
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return elapsed, response.get_data(as_text=True)


def report(name: str, times: list[float], rows: int) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"{name:<34} p50 {statistics.median(ordered):6.1f} ms  p95 {p95:6.1f} ms  {rows:3} rows  "
            f"target p95 < {TARGET_MS:.0f} ms: {'met' if p95 < TARGET_MS else 'NOT met'}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--open", dest="open_", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=20, help="requests per scenario (default 20)")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)

    from app.engine.demo.loader import demo_users
    from app.web import create_app
    from bench.http_load import prepare

    runtime = prepare(args.url, args.total, args.open_, args.reuse)
    app = create_app(runtime=runtime)
    passwords = {u["username"]: u["password"] for u in demo_users(runtime.settings)}
    client = signed_in_client(app, "coordinator", passwords["coordinator"])
    print(f"load average {os.getloadavg()[0]:.1f}; {args.rounds} requests per scenario, after one warm-up")
    for name, path in scenarios(runtime).items():
        timed(client, path)
        times, html = [], ""
        for _ in range(args.rounds):
            elapsed, html = timed(client, path)
            times.append(elapsed)
        print(report(name, times, html.count('data-testid="complaint-row"')), flush=True)
    # Deep in the list: follow the "next" links 40 pages down (2,000 complaints), then time that page.
    path, depth = "/complaints", 0
    while depth < 40:
        found = re.search(r'href="(/complaints\?[^"]*after=[^"]+)"', timed(client, path)[1])
        if not found:
            break
        path, depth = found.group(1).replace("&amp;", "&"), depth + 1
    times = [timed(client, path)[0] for _ in range(args.rounds)]
    print(report(f"page {depth + 1} (keyset)", times, timed(client, path)[1].count('data-testid="complaint-row"')))
    # The export (compliance may export; it streams in keyset batches).
    auditor = signed_in_client(app, "compliance", passwords["compliance"])
    began = time.perf_counter()
    export = auditor.get("/complaints.csv?status=closed", headers=BROWSER)
    lines = export.get_data(as_text=True).count("\n")
    print(f"CSV export of the closed complaints by compliance: {lines - 1:,} rows in "
          f"{time.perf_counter() - began:.1f} s (status {export.status_code})")
    runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
