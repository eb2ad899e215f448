"""Configuration writes for hooks, webhooks and the hook log.

Every create, change and delete of a hook or webhook validates through
``hooks.validators`` and emits ``config_updated`` when the transaction commits,
with ``changed_keys`` naming what changed (never a value) and ``source``
(``api``, ``admin``, ``cli``):

* ``hooks.<id>`` / ``webhooks.<id>`` for a create or a delete;
* ``hooks.<id>.<field>`` / ``webhooks.<id>.<field>`` per changed field.

Secrets are never logged or put in an event: only the key ``webhooks.<id>.secret``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from events import emit_event

from . import signing, validators
from .models import HookConfig, HookLog, NotificationConfig, WebhookConfig

logger = logging.getLogger(__name__)

Source = Literal["api", "admin", "cli"]

# Deleting in chunks keeps each transaction (and SQLite's write lock) short.
PURGE_BATCH_SIZE = 1000


def generate_webhook_secret() -> str:
    """A new Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return signing.generate_secret()


def _emit_config_updated(changed_keys: list[str], source: Source) -> None:
    if changed_keys:
        emit_event("config_updated", {"changed_keys": changed_keys, "source": source})


def _apply(instance: HookConfig | WebhookConfig, cleaned: dict[str, Any]) -> list[str]:
    """Set the cleaned fields that differ; return their names."""
    changed = []
    for field, value in cleaned.items():
        if getattr(instance, field) != value:
            setattr(instance, field, value)
            changed.append(field)
    return changed


# --- Script hooks ----------------------------------------------------------


@transaction.atomic
def hook_create(
    *,
    name: str,
    event_name: str,
    script_path: str,
    enabled: bool = True,
    timeout_seconds: int = 30,
    source: Source,
) -> HookConfig:
    """Create a script hook after validating every field."""
    cleaned = validators.clean_hook_fields(
        {
            "name": name,
            "event_name": event_name,
            "script_path": script_path,
            "enabled": enabled,
            "timeout_seconds": timeout_seconds,
        }
    )
    hook = HookConfig(**cleaned)
    hook.full_clean()
    hook.save()
    logger.info("Hook %s (%s) created by %s", hook.pk, hook.event_name, source)
    _emit_config_updated([f"hooks.{hook.pk}"], source)
    return hook


@transaction.atomic
def hook_update(*, hook: HookConfig, data: dict[str, Any], source: Source) -> HookConfig:
    """Change the given fields of a hook (absent keys are left as they are)."""
    changed = _apply(hook, validators.clean_hook_fields(data))
    if changed:
        hook.save(update_fields=[*changed, "updated_at"])
        logger.info("Hook %s changed by %s: %s", hook.pk, source, ", ".join(changed))
    _emit_config_updated([f"hooks.{hook.pk}.{field}" for field in changed], source)
    return hook


@transaction.atomic
def hook_failures_reset(*, hook: HookConfig, source: Source) -> HookConfig:
    """Reset a hook's consecutive failure count."""
    if hook.consecutive_failures:
        hook.consecutive_failures = 0
        hook.save(update_fields=["consecutive_failures", "updated_at"])
        _emit_config_updated([f"hooks.{hook.pk}.consecutive_failures"], source)
    return hook


@transaction.atomic
def hook_delete(*, hook: HookConfig, source: Source) -> None:
    """Delete a hook; its log rows stay (with the hook's name)."""
    pk = hook.pk
    hook.delete()
    logger.info("Hook %s deleted by %s", pk, source)
    _emit_config_updated([f"hooks.{pk}"], source)


# --- Webhooks --------------------------------------------------------------


@transaction.atomic
def webhook_create(
    *,
    name: str,
    event_name: str,
    url: str,
    secret: str | None = None,
    enabled: bool = True,
    retry_count: int = 3,
    timeout_seconds: int = 10,
    source: Source,
) -> WebhookConfig:
    """Create a webhook, signed by default: no ``secret`` given makes the server generate a ``whsec_`` one.

    ``secret=""`` is the explicit way to create it unsigned (DESIGN.md §4).
    The secret (given or generated) is on the returned instance only; callers
    show a generated one once and never again.
    """
    cleaned = validators.clean_webhook_fields(
        {
            "name": name,
            "event_name": event_name,
            "url": url,
            "secret": generate_webhook_secret() if secret is None else secret,
            "enabled": enabled,
            "retry_count": retry_count,
            "timeout_seconds": timeout_seconds,
        }
    )
    webhook = WebhookConfig(**cleaned)
    webhook.full_clean()
    webhook.save()
    logger.info("Webhook %s (%s) created by %s", webhook.pk, webhook.event_name, source)
    _emit_config_updated([f"webhooks.{webhook.pk}"], source)
    return webhook


