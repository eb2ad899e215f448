"""hooks.bulk.insert (COPY on PostgreSQL) writes exactly what bulk_create writes; fan-out rows get their own keys."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from events.samples import sample_payload
from events.services import build_envelope
from hooks import bulk, delivery
from hooks.models import Delivery, HookConfig, HookLog, WebhookConfig

pytestmark = pytest.mark.django_db


def test_copy_is_used_exactly_on_postgresql():
    assert bulk.uses_copy() == (connection.vendor == "postgresql")


def _columns(obj) -> dict:
    values = model_to_dict(obj, fields=[f.name for f in obj._meta.concrete_fields if not f.primary_key])
    return {key: value for key, value in values.items() if key not in ("created_at", "updated_at")}


def test_log_rows_are_written_as_bulk_create_writes_them():
    webhook = WebhookConfig.objects.create(name="w", event_name="*", url="http://192.168.1.2/")
    now = timezone.now()

    def rows(tag: str) -> list[HookLog]:
        return [
            HookLog(
                webhook=webhook,
                hook_name=f"naïve “{tag}” \\ tab\there",
                event_name="subtitle_downloaded",
                event_id=str(uuid.uuid4()),
                hook_type="webhook",
                attempt=2,
                success=False,
                will_retry=True,
                status_code=503,
                exit_code=None,
                error="line one\nline two \\N not null",
                duration_ms=12,
                request_headers={"X-Sublarr-Event": "subtitle_downloaded", "nested": {"a": [1, None, "é"]}},
                response_body="",
                triggered_at=now - timedelta(seconds=1),
            ),
            HookLog(
                hook_name=tag,
                event_name="batch_complete",
                hook_type="script",
                success=True,
                stdout="ok\n",
                triggered_at=now,
            ),
        ]

    bulk.insert(HookLog, rows("copy"))
    HookLog.objects.bulk_create(rows("orm"))

    copied, created = (
        [_columns(log) for log in HookLog.objects.filter(hook_name__contains=tag).order_by("id")]
        for tag in ("copy", "orm")
    )
    for row in copied + created:
        row.pop("event_id")
        row["hook_name"] = row["hook_name"].replace("copy", "*").replace("orm", "*")
    assert copied == created
    assert copied[0]["request_headers"] == {"X-Sublarr-Event": "subtitle_downloaded", "nested": {"a": [1, None, "é"]}}
    assert copied[0]["error"] == "line one\nline two \\N not null"
    assert copied[1]["exit_code"] is None


def test_a_duplicate_fails_as_django_integrity_error_and_keeps_nothing():
    hook = HookConfig.objects.create(name="h", event_name="batch_complete", script_path="/x")
    event_id = str(uuid.uuid4())

    def row() -> Delivery:
        return Delivery(event_id=event_id, event_name="batch_complete", envelope={}, hook_type="script", hook=hook)

    bulk.insert(Delivery, [row()])
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert(Delivery, [Delivery(**{**_columns(row()), "event_id": str(uuid.uuid4()), "hook": hook}), row()])

    assert Delivery.objects.count() == 1


def test_fan_out_rows_get_the_keys_of_their_own_targets():
    webhooks = [
        WebhookConfig.objects.create(name=f"w{i}", event_name="subtitle_downloaded", url="http://192.168.1.2/")
        for i in range(2)
    ]
    hook = HookConfig.objects.create(name="h", event_name="subtitle_downloaded", script_path="/x")
    envelopes = [build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded")) for _ in range(3)]

    rows = delivery.deliveries_create_many(envelopes=envelopes, cached_targets=False)

    assert len(rows) == 9
    for row in rows:
        stored = Delivery.objects.get(pk=row.pk)
        assert (str(stored.event_id), stored.webhook_id, stored.hook_id) == (
            row.event_id,
            row.webhook_id,
            row.hook_id,
        )
        assert (stored.status, stored.attempts, stored.lease_expires_at) == ("running", 1, row.lease_expires_at)
        assert stored.envelope == row.envelope
        assert not row._state.adding
    assert {row.webhook_id for row in rows} == {webhooks[0].pk, webhooks[1].pk, None}
    assert sum(1 for row in rows if row.hook_id == hook.pk) == 3
