"""The admin's delivery-health dashboard with a big run log: render time and queries.

``python -m bench.admin_dashboard [--rows 100000] [--requests 20] [--profiles embedded,scaleout]``
(``./run bench admin_dashboard``). Each profile runs in a child process
against an install of its own (bench._setup.run_child_install): 20 targets
(10 webhooks, 10 script hooks) and ``--rows`` log rows, all inside the last
7 days (the worst case: every row is in both the counts and the percentiles),
10 % failed, 1 % skipped. Measured in-process through Django's test client
as a logged-in superuser, no network: ``GET /admin/hooks/dashboard/`` (the
whole page: selectors, template, SVG chart) and the selector alone
(``hooks.health.dashboard``), p50/p95 over ``--requests`` runs after one
warm-up. Target: the page under 300 ms with 100,000 rows. The log's hourly
counts (``hooks.rollups``) are built once after the rows, as the migration's
backfill does; the populate time includes it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench._setup import run_child_install

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ["subtitle_downloaded", "provider_failed", "batch_complete", "wanted_item_processed", "upgrade_complete"]


def populate(rows: int) -> None:
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
    span = timedelta(days=7) - timedelta(minutes=1)
    batch: list[HookLog] = []
    for index in range(rows):
        is_webhook = index % 2 == 0
        target: WebhookConfig | HookConfig = webhooks[index // 2 % 10] if is_webhook else hooks[index // 2 % 10]
        batch.append(
            HookLog(
                hook=target if isinstance(target, HookConfig) else None,
                webhook=target if isinstance(target, WebhookConfig) else None,
                hook_name=target.name,
                event_name=EVENTS[index % 5],
                event_id=uuid.uuid4(),
                hook_type="webhook" if is_webhook else "script",
                success=index % 10 != 0,
                skipped=index % 100 == 1,
                status_code=200 if is_webhook else None,
                duration_ms=5 + (index * 37) % 2000,
                triggered_at=now - span * (index / rows),
            )
        )
        if len(batch) == 5000:
            HookLog.objects.bulk_create(batch)
            batch = []
    HookLog.objects.bulk_create(batch)
    from hooks import rollups

    rollups.hours_rebuild()  # the hourly counts, as the migration's backfill (the recorder keeps them after)


def timed(action, count: int) -> tuple[float, float]:
    action()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def child(rows: int, requests: int) -> None:
    import os
    import warnings

    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, check=True, env=os.environ)
    warnings.filterwarnings("ignore", message="No directory at")  # no collected static files here
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from hooks import health

    start = time.perf_counter()
    populate(rows)
    populated = time.perf_counter() - start
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE hooks_hooklog")
    user = get_user_model().objects.create_superuser(username="bench", email="b@example.com", password="x")
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)

    def page() -> None:
        response = client.get("/admin/hooks/dashboard/")
        assert response.status_code == 200, response.status_code

    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        page()
    page_p50, page_p95 = timed(page, requests)
    selector_p50, selector_p95 = timed(health.dashboard, requests)
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "rows": rows,
                "populate_s": round(populated, 1),
                "page_queries": len(queries),
                "page_p50": page_p50,
                "page_p95": page_p95,
                "selector_p50": selector_p50,
                "selector_p95": selector_p95,
                "method": health.percentile_method(),
            }
        )
    )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--profiles", default="embedded,scaleout")
    args = parser.parse_args()
    print("| profile | log rows (all in 7 d) | page p50 ms | page p95 ms | selectors p50 ms | queries | percentiles |")
    print("|---|---|---|---|---|---|---|")
    status = 0
    for profile in args.profiles.split(","):
        argv = ["bench.admin_dashboard", "--child", str(args.rows), str(args.requests)]
        result = run_child_install("admin_dashboard", profile == "scaleout", argv)
        if result is None:
            status = 1
            continue
        print(
            f"| {profile} ({result['database']}) | {result['rows']:,} | {result['page_p50']:.0f} | "
            f"{result['page_p95']:.0f} | {result['selector_p50']:.0f} | {result['page_queries']} | {result['method']} |"
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
