"""The outbox sender: N messages delivered by two senders at the same time to a local SMTP server (aiosmtpd,
started here), messages/s and duplicates (must be 0).

    .venv/bin/python bench/sender.py [--url sqlite:///instance/bench_sender.db] [--messages 2000] [--senders 2]
                                     [--batch 50]

The database at --url is reset and filled with --messages pending outbox rows (bulk insert). --senders threads
then run ``app.delivery.deliver_due`` against the same database, each with its own runtime (its own
connections), as two ``complaintflow send-messages`` processes would. Printed: messages/s from the start of
the senders to the last delivery, each sender's share, duplicates (a Message-ID received twice by the SMTP
server) and messages not sent. As a baseline in the same process, one sender alone delivers the same number.
The SMTP server accepts everything at once, so the figure is the claim/record bookkeeping plus SMTP exchanges
on loopback, not a real mail relay's speed.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime

DEFAULT_URL = f"sqlite:///{ROOT / 'instance' / 'bench_sender.db'}"


class Recorder:
    """aiosmtpd handler: counts every Message-ID it receives."""

    def __init__(self):
        self.ids: Counter = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        message_id = message_from_bytes(envelope.content)["Message-ID"]
        with self.lock:
            self.ids[message_id] += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fill(runtime, count: int, tag: str) -> None:
    from app.engine.models import OutboxMessage
    now = datetime.now(UTC)
    rows = [{"idempotency_key": f"bench:{tag}:{i}", "complaint_id": None, "kind": "bench",
             "recipient": f"customer{i}@example.com", "subject": f"Bench message {i}",
             "body": "Your complaint is being handled.\n", "created_at": now, "state": "pending", "attempts": 0}
            for i in range(count)]
    with runtime.unit_of_work() as uow:
        uow.session.execute(OutboxMessage.__table__.insert(), rows)


def run(url: str, count: int, senders: int, batch: int, recorder: Recorder, transport, tag: str) -> dict:
    from app.composition import build_runtime
    from app.delivery import deliver_due
    setup = build_runtime(url)
    fill(setup, count, tag)
    setup.close()
    runtimes = [build_runtime(url) for _ in range(senders)]
    reports, barrier = [None] * senders, threading.Barrier(senders)

    def sender(i: int) -> None:
        barrier.wait()
        reports[i] = deliver_due(runtimes[i], transport, batch=batch)

    before = sum(recorder.ids.values())
    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for runtime in runtimes:
        runtime.close()
    received = sum(recorder.ids.values()) - before
    return {"elapsed": elapsed, "rate": received / elapsed, "shares": [r.sent for r in reports],
            "failed": sum(r.failed + r.given_up for r in reports), "received": received}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    from app.delivery import SmtpTransport
    from app.engine.core.db import Database
    from app.engine.models import schema

    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    database = Database(url)
    schema.drop_everything(database)
    schema.upgrade(database)
    database.dispose()

    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        transport = SmtpTransport("127.0.0.1", port, timeout=30)
        baseline = run(url, args.messages, 1, args.batch, recorder, transport, "baseline")
        parallel = run(url, args.messages, args.senders, args.batch, recorder, transport, "parallel")
    finally:
        controller.stop()
    duplicates = sum(n - 1 for n in recorder.ids.values() if n > 1)
    print(f"database: {url.split('@')[-1]}  messages: {args.messages}  batch: {args.batch}")
    print(f"1 sender:  {baseline['rate']:8.1f} messages/s ({baseline['elapsed']:.2f} s)")
    print(f"{args.senders} senders: {parallel['rate']:8.1f} messages/s ({parallel['elapsed']:.2f} s), shares "
          f"{parallel['shares']}, ratio to 1 sender {parallel['rate'] / baseline['rate']:.2f}")
    print(f"duplicates: {duplicates}  not sent: {2 * args.messages - baseline['received'] - parallel['received']}  "
          f"failed: {baseline['failed'] + parallel['failed']}")
    if duplicates:
        sys.exit(1)


if __name__ == "__main__":
    main()
