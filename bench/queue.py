"""django-q2 brokers: enqueue cost on the producer's path and cluster throughput.

    .venv/bin/python -m bench.queue [--tasks 2000]

For each configuration, in a fresh data dir: the µs per enqueue (with and
without a reused broker), then a 2-worker ``qcluster`` draining N trivial
tasks (tasks/s, and how many "database is locked" errors its log shows).
Configurations: SQLite as Django ships it (rollback journal, deferred
transactions, 5 s timeout), SQLite as sublarr sets it up (WAL, IMMEDIATE, 30 s),
PostgreSQL with CONN_MAX_AGE=0 and with persistent connections, and Redis.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432/"
REDIS = "redis://127.0.0.1:6379/0"

CONFIGS = {
    "sqlite-django-default": {"BENCH_SQLITE": "default"},
    "sqlite-sublarr (WAL)": {},
    "postgres-orm conn_max_age=0": {"DATABASE_URL": PG + "bench_queue", "BENCH_CONN_MAX_AGE": "0"},
    "postgres-orm persistent": {"DATABASE_URL": PG + "bench_queue"},
    "redis broker (+postgres)": {"DATABASE_URL": PG + "bench_queue", "REDIS_URL": REDIS},
}


def noop(path: str) -> None:
    """The benchmark task: append one line (O_APPEND; counted by the parent)."""
    with open(path, "a") as handle:
        handle.write("x\n")


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def child(tasks: int) -> None:
    """Run inside one configuration's environment; print a JSON result line."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_q.tasks import async_task

    from hooks.queue import enqueue

    if connection.vendor == "postgresql":
        # A fresh database per configuration.
        from django.db import connections

        connections.close_all()
        for sql in ("DROP DATABASE IF EXISTS bench_queue", "CREATE DATABASE bench_queue"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    call_command("migrate", verbosity=0)

    marker = Path(os.environ["SUBLARR_DATA_DIR"]) / "done.txt"
    # Enqueue cost: a new broker per call (async_task's default) vs one reused broker.
    timings: dict[str, list[float]] = {"async_task (new broker each call)": [], "hooks.queue.enqueue": []}
    for label, call in (
        ("async_task (new broker each call)", lambda: async_task("bench.queue.noop", str(marker))),
        ("hooks.queue.enqueue", lambda: enqueue("bench.queue.noop", str(marker))),
    ):
        for _ in range(200):
            start = time.perf_counter()
            call()
            timings[label].append((time.perf_counter() - start) * 1e6)
    enqueued = 400

    log = open(Path(os.environ["SUBLARR_DATA_DIR"]) / "qcluster.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ
    )
    try:
        for _ in range(tasks):
            enqueue("bench.queue.noop", str(marker))
        enqueued += tasks

        def done() -> int:
            return len(marker.read_text()) // 2 if marker.exists() else 0

        # Throughput counted from the first completed task, so cluster start-up is excluded.
        while done() == 0:
            time.sleep(0.01)
        start, first = time.perf_counter(), done()
        deadline = time.monotonic() + 300
        while done() < enqueued and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        completed = done()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    text = (Path(os.environ["SUBLARR_DATA_DIR"]) / "qcluster.log").read_text(errors="replace")
    print(
        json.dumps(
            {
                "enqueue_us": {
                    k: {"p50": statistics.median(v), "p99": _percentile(v, 0.99)} for k, v in timings.items()
                },
                "tasks_per_s": (completed - first) / elapsed if elapsed else 0.0,
                "completed": completed,
                "enqueued": enqueued,
                "locked_errors": text.count("database is locked"),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.tasks)
        return 0

    sys.path.insert(0, str(ROOT))
    from testsupport import service_available

    servers = service_available("127.0.0.1", 5432) and service_available("127.0.0.1", 6379)
    print(f"command: .venv/bin/python -m bench.queue --tasks {args.tasks}   (2 queue workers)")
    print(
        f"{'configuration':32} {'enqueue p50/p99 µs (new broker)':>32} {'(reused broker)':>18} {'tasks/s':>9} "
        f"{'done':>11} {'locked':>7}"
    )
    for name, extra in CONFIGS.items():
        if "DATABASE_URL" in extra and not servers:
            print(f"{name:32} skipped: PostgreSQL/Redis unreachable")
            continue
        data_dir = tempfile.mkdtemp(prefix="bench-queue-")
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        env.update(
            extra,
            DJANGO_SETTINGS_MODULE="bench._queue_settings",
            SUBLARR_DATA_DIR=data_dir,
            SUBLARR_REDIS_PREFIX="bench-queue",
            SUBLARR_QUEUE_WORKERS="2",
            SUBLARR_LOG_LEVEL="WARNING",
        )
        try:
            result = subprocess.run(
                [sys.executable, "-m", "bench.queue", "--child", "--tasks", str(args.tasks)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if result.returncode != 0:
                print(f"{name:32} failed: {result.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(result.stdout.strip().splitlines()[-1])
            new, reused = r["enqueue_us"].values()
            print(
                f"{name:32} {new['p50']:>20.0f} / {new['p99']:<9.0f} {reused['p50']:>8.0f} / {reused['p99']:<7.0f}"
                f" {r['tasks_per_s']:>9.0f} {r['completed']:>5}/{r['enqueued']:<5} {r['locked_errors']:>7}"
            )
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
            if "REDIS_URL" in extra:
                import redis

                client = redis.Redis.from_url(REDIS)
                keys = list(client.scan_iter(match="*bench-queue*"))
                if keys:
                    client.delete(*keys)
    if servers:
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", "DROP DATABASE IF EXISTS bench_queue"],
            capture_output=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
