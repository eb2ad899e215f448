"""Webhook signatures (DESIGN.md §4): X-Sublarr-Signature and Standard Webhooks.

Both sign the exact body bytes that are sent; nothing here re-serialises JSON.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret


def generate_secret() -> str:
    """A new secret: ``whsec_`` + base64 of 32 random bytes (Standard Webhooks format)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def standard_key(secret: str) -> bytes:
    """The HMAC key of Standard Webhooks: the decoded part after ``whsec_``, else the UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            # Not valid base64 after the prefix: sign with the text itself, as
            # for any other secret, rather than fail every delivery.
            pass
    return secret.encode("utf-8")


def sublarr_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret UTF-8 bytes, body)>`` (Sublarr and GitHub compatible)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`` (Standard Webhooks)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The signature headers for one attempt (none without a secret)."""
    if not secret:
        return {}
    return {
        "X-Sublarr-Signature": sublarr_signature(secret, body),
        "webhook-signature": standard_signature(secret, msg_id, timestamp, body),
    }
