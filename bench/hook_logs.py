"""The hook log at size: API list latency with filters, and the retention purge.

``python -m bench.hook_logs [--rows N] [--requests R]``. Embedded profile in a
temporary data dir (SQLite, migrated here, removed at the end); in-process
requests through Django's test client with a staff token, no network.

* ``GET /api/hook-logs/`` with each filter the admin and API offer: p50/p95
  over R requests (each request pays the pagination COUNT);
* ``hook_logs_purge`` of the older half: total time, rows/s, and the longest
  single DELETE statement (how long one batch holds SQLite's write lock,
  i.e. how long a queue worker writing a log row may have to wait).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench._setup import setup_environment

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ["subtitle_downloaded", "provider_failed", "batch_complete", "wanted_item_processed", "upgrade_complete"]


def populate(rows: int) -> dict[str, int]:
    from datetime import timedelta

    from django.utils import timezone

    from hooks.models import HookConfig, HookLog, WebhookConfig

    hooks = [
        HookConfig.objects.create(name=f"script {i}", event_name=EVENTS[i % 5], script_path="x.sh") for i in range(10)
    ]
    webhooks = [
        WebhookConfig.objects.create(name=f"webhook {i}", event_name="*", url="https://93.184.216.34/")
        for i in range(10)
    ]
    now = timezone.now()
    span = timedelta(days=60)
    batch = []
    for index in range(rows):
        is_webhook = index % 2 == 0
        target = webhooks[index % 10] if is_webhook else hooks[index % 10]
        batch.append(
            HookLog(
                hook=None if isinstance(target, WebhookConfig) else target,
                webhook=target if isinstance(target, WebhookConfig) else None,
                hook_name=target.name,
                event_name=EVENTS[index % 5],
                event_id=uuid.uuid4(),
                hook_type="webhook" if is_webhook else "script",
                success=index % 10 != 0,
                status_code=200 if is_webhook else None,
                exit_code=None if is_webhook else 0,
                duration_ms=index % 500,
                stdout="" if is_webhook else "ok\n",
                request_headers={"X-Sublarr-Event": EVENTS[index % 5], "X-Sublarr-Signature": "sha256=00"}
                if is_webhook
                else {},
                triggered_at=now - span * (index / rows),
            )
        )
        if len(batch) == 5000:
            HookLog.objects.bulk_create(batch)
            batch = []
    HookLog.objects.bulk_create(batch)
    return {"webhook": webhooks[3].pk, "hook": hooks[4].pk}


def time_requests(client, url: str, count: int) -> tuple[float, float]:
    client.get(url)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def run(rows: int, requests: int) -> None:
    import warnings

    import django

    # WhiteNoise: the temporary data dir has no collected static files.
    warnings.filterwarnings("ignore", message="No directory at")

    django.setup()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from hooks import services
    from hooks.models import HookLog

    start = time.perf_counter()
    ids = populate(rows)
    print(f"populated {rows} log rows in {time.perf_counter() - start:.1f} s")

    user = get_user_model().objects.create_user(username="bench", password="bench-pass-1", is_staff=True)
    client = APIClient(SERVER_NAME="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    week_ago = (timezone.now() - timedelta(days=7)).isoformat().replace("+00:00", "Z")
    queries = {
        "newest first, page 1 (50 rows)": "/api/hook-logs/",
        "one webhook": f"/api/hook-logs/?webhook={ids['webhook']}",
        "one script hook": f"/api/hook-logs/?hook={ids['hook']}",
        "failures only": "/api/hook-logs/?success=false",
        "one event, last 7 days": f"/api/hook-logs/?event_name=provider_failed&since={week_ago}",
        "page 500 (deep offset)": "/api/hook-logs/?page=500",
        "page_size=500": "/api/hook-logs/?page_size=500",
    }
    print(f"\n| GET /api/hook-logs/ ({rows} rows) | p50 ms | p95 ms |")
    print("|---|---|---|")
    for label, url in queries.items():
        p50, p95 = time_requests(client, url, requests)
        print(f"| {label} | {p50:.1f} | {p95:.1f} |")

    deletes: list[float] = []

    def timed(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if sql.lstrip().upper().startswith("DELETE"):
                deletes.append((time.perf_counter() - began) * 1000)

    old = HookLog.objects.filter(triggered_at__lt=timezone.now() - timedelta(days=30)).count()
    with connection.execute_wrapper(timed):
        start = time.perf_counter()
        purged = services.hook_logs_purge(older_than_days=30)
        elapsed = time.perf_counter() - start
    assert purged == old, (purged, old)
    print(f"\n| purge older than 30 days (batches of {services.PURGE_BATCH_SIZE}) | value |")
    print("|---|---|")
    print(f"| rows deleted | {purged} |")
    print(f"| total | {elapsed:.2f} s ({purged / elapsed:,.0f} rows/s) |")
    print(f"| DELETE statements | {len(deletes)} |")
    print(f"| longest DELETE (write lock held) | {max(deletes):.1f} ms |")
    print(f"| median DELETE | {statistics.median(deletes):.1f} ms |")

    # Contrast: the other half in one statement, as an unbatched purge would do it.
    rest = HookLog.objects.count()
    start = time.perf_counter()
    HookLog.objects.all().delete()
    print(f"| contrast: one DELETE of the other {rest} rows | {(time.perf_counter() - start) * 1000:.0f} ms |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="sublarr-bench-hook-logs-")
    try:
        setup_environment(data_dir)
        sys.path.insert(0, str(ROOT))
        run(args.rows, args.requests)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
