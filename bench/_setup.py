"""Shared set-up for benchmarks: an embedded install in this process, or a child run against an install of its own.

Also what the delivery benchmarks (``bench.webhooks``, ``bench.notifications``)
share: a receiver in a process of its own that records arrivals, the child's
``qcluster``, percentiles and the workers' CPU time.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

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


# --- Measuring ------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds used so far by the live processes of process group ``pgid`` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After "(comm)": state ppid pgrp session … utime (14th field of the line) stime.
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# --- A receiver in a process of its own ------------------------------------------


class ArrivalsHandler(BaseHTTPRequestHandler):
    """Records each POST as (path, ``key(body)``, arrival time) and answers ``reply``; GET /count, /take, or all."""

    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    arrivals: ClassVar[list[tuple[str, str, float]]] = []
    reply: ClassVar[tuple[int, bytes]] = (204, b"")

    def key(self, body: bytes) -> str:
        """What names the delivery that arrived (the receiver's subclass says)."""
        raise NotImplementedError

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        at = time.time()
        key = self.key(body)
        with self.lock:
            self.arrivals.append((self.path, key, at))
        status, reply = self.reply
        self.send_response(status)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if reply:
            self.wfile.write(reply)

    def do_GET(self) -> None:
        with self.lock:
            if self.path == "/count":
                body = str(len(self.arrivals)).encode()
            else:
                body = json.dumps(self.arrivals).encode()
                if self.path == "/take":
                    self.arrivals.clear()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(handler: type[ArrivalsHandler], port_file: str) -> None:
    """Serve ``handler`` on a free loopback port, written to ``port_file`` (the receiver process's main)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


@contextlib.contextmanager
def receiver_process(main: Callable[[str], None], name: str) -> Iterator[str]:
    """Run ``main(port_file)`` in a process of its own (spawned); yield its URL, stop it afterwards."""
    port_file = tempfile.mktemp(prefix=f"bench-{name}-port-")
    receiver = multiprocessing.get_context("spawn").Process(target=main, args=(port_file,), daemon=True)
    receiver.start()
    try:
        while not os.path.exists(port_file) or not Path(port_file).read_text():
            time.sleep(0.05)
        yield f"http://127.0.0.1:{Path(port_file).read_text()}"
    finally:
        receiver.terminate()
        receiver.join(5)
        if os.path.exists(port_file):
            os.unlink(port_file)


class Receiver:
    """The child's view of the receiver: how many arrived, take them, wait for ``n`` (``timeout`` s unless told)."""

    def __init__(self, url: str, *, noun: str, log_path: Path, timeout: float) -> None:
        import requests

        self.url, self.noun, self.log_path, self.timeout = url, noun, log_path, timeout
        self.session = requests.Session()

    def count(self) -> int:
        return int(self.session.get(f"{self.url}/count").text)

    def take(self) -> list:
        return self.session.get(f"{self.url}/take").json()

    def wait_for(self, n: int, timeout: float | None = None) -> None:
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while self.count() < n:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"only {self.count()}/{n} {self.noun} arrived within {timeout}s; see {self.log_path}"
                )
            time.sleep(0.02)


# --- The child's queue workers ----------------------------------------------------


def start_cluster() -> tuple[subprocess.Popen, Path]:
    """Migrate the child's install (with the channel layer's database) and start a ``qcluster``; its log path."""
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if "channels" in settings.DATABASES:
        call_command("migrate", database="channels", verbosity=0)
    log_path = Path(os.environ["SUBLARR_DATA_DIR"]) / "qcluster.log"
    with open(log_path, "wb") as log:
        cluster = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"],
            cwd=ROOT,
            env=os.environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return cluster, log_path


def stop_cluster(cluster: subprocess.Popen, log_path: Path) -> int:
    """Stop the ``qcluster`` (its whole group); print the first error lines of its log; return its ERROR count."""
    cluster.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        cluster.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(cluster.pid, signal.SIGKILL)
    cluster.wait()
    lines = log_path.read_text(errors="replace").splitlines()
    for line in [text for text in lines if "Error" in text or " ERROR " in text][:8]:
        print(f"worker log: {line[:300]}", file=sys.stderr)
    return sum(" ERROR " in line for line in lines)
