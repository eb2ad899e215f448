"""POST /api/hook-logs/{id}/redeliver/ and /api/webhooks/{id}/redeliver/."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from hooks.models import Delivery, HookLog, WebhookConfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook():
    return WebhookConfig.objects.create(name="w", event_name="*", url="http://10.0.0.1/", retry_count=2)


def failed_delivery(webhook: WebhookConfig, *, status: str = "failed", age_days: int = 0) -> Delivery:
    event_id = uuid.uuid4()
    row = Delivery.objects.create(
        event_id=event_id,
        event_name="batch_complete",
        envelope={"id": str(event_id), "event_name": "batch_complete", "version": 1, "timestamp": "t", "data": {}},
        hook_type="webhook",
        webhook=webhook,
        status=status,
        attempts=3,
        max_attempts=3,
        finished_at=timezone.now(),
    )
    Delivery.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=age_days))
    HookLog.objects.create(
        webhook=webhook,
        delivery=row,
        hook_name="w",
        event_name="batch_complete",
        event_id=event_id,
        hook_type="webhook",
        attempt=3,
        success=False,
        error="HTTP 500.",
        status_code=500,
    )
    return row


def test_staff_redelivers_one_log_entry(staff_client, webhook):
    row = failed_delivery(webhook)
    log = HookLog.objects.get(delivery=row)

    response = staff_client.post(f"/api/hook-logs/{log.pk}/redeliver/")

    assert response.status_code == 202
    assert response.json() == {"delivery_id": row.pk, "event_id": str(row.event_id), "status": "pending"}
    row.refresh_from_db()
    assert (row.status, row.attempts, row.max_attempts, row.finished_at) == ("pending", 3, 6, None)


def test_redeliver_requires_staff(user_client, anon_client, webhook):
    log = HookLog.objects.get(delivery=failed_delivery(webhook))
    assert user_client.post(f"/api/hook-logs/{log.pk}/redeliver/").status_code == 403
    assert anon_client.post(f"/api/hook-logs/{log.pk}/redeliver/").status_code == 401
    assert user_client.post(f"/api/webhooks/{webhook.pk}/redeliver/").status_code == 403
    assert anon_client.post(f"/api/webhooks/{webhook.pk}/redeliver/").status_code == 401


def test_unknown_ids_are_404(staff_client):
    assert staff_client.post("/api/hook-logs/999999/redeliver/").status_code == 404
    assert staff_client.post("/api/webhooks/999999/redeliver/").status_code == 404


def test_test_runs_and_vanished_deliveries_are_409(staff_client, webhook):
    test_log = HookLog.objects.create(
        webhook=webhook, hook_name="w", event_name="batch_complete", hook_type="webhook", success=True, is_test=True
    )
    response = staff_client.post(f"/api/hook-logs/{test_log.pk}/redeliver/")
    assert response.status_code == 409
    assert response.json() == {"detail": "A test run cannot be redelivered; run the test again instead."}

    orphan = HookLog.objects.create(hook_name="gone", event_name="batch_complete", hook_type="webhook", success=False)
    response = staff_client.post(f"/api/hook-logs/{orphan.pk}/redeliver/")
    assert response.status_code == 409
    assert response.json() == {"detail": "The delivery of this log entry no longer exists (deleted or purged)."}


def test_redeliver_webhook_range(staff_client, webhook):
    recent = failed_delivery(webhook)
    skipped = failed_delivery(webhook, status="skipped", age_days=2)
    old = failed_delivery(webhook, age_days=10)
    succeeded = failed_delivery(webhook, status="succeeded")
    since = (timezone.now() - timedelta(days=3)).isoformat()

    response = staff_client.post(f"/api/webhooks/{webhook.pk}/redeliver/", {"since": since}, format="json")

    assert response.status_code == 202
    assert response.json() == {"redelivered": 2}
    statuses = {d.pk: d.status for d in Delivery.objects.all()}
    assert statuses == {recent.pk: "pending", skipped.pk: "pending", old.pk: "failed", succeeded.pk: "succeeded"}


def test_redeliver_webhook_everything_without_range(staff_client, webhook):
    failed_delivery(webhook)
    failed_delivery(webhook, age_days=100)
    response = staff_client.post(f"/api/webhooks/{webhook.pk}/redeliver/", {}, format="json")
    assert response.json() == {"redelivered": 2}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"since": "yesterday"}, {"since"}),
        ({"until": 12}, {"until"}),
    ],
)
def test_bad_range_is_400_with_field_messages(staff_client, webhook, body, errors):
    response = staff_client.post(f"/api/webhooks/{webhook.pk}/redeliver/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == errors
    assert response.json()[errors.pop()]


def test_a_range_ending_before_it_starts_redelivers_nothing(staff_client, webhook):
    delivery = failed_delivery(webhook, age_days=1)
    body = {"since": timezone.now().isoformat(), "until": (timezone.now() - timedelta(days=2)).isoformat()}
    response = staff_client.post(f"/api/webhooks/{webhook.pk}/redeliver/", body, format="json")
    assert response.status_code == 202
    assert response.json() == {"redelivered": 0}
    assert Delivery.objects.get(pk=delivery.pk).status == "failed"


def test_disabled_webhook_is_409(staff_client, webhook):
    failed_delivery(webhook)
    WebhookConfig.objects.filter(pk=webhook.pk).update(enabled=False, disabled_reason="Disabled automatically: 410")
    response = staff_client.post(f"/api/webhooks/{webhook.pk}/redeliver/", {}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Webhook “w” is disabled (Disabled automatically: 410); enable it before redelivering."
    }


def test_schema_documents_both_endpoints(anon_client):
    schema = anon_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "202" in schema["paths"]["/api/hook-logs/{id}/redeliver/"]["post"]["responses"]
    operation = schema["paths"]["/api/webhooks/{id}/redeliver/"]["post"]
    assert {"400", "409"} <= set(operation["responses"])
    assert "requestBody" in operation
