"""Switching an auto-disabled webhook or notification back on forgets the auto-disable, saved and announced."""

from __future__ import annotations

import pytest
from django.utils import timezone

from hooks import notification_services, services
from hooks.models import NotificationConfig, WebhookConfig

pytestmark = pytest.mark.django_db(transaction=True)

DISABLED = {"enabled": False, "consecutive_failures": 5, "disabled_reason": "Disabled automatically: 410 Gone."}
CLEARED = ("enabled", "consecutive_failures", "disabled_reason", "disabled_at")


def _state(target: NotificationConfig | WebhookConfig) -> tuple:
    target.refresh_from_db()
    return target.enabled, target.consecutive_failures, target.disabled_reason, target.disabled_at


def test_a_notification_switched_on_loses_its_auto_disable(config_events):
    target = NotificationConfig.objects.create(
        name="phone", events=["*"], urls=["json://127.0.0.1:9/x"], disabled_at=timezone.now(), **DISABLED
    )

    assert notification_services.notification_set_enabled(target=target, enabled=True, source="api") is True

    assert _state(target) == (True, 0, "", None)
    keys = [f"notifications.{target.pk}.{field}" for field in CLEARED]
    assert config_events == [{"changed_keys": keys, "source": "api"}]


def test_a_webhook_switched_on_loses_its_auto_disable(config_events):
    webhook = WebhookConfig.objects.create(
        name="hook", event_name="*", url="http://127.0.0.1:9/x", disabled_at=timezone.now(), **DISABLED
    )

    services.webhook_enable(webhook=webhook, source="admin")

    assert _state(webhook) == (True, 0, "", None)
    keys = [f"webhooks.{webhook.pk}.{field}" for field in CLEARED]
    assert config_events == [{"changed_keys": keys, "source": "admin"}]
