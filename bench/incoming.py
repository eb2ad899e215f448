"""Incoming webhooks: N Sonarr ``Download`` posts from C concurrent clients, with a webhook subscribed.

    .venv/bin/python -m bench.incoming [--posts 1000] [--clients 4] [--profiles embedded,scaleout]

Per profile, a child process sets up a fresh install (embedded: SQLite in a
temporary data dir, one daphne server; scale-out: a fresh PostgreSQL database
+ Redis, two daphne servers, the clients spread over both), starts a 2-worker
``qcluster`` and a local receiver, creates a Sonarr source (with a path
mapping) and a webhook subscribed to ``webhook_received``. Then C clients,
each with its own keep-alive connection, post the ``sonarr_download``
fixture until N posts are done, and it reports requests/s (first send → last
answer), the p50/p99/max answer time as the client sees it, and whether every
event arrived: the receiver must see N distinct event ids, each once, and
there must be N accepted request records ("0 lost").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench._setup import group_cpu_seconds, percentile, run_child_install

ROOT = Path(__file__).resolve().parent.parent
APP = ["sublarr.asgi:application"]
FIXTURE = ROOT / "incoming" / "tests" / "fixtures" / "sonarr_download.json"


def _py_spy(pid: int, data_dir: Path) -> subprocess.Popen | None:
    """With BENCH_PY_SPY=<py-spy binary>:<output file>, sample the (first) server during the timed run."""
    spec = os.environ.get("BENCH_PY_SPY")
    if not spec:
        return None
    binary, output = spec.split(":", 1)
    command = [binary, "record", "--pid", str(pid), "--format", "raw", "--threads", "--gil", "--rate", "250"]
    command += ["--output", output, "--full-filenames"]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(data_dir / "py-spy.log", "wb"))  # noqa: SIM115
    time.sleep(1)  # attached before the first post
    return spy


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def _receiver() -> tuple[ThreadingHTTPServer, list[str]]:
    """A local webhook receiver (a thread of the child): records each body's event id."""
    ids: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                ids.append(json.loads(body)["id"])
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, ids


def child(posts: int, clients: int, servers: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from hooks import services as hook_services
    from incoming import services
    from incoming.models import IncomingRequest

    call_command("migrate", verbosity=0)
    from django.conf import settings

    if "channels" in settings.DATABASES:
        call_command("migrate", database="channels", verbosity=0)
    receiver, received = _receiver()
    data_dir = Path(os.environ["SUBLARR_DATA_DIR"])
    hook_services.webhook_create(
        name="sink",
        event_name="webhook_received",
        url=f"http://127.0.0.1:{receiver.server_address[1]}/sink",
        source="cli",
    )
    _source, key = services.source_create(
        name="sonarr", kind="sonarr", path_mappings=[{"remote": "/tv", "local": "/media/tv"}], source="cli"
    )
    processes = []
    ports = [_free_port() for _ in range(servers)]
    try:
        for port in ports:
            log = open(data_dir / f"daphne-{port}.log", "wb")  # noqa: SIM115 - lives as long as the server
            processes.append(
                subprocess.Popen(
                    [str(Path(sys.executable).with_name("daphne")), "-b", "127.0.0.1", "-p", str(port), *APP],
                    cwd=ROOT,
                    env=os.environ,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        log = open(data_dir / "qcluster.log", "wb")  # noqa: SIM115
        processes.append(
            subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "qcluster"],
                cwd=ROOT,
                env=os.environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        for port in ports:
            _wait_port(port)
        body = json.dumps(json.loads(FIXTURE.read_text())["body"]).encode()
        headers = {"Content-Type": "application/json", "X-Api-Key": key}
        # Warm up each server (first request imports and connects).
        for port in ports:
            conn = HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/api/incoming/sonarr/", body=body, headers=headers)
            conn.getresponse().read()
            conn.close()
        IncomingRequest.objects.all().delete()
        while len(received) < servers:
            time.sleep(0.05)
        received.clear()

        latencies: list[float] = []
        statuses: list[int] = []
        lock = threading.Lock()
        remaining = [posts]

        def client(index: int) -> None:
            conn = HTTPConnection("127.0.0.1", ports[index % len(ports)], timeout=30)
            while True:
                with lock:
                    if remaining[0] == 0:
                        break
                    remaining[0] -= 1
                started = time.perf_counter()
                conn.request("POST", "/api/incoming/sonarr/", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    statuses.append(response.status)
            conn.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        servers_cpu = sum(group_cpu_seconds(p.pid) for p in processes[:servers])
        spy = _py_spy(processes[0].pid, data_dir)
        workers_cpu = group_cpu_seconds(processes[-1].pid)
        first = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - first
        servers_cpu = sum(group_cpu_seconds(p.pid) for p in processes[:servers]) - servers_cpu
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
        deadline = time.monotonic() + 300
        while len(set(received)) < posts and time.monotonic() < deadline:
            time.sleep(0.05)
        workers_cpu = group_cpu_seconds(processes[-1].pid) - workers_cpu
        accepted = IncomingRequest.objects.filter(outcome="accepted").count()
        # The view's own time (parse to commit), as each request recorded it.
        in_view = list(IncomingRequest.objects.values_list("duration_ms", flat=True))
        event_ids = set(IncomingRequest.objects.values_list("event_id", flat=True))
        print(
            json.dumps(
                {
                    "posts": posts,
                    "clients": clients,
                    "servers": servers,
                    "per_s": posts / wall,
                    "p50_ms": percentile(latencies, 0.5),
                    "p99_ms": percentile(latencies, 0.99),
                    "max_ms": max(latencies),
                    "view_p50_ms": percentile(in_view, 0.5),
                    "view_p99_ms": percentile(in_view, 0.99),
                    "server_cpu_ms": servers_cpu * 1000 / posts,
                    "workers_cpu_ms": workers_cpu * 1000 / posts,
                    "non_2xx": sum(1 for s in statuses if not 200 <= s < 300),
                    "accepted_records": accepted,
                    "delivered_distinct": len(set(received)),
                    "delivered_twice": len(received) - len(set(received)),
                    "lost": len({str(i) for i in event_ids} - set(received)),
                }
            )
        )
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        receiver.shutdown()


def run_profile(profile: str, posts: int, clients: int) -> dict | None:
    servers = 2 if profile == "scaleout" else 1
    argv = ["bench.incoming", "--child", str(posts), str(clients), str(servers)]
    return run_child_install("incoming", profile == "scaleout", argv)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--profiles", default="embedded,scaleout")
    args = parser.parse_args()
    print(f"{'profile':<10} {'servers':>7} {'posts':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  lost")
    status = 0
    for profile in args.profiles.split(","):
        result = run_profile(profile, args.posts, args.clients)
        if result is None:
            status = 1
            continue
        lost = result["lost"] + (args.posts - result["delivered_distinct"])
        print(
            f"{profile:<10} {result['servers']:>7} {result['posts']:>6} {result['per_s']:>7.0f} "
            f"{result['p50_ms']:>7.1f} {result['p99_ms']:>7.1f} {result['max_ms']:>7.1f}  {lost}"
            f" (non-2xx {result['non_2xx']}, accepted records {result['accepted_records']}, "
            f"delivered twice {result['delivered_twice']})\n"
            f"{'':<10} in the view p50 {result['view_p50_ms']:.1f} / p99 {result['view_p99_ms']:.1f} ms; "
            f"CPU per post: servers {result['server_cpu_ms']:.1f} ms, queue workers {result['workers_cpu_ms']:.1f} ms",
            flush=True,
        )
        if lost or result["non_2xx"]:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
