"""The hourly counts (HookLogHour) give the figures the raw log gives, and stay equal to it when rows go.

The reference here is computed in Python from the HookLog rows themselves,
independently of hooks.health's reading of the hours.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from hooks import health, rollups, services
from hooks.models import HookConfig, HookLog, HookLogHour, NotificationConfig, WebhookConfig

pytestmark = pytest.mark.django_db

# Not on the hour: the 24 h and 7 d windows both start inside an hour (the cut hours read from the log).
NOW = datetime(2026, 11, 20, 10, 37, 12, 345000, tzinfo=UTC)


def hours_snapshot() -> dict[tuple, tuple]:
    """The stored hours; those of deleted targets merged under one key (a rebuild no longer knows whose they were)."""
    existing = {
        (model.target_field, pk)
        for model in (WebhookConfig, HookConfig, NotificationConfig)
        for pk in model.objects.values_list("pk", flat=True)
    }
    merged: dict[tuple, rollups.Tally] = {}
    for row in HookLogHour.objects.all():
        key = (row.target_field, row.target_id) if (row.target_field, row.target_id) in existing else ("", 0)
        merged.setdefault((*key, row.hour), rollups.Tally()).merge(rollups.Tally.of(row))
    return {
        key: (t.runs, t.successes, t.skipped, t.last_success_at, sorted(t.durations.items()))
        for key, t in merged.items()
        if t.runs or t.skipped
    }


def assert_hours_match_the_log() -> None:
    """The stored hours are what counting the whole log again gives (as the migration's backfill does)."""
    kept = hours_snapshot()
    assert kept
    rollups.hours_rebuild()
    assert kept == hours_snapshot()


def make_targets() -> list:
    return [
        WebhookConfig.objects.create(name="Gotify", event_name="*", url="https://93.184.216.34/hook"),
        WebhookConfig.objects.create(name="quiet", event_name="*", url="https://93.184.216.34/quiet"),
        HookConfig.objects.create(name="notify.sh", event_name="*", script_path="n.sh"),
        NotificationConfig.objects.create(name="phone", events=["*"], urls=["json://127.0.0.1/x"]),
    ]


def fixed_log(targets: list, now: datetime = NOW) -> list[HookLog]:
    """~1,600 rows over 9 days, around both cut hours too; tests, skips, a deleted target's rows; in batches."""
    pick = random.Random(17)
    gone = WebhookConfig.objects.create(name="gone", event_name="*", url="https://93.184.216.34/gone")
    rows = []
    moments = [now - timedelta(seconds=pick.uniform(0, 9 * 86400)) for _ in range(1500)]
    for edge in (now - timedelta(days=7), now - timedelta(hours=24)):  # just before and after each window start
        moments += [edge + timedelta(seconds=offset) for offset in (-3599, -1, 0, 1, 59, 3599)]
    moments += [now - timedelta(days=20), now - timedelta(days=12)]  # old successes only
    for index, at in enumerate(moments):
        target = [*targets, gone][index % (len(targets) + 1)]
        if target.name == "quiet" and at > now - timedelta(days=7):
            continue  # a target whose last success is older than the windows
        rows.append(
            HookLog(
                **{target.target_field: target},
                hook_name=target.name,
                event_name="subtitle_downloaded",
                hook_type=target.kind,
                success=pick.random() < 0.8 or at < now - timedelta(days=10),
                skipped=pick.random() < 0.05,
                is_test=pick.random() < 0.03,
                duration_ms=int(pick.expovariate(1 / 300)),
                triggered_at=at,
            )
        )
    for row in rows:
        if row.skipped:
            row.success = False
    saved = HookLog.objects.bulk_create(rows)
    for start in range(0, len(saved), 97):  # as a recorder would: batch after batch
        rollups.hours_add(rollups.tally_logs(saved[start : start + 97]))
    gone.delete()  # its rows stay in the log, without a target; they still count in the chart
    return saved


def expected_from_log(targets: list, now: datetime) -> tuple[dict, list[tuple[int, int, int]]]:
    """Per target, per window: (runs, successes, p50, p95) and the last success; and the chart's slices."""
    logs = list(HookLog.objects.filter(is_test=False))
    figures = {}
    for target in targets:
        own = [log for log in logs if getattr(log, f"{target.target_field}_id") == target.pk and not log.skipped]
        windows = {}
        for name, span in health.WINDOWS.items():
            inside = [log for log in own if log.triggered_at >= now - span]
            counts: dict[int, int] = {}
            for log in inside:
                counts[rollups.bucket_of(log.duration_ms)] = counts.get(rollups.bucket_of(log.duration_ms), 0) + 1
            windows[name] = (
                len(inside),
                sum(log.success for log in inside),
                rollups.percentile(counts, 0.5),
                rollups.percentile(counts, 0.95),
            )
        last = max((log.triggered_at for log in own if log.success), default=None)
        figures[target.name] = (windows, last)
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    width = health.CHART_SPAN / health.CHART_BUCKETS
    chart = []
    for index in range(health.CHART_BUCKETS):
        low, high = end - health.CHART_SPAN + width * index, end - health.CHART_SPAN + width * (index + 1)
        inside = [log for log in logs if low <= log.triggered_at < high]
        ok = sum(log.success for log in inside)
        skipped = sum(log.skipped for log in inside)
        chart.append((ok, len(inside) - ok - skipped, skipped))
    return figures, chart


def shown(board: health.Dashboard) -> tuple[dict, list[tuple[int, int, int]]]:
    figures = {
        entry.target.name: (
            {name: (s.runs, s.successes, s.p50_ms, s.p95_ms) for name, s in entry.windows.items()},
            entry.last_success_at,
        )
        for entry in board.targets
    }
    return figures, [(b.succeeded, b.failed, b.skipped) for b in board.buckets]


def test_the_dashboard_from_the_hours_equals_the_figures_of_the_raw_log():
    targets = make_targets()
    fixed_log(targets)

    figures, chart = shown(health.dashboard(now=NOW))

    expected_figures, expected_chart = expected_from_log(targets, NOW)
    assert figures == expected_figures
    assert chart == expected_chart
    assert figures["quiet"][1] is not None  # found in the hours before the windows
    assert figures["Gotify"][0]["24h"][0] > 0
    assert sum(map(sum, chart)) > 800


def test_target_health_and_one_targets_chart_equal_the_raw_log_too():
    targets = make_targets()
    fixed_log(targets)
    expected_figures, _ = expected_from_log(targets, NOW)

    entries = health.targets_health(targets=targets[2:], now=NOW)
    buckets = health.outcome_buckets(target=targets[3], now=NOW)

    assert {e.target.name: shown(health.Dashboard(NOW, [e], [], {}))[0][e.target.name] for e in entries} == {
        name: expected_figures[name] for name in ("notify.sh", "phone")
    }
    own = HookLog.objects.filter(notification=targets[3], is_test=False)
    assert sum(b.total for b in buckets) == own.filter(triggered_at__gte=buckets[0].start).count()


def test_adding_batch_after_batch_equals_counting_the_log_at_once():
    fixed_log(make_targets())

    assert_hours_match_the_log()


def test_purge_keeps_the_hours_equal_to_the_log():
    targets = make_targets()
    fixed_log(targets, now=timezone.now())

    assert services.hook_logs_purge(older_than_days=5) > 0

    assert_hours_match_the_log()
    assert not HookLogHour.objects.filter(hour__lt=timezone.now() - timedelta(days=5, hours=1)).exists()


def test_deleting_log_rows_keeps_the_hours_equal_to_the_log():
    targets = make_targets()
    fixed_log(targets)

    services.hook_logs_delete(logs=HookLog.objects.filter(success=False, webhook=targets[0]))
    services.hook_logs_delete(logs=HookLog.objects.filter(triggered_at__gte=NOW - timedelta(hours=30)))

    assert_hours_match_the_log()
    figures, chart = shown(health.dashboard(now=NOW))
    assert (figures, chart) == expected_from_log(targets, NOW)


def test_the_admin_deletes_log_rows_through_the_service(admin_client):
    targets = make_targets()
    rows = fixed_log(targets)
    chosen = [row.pk for row in rows[:5]]

    response = admin_client.post(
        "/admin/hooks/hooklog/", {"action": "delete_selected", "_selected_action": chosen, "post": "yes"}
    )

    assert response.status_code == 302
    assert not HookLog.objects.filter(pk__in=chosen).exists()
    assert_hours_match_the_log()


BEFORE_THE_HOURS = """
from datetime import timedelta
from django.utils import timezone
from hooks.models import HookLog, WebhookConfig
webhook = WebhookConfig.objects.create(name="w", event_name="*", url="https://93.184.216.34/")
now = timezone.now()
HookLog.objects.bulk_create(
    HookLog(webhook=webhook, hook_name="w", event_name="batch_complete", hook_type="webhook",
            success=index % 3 != 0, duration_ms=10 * index, is_test=index == 5,
            triggered_at=now - timedelta(hours=index))
    for index in range(30)
)
"""

AFTER = """
from django.db.models import Count, Sum
from hooks.models import HookLogHour
print(sorted(HookLogHour.objects.aggregate(runs=Sum("runs"), ok=Sum("successes"), hours=Count("id")).items()))
"""


@pytest.mark.slow
def test_the_migration_counts_the_existing_log(tmp_path):
    import testsupport

    env = testsupport.subprocess_env(DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    assert testsupport.manage("migrate", "hooks", "0007_notification_config", "-v0", env=env).returncode == 0
    filled = testsupport.manage("shell", "-c", BEFORE_THE_HOURS, env=env)
    assert filled.returncode == 0, filled.stderr
    migrated = testsupport.manage("migrate", "-v0", env=env)
    assert migrated.returncode == 0, migrated.stderr

    shown = testsupport.manage("shell", "-c", AFTER, env=env)

    # 30 rows an hour apart, one a test run (index 5): 29 runs in 29 hours; index 0, 3, … 27 failed (10).
    assert shown.stdout.strip().splitlines()[-1] == "[('hours', 29), ('ok', 19), ('runs', 29)]"
