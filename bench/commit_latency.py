"""What one single-row INSERT costs the producer on PostgreSQL, idle and with both cores busy.

    .venv/bin/python -m bench.commit_latency [--inserts 500]

The outbox INSERT is the producer's whole cost per event (hooks/outbox.py).
In a scratch table of a scratch database (a real table: temporary tables
skip the WAL), autocommit INSERTs of a 1 KB jsonb row, synchronous commit
(the default, and sublarr's) against ``synchronous_commit=off``; first on an
idle machine, then beside two busy-looping processes (what two saturated
queue workers do to it). Skipped when PostgreSQL is unreachable on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import sys
import time
import uuid

DSN = "host=127.0.0.1 user=postgres dbname={db}"


def spin(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def measure(cursor, inserts: int) -> tuple[float, float]:
    envelope = json.dumps({"id": str(uuid.uuid4()), "data": {"k": "v" * 900}})
    times = []
    for _ in range(inserts):
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO bench_outbox (event_id, envelope) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (uuid.uuid4(), envelope),
        )
        times.append(time.perf_counter() - started)
    times.sort()
    return times[len(times) // 2] * 1e6, times[int(len(times) * 0.99)] * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inserts", type=int, default=500)
    inserts = parser.parse_args().inserts
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        print("skipped: PostgreSQL unreachable on 127.0.0.1:5432", file=sys.stderr)
        return 0
    import psycopg

    db = f"bench_commit_{os.getpid()}"
    with psycopg.connect(DSN.format(db="postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {db}")
    try:
        with psycopg.connect(DSN.format(db=db), autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_outbox (id bigserial PRIMARY KEY, event_id uuid UNIQUE, envelope jsonb)")
            cursor = conn.cursor()
            print(f"command: .venv/bin/python -m bench.commit_latency --inserts {inserts}")
            print("| machine | synchronous_commit | p50 µs | p99 µs |")
            print("|---|---|---|---|")
            for load in ("idle", "both cores busy"):
                hogs = []
                if load != "idle":
                    hogs = [multiprocessing.Process(target=spin, args=(60,), daemon=True) for _ in range(2)]
                    for hog in hogs:
                        hog.start()
                    time.sleep(2.0)  # the hogs have the cores before the first INSERT
                try:
                    for mode in ("on", "off", "on", "off"):
                        cursor.execute(f"SET synchronous_commit = {mode}")
                        p50, p99 = measure(cursor, inserts)
                        print(f"| {load} | {mode} | {p50:.0f} | {p99:.0f} |", flush=True)
                finally:
                    for hog in hogs:
                        hog.terminate()
    finally:
        with psycopg.connect(DSN.format(db="postgres"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
