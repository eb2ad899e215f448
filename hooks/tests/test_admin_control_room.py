"""The admin's control room: health selectors, dashboard, delivery history, redelivery, and who may see them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hooks import health, rollups
from hooks.models import Delivery, HookConfig, HookLog, HookType, WebhookConfig

pytestmark = pytest.mark.django_db

URL = "https://93.184.216.34/hook"


def make_webhook(name: str = "Gotify", **fields) -> WebhookConfig:
    return WebhookConfig.objects.create(name=name, event_name="*", url=URL, **fields)


def make_delivery(target, status=Delivery.Status.FAILED, created_at=None, event="subtitle_downloaded") -> Delivery:
    is_webhook = isinstance(target, WebhookConfig)
    event_id = uuid.uuid4()
    item = Delivery.objects.create(
        event_id=event_id,
        event_name=event,
        envelope={"id": str(event_id), "event_name": event, "data": {"title": "Dune"}},
        hook_type=HookType.WEBHOOK if is_webhook else HookType.SCRIPT,
        webhook=target if is_webhook else None,
        hook=None if is_webhook else target,
        status=status,
        attempts=1,
        max_attempts=1,
    )
    if created_at is not None:
        Delivery.objects.filter(pk=item.pk).update(created_at=created_at)
        item.refresh_from_db()
    return item


def log(target, *, success=True, duration_ms=100, ago=timedelta(minutes=5), delivery=None, **fields) -> HookLog:
    """A log row, counted into its hour as the recorder counts it (hooks.rollups)."""
    is_webhook = isinstance(target, WebhookConfig)
    row = HookLog.objects.create(
        webhook=target if is_webhook else None,
        hook=None if is_webhook else target,
        delivery=delivery,
        hook_name=target.name,
        event_name="subtitle_downloaded",
        hook_type=HookType.WEBHOOK if is_webhook else HookType.SCRIPT,
        success=success,
        duration_ms=duration_ms,
        triggered_at=timezone.now() - ago,
        **fields,
    )
    rollups.hours_add(rollups.tally_logs([row]))
    return row


# --- Health selectors ------------------------------------------------------------


def test_health_counts_runs_rates_last_success_and_leaves_out_tests_and_skips():
    webhook = make_webhook(consecutive_failures=2, disabled_reason="")
    hook = HookConfig.objects.create(name="notify", event_name="subtitle_downloaded", script_path="n.sh")
    for _ in range(3):
        log(webhook, success=True)
    log(webhook, success=False)
    log(webhook, success=False, ago=timedelta(days=3))
    log(webhook, success=True, ago=timedelta(days=3))
    log(webhook, success=True, ago=timedelta(days=30))  # outside both windows
    log(webhook, success=True, is_test=True)  # a test run: never counted
    log(webhook, success=False, skipped=True)  # webhook disabled: not a run
    last = log(hook, success=True, ago=timedelta(days=10))
    log(hook, success=False, ago=timedelta(hours=1))

    entries = {entry.target.name: entry for entry in health.targets_health(targets=[webhook, hook])}

    day, week = entries["Gotify"].day, entries["Gotify"].week
    assert (day.runs, day.successes, day.success_rate) == (4, 3, 75.0)
    assert (week.runs, week.successes) == (6, 4)
    assert entries["Gotify"].consecutive_failures == 2
    assert entries["notify"].day.runs == 1
    assert entries["notify"].day.successes == 0
    assert entries["notify"].week.success_rate == 0.0
    assert entries["notify"].last_success_at == last.triggered_at


def test_percentiles_are_within_a_histogram_bucket_of_the_exact_value():
    webhook = make_webhook()
    durations = list(range(10, 1010, 10))  # 10 … 1000 ms, 100 runs
    for duration in durations:
        log(webhook, duration_ms=duration)

    [entry] = health.targets_health(targets=[webhook])

    # percentile_cont's linear interpolation (the exact values): p50 = 505, p95 = 950.5
    assert entry.day.p50_ms == pytest.approx(505, rel=0.25)
    assert entry.day.p95_ms == pytest.approx(950.5, rel=0.25)
    assert entry.week.p50_ms == entry.day.p50_ms


def test_histogram_percentile_of_one_value_is_inside_its_bucket():
    counts = {rollups.DURATION_EDGES.index(1): 1}
    assert rollups.percentile(counts, 0.95) == pytest.approx(0.5)
    assert rollups.percentile({}, 0.5) is None


def test_outcome_buckets_slice_the_last_seven_days():
    webhook = make_webhook()
    now = timezone.now()
    log(webhook, success=True, ago=timedelta(minutes=1))
    log(webhook, success=False, ago=timedelta(minutes=2))
    log(webhook, success=False, skipped=True, ago=timedelta(minutes=3))
    log(webhook, success=True, ago=timedelta(days=6, hours=23))
    log(webhook, success=True, ago=timedelta(days=8))  # outside

    buckets = health.outcome_buckets(now=now)

    assert len(buckets) == health.CHART_BUCKETS
    assert (buckets[-1].succeeded, buckets[-1].failed, buckets[-1].skipped) == (1, 1, 1)
    assert (buckets[0].succeeded, buckets[0].total) == (1, 1)
    assert sum(bucket.total for bucket in buckets) == 4


@pytest.mark.parametrize("targets", [1, 12])
@pytest.mark.parametrize(("some_never_succeeded", "queries"), [(False, 5), (True, 6)])
def test_dashboard_costs_a_fixed_number_of_queries(django_assert_num_queries, targets, some_never_succeeded, queries):
    for index in range(targets):
        webhook = make_webhook(f"w{index}")
        hook = HookConfig.objects.create(name=f"h{index}", event_name="subtitle_downloaded", script_path="n.sh")
        log(webhook, success=True)
        log(webhook, success=False)
        log(hook, success=True, ago=timedelta(days=2))
    if some_never_succeeded:
        failing = make_webhook("failing")
        log(failing, success=False)
        old_success = log(failing, success=True, ago=timedelta(days=20))

    # the targets (one query per kind: webhooks, hooks, notifications), the 7-day GROUP BY, the chart;
    # + older last successes when a target had none in 7 days
    with django_assert_num_queries(queries):
        board = health.dashboard()

    assert len(board.targets) == 2 * targets + some_never_succeeded
    if some_never_succeeded:
        [entry] = [entry for entry in board.targets if entry.target.name == "failing"]
        assert entry.last_success_at == old_success.triggered_at
        assert entry.week.successes == 0


def test_dashboard_page_queries_do_not_grow_with_targets_or_logs(admin_client):
    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get("/admin/hooks/dashboard/")
        assert response.status_code == 200
        return len(queries)

    make_webhook("first")
    first = page_queries()
    for index in range(10):
        webhook = make_webhook(f"w{index}")
        for _ in range(5):
            log(webhook, success=False)
    assert page_queries() == first


def test_dashboard_shows_every_target_and_an_inline_svg_chart(admin_client):
    webhook = make_webhook("Gotify", enabled=False, disabled_reason="HTTP 410 Gone")
    log(webhook, success=True, duration_ms=120)
    log(webhook, success=False, duration_ms=80)

    html = admin_client.get("/admin/hooks/dashboard/").content.decode()

    assert '<svg id="outcomes-chart"' in html
    assert "HTTP 410 Gone" in html
    assert "50.0 % of 2" in html
    assert f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/" in html
    assert "https://" not in html.replace(URL, "")  # no external asset (the only URL would be a target's)
    assert URL not in html  # and a target's URL is not shown either


def test_changelists_show_health_columns(admin_client):
    webhook = make_webhook()
    log(webhook, success=True, duration_ms=40)
    log(webhook, success=False, duration_ms=40)
    hook = HookConfig.objects.create(name="notify", event_name="subtitle_downloaded", script_path="n.sh")
    log(hook, success=True)

    webhooks = admin_client.get("/admin/hooks/webhookconfig/").content.decode()
    hooks = admin_client.get("/admin/hooks/hookconfig/").content.decode()

    assert "50.0 % of 2" in webhooks
    assert f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/" in webhooks
    assert "100.0 % of 1" in hooks
    assert "Delivery health" in webhooks
    assert "Live events" in hooks


# --- History ---------------------------------------------------------------------


def test_history_shows_each_delivery_with_its_attempts_and_redacts_secrets(admin_client):
    webhook = make_webhook()
    item = make_delivery(webhook)
    log(
        webhook,
        success=False,
        delivery=item,
        status_code=503,
        error="HTTP 503",
        request_headers={"webhook-signature": "v1,c2VjcmV0", "X-Api-Key": "k-123", "Content-Type": "application/json"},
        response_headers={"Retry-After": "30", "Set-Cookie": "session=abc"},
        response_body="busy, come back later",
    )

    response = admin_client.get(f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/")
    html = response.content.decode()

    assert response.status_code == 200
    assert f'id="delivery-{item.pk}"' in html
    assert "Content-Type: application/json" in html
    assert "webhook-signature: [redacted]" in html
    assert "v1,c2VjcmV0" not in html
    assert "k-123" not in html
    assert "session=abc" not in html
    assert "Retry-After: 30" in html
    assert "busy, come back later" in html
    assert "HTTP 503" in html
    assert "Dune" in html


def test_history_filters_by_outcome_and_time_range(admin_client):
    webhook = make_webhook()
    old = make_delivery(webhook, created_at=timezone.now() - timedelta(days=3))
    failed = make_delivery(webhook)
    ok = make_delivery(webhook, status=Delivery.Status.SUCCEEDED)
    url = f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/"

    by_outcome = admin_client.get(url, {"outcome": "failed"}).content.decode()
    since = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    recent = admin_client.get(url, {"since": since}).content.decode()

    assert f'id="delivery-{failed.pk}"' in by_outcome
    assert f'id="delivery-{old.pk}"' in by_outcome
    assert f'id="delivery-{ok.pk}"' not in by_outcome
    assert f'id="delivery-{old.pk}"' not in recent
    assert f'id="delivery-{ok.pk}"' in recent


def test_history_answers_bad_filters_with_400_and_field_messages(admin_client):
    webhook = make_webhook()
    url = f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/"

    response = admin_client.get(url, {"since": "yesterday", "outcome": "exploded"})
    backwards = admin_client.get(url, {"since": "2026-02-01T00:00", "until": "2026-01-01T00:00"})

    assert response.status_code == 400
    assert "Enter a date and time like 2026-01-31T18:30." in response.content.decode()
    assert "Select a valid choice" in response.content.decode()
    assert backwards.status_code == 400
    assert "Must not be before" in backwards.content.decode()


def test_redeliver_button_queues_the_delivery_again(admin_client):
    webhook = make_webhook()
    item = make_delivery(webhook)

    response = admin_client.post(f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/{item.pk}/redeliver/")

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == Delivery.Status.PENDING
    assert item.max_attempts == 1 + webhook.retry_count + 1


def test_redeliver_refusal_is_a_message_not_an_error(admin_client):
    webhook = make_webhook(enabled=False, disabled_reason="HTTP 410 Gone")
    item = make_delivery(webhook)

    response = admin_client.post(
        f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/{item.pk}/redeliver/", follow=True
    )

    assert response.status_code == 200
    assert "enable it before redelivering" in response.content.decode()
    item.refresh_from_db()
    assert item.status == Delivery.Status.FAILED


def test_redeliver_of_another_targets_delivery_is_404(admin_client):
    webhook, other = make_webhook(), make_webhook("other")
    item = make_delivery(other)

    response = admin_client.post(f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/{item.pk}/redeliver/")

    assert response.status_code == 404


def test_redeliver_range_shows_the_count_then_queues_them(admin_client):
    webhook = make_webhook()
    inside = [make_delivery(webhook, created_at=timezone.now() - timedelta(hours=hours)) for hours in (1, 2)]
    make_delivery(webhook, status=Delivery.Status.SKIPPED, created_at=timezone.now() - timedelta(hours=3))
    outside = make_delivery(webhook, created_at=timezone.now() - timedelta(days=5))
    make_delivery(webhook, status=Delivery.Status.SUCCEEDED)
    url = f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/redeliver-failed/"
    window = {
        "since": (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "until": (timezone.localtime() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
    }

    confirm = admin_client.get(url, window)
    assert confirm.status_code == 200
    assert '<p id="redeliver-count"><strong>3</strong> deliveries' in confirm.content.decode()
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 0

    done = admin_client.post(url, window, follow=True)

    assert "Queued 3 failed or skipped delivery(ies)" in done.content.decode()
    assert {d.pk for d in Delivery.objects.filter(status=Delivery.Status.PENDING)} >= {d.pk for d in inside}
    outside.refresh_from_db()
    assert outside.status == Delivery.Status.FAILED


def test_redeliver_range_of_a_script_hook(admin_client):
    hook = HookConfig.objects.create(name="notify", event_name="subtitle_downloaded", script_path="n.sh")
    items = [make_delivery(hook) for _ in range(2)]

    admin_client.post(f"/admin/hooks/hookconfig/{hook.pk}/deliveries/redeliver-failed/", {"since": "", "until": ""})

    assert all(Delivery.objects.get(pk=d.pk).status == Delivery.Status.PENDING for d in items)


def test_redeliver_range_rejects_a_bad_window_with_400(admin_client):
    webhook = make_webhook()
    item = make_delivery(webhook)
    url = f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/redeliver-failed/"

    response = admin_client.post(url, {"since": "not a date"})

    assert response.status_code == 400
    assert "Enter a date and time like" in response.content.decode()
    item.refresh_from_db()
    assert item.status == Delivery.Status.FAILED


def test_live_page_loads_its_vendored_script_and_no_external_asset(admin_client):
    html = admin_client.get("/admin/hooks/live/").content.decode()

    assert 'src="/static/hooks/live.js"' in html
    assert "subtitle_downloaded" in html
    assert "//cdn" not in html
    assert "https://" not in html


# --- Who may see them ------------------------------------------------------------


def control_room_urls(webhook: WebhookConfig, hook: HookConfig, item: Delivery) -> list[tuple[str, str]]:
    return [
        ("get", "/admin/hooks/dashboard/"),
        ("get", "/admin/hooks/live/"),
        ("get", f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/"),
        ("get", f"/admin/hooks/hookconfig/{hook.pk}/deliveries/"),
        ("get", f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/redeliver-failed/"),
        ("post", f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/redeliver-failed/"),
        ("post", f"/admin/hooks/webhookconfig/{webhook.pk}/deliveries/{item.pk}/redeliver/"),
        ("post", f"/admin/hooks/hookconfig/{hook.pk}/deliveries/redeliver-failed/"),
    ]


@pytest.mark.parametrize("who", ["anonymous", "non-staff"])
def test_only_staff_may_open_the_pages_or_act(client, plain_user, who):
    webhook = make_webhook()
    hook = HookConfig.objects.create(name="notify", event_name="subtitle_downloaded", script_path="n.sh")
    item = make_delivery(webhook)
    make_delivery(hook)
    if who == "non-staff":
        client.force_login(plain_user)

    for method, url in control_room_urls(webhook, hook, item):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url

    assert not Delivery.objects.filter(status=Delivery.Status.PENDING).exists()


def test_staff_without_model_permissions_is_refused(client, staff_user):
    webhook = make_webhook()
    hook = HookConfig.objects.create(name="notify", event_name="subtitle_downloaded", script_path="n.sh")
    item = make_delivery(webhook)
    client.force_login(staff_user)

    for method, url in control_room_urls(webhook, hook, item):
        if url.endswith("/live/"):
            continue  # the live page needs staff only: the stream is every logged-in user's (docs/EVENTS.md)
        assert getattr(client, method)(url).status_code == 403, url

    item.refresh_from_db()
    assert item.status == Delivery.Status.FAILED