@transaction.atomic
def webhook_update(
    *, webhook: WebhookConfig, data: dict[str, Any], generate_secret: bool = False, source: Source
) -> WebhookConfig:
    """Change the given fields of a webhook (absent keys are left as they are).

    ``secret`` absent keeps the stored secret, ``""`` clears it;
    ``generate_secret`` replaces it with a new server-generated one.
    Re-enabling through ``enabled=True`` also clears the auto-disable state.
    """
    cleaned = validators.clean_webhook_fields(data)
    if generate_secret:
        cleaned["secret"] = generate_webhook_secret()
    changed = _apply(webhook, cleaned)
    if "enabled" in changed and webhook.enabled:
        changed += clear_disabled_state(webhook)
    if changed:
        webhook.save(update_fields=[*changed, "updated_at"])
        logger.info("Webhook %s changed by %s: %s", webhook.pk, source, ", ".join(changed))
    _emit_config_updated([f"webhooks.{webhook.pk}.{field}" for field in changed], source)
    return webhook


def clear_disabled_state(target: WebhookConfig | NotificationConfig) -> list[str]:
    """Forget an auto-disable (failure count, reason, time) on ``target``, unsaved; return the fields changed."""
    changed = []
    for field, value in (("consecutive_failures", 0), ("disabled_reason", ""), ("disabled_at", None)):
        if getattr(target, field) != value:
            setattr(target, field, value)
            changed.append(field)
    return changed


@transaction.atomic
def webhook_enable(*, webhook: WebhookConfig, source: Source) -> WebhookConfig:
    """Re-enable a webhook (auto-disabled or not): reset its failure count, clear the disable reason."""
    changed = clear_disabled_state(webhook)
    if not webhook.enabled:
        webhook.enabled = True
        changed.insert(0, "enabled")
    if changed:
        webhook.save(update_fields=[*changed, "updated_at"])
        logger.info("Webhook %s enabled by %s", webhook.pk, source)
    _emit_config_updated([f"webhooks.{webhook.pk}.{field}" for field in changed], source)
    return webhook


@transaction.atomic
def webhook_disable(*, webhook: WebhookConfig, source: Source) -> WebhookConfig:
    """Disable a webhook by hand (no disable reason: that is for automatic disabling)."""
    if webhook.enabled:
        webhook.enabled = False
        webhook.save(update_fields=["enabled", "updated_at"])
        logger.info("Webhook %s disabled by %s", webhook.pk, source)
        _emit_config_updated([f"webhooks.{webhook.pk}.enabled"], source)
    return webhook


@transaction.atomic
def webhook_failures_reset(*, webhook: WebhookConfig, source: Source) -> WebhookConfig:
    """Reset a webhook's consecutive failure count (it stays enabled or disabled)."""
    if webhook.consecutive_failures:
        webhook.consecutive_failures = 0
        webhook.save(update_fields=["consecutive_failures", "updated_at"])
        _emit_config_updated([f"webhooks.{webhook.pk}.consecutive_failures"], source)
    return webhook


@transaction.atomic
def webhook_secret_rotate(*, webhook: WebhookConfig, source: Source) -> str:
    """Replace a webhook's secret with a new generated one and return it (to be shown once)."""
    webhook.secret = generate_webhook_secret()
    webhook.save(update_fields=["secret", "updated_at"])
    logger.info("Webhook %s secret rotated by %s", webhook.pk, source)
    _emit_config_updated([f"webhooks.{webhook.pk}.secret"], source)
    return webhook.secret


@transaction.atomic
def webhook_delete(*, webhook: WebhookConfig, source: Source) -> None:
    """Delete a webhook; its log rows stay (with the webhook's name)."""
    pk = webhook.pk
    webhook.delete()
    logger.info("Webhook %s deleted by %s", pk, source)
    _emit_config_updated([f"webhooks.{pk}"], source)


# --- Bulk (admin actions) --------------------------------------------------


def hooks_set_enabled(*, hooks: Iterable[HookConfig], enabled: bool, source: Source) -> int:
    """Enable or disable several hooks; return how many changed."""
    changed = 0
    for hook in hooks:
        if hook.enabled != enabled:
            hook_update(hook=hook, data={"enabled": enabled}, source=source)
            changed += 1
    return changed


# --- Hook log --------------------------------------------------------------


def hook_logs_delete(*, logs: QuerySet[HookLog]) -> int:
    """Delete the given log rows; return how many."""
    deleted, _ = logs.delete()
    return deleted


def hook_logs_purge(*, older_than_days: int | None = None, dry_run: bool = False) -> int:
    """Delete log rows older than ``older_than_days`` (default SUBLARR_HOOK_LOG_RETENTION_DAYS).

    Deletes in batches so a large purge never holds the database's write lock
    for long; returns how many rows were (or, with ``dry_run``, would be) deleted.
    """
    days = settings.SUBLARR_HOOK_LOG_RETENTION_DAYS if older_than_days is None else older_than_days
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError(f"older_than_days must be a whole number of days, 0 or more, not {days!r}.")
    cutoff = timezone.now() - timedelta(days=days)
    old = HookLog.objects.filter(triggered_at__lt=cutoff)
    if dry_run:
        return old.count()
    total = 0
    while True:
        ids = list(old.order_by("id").values_list("id", flat=True)[:PURGE_BATCH_SIZE])
        if not ids:
            break
        deleted, _ = HookLog.objects.filter(id__in=ids).delete()
        total += deleted
    if total:
        logger.info("Purged %d hook log rows older than %d days", total, days)
    return total
