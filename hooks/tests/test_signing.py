"""Webhook signatures verify with the standardwebhooks package and the X-Sublarr-Signature recipe."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from standardwebhooks import Webhook

from events.types import Envelope
from hooks import signing
from hooks.models import WebhookConfig
from hooks.redaction import redact_headers
from hooks.transports.webhook import build_request, envelope_body

ENVELOPE: Envelope = {
    "id": "6f1c2f5e-3b53-4d8e-9a57-8a3c1e0f7b21",
    "event_name": "subtitle_downloaded",
    "version": 1,
    "timestamp": "2026-11-24T10:00:00.123456+00:00",
    "data": {"provider_name": "opensubtitles", "series_title": "Ünïcode — The Expanse", "score": 412},
}


def test_github_published_test_vector_passes_through_the_same_signing_code():
    assert signing.sublarr_signature("It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_generated_secret_is_whsec_and_32_random_bytes():
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_") :])) == 32
    assert signing.generate_secret() != secret


@pytest.mark.parametrize("secret", [signing.generate_secret(), "plain-text secret ✓"])
def test_request_verifies_with_standardwebhooks_and_sublarr_recipe(secret):
    webhook = WebhookConfig(name="w", event_name="*", url="http://example.com/", secret=secret)
    body, headers = build_request(webhook, ENVELOPE)

    assert body == envelope_body(ENVELOPE)
    assert json.loads(body) == ENVELOPE
    assert headers["webhook-id"] == ENVELOPE["id"]
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["X-Sublarr-Event"] == "subtitle_downloaded"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "Sublarr-Webhook/1.0.0"

    # Standard Webhooks: the package takes the whsec_ secret, or the raw key bytes.
    key = secret if secret.startswith("whsec_") else base64.b64encode(secret.encode()).decode()
    assert Webhook(key).verify(body, headers) == ENVELOPE

    # X-Sublarr-Signature: sha256= hex HMAC of the body with the secret's UTF-8 bytes.
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Sublarr-Signature"], expected)


def test_fresh_timestamp_changes_the_standard_signature_not_the_id():
    webhook = WebhookConfig(name="w", event_name="*", url="http://example.com/", secret=signing.generate_secret())
    _, first = build_request(webhook, ENVELOPE, now=1_790_000_000)
    _, second = build_request(webhook, ENVELOPE, now=1_790_000_007)
    assert first["webhook-id"] == second["webhook-id"]
    assert first["webhook-signature"] != second["webhook-signature"]
    assert first["X-Sublarr-Signature"] == second["X-Sublarr-Signature"]


def test_body_bytes_do_not_depend_on_stored_key_order():
    reordered: Envelope = {
        "data": dict(reversed(list(ENVELOPE["data"].items()))),
        "version": 1,
        "timestamp": ENVELOPE["timestamp"],
        "id": ENVELOPE["id"],
        "event_name": "subtitle_downloaded",
    }
    assert envelope_body(reordered) == envelope_body(ENVELOPE)
    assert envelope_body(ENVELOPE).startswith(b'{"id":"6f1c2f5e-3b53-4d8e-9a57-8a3c1e0f7b21","event_name":')
    assert b'"data":{"provider_name":"opensubtitles","score":412,"series_title"' in envelope_body(ENVELOPE)


def test_no_secret_means_no_signature_headers():
    webhook = WebhookConfig(name="w", event_name="*", url="http://example.com/", secret="")
    _, headers = build_request(webhook, ENVELOPE)
    assert "webhook-signature" not in headers
    assert "X-Sublarr-Signature" not in headers
    assert headers["webhook-id"] == ENVELOPE["id"]


def test_logged_headers_hide_signatures():
    webhook = WebhookConfig(name="w", event_name="*", url="http://example.com/", secret="s3cret")
    _, headers = build_request(webhook, ENVELOPE)
    logged = redact_headers(headers)
    assert logged["webhook-signature"] == "[redacted]"
    assert logged["X-Sublarr-Signature"] == "[redacted]"
    assert logged["webhook-id"] == ENVELOPE["id"]
    assert "s3cret" not in json.dumps(logged)


def test_invalid_base64_after_whsec_signs_with_the_text_itself():
    assert signing.standard_key("whsec_not base64!") == b"whsec_not base64!"
