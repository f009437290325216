"""What sealing the audit chain inside each step's transaction would cost (finding M7, option "seal in the
writer"), against the tree as it is (events sealed after commit by the sealer, nothing in the step).

    .venv/bin/python bench/audit_seal.py [--count N] [--rounds N] [--postgres URL] [--database NAME]

Runs bench/lifecycle.py's persisted targets (SQLite on a temp file, PostgreSQL on --database, reset) in alternate
rounds: "after commit" (the writer as shipped) and "in the step" (a before_commit hook that takes the sealer's
lock and links the transaction's events into the chain before the commit, i.e. holding the chain's head until
the commit ends, which is what sealing in the writer needs). Prints CPU and wall ms per lifecycle per round and
the means. One client: the serialisation of concurrent writers behind the head comes on top.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.engine.audit import sealer
from app.engine.config.settings import load_settings
from app.engine.core.clock import SystemClock
from bench.lifecycle import DEFAULT_POSTGRES, postgres_bench_url, prepare_database, run_persisted


def seal_in_the_step(session: Session) -> None:
    session.flush()
    if sealer._lock(session, True):
        sealer._seal_batch(session, 100_000)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--database", default="cf_audit_bench")
    args = parser.parse_args(argv)
    settings, clock = load_settings(), SystemClock()
    pg_url = postgres_bench_url(args.postgres, args.database)
    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for round_ in range(args.rounds):
        for mode in ("after commit", "in the step"):
            if mode == "in the step":
                event.listen(Session, "before_commit", seal_in_the_step)
            try:
                with tempfile.TemporaryDirectory(prefix="complaintflow-bench-") as tmp:
                    targets = [("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}")]
                    if pg_url:
                        targets.append(("postgresql", pg_url))
                    for target, url in targets:
                        runtime = prepare_database(url, settings, clock)
                        try:
                            m = run_persisted(target, runtime, args.warmup, args.count)
                        finally:
                            runtime.close()
                        figures.setdefault((target, mode), []).append((m.cpu_ms_per_lifecycle, m.ms_per_lifecycle))
                        print(f"round {round_ + 1} {target:<10} {mode:<12} cpu {m.cpu_ms_per_lifecycle:7.1f} ms  "
                              f"wall {m.ms_per_lifecycle:7.1f} ms per lifecycle ({m.tasks_per_lifecycle:.1f} tasks)",
                              flush=True)
            finally:
                if mode == "in the step":
                    event.remove(Session, "before_commit", seal_in_the_step)
    for (target, mode), values in sorted(figures.items()):
        print(f"mean {target:<10} {mode:<12} cpu {statistics.mean(v[0] for v in values):7.1f} ms  "
              f"wall {statistics.mean(v[1] for v in values):7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
