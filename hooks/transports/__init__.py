"""The target kinds behind one interface: a ``Transport`` per kind, found by the kind of a target.

``for_target(target).deliver(target, envelope, attempt=n)`` makes one attempt
and returns a ``Result`` or raises ``HookError(message, permanent=...,
result=...)``; ``permanent=True`` means trying again cannot help (a 404, a
refused address, a missing script). Two kinds of ``HookError`` are not
failures: ``DeliveryHeld(until=...)`` (not now, due again then) and
``DeliverySkipped`` (logged as skipped). See docs/DESIGN.md "Adding a target kind".
"""

from __future__ import annotations

from typing import Any, Protocol

from .base import DeliveryHeld, DeliverySkipped, HookError, Result, Target, Transport
from .notification import TRANSPORT as NOTIFICATION
from .script import TRANSPORT as SCRIPT
from .webhook import TRANSPORT as WEBHOOK

__all__ = [
    "KINDS",
    "DeliveryHeld",
    "DeliverySkipped",
    "HookError",
    "Kinded",
    "Result",
    "Target",
    "Transport",
    "for_kind",
    "for_target",
]

# Every kind, by its name (the config model's ``kind``, the HookType value).
KINDS: dict[str, Transport[Any]] = {transport.kind: transport for transport in (WEBHOOK, SCRIPT, NOTIFICATION)}


class Kinded(Protocol):
    @property
    def kind(self) -> str: ...


def for_kind(kind: str) -> Transport[Any]:
    return KINDS[kind]


def for_target(target: Kinded) -> Transport[Any]:
    """The transport of ``target``'s kind (its config model's ``kind``)."""
    return KINDS[target.kind]
