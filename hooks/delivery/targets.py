"""What the delivery pipeline needs to know of a target (a script hook or a webhook), whatever its kind.

Its key (per-target queues and stats), how long a claim on one of its
attempts lasts, how many attempts a delivery gets, why a delivery to it is
skipped, and how it is named in messages — read from its kind's transport
(``hooks.transports.for_target``) and its config model, never from a branch
per kind. One module, read by the fan-out, the worker, the attempt and the
recorder alike.
"""

from __future__ import annotations

from typing import Any

from .. import transports
from ..models import HookConfig, NotificationConfig, WebhookConfig

AnyTarget = HookConfig | WebhookConfig | NotificationConfig

# The target models; their ``target_field``s are the foreign keys of Delivery and HookLog.
MODELS: tuple[type[AnyTarget], ...] = (WebhookConfig, HookConfig, NotificationConfig)
FIELDS: tuple[str, ...] = tuple(model.target_field for model in MODELS)

# A target's key: (its target_field, id), e.g. ("webhook", 3).
Key = tuple[str, int]


def key(webhook_id: int | None, hook_id: int | None, notification_id: int | None = None) -> Key:
    if webhook_id:
        return ("webhook", webhook_id)
    if notification_id:
        return ("notification", notification_id)
    return ("hook", hook_id or 0)


def key_of(row: Any) -> Key:
    """The key of the target of ``row`` (a Delivery or a HookLog)."""
    return key(row.webhook_id, row.hook_id, row.notification_id)


def lease_seconds(kind: str, timeout_seconds: int) -> float:
    """How long a claimed attempt on a target of ``kind`` is protected: longer than the attempt can take."""
    return transports.for_kind(kind).lease_seconds(timeout_seconds)


def lease_for(target: AnyTarget) -> float:
    return transports.for_target(target).lease_seconds(target.timeout_seconds)


def disabled_reason(target: AnyTarget) -> str:
    """Why ``target`` was switched off automatically ("" if it was not, or its kind never is)."""
    return str(getattr(target, "disabled_reason", ""))


def skip_reason(target: AnyTarget) -> str:
    """Why a delivery to a disabled target is skipped (its log row's error)."""
    why = disabled_reason(target)
    return f"Skipped: the {transports.for_target(target).label.lower()} is disabled{f': {why}' if why else ''}"


def label(target: AnyTarget) -> str:
    return f"{transports.for_target(target).label} “{target.name}”"
