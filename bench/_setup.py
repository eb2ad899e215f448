"""Shared set-up for benchmarks: an embedded install in this process, or a child run against an install of its own."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_environment(data_dir: str) -> None:
    """Point this process at a fresh embedded install in ``data_dir`` and migrate it.

    The channel layer's database is migrated too: emitted events go out to it.
    """
    for name in ("REDIS_URL", "DATABASE_URL", "SUBLARR_REDIS_PREFIX"):
        os.environ.pop(name, None)
    os.environ["SUBLARR_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "sublarr.settings"
    os.environ["SUBLARR_LOG_LEVEL"] = "WARNING"
    for extra in ([], ["--database", "channels"]):
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0", *extra], cwd=ROOT, check=True, env=os.environ
        )


PG = "postgres://postgres@127.0.0.1:5432/"
REDIS = "redis://127.0.0.1:6379/0"


def service_up(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


def run_child_install(name: str, scaleout: bool, argv: list[str]) -> dict | None:
    """Run ``python -m bench.<argv…>`` against an install of its own; return the JSON of its last line.

    Embedded: a fresh data dir. Scale-out: also a PostgreSQL database and a
    Redis key prefix of its own on the local servers (skipped with a message
    when they are unreachable). Everything is removed afterwards.
    """
    data_dir = tempfile.mkdtemp(prefix=f"sublarr-bench-{name}-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sublarr.settings",
        "SUBLARR_DATA_DIR": data_dir,
        "SUBLARR_WEBHOOK_ALLOW_LOOPBACK": "true",
        "SUBLARR_QUEUE_WORKERS": "2",
        "SUBLARR_LOG_LEVEL": "WARNING",
    }
    for key in ("DATABASE_URL", "REDIS_URL", "SUBLARR_REDIS_PREFIX"):
        env.pop(key, None)
    db_name = f"bench_{name}_{os.getpid()}"
    if scaleout:
        if not (service_up("127.0.0.1", 5432) and service_up("127.0.0.1", 6379)):
            print("scale-out profile skipped: PostgreSQL or Redis unreachable on 127.0.0.1", file=sys.stderr)
            shutil.rmtree(data_dir, ignore_errors=True)
            return None
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db_name}"], check=True)
        env.update({"DATABASE_URL": PG + db_name, "REDIS_URL": REDIS, "SUBLARR_REDIS_PREFIX": db_name})
    try:
        out = subprocess.run(
            [sys.executable, "-m", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
        )
        if out.returncode != 0:
            print(out.stdout, out.stderr, file=sys.stderr)
            return None
        if out.stderr.strip():
            print(out.stderr.strip()[-2000:], file=sys.stderr)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if scaleout:
            import redis

            client = redis.Redis.from_url(REDIS)
            keys = list(client.scan_iter(match=f"*{db_name}*"))
            if keys:
                client.delete(*keys)
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"],
                check=False,
            )
        shutil.rmtree(data_dir, ignore_errors=True)
