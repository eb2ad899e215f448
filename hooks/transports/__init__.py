"""The two hook kinds behind one interface.

Each transport module exposes ``deliver(target, envelope, *, attempt) -> Result``
and raises ``HookError`` when the run or delivery failed; ``permanent=True``
means trying again cannot help (a 404, a refused address, a missing script).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    """What one script run or webhook attempt did (logged as a HookLog row)."""

    success: bool = True
    duration_ms: int = 0
    status_code: int | None = None
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    request_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    # Seconds the receiver asked us to wait (Retry-After on 429/503).
    retry_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class HookError(Exception):
    """A failed run or delivery; ``result`` holds what is known of the attempt."""

    def __init__(self, message: str, *, permanent: bool = False, result: Result | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.result = result or Result(success=False)
        self.result.success = False
        self.result.error = self.result.error or message
