"""The one rule for which logged header values are secrets: the log writer, the API and the admin use it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

REDACTED = "[redacted]"
# A header whose name contains one of these words holds a credential or a signature.
SENSITIVE_HEADER_PARTS = ("secret", "signature", "token", "authorization", "cookie", "api-key", "apikey", "password")


@lru_cache(maxsize=1024)  # header names repeat: every attempt logs the same dozen (bounded: receivers choose theirs)
def is_sensitive(name: str) -> bool:
    """Whether a header's value must not be logged or shown (its name has a SENSITIVE_HEADER_PARTS word)."""
    lowered = name.lower()
    return any(part in lowered for part in SENSITIVE_HEADER_PARTS)


def redact_headers(headers: Any) -> dict[str, str]:
    """A copy of ``headers`` with every credential or signature value replaced (not a dict: empty)."""
    if not isinstance(headers, dict):
        return {}
    return {str(key): REDACTED if is_sensitive(str(key)) else str(value) for key, value in headers.items()}
