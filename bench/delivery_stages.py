"""CPU per delivery of each stage of a queue worker's path, by batch size, in one process.

    .venv/bin/python -m bench.delivery_stages [--profiles embedded,redis] [--batches 1,10,100] [--deliveries 2000]

``bench.webhooks`` measures the whole pipeline with a running ``qcluster``:
its CPU per delivery moves with how the work happens to be batched (the
workers keep up with the producer, so a fan-out takes ~10 events on
PostgreSQL and a few dozen on SQLite) and with what else the machine does.
This benchmark takes the pipeline apart and drives each stage itself, with
batches of a fixed size, one webhook per event, to a local receiver in its
own process (answers 204):

* **fan-out**: ``fan_out_pending(limit=B)`` — B outbox rows taken, B
  ``Delivery`` rows created claimed, the outbox rows deleted;
* **attempt**: ``attempt()`` of each of those rows — the signed POST;
* **record**: ``deliveries_record()`` of the B outcomes — ``HookLog`` rows,
  the hourly counts, the deliveries' and the webhook's updates,
  ``hook_executed`` (and the WebSocket bridge's share of it).

CPU is ``time.process_time()`` of this process (the bridge's thread
included), per delivery; the outbox rows are written before the clock
starts. The same database and process serve every batch size, in
alternating order.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from bench._setup import ArrivalsHandler, receiver_process, run_child_install, serve


class _Handler(ArrivalsHandler):
    def key(self, body: bytes) -> str:
        return self.headers.get("webhook-id", "")


def receiver_main(port_file: str) -> None:
    serve(_Handler, port_file)


def child(receiver_url: str, batches: tuple[int, ...], deliveries: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.conf import settings

    if "channels" in settings.DATABASES:
        call_command("migrate", database="channels", verbosity=0)

    from events.samples import sample_payload
    from events.services import build_envelope
    from hooks import subscriptions
    from hooks.delivery.attempts import Job, attempt
    from hooks.delivery.fanout import fan_out_pending
    from hooks.delivery.record import deliveries_record
    from hooks.models import Delivery, HookLog, PendingEvent, WebhookConfig

    WebhookConfig.objects.create(
        name="w", event_name="subtitle_downloaded", url=f"{receiver_url}/w", secret="whsec_" + "QUJD" * 11
    )
    subscriptions.subscriptions_changed()
    payload = sample_payload("subtitle_downloaded")

    def one_batch(size: int) -> tuple[float, float, float]:
        PendingEvent.objects.bulk_create(
            [
                PendingEvent(event_id=e["id"], event_name=e["event_name"], envelope=e)
                for e in (build_envelope("subtitle_downloaded", payload) for _ in range(size))
            ]
        )
        t0 = time.process_time()
        taken, rows = fan_out_pending(limit=size)
        t1 = time.process_time()
        outcomes = []
        for row in rows:
            job = Job.of(row)
            outcome = attempt(job.delivery_id, job.lease_seconds, job.preloaded, claimed_already=job.claimed)
            assert outcome is not None
            assert outcome.result.success, outcome.result.error
            outcomes.append(outcome)
        t2 = time.process_time()
        deliveries_record(outcomes=outcomes)
        t3 = time.process_time()
        assert taken == size == len(rows), (taken, size, len(rows))
        return (t1 - t0) / size * 1e6, (t2 - t1) / size * 1e6, (t3 - t2) / size * 1e6

    for size in batches:  # warm-up: connections, imports, caches
        one_batch(size)
    samples: dict[int, list[tuple[float, float, float]]] = {size: [] for size in batches}
    reps = {size: max(3, deliveries // size) for size in batches}
    for i in range(max(reps.values())):
        for size in batches if i % 2 == 0 else reversed(batches):
            if len(samples[size]) < reps[size]:
                samples[size].append(one_batch(size))
    logged = HookLog.objects.filter(success=True).count()
    owed = sum(len(s) * size for size, s in samples.items()) + sum(batches)
    assert logged == owed, (logged, owed)
    assert not Delivery.objects.exclude(status=Delivery.Status.SUCCEEDED).exists()
    result = {}
    for size, rows in samples.items():
        stages = [statistics.median(column) for column in zip(*rows, strict=True)]
        result[size] = {"fan_out": stages[0], "attempt": stages[1], "record": stages[2], "batches": len(rows)}
    print(json.dumps(result))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], tuple(int(n) for n in sys.argv[3].split(",")), int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="embedded,redis")
    parser.add_argument("--batches", default="1,10,100", help="events per fan-out and per record batch")
    parser.add_argument("--deliveries", type=int, default=2000, help="per batch size, at least 3 batches")
    args = parser.parse_args()
    print(
        f"command: .venv/bin/python -m bench.delivery_stages --profiles {args.profiles} --batches {args.batches} "
        f"--deliveries {args.deliveries}"
    )
    print("CPU µs per delivery (median over batches)")
    print("| profile | batch | fan-out | attempt | record | total | batches |")
    print("|---|---|---|---|---|---|---|")
    with receiver_process(receiver_main, "stages") as url:
        for profile in args.profiles.split(","):
            argv = ["bench.delivery_stages", "--child", url, args.batches, str(args.deliveries)]
            result = run_child_install("stages", profile == "redis", argv)
            if result is None:
                continue
            for size, r in result.items():
                total = r["fan_out"] + r["attempt"] + r["record"]
                print(
                    f"| {profile} | {size} | {r['fan_out']:.0f} | {r['attempt']:.0f} | {r['record']:.0f} "
                    f"| {total:.0f} | {r['batches']} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
