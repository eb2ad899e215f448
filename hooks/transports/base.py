"""What every transport is: one attempt of one delivery to one target, its ``Result`` or a ``HookError``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from django.conf import settings

from events.types import Envelope


@dataclass
class Result:
    """What one attempt did (logged as a HookLog row: every field here has its column)."""

    success: bool = True
    duration_ms: int = 0
    status_code: int | None = None
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    # Only what the transport's ``logged_request`` let through.
    request_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    # Seconds the receiver asked us to wait (Retry-After on 429/503).
    retry_after: float | None = None
    # Not logged; read by the recorder: "timed_out" (a script's last status), "disable" (a webhook's 410).
    extra: dict[str, Any] = field(default_factory=dict)


class HookError(Exception):
    """A failed attempt; ``permanent``: trying again cannot help; ``result`` holds what is known of it."""

    def __init__(self, message: str, *, permanent: bool = False, result: Result | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.result = result or Result(success=False)
        self.result.success = False
        self.result.error = self.result.error or message


class DeliveryHeld(HookError):  # noqa: N818 - a state, not a failure: the delivery waits
    """Not now (a notification's quiet hours): due again at ``until``; the attempt is not counted, nothing logged."""

    def __init__(self, message: str, *, until: datetime, result: Result | None = None) -> None:
        super().__init__(message, result=result)
        self.until = until


class DeliverySkipped(HookError):  # noqa: N818 - a state, not a failure: logged as skipped
    """Not sent and never will be (quiet hours in skip mode): logged as skipped, no retry, no stats."""

    def __init__(self, message: str, *, result: Result | None = None) -> None:
        super().__init__(message, permanent=True, result=result)


class Target(Protocol):
    """What every transport may read of a target (any config model): its name and its timeout."""

    @property
    def name(self) -> str: ...

    @property
    def timeout_seconds(self) -> int: ...


T = TypeVar("T", bound=Target, contravariant=True)


class Transport(ABC, Generic[T]):
    """One kind of target: how one attempt is made, how long it may take, what of its request may be logged.

    A subclass names the ``Target`` protocol it reads (``Transport[WebhookTarget]``)
    — the fields it needs from its config model, nothing else — and is
    registered in ``hooks.transports.KINDS`` under ``kind`` (the config model's
    ``kind`` and ``HookType`` value).
    """

    kind: ClassVar[str]
    # How a target of this kind is named in messages: 'Webhook “Gotify”'.
    label: ClassVar[str]

    @abstractmethod
    def deliver(self, target: T, envelope: Envelope, *, attempt: int) -> Result:
        """Make one attempt; return its Result, or raise HookError (``permanent`` when retrying cannot help)."""

    def deliver_test(self, target: T, envelope: Envelope) -> Result:
        """A test run's attempt (a user pressed "test": the message now); by default the same as ``deliver``."""
        return self.deliver(target, envelope, attempt=1)

    def lease_seconds(self, timeout_seconds: int) -> float:
        """How long a claim on one attempt lasts: longer than the attempt can take (plus a grace)."""
        return 2 * float(timeout_seconds) + float(settings.SUBLARR_DELIVERY_LEASE_GRACE_SECONDS)

    def logged_request(self, headers: Mapping[str, str]) -> dict[str, str]:
        """What of the request's headers may be logged (``Result.request_headers``): nothing unless overridden."""
        return {}
