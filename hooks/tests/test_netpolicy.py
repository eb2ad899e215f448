"""Webhook address policy: refused addresses fail with a clear message and no connection is made."""

from __future__ import annotations

import uuid

import pytest

from events.types import Envelope
from hooks import netpolicy
from hooks.models import WebhookConfig
from hooks.netpolicy import AddressRefused, HostUnresolvable, InvalidWebhookURL, check_webhook_url
from hooks.transports import HookError
from hooks.transports.webhook import GuardedHTTPConnection, GuardedHTTPSConnection, deliver

LOOPBACK_REFUSED = f"is {netpolicy.LOOPBACK_REFUSAL}."


@pytest.fixture
def strict(settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = False
    settings.SUBLARR_WEBHOOK_BLOCK_PRIVATE = False
    return settings


def refusal(url: str) -> str:
    with pytest.raises(AddressRefused) as info:
        check_webhook_url(url)
    return str(info.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://169.254.169.254/latest/meta-data/",
            "Webhook URL http://169.254.169.254/latest/meta-data/ refused: "
            "169.254.169.254 is a cloud metadata address (always refused).",
        ),
        (
            "http://[fd00:ec2::254]/",
            "Webhook URL http://[fd00:ec2::254]/ refused: fd00:ec2::254 is a cloud metadata address (always refused).",
        ),
        (
            "http://100.100.100.200/",
            "Webhook URL http://100.100.100.200/ refused: "
            "100.100.100.200 is a cloud metadata address (always refused).",
        ),
        (
            "http://169.254.10.1:8123/",
            "Webhook URL http://169.254.10.1:8123/ refused: 169.254.10.1 is a link-local address (always refused).",
        ),
        (
            "http://[fe80::1]/",
            "Webhook URL http://[fe80::1]/ refused: fe80::1 is a link-local address (always refused).",
        ),
        ("http://0.0.0.0/", "Webhook URL http://0.0.0.0/ refused: 0.0.0.0 is an unspecified address (always refused)."),
        ("http://[::]/", "Webhook URL http://[::]/ refused: :: is an unspecified address (always refused)."),
        (
            "http://224.0.0.1/",
            "Webhook URL http://224.0.0.1/ refused: 224.0.0.1 is a multicast address (always refused).",
        ),
        (
            "http://240.0.0.1/",
            "Webhook URL http://240.0.0.1/ refused: 240.0.0.1 is a reserved address (always refused).",
        ),
        ("http://127.0.0.1:9/", f"Webhook URL http://127.0.0.1:9/ refused: 127.0.0.1 {LOOPBACK_REFUSED}"),
        ("http://[::1]/", f"Webhook URL http://[::1]/ refused: ::1 {LOOPBACK_REFUSED}"),
        (
            "http://[::ffff:127.0.0.1]/",
            f"Webhook URL http://[::ffff:127.0.0.1]/ refused: ::ffff:127.0.0.1 {LOOPBACK_REFUSED}",
        ),
        (
            "http://2130706433/",
            f"Webhook URL http://2130706433/ refused: 2130706433 (resolves to 127.0.0.1) {LOOPBACK_REFUSED}",
        ),
    ],
)
def test_refused_addresses_have_a_clear_message(strict, url, message):
    assert refusal(url) == message


def test_hostname_resolving_to_loopback_is_refused(strict):
    assert refusal("http://localhost:8080/hook").startswith(
        "Webhook URL http://localhost:8080/hook refused: localhost (resolves to "
    )
    assert refusal("http://localhost:8080/hook").endswith(LOOPBACK_REFUSED)


def test_message_never_echoes_userinfo_or_query(strict):
    message = refusal("http://admin:hunter2@127.0.0.1/path?token=abc123")
    assert "hunter2" not in message
    assert "abc123" not in message
    assert "admin" not in message
    assert message.startswith("Webhook URL http://127.0.0.1/path refused:")


def test_loopback_allowed_by_setting_but_link_local_and_metadata_never(strict):
    strict.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    check_webhook_url("http://127.0.0.1:8000/")
    check_webhook_url("http://localhost:8000/")
    assert "cloud metadata" in refusal("http://169.254.169.254/")
    assert "link-local" in refusal("http://169.254.1.1/")


