"""Webhook delivery end to end: emit → received, durable path vs a naive thread pool.

    .venv/bin/python -m bench.webhooks [--deliveries 1000] [--profiles embedded,redis] [--per-event 1,20]
        [--rounds 1] [--per-transaction 1]

Per profile (embedded: SQLite + ORM broker in a temporary data dir; redis:
PostgreSQL + Redis broker), a child process migrates a fresh database, starts
a 2-worker ``qcluster`` and a local receiver (its own process, HTTP/1.1,
answers 204 and records the arrival time of every ``webhook-id``). Then, with 1
and with 20 webhooks per event, it emits events until ``--deliveries``
deliveries are owed and reports deliveries/s (first emit → last arrival) and
the p50/p99 emit → arrival latency, and the queue workers' CPU per delivery
(user + system time of the ``qcluster`` process group, from /proc), for

* sublarr's durable path: emit_event → one outbox row → worker fan-out → Delivery
  rows, claimed, signed, posted, logged (HookLog), stats updated;
* the naive baseline (Sublarr's design), in the same run: a thread pool of 4
  posting each delivery with a new ``requests.Session``, signed, nothing persisted.

With ``--rounds N`` each case runs N times (durable, then naive, back to back)
and the ratio of each round and their median are printed last: on a shared
machine the ratio moves ±20 % from one round to the next. With
``--per-transaction K`` the producer emits K events per ``transaction.atomic()``
(a scan reporting its items, say): their outbox rows commit with it, one WAL
flush for K events; "emit µs" is then the transaction's time ÷ K.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time

from bench._setup import (
    ArrivalsHandler,
    Receiver,
    group_cpu_seconds,
    percentile,
    receiver_process,
    run_child_install,
    serve,
    start_cluster,
    stop_cluster,
)

# --- Receiver (its own process) ---------------------------------------------


class _Handler(ArrivalsHandler):
    """Answers 204; a delivery is named by its ``webhook-id``."""

    def key(self, body: bytes) -> str:
        return self.headers.get("webhook-id", "")


def receiver_main(port_file: str) -> None:
    serve(_Handler, port_file)


# --- One profile (child process with the profile's environment) ---------------


def child(
    deliveries: int, receiver_url: str, per_events: tuple[int, ...] = (1, 20), rounds: int = 1, per_transaction: int = 1
) -> None:
    import django

    django.setup()
    import requests
    from django.db import transaction

    from events import emit_event
    from events.samples import sample_payload
    from events.services import build_envelope
    from events.types import Envelope
    from hooks import receivers, subscriptions
    from hooks.models import HookLog, WebhookConfig
    from hooks.signing import signature_headers
    from hooks.transports.webhook import envelope_body

    cluster, log_path = start_cluster()
    receiver = Receiver(receiver_url, noun="deliveries", log_path=log_path, timeout=300)
    take, wait_for = receiver.take, receiver.wait_for

    def summarise(name: str, emitted: dict[str, float], arrivals: list, total: int, emit_us: list[float]) -> dict:
        latencies = [(at - emitted[wid]) * 1000 for _, wid, at in arrivals if wid in emitted]
        first = min(emitted.values())
        last = max(at for _, _, at in arrivals)
        ids = [(path, wid) for path, wid, _ in arrivals]
        return {
            "name": name,
            "deliveries": total,
            "per_s": total / (last - first),
            "p50_ms": percentile(latencies, 0.5),
            "p99_ms": percentile(latencies, 0.99),
            "duplicates": len(ids) - len(set(ids)),
            "emit_us": sum(emit_us) / len(emit_us) if emit_us else None,
        }

    results = []
    producer: dict = {}
    try:
        # Warm up: workers started, connections and imports made.
        WebhookConfig.objects.create(name="warm", event_name="batch_complete", url=f"{receiver_url}/warm")
        subscriptions.subscriptions_changed()
        for _ in range(10):
            emit_event("batch_complete", sample_payload("batch_complete"))
        wait_for(10, timeout=120)
        take()
        WebhookConfig.objects.all().delete()

        # Producer's path with nothing subscribed: the hooks receiver vs a bare Signal.send.
        from django.dispatch import Signal

        subscriptions.subscriptions_changed()
        envelope = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))
        receivers.on_event(None, envelope)  # load the snapshot
        bare = Signal()
        hooked = Signal()
        hooked.connect(receivers.on_event, dispatch_uid="bench")
        producer = {}
        for name, sig in (("bare Signal.send", bare), ("Signal.send + hooks receiver", hooked)):
            samples = []
            for _ in range(20000):
                started_ns = time.perf_counter_ns()
                sig.send(sender="subtitle_downloaded", envelope=envelope)
                samples.append((time.perf_counter_ns() - started_ns) / 1000)
            producer[name] = {"p50_us": percentile(samples, 0.5), "p99_us": percentile(samples, 0.99)}

        for per_event in per_events:
            events = max(1, deliveries // per_event)
            total = events * per_event
            hooks = [
                WebhookConfig.objects.create(
                    name=f"w{i}",
                    event_name="subtitle_downloaded",
                    url=f"{receiver_url}/w{i}",
                    secret="whsec_" + "QUJD" * 11,
                )
                for i in range(per_event)
            ]
            subscriptions.subscriptions_changed()
            payload = sample_payload("subtitle_downloaded")

            logged_before = 0
            for round_no in range(1, rounds + 1):
                # Durable path.
                emitted: dict[str, float] = {}
                emit_us = []
                cpu_before = group_cpu_seconds(cluster.pid)
                for start in range(0, events, per_transaction):
                    t = time.time()
                    # One event per statement outside a transaction; K per commit with --per-transaction K.
                    with transaction.atomic() if per_transaction > 1 else contextlib.nullcontext():
                        for _ in range(min(per_transaction, events - start)):
                            envelope = emit_event("subtitle_downloaded", payload)
                            emitted[envelope["id"]] = t
                    emit_us.append((time.time() - t) * 1e6 / min(per_transaction, events - start))
                wait_for(total)
                time.sleep(0.3)  # count late duplicates too
                durable = summarise(f"durable, {per_event}/event", emitted, take(), total, emit_us)
                durable["worker_cpu_us"] = (group_cpu_seconds(cluster.pid) - cpu_before) / total * 1e6
                # An outcome is written just after its POST returns: give the last ones a moment.
                deadline = time.monotonic() + 30
                successes = HookLog.objects.filter(webhook__in=hooks, success=True)
                while (logged := successes.count()) < logged_before + total and time.monotonic() < deadline:
                    time.sleep(0.05)
                durable["logged"] = logged - logged_before
                durable["round"] = round_no
                logged_before = logged
                results.append(durable)

                # Naive baseline: 4 threads, a new requests.Session per delivery, nothing persisted.
                from concurrent.futures import ThreadPoolExecutor

                def post(url: str, envelope: Envelope) -> None:
                    body = envelope_body(envelope)
                    headers = {"Content-Type": "application/json", "webhook-id": envelope["id"]}
                    headers.update(signature_headers("whsec_" + "QUJD" * 11, envelope["id"], int(time.time()), body))
                    with requests.Session() as s:
                        s.post(url, data=body, headers=headers, timeout=10)

                pool = ThreadPoolExecutor(max_workers=4)
                emitted = {}
                emit_us = []
                for _ in range(events):
                    t = time.time()
                    envelope = build_envelope("subtitle_downloaded", payload)
                    for hook in hooks:
                        pool.submit(post, hook.url, envelope)
                    emit_us.append((time.time() - t) * 1e6)
                    emitted[envelope["id"]] = t
                wait_for(total)
                pool.shutdown()
                naive = summarise(f"naive pool, {per_event}/event", emitted, take(), total, emit_us)
                naive["round"] = round_no
                results.append(naive)
            WebhookConfig.objects.all().delete()
    finally:
        worker_errors = stop_cluster(cluster, log_path)
    print(json.dumps({"results": results, "worker_errors": worker_errors, "producer": producer}))


# --- Parent -------------------------------------------------------------------


def run_profile(
    profile: str, deliveries: int, receiver_url: str, per_event: str = "1,20", rounds: int = 1, per_transaction: int = 1
) -> dict | None:
    argv = ["bench.webhooks", "--child", str(deliveries), receiver_url, per_event, str(rounds), str(per_transaction)]
    return run_child_install("webhooks", profile == "redis", argv)


def _ratios(profile: str, results: list[dict]) -> list[str]:
    """Durable ÷ naive deliveries/s per round (the two paths of one round run back to back), and their median."""
    lines = []
    cases = dict.fromkeys(r["name"].split(", ", 1)[1] for r in results)
    for case in cases:
        by_round: dict[int, dict[str, float]] = {}
        for r in results:
            path, _, name = r["name"].partition(", ")
            if name == case:
                by_round.setdefault(r.get("round", 1), {})[path] = r["per_s"]
        ratios = sorted(p["durable"] / p["naive pool"] for p in by_round.values() if len(p) == 2)
        if ratios:
            shown = ", ".join(f"{ratio:.0%}" for ratio in ratios)
            lines.append(
                f"{profile}, {case}: durable ÷ naive per round {shown}; median {statistics.median(ratios):.0%}"
            )
    return lines


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        per_events = tuple(int(n) for n in sys.argv[4].split(","))
        child(int(sys.argv[2]), sys.argv[3], per_events, int(sys.argv[5]), int(sys.argv[6]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--profiles", default="embedded,redis")
    parser.add_argument("--per-event", default="1,20", help="webhooks per event to measure, comma-separated")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="durable then naive this many times per case, alternated; ratios per round",
    )
    parser.add_argument(
        "--per-transaction",
        type=int,
        default=1,
        help="the producer emits this many events per transaction (1: each on its own, outside a transaction)",
    )
    args = parser.parse_args()

    with receiver_process(receiver_main, "webhooks") as url:
        ratios: list[str] = []
        print(
            f"command: .venv/bin/python -m bench.webhooks --deliveries {args.deliveries} --profiles {args.profiles} "
            f"--per-event {args.per_event} --rounds {args.rounds} --per-transaction {args.per_transaction}"
        )
        print(
            "| profile | path | deliveries | deliveries/s | p50 ms | p99 ms | duplicates | emit µs (mean) "
            "| worker CPU µs/delivery |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for profile in args.profiles.split(","):
            result = run_profile(profile, args.deliveries, url, args.per_event, args.rounds, args.per_transaction)
            if result is None:
                continue
            for r in result["results"]:
                logged = f" (logged {r['logged']})" if "logged" in r else ""
                cpu = f"{r['worker_cpu_us']:.0f}" if "worker_cpu_us" in r else "—"
                print(
                    f"| {profile} | {r['name']} | {r['deliveries']}{logged} | {r['per_s']:.0f} | "
                    f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['duplicates']} | {r['emit_us']:.0f} | {cpu} |",
                    flush=True,
                )
            print(f"| {profile} | worker log errors: {result['worker_errors']} | | | | | | | |", flush=True)
            ratios.extend(_ratios(profile, result["results"]))
            for name, p in result["producer"].items():
                line = f"{name}: p50 {p['p50_us']:.1f} µs, p99 {p['p99_us']:.1f} µs"
                print(f"producer, nothing subscribed ({profile}): {line}")
        for line in ratios:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
