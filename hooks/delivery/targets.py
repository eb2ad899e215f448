"""What the delivery pipeline needs to know of a target (a script hook or a webhook), whatever its kind.

Its key (per-target queues and stats), how long a claim on one of its
attempts lasts, how many attempts a delivery gets, why a delivery to it is
skipped, and how it is named in messages. One module, read by the fan-out,
the worker, the attempt and the recorder alike.
"""

from __future__ import annotations

from django.conf import settings

from ..models import HookConfig, WebhookConfig

# A target's key: (kind, id), e.g. ("webhook", 3).
Key = tuple[str, int]


def key(webhook_id: int | None, hook_id: int | None) -> Key:
    return ("webhook", webhook_id) if webhook_id else ("hook", hook_id or 0)


def lease_seconds(timeout_seconds: int, *, script: bool) -> float:
    """How long a claimed attempt is protected: longer than the attempt can take."""
    # httpx bounds each phase (connect, write, read) by the timeout; a script
    # may wait for a free slot first. The grace covers logging and clock skew.
    slack = float(settings.SUBLARR_DELIVERY_LEASE_GRACE_SECONDS)
    if script:
        slack += float(getattr(settings, "SUBLARR_SCRIPT_SLOT_WAIT_SECONDS", 0))
    return 2 * float(timeout_seconds) + slack


def lease_for(target: HookConfig | WebhookConfig) -> float:
    return lease_seconds(target.timeout_seconds, script=isinstance(target, HookConfig))


def attempt_budget(target: HookConfig | WebhookConfig) -> int:
    """Attempts a new (or redelivered) delivery to ``target`` gets."""
    return target.retry_count + 1 if isinstance(target, WebhookConfig) else 1


def skip_reason(target: HookConfig | WebhookConfig) -> str:
    """Why a delivery to a disabled target is skipped (its log row's error)."""
    if isinstance(target, WebhookConfig):
        reason = f": {target.disabled_reason}" if target.disabled_reason else ""
        return f"Skipped: the webhook is disabled{reason}"
    return "Skipped: the script hook is disabled"


def label(target: HookConfig | WebhookConfig) -> str:
    return f"{'Webhook' if isinstance(target, WebhookConfig) else 'Script hook'} “{target.name}”"
