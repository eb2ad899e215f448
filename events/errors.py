"""The domain errors services raise; the API's one exception handler answers them (events.api_errors).

Services say what went wrong, not how HTTP says it: ``Invalid`` (bad input,
400 with field → messages), ``NotFound`` (404) and ``Conflict`` (well formed,
but refused in the current state: 409), each ``{"detail": message}`` unless
it is an ``Invalid``. Every message is safe to show to the client. They are
``ValueError``s, so callers outside the API (commands, the admin) catch them
as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# DRF's key for messages about the input as a whole (REST_FRAMEWORK's NON_FIELD_ERRORS_KEY default).
NON_FIELD = "non_field_errors"


class DomainError(ValueError):
    """A service's refusal; ``message`` is safe to show, ``field`` names the offending input (if one)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):  # noqa: N818 - a state, like NotFound and Conflict
    """Bad input (400); ``errors`` maps each offending field (or non_field_errors) to its messages."""

    def __init__(self, message: str, *, field: str | None = None, errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, field=field)
        self.errors: dict[str, Any] = dict(errors) if errors is not None else {field or NON_FIELD: [message]}


class NotFound(DomainError):  # noqa: N818 - a state, like DRF's NotFound
    """What the request names does not exist (404)."""


class Conflict(DomainError):  # noqa: N818 - a state, like HTTP's 409
    """Well formed, but refused in the current state (409); the message says why."""
