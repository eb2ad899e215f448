"""What the delivery pipeline needs to know of a target (a script hook or a webhook), whatever its kind.

Its key (per-target queues and stats), how long a claim on one of its
attempts lasts, how many attempts a delivery gets, why a delivery to it is
skipped, and how it is named in messages — read from its kind's transport
(``hooks.transports.for_target``) and its config model, never from a branch
per kind. One module, read by the fan-out, the worker, the attempt and the
recorder alike.
"""

from __future__ import annotations

from .. import transports
from ..models import HookConfig, WebhookConfig

# A target's key: (kind, id), e.g. ("webhook", 3).
Key = tuple[str, int]


def key(webhook_id: int | None, hook_id: int | None) -> Key:
    return ("webhook", webhook_id) if webhook_id else ("hook", hook_id or 0)


def lease_seconds(kind: str, timeout_seconds: int) -> float:
    """How long a claimed attempt on a target of ``kind`` is protected: longer than the attempt can take."""
    return transports.for_kind(kind).lease_seconds(timeout_seconds)


def lease_for(target: HookConfig | WebhookConfig) -> float:
    return transports.for_target(target).lease_seconds(target.timeout_seconds)


def disabled_reason(target: HookConfig | WebhookConfig) -> str:
    """Why ``target`` was switched off automatically ("" if it was not, or its kind never is)."""
    return target.disabled_reason if isinstance(target, WebhookConfig) else ""


def skip_reason(target: HookConfig | WebhookConfig) -> str:
    """Why a delivery to a disabled target is skipped (its log row's error)."""
    why = disabled_reason(target)
    return f"Skipped: the {transports.for_target(target).label.lower()} is disabled{f': {why}' if why else ''}"


def label(target: HookConfig | WebhookConfig) -> str:
    return f"{transports.for_target(target).label} “{target.name}”"
