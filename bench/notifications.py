"""Notification delivery end to end: emit → received at a local ``json://`` receiver, durable path vs a naive pool.

    .venv/bin/python -m bench.notifications [--deliveries 500] [--profiles embedded,redis]

The method of ``bench.webhooks``: per profile a child process migrates a fresh
database and starts a 2-worker ``qcluster``; a local receiver in its own
process (HTTP/1.1, answers 200, records when each notification arrives — the
title template is ``{{ id }}``, so the title names the event). One notification
target with one ``json://`` URL; events are emitted until ``--deliveries`` are
owed. Reported: notifications/s (first emit → last arrival), p50/p99 emit →
arrival, the workers' CPU per notification, and that every one is logged, for

* sublarr's durable path: emit_event → outbox → fan-out → Delivery rows →
  quiet hours, templates rendered, URL checked, Apprise sends → HookLog + stats;
* a naive baseline in the same run: a thread pool of 4 calling Apprise
  directly per event (a new ``Apprise`` per notification), nothing persisted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench._setup import run_child_install
from bench.webhooks import _pct, group_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent


def receiver_main(port_file: str) -> None:
    lock = threading.Lock()
    arrivals: list[tuple[str, str, float]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            at = time.time()
            try:
                title = str(json.loads(body).get("title", ""))
            except ValueError:
                title = ""
            with lock:
                arrivals.append((self.path, title, at))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_GET(self) -> None:
            with lock:
                body = str(len(arrivals)).encode() if self.path == "/count" else json.dumps(arrivals).encode()
                if self.path == "/take":
                    arrivals.clear()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


def child(deliveries: int, receiver_url: str) -> None:
    import django

    django.setup()
    import apprise
    import requests
    from django.conf import settings
    from django.core.management import call_command

    from events import emit_event
    from events.samples import sample_payload
    from events.services import build_envelope
    from hooks import subscriptions
    from hooks.models import HookLog, NotificationConfig

    call_command("migrate", verbosity=0)
    if "channels" in settings.DATABASES:
        call_command("migrate", database="channels", verbosity=0)
    data_dir = Path(os.environ["SUBLARR_DATA_DIR"])
    log_path = data_dir / "qcluster.log"
    with open(log_path, "wb") as log:
        cluster = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"],
            cwd=ROOT,
            env=os.environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    session = requests.Session()
    json_url = "json://" + receiver_url.split("://", 1)[1]

    def count() -> int:
        return int(session.get(f"{receiver_url}/count").text)

    def take() -> list:
        return session.get(f"{receiver_url}/take").json()

    def wait_for(n: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while count() < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {count()}/{n} notifications arrived within {timeout}s; see {log_path}")
            time.sleep(0.02)

    def summarise(name: str, emitted: dict[str, float], arrivals: list) -> dict:
        latencies = [(at - emitted[title]) * 1000 for _, title, at in arrivals if title in emitted]
        first = min(emitted.values())
        last = max(at for _, _, at in arrivals)
        titles = [title for _, title, _ in arrivals]
        return {
            "name": name,
            "deliveries": len(emitted),
            "per_s": len(emitted) / (last - first),
            "p50_ms": _pct(latencies, 0.5),
            "p99_ms": _pct(latencies, 0.99),
            "duplicates": len(titles) - len(set(titles)),
        }

    results = []
    try:
        warm = NotificationConfig.objects.create(
            name="warm", events=["batch_complete"], urls=[f"{json_url}/warm"], title_template="{{ id }}"
        )
        subscriptions.subscriptions_changed()
        for _ in range(10):
            emit_event("batch_complete", sample_payload("batch_complete"))
        wait_for(10, timeout=120)
        take()
        warm.delete()

        target = NotificationConfig.objects.create(
            name="bench",
            events=["subtitle_downloaded"],
            urls=[f"{json_url}/n"],
            title_template="{{ id }}",
        )
        subscriptions.subscriptions_changed()
        payload = sample_payload("subtitle_downloaded")

        emitted: dict[str, float] = {}
        cpu_before = group_cpu_seconds(cluster.pid)
        for _ in range(deliveries):
            t = time.time()
            emitted[emit_event("subtitle_downloaded", payload)["id"]] = t
        wait_for(deliveries)
        time.sleep(0.3)
        durable = summarise("durable", emitted, take())
        durable["worker_cpu_us"] = (group_cpu_seconds(cluster.pid) - cpu_before) / deliveries * 1e6
        deadline = time.monotonic() + 30
        successes = HookLog.objects.filter(notification=target, success=True)
        while (logged := successes.count()) < deliveries and time.monotonic() < deadline:
            time.sleep(0.05)
        durable["logged"] = logged
        results.append(durable)

        from concurrent.futures import ThreadPoolExecutor

        def send(title: str) -> None:
            sender = apprise.Apprise()
            sender.add(f"{json_url}/naive")
            sender.notify(body="body", title=title)

        pool = ThreadPoolExecutor(max_workers=4)
        emitted = {}
        for _ in range(deliveries):
            t = time.time()
            envelope = build_envelope("subtitle_downloaded", payload)
            emitted[envelope["id"]] = t
            pool.submit(send, envelope["id"])
        wait_for(deliveries)
        pool.shutdown()
        results.append(summarise("naive pool", emitted, take()))
    finally:
        cluster.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            cluster.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()
    log_text = log_path.read_text(errors="replace")
    error_lines = [line for line in log_text.splitlines() if " ERROR " in line]
    for line in error_lines[:8]:
        print(f"worker log: {line[:300]}", file=sys.stderr)
    print(json.dumps({"results": results, "worker_errors": len(error_lines)}))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--profiles", default="embedded,redis")
    args = parser.parse_args()

    port_file = tempfile.mktemp(prefix="bench-notifications-port-")
    import multiprocessing

    receiver = multiprocessing.get_context("spawn").Process(target=receiver_main, args=(port_file,), daemon=True)
    receiver.start()
    try:
        while not os.path.exists(port_file) or not Path(port_file).read_text():
            time.sleep(0.05)
        url = f"http://127.0.0.1:{Path(port_file).read_text()}"
        command = f"--deliveries {args.deliveries} --profiles {args.profiles}"
        print(f"command: .venv/bin/python -m bench.notifications {command}")
        print("| profile | path | notifications | per s | p50 ms | p99 ms | duplicates | worker CPU µs/notification |")
        print("|---|---|---|---|---|---|---|---|")
        for profile in args.profiles.split(","):
            argv = ["bench.notifications", "--child", str(args.deliveries), url]
            result = run_child_install("notifications", profile == "redis", argv)
            if result is None:
                continue
            for r in result["results"]:
                logged = f" (logged {r['logged']})" if "logged" in r else ""
                cpu = f"{r['worker_cpu_us']:.0f}" if "worker_cpu_us" in r else "—"
                print(
                    f"| {profile} | {r['name']} | {r['deliveries']}{logged} | {r['per_s']:.0f} | "
                    f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['duplicates']} | {cpu} |",
                    flush=True,
                )
            print(f"| {profile} | worker log errors: {result['worker_errors']} | | | | | | |", flush=True)
    finally:
        receiver.terminate()
        receiver.join(5)
        if os.path.exists(port_file):
            os.unlink(port_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
