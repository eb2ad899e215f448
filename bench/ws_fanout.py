"""WebSocket fan-out: events/s delivered to N clients and emit→receipt latency.

``python -m bench.ws_fanout [--clients 50] [--rate 200] [--seconds 10] [--profile embedded|redis|all]``

Per profile, in a temporary data dir: one daphne server, N real `websockets`
clients (token auth) in this process, and one producer process calling
``emit_event`` at a fixed rate (absolute schedule, so a slow call does not
lower the rate). Latency = receipt time - the envelope's ``timestamp`` (set by
the producer at emit). Loss is counted per client: every event must arrive
exactly once; a ``missed`` notice from the server (a drop the layer made and
the consumer detected) is counted separately from silent loss.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

PRODUCER = """
import time
from events import emit_event, bridge
rate, seconds = {rate}, {seconds}
count = int(rate * seconds)
start = time.monotonic() + 0.2
for i in range(count):
    delay = start + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    emit_event("batch_complete", {{"total": i}})
late = time.monotonic() - (start + (count - 1) / rate)
bridge.flush(60)
print("PRODUCED", count, round(late, 3), bridge.stats(), "cpu_s", round(time.process_time(), 2))
"""

TOKEN = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user = get_user_model().objects.create_user("bench", password="bench-pass-1", is_staff=True)
print(Token.objects.create(user=user).key)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed: {result.stderr[-2000:]}")
    return result.stdout


def redis_reachable() -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(REDIS_URL)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2).close()
    except OSError:
        return False
    return True


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


async def run_clients(
    port: int, token: str, clients: int, expected: int, producer_cmd: list[str], env: dict, server_pid: int
) -> dict:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    latencies: list[float] = []
    received = [0] * clients
    missed = [0] * clients
    duplicates = [0] * clients
    done = asyncio.Event()
    last_receipt = [0.0]
    first_receipt = [0.0]

    async def client(index: int, ws) -> None:
        seen: set[str] = set()
        async for raw in ws:
            now = time.time()
            message = json.loads(raw)
            if "event_name" not in message:
                if message.get("type") == "missed":
                    missed[index] += message["count"]
                continue
            if message["id"] in seen:
                duplicates[index] += 1
                continue
            seen.add(message["id"])
            received[index] += 1
            last_receipt[0] = now
            first_receipt[0] = first_receipt[0] or now
            latencies.append(now - datetime.fromisoformat(message["timestamp"]).timestamp())
            if sum(received) >= expected * clients:
                done.set()

    sockets = []
    for _ in range(clients):
        sockets.append(
            await connect(
                f"ws://127.0.0.1:{port}/ws/events/",
                additional_headers={"Authorization": f"Token {token}"},
                origin=Origin(f"http://127.0.0.1:{port}"),
                max_queue=None,
                ping_interval=None,
                open_timeout=60,
            )
        )
    tasks = [asyncio.create_task(client(i, ws)) for i, ws in enumerate(sockets)]
    server_cpu, own_cpu = cpu_seconds(server_pid), time.process_time()
    started = time.time()  # before the producer process starts (its Django setup included)
    producer = await asyncio.create_subprocess_exec(
        *producer_cmd, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await producer.communicate()
    produced_at = time.time()
    if producer.returncode != 0:
        raise RuntimeError(f"producer failed: {err.decode()[-2000:]}")
    # Whatever has not arrived 30 s after the producer finished is counted lost.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 30)
    server_cpu, own_cpu = cpu_seconds(server_pid) - server_cpu, time.process_time() - own_cpu
    for ws in sockets:
        await ws.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "producer": (out.decode().strip().splitlines() or [""])[-1],
        "received": sum(received),
        "expected": expected * clients,
        "missed_notices": sum(missed),
        "duplicates": sum(duplicates),
        # From the first event received to the last.
        "duration": max(1e-9, (last_receipt[0] or produced_at) - (first_receipt[0] or started)),
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies) if latencies else float("nan"),
        "drain_after_producer": max(0.0, last_receipt[0] - produced_at),
        "server_cpu": server_cpu,
        "clients_cpu": own_cpu,
    }


def run_profile(profile: str, clients: int, rate: float, seconds: float, capacity: int | None) -> dict:
    data_dir = tempfile.mkdtemp(prefix=f"sublarr-bench-ws-{profile}-")
    prefix = f"bench-ws-{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "SUBLARR_REDIS_PREFIX")},
        "DJANGO_SETTINGS_MODULE": "sublarr.settings",
        "SUBLARR_DATA_DIR": data_dir,
        "SECRET_KEY": "bench-" + "k" * 50,
        "SUBLARR_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    if profile == "redis":
        env.update(REDIS_URL=REDIS_URL, SUBLARR_REDIS_PREFIX=prefix)
    if capacity is not None:
        env["SUBLARR_CHANNEL_CAPACITY"] = str(capacity)
    server = None
    log = open(Path(data_dir) / "daphne.log", "wb")  # noqa: SIM115 - closed below
    try:
        manage(env, "migrate", "--no-input", "-v0")
        if profile == "embedded":
            manage(env, "migrate", "--database", "channels", "--no-input", "-v0")
        token = manage(env, "shell", "-c", TOKEN).strip().splitlines()[-1]
        port = free_port()
        daphne = str(Path(sys.executable).with_name("daphne"))
        server = subprocess.Popen(
            [daphne, "-b", "127.0.0.1", "-p", str(port), "sublarr.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("daphne did not start")
            time.sleep(0.1)
        producer_cmd = [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            PRODUCER.format(rate=rate, seconds=seconds),
        ]
        expected = int(rate * seconds)
        result = asyncio.run(run_clients(port, token, clients, expected, producer_cmd, env, server.pid))
        log.flush()
        result["server_log_lines"] = [
            line
            for line in (Path(data_dir) / "daphne.log").read_text(errors="replace").splitlines()
            if "missed" in line or "Error" in line or "capacity" in line
        ][:5]
        return result
    finally:
        if server is not None and server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()
        if profile == "redis":
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200, help="events per second emitted")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--profile", choices=["embedded", "redis", "all"], default="all")
    parser.add_argument(
        "--channel-capacity", type=int, default=None, help="SUBLARR_CHANNEL_CAPACITY for the run (default: settings)"
    )
    args = parser.parse_args()

    profiles = ["embedded", "redis"] if args.profile == "all" else [args.profile]
    total = int(args.rate * args.seconds)
    print(f"{args.clients} clients, {args.rate:g} events/s for {args.seconds:g} s ({total} events)")
    for profile in profiles:
        if profile == "redis" and not redis_reachable():
            print(f"[redis] skipped: Redis unreachable at {REDIS_URL}")
            continue
        r = run_profile(profile, args.clients, args.rate, args.seconds, args.channel_capacity)
        lost = r["expected"] - r["received"]
        print(
            f"[{profile}] delivered {r['received']}/{r['expected']} messages "
            f"({r['received'] / r['duration']:.0f} msg/s over {r['duration']:.1f} s; "
            f"{r['received'] / r['duration'] / args.clients:.0f} events/s per client); "
            f"latency p50 {r['p50'] * 1000:.0f} ms, p99 {r['p99'] * 1000:.0f} ms, max {r['max'] * 1000:.0f} ms; "
            f"lost {lost} (announced by 'missed' notices: {r['missed_notices']}), duplicates {r['duplicates']}; "
            f"still arriving {r['drain_after_producer']:.1f} s after the producer finished"
        )
        print(f"[{profile}] producer: {r['producer']}")
        print(
            f"[{profile}] CPU while producing and receiving: server {r['server_cpu']:.1f} s, "
            f"these {args.clients} clients {r['clients_cpu']:.1f} s; load average {os.getloadavg()[0]:.1f}"
        )
        for line in r["server_log_lines"]:
            print(f"[{profile}] server log: {line[:200]}")
    print(
        f"command: .venv/bin/python -m bench.ws_fanout --clients {args.clients} --rate {args.rate:g} "
        f"--seconds {args.seconds:g} --profile {args.profile}"
        + (f" --channel-capacity {args.channel_capacity}" if args.channel_capacity is not None else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
