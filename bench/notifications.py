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
import json
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


class _Handler(ArrivalsHandler):
    """Answers 200; a notification is named by its title (the template is ``{{ id }}``: the event's id)."""

    reply = (200, b"ok")

    def key(self, body: bytes) -> str:
        try:
            return str(json.loads(body).get("title", ""))
        except ValueError:
            return ""


def receiver_main(port_file: str) -> None:
    serve(_Handler, port_file)


def child(deliveries: int, receiver_url: str) -> None:
    import django

    django.setup()
    import apprise

    from events import emit_event
    from events.samples import sample_payload
    from events.services import build_envelope
    from hooks import subscriptions
    from hooks.models import HookLog, NotificationConfig

    cluster, log_path = start_cluster()
    receiver = Receiver(receiver_url, noun="notifications", log_path=log_path, timeout=600)
    take, wait_for = receiver.take, receiver.wait_for
    json_url = "json://" + receiver_url.split("://", 1)[1]

    def summarise(name: str, emitted: dict[str, float], arrivals: list) -> dict:
        latencies = [(at - emitted[title]) * 1000 for _, title, at in arrivals if title in emitted]
        first = min(emitted.values())
        last = max(at for _, _, at in arrivals)
        titles = [title for _, title, _ in arrivals]
        return {
            "name": name,
            "deliveries": len(emitted),
            "per_s": len(emitted) / (last - first),
            "p50_ms": percentile(latencies, 0.5),
            "p99_ms": percentile(latencies, 0.99),
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
        worker_errors = stop_cluster(cluster, log_path)
    print(json.dumps({"results": results, "worker_errors": worker_errors}))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--profiles", default="embedded,redis")
    args = parser.parse_args()

    with receiver_process(receiver_main, "notifications") as url:
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