def test_private_lan_allowed_by_default_and_refused_by_setting(strict):
    for url in (
        "http://192.168.1.10:8123/api/webhook/x",
        "http://10.0.0.5/",
        "http://[fd12::5]/",
        "http://100.64.1.2/",
    ):
        check_webhook_url(url)
    strict.SUBLARR_WEBHOOK_BLOCK_PRIVATE = True
    assert refusal("http://192.168.1.10:8123/") == (
        "Webhook URL http://192.168.1.10:8123/ refused: 192.168.1.10 is a private network address, refused "
        "because SUBLARR_WEBHOOK_BLOCK_PRIVATE=true. To allow receivers on your LAN, set "
        "SUBLARR_WEBHOOK_BLOCK_PRIVATE=false (or remove it) in Sublarr's environment and restart Sublarr."
    )


def test_public_address_is_allowed(strict):
    check_webhook_url("https://93.184.215.14/hooks")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Webhook URL is empty."),
        ("ftp://example.com/", "Webhook URL must start with http:// or https://, not ftp://."),
        ("example.com/hook", "Webhook URL must start with http:// or https://, not …."),
        ("http:///path", "Webhook URL has no host."),
        ("http://example.com:99999/", "Webhook URL is not a valid URL (Port out of range 0-65535)."),
    ],
)
def test_invalid_urls(url, message):
    with pytest.raises(InvalidWebhookURL) as info:
        check_webhook_url(url)
    assert str(info.value) == message


def test_unresolvable_host_is_refused_as_transient():
    with pytest.raises(HostUnresolvable) as info:
        check_webhook_url("http://no-such-host.invalid/")
    assert info.value.transient
    assert str(info.value).startswith("Webhook host 'no-such-host.invalid' could not be resolved")


@pytest.mark.parametrize("connection_class", [GuardedHTTPConnection, GuardedHTTPSConnection])
def test_connection_guard_refuses_before_connecting(strict, httpserver, connection_class):
    """The check at connect time (no DNS-rebinding gap) refuses loopback by itself."""
    with pytest.raises(AddressRefused) as info:
        connection_class("localhost", httpserver.port, timeout=2).connect()
    assert str(info.value).startswith("Webhook address refused: localhost (resolves to ")
    assert httpserver.log == []


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/", "http://127.0.0.1:{port}/hook", "http://localhost:{port}/hook"],
)
def test_delivery_to_refused_address_fails_permanently_and_sends_nothing(strict, httpserver, url):
    httpserver.expect_request("/hook").respond_with_data("ok")
    webhook = WebhookConfig(name="w", event_name="*", url=url.format(port=httpserver.port), timeout_seconds=2)
    envelope: Envelope = {
        "id": str(uuid.uuid4()),
        "event_name": "batch_complete",
        "version": 1,
        "timestamp": "t",
        "data": {},
    }

    with pytest.raises(HookError) as info:
        deliver(webhook, envelope)

    assert info.value.permanent
    assert "refused" in info.value.message
    assert info.value.result.status_code is None
    assert httpserver.log == []


def test_nat64_and_mapped_addresses_are_judged_by_their_ipv4(strict):
    import ipaddress

    assert netpolicy.address_refusal(ipaddress.ip_address("64:ff9b::a9fe:a9fe")) == (
        "a cloud metadata address (always refused)"
    )
    assert netpolicy.address_refusal(ipaddress.ip_address("::ffff:10.0.0.1")) is None


def test_an_unresolvable_host_may_be_saved_with_a_warning(strict):
    """At save time a name that does not resolve (no DNS now, a host that will exist later) is a warning."""
    warning = netpolicy.check_webhook_url_on_save("http://receiver.invalid/hook")
    assert warning is not None
    assert warning.startswith("Webhook host 'receiver.invalid' could not be resolved (")
    assert warning.endswith(
        "). Saved anyway: the address is checked again before every delivery, "
        "which fails until the name resolves to an allowed address."
    )


def test_at_save_a_resolving_name_or_a_literal_in_a_refused_range_is_still_refused(strict):
    for url in ("http://localhost:8080/hook", "http://127.0.0.1/", "http://169.254.169.254/", "http://[fe80::1]/"):
        with pytest.raises(AddressRefused):
            netpolicy.check_webhook_url_on_save(url)
    assert netpolicy.check_webhook_url_on_save("https://93.184.215.14/hooks") is None
