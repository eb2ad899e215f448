"""REST API for the hook log: newest first, filters, capped pagination, retrieve, filtered bulk delete."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from hooks.api_logs import BULK_DELETE_REFUSED
from hooks.models import HookConfig, HookLog, WebhookConfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def targets():
    hook = HookConfig.objects.create(name="Script", event_name="batch_complete", script_path="x.sh")
    webhook = WebhookConfig.objects.create(name="Hook", event_name="*", url="https://93.184.216.34/", secret="k-1")
    return hook, webhook


def make_log(*, hook=None, webhook=None, ago: timedelta = timedelta(0), **fields) -> HookLog:
    defaults = {
        "hook_name": (hook or webhook).name,
        "event_name": "batch_complete",
        "hook_type": "webhook" if webhook else "script",
        "success": True,
        "triggered_at": timezone.now() - ago,
        "event_id": uuid.uuid4(),
    }
    return HookLog.objects.create(hook=hook, webhook=webhook, **{**defaults, **fields})


@pytest.fixture
def logs(targets):
    hook, webhook = targets
    return {
        "old_script_ok": make_log(hook=hook, ago=timedelta(days=3)),
        "script_failed": make_log(hook=hook, ago=timedelta(days=2), success=False, exit_code=1, error="exit 1"),
        "webhook_ok": make_log(webhook=webhook, ago=timedelta(days=1), event_name="provider_failed", status_code=200),
        "webhook_test": make_log(webhook=webhook, ago=timedelta(hours=1), is_test=True, status_code=500, success=False),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_list_is_newest_first_and_paginated(staff_client, logs):
    response = staff_client.get("/api/hook-logs/")
    body = response.json()
    assert body["count"] == 4
    assert (body["next"], body["previous"]) == (None, None)
    assert ids(response) == [
        logs["webhook_test"].pk,
        logs["webhook_ok"].pk,
        logs["script_failed"].pk,
        logs["old_script_ok"].pk,
    ]


def test_page_size_is_capped(staff_client, targets):
    hook, _ = targets
    HookLog.objects.bulk_create(
        [HookLog(hook=hook, hook_name="Script", event_name="batch_complete", hook_type="script", success=True)] * 520
    )
    assert len(ids(staff_client.get("/api/hook-logs/"))) == 50
    assert len(ids(staff_client.get("/api/hook-logs/?page_size=10"))) == 10
    capped = staff_client.get("/api/hook-logs/?page_size=100000")
    assert len(ids(capped)) == 500
    assert capped.json()["next"].endswith("page=2&page_size=100000")


@pytest.mark.parametrize("size", ["0", "-5", "many"])
def test_a_bad_page_size_is_400(staff_client, size):
    response = staff_client.get(f"/api/hook-logs/?page_size={size}")
    assert response.status_code == 400
    assert response.json() == {"page_size": ["Enter a page size from 1 to 500 (larger values are capped at 500)."]}


@pytest.mark.parametrize("query", ["enabled=", "event_name="])
def test_a_filter_without_a_value_is_400(staff_client, query):
    response = staff_client.get(f"/api/webhooks/?{query}")
    assert response.status_code == 400
    assert response.json() == {query.rstrip("="): ["This filter needs a value."]}


def test_a_page_past_the_end_is_404(staff_client, logs):
    response = staff_client.get("/api/hook-logs/?page=9")
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("hook={hook}", ["script_failed", "old_script_ok"]),
        ("webhook={webhook}", ["webhook_test", "webhook_ok"]),
        ("event_name=provider_failed", ["webhook_ok"]),
        ("success=false", ["webhook_test", "script_failed"]),
        ("success=true&hook_type=script", ["old_script_ok"]),
        ("is_test=true", ["webhook_test"]),
        ("since={two_days_ago}", ["webhook_test", "webhook_ok", "script_failed"]),
        ("until={two_days_ago}", ["old_script_ok"]),
        ("since={two_days_ago}&until={twelve_hours_ago}&webhook={webhook}", ["webhook_ok"]),
    ],
)
def test_list_filters(staff_client, targets, logs, query, expected):
    hook, webhook = targets
    now = timezone.now()
    query = query.format(
        hook=hook.pk,
        webhook=webhook.pk,
        # Just after the "2 days ago" row was written: it is included by since.
        two_days_ago=(logs["script_failed"].triggered_at).isoformat().replace("+00:00", "Z"),
        twelve_hours_ago=(now - timedelta(hours=12)).isoformat().replace("+00:00", "Z"),
    )
    assert ids(staff_client.get(f"/api/hook-logs/?{query}")) == [logs[name].pk for name in expected]


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("hook=abc", {"hook": ["A valid integer is required."]}),
        ("success=perhaps", {"success": ["Must be a valid boolean."]}),
        ("hook_type=email", {"hook_type": ['"email" is not a valid choice.']}),
        (
            "since=yesterday",
            {
                "since": [
                    "Datetime has wrong format. Use one of these formats instead: "
                    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
                ]
            },
        ),
    ],
)
def test_bad_filters_are_400_with_the_field(staff_client, query, errors):
    response = staff_client.get(f"/api/hook-logs/?{query}")
    assert response.status_code == 400
    assert response.json() == errors


def test_retrieve_redacts_secrets_and_signatures_in_headers(staff_client, targets):
    _, webhook = targets
    log = make_log(
        webhook=webhook,
        request_headers={
            "Content-Type": "application/json",
            "X-Sublarr-Event": "batch_complete",
            "X-Sublarr-Signature": "sha256=deadbeef",
            "webhook-id": "abc",
            "webhook-signature": "v1,c2lnbmF0dXJl",
            "Authorization": "Bearer tok-123",
        },
    )
    response = staff_client.get(f"/api/hook-logs/{log.pk}/")
    assert response.status_code == 200
    assert response.json()["request_headers"] == {
        "Content-Type": "application/json",
        "X-Sublarr-Event": "batch_complete",
        "X-Sublarr-Signature": "[redacted]",
        "webhook-id": "abc",
        "webhook-signature": "[redacted]",
        "Authorization": "[redacted]",
    }
    text = response.content.decode()
    for secret in ("deadbeef", "c2lnbmF0dXJl", "tok-123", "k-1"):
        assert secret not in text
    assert "deadbeef" not in staff_client.get("/api/hook-logs/").content.decode()


def test_a_crossed_time_window_selects_nothing(staff_client, logs):
    assert ids(staff_client.get("/api/hook-logs/?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z")) == []


def test_retrieve_404(staff_client):
    response = staff_client.get("/api/hook-logs/999999/")
    assert response.status_code == 404


def test_logs_outlive_their_webhook(staff_client, targets, logs):
    _, webhook = targets
    webhook.delete()
    row = staff_client.get(f"/api/hook-logs/{logs['webhook_ok'].pk}/").json()
    assert (row["webhook"], row["hook_name"]) == (None, "Hook")


def test_bulk_delete_deletes_what_the_filters_select(staff_client, logs):
    response = staff_client.delete("/api/hook-logs/?success=false")
    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert set(HookLog.objects.values_list("pk", flat=True)) == {logs["old_script_ok"].pk, logs["webhook_ok"].pk}


def test_bulk_delete_by_time_window(staff_client, logs):
    cutoff = (timezone.now() - timedelta(hours=36)).isoformat().replace("+00:00", "Z")
    response = staff_client.delete(f"/api/hook-logs/?until={cutoff}")
    assert response.json() == {"deleted": 2}
    assert HookLog.objects.count() == 2


def test_an_unfiltered_bulk_delete_is_refused(staff_client, logs):
    response = staff_client.delete("/api/hook-logs/")
    assert response.status_code == 400
    assert response.json() == {"detail": BULK_DELETE_REFUSED}
    assert HookLog.objects.count() == 4
    refused = staff_client.delete("/api/hook-logs/?all=false")
    assert refused.status_code == 400
    assert HookLog.objects.count() == 4


def test_all_true_deletes_everything(staff_client, logs):
    response = staff_client.delete("/api/hook-logs/?all=true")
    assert response.json() == {"deleted": 4}
    assert not HookLog.objects.exists()


def test_bulk_delete_with_a_bad_filter_deletes_nothing(staff_client, logs):
    response = staff_client.delete("/api/hook-logs/?success=sometimes")
    assert response.status_code == 400
    assert response.json() == {"success": ["Must be a valid boolean."]}
    assert HookLog.objects.count() == 4
    bad_all = staff_client.delete("/api/hook-logs/?all=yes-please")
    assert bad_all.status_code == 400
    assert bad_all.json() == {"all": ["Must be a valid boolean."]}
    assert HookLog.objects.count() == 4


def test_logs_cannot_be_created_or_changed_through_the_api(staff_client, logs):
    pk = logs["webhook_ok"].pk
    assert staff_client.post("/api/hook-logs/", {}, format="json").status_code == 405
    assert staff_client.patch(f"/api/hook-logs/{pk}/", {"success": False}, format="json").status_code == 405
    assert staff_client.delete(f"/api/hook-logs/{pk}/").status_code == 405
