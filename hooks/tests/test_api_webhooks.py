"""REST API for webhooks: the write-only secret, validation messages, enable, rotate, test runs."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from pytest_httpserver import HTTPServer

from events.catalog import HOOKABLE_EVENTS
from hooks import validators
from hooks.models import HookLog, WebhookConfig

pytestmark = pytest.mark.django_db

SECRET = "super-secret-value-1234"
URL = "https://93.184.216.34/hooks/sublarr"


@pytest.fixture
def webhook() -> WebhookConfig:
    return WebhookConfig.objects.create(name="Gotify", event_name="subtitle_downloaded", url=URL, secret=SECRET)


def assert_no_secret(response, *secrets: str) -> None:
    text = response.content.decode()
    for secret in (SECRET, *secrets):
        assert secret not in text
    if response.headers.get("Content-Type") == "application/json" and isinstance(response.json(), dict):
        assert "secret" not in response.json()


def test_create_stores_the_secret_and_never_returns_it(
    staff_client, caplog, config_events, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/api/webhooks/",
            {"name": "Gotify", "event_name": "*", "url": URL, "secret": SECRET},
            format="json",
        )
    assert response.status_code == 201, response.json()
    assert_no_secret(response)
    body = response.json()
    webhook = WebhookConfig.objects.get()
    assert webhook.secret == SECRET
    assert body == {
        "id": webhook.pk,
        "name": "Gotify",
        "event_name": "*",
        "url": URL,
        "has_secret": True,
        "generated_secret": None,
        "warnings": [],
        "enabled": True,
        "retry_count": 3,
        "timeout_seconds": 10,
        "last_triggered_at": None,
        "last_status_code": None,
        "last_error": "",
        "consecutive_failures": 0,
        "trigger_count": 0,
        "disabled_reason": "",
        "disabled_at": None,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert config_events == [{"changed_keys": [f"webhooks.{webhook.pk}"], "source": "api"}]
    assert SECRET not in caplog.text
    assert SECRET not in json.dumps(config_events)


def test_list_and_retrieve_show_has_secret_only(staff_client, webhook):
    listing = staff_client.get("/api/webhooks/")
    detail = staff_client.get(f"/api/webhooks/{webhook.pk}/")
    for response in (listing, detail):
        assert response.status_code == 200
        assert_no_secret(response)
    assert detail.json()["has_secret"] is True
    assert listing.json()[0]["has_secret"] is True


def test_put_of_the_retrieved_body_keeps_the_secret(staff_client, webhook):
    """A client that edits what it got back (no secret, no placeholder) cannot wipe or overwrite the secret."""
    body = staff_client.get(f"/api/webhooks/{webhook.pk}/").json()
    body["name"] = "Gotify (LAN)"
    response = staff_client.put(f"/api/webhooks/{webhook.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    assert_no_secret(response)
    webhook.refresh_from_db()
    assert (webhook.name, webhook.secret) == ("Gotify (LAN)", SECRET)


def test_patch_without_the_secret_keeps_it(staff_client, webhook, config_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(f"/api/webhooks/{webhook.pk}/", {"retry_count": 5}, format="json")
    assert response.status_code == 200
    webhook.refresh_from_db()
    assert (webhook.retry_count, webhook.secret) == (5, SECRET)
    assert config_events == [{"changed_keys": [f"webhooks.{webhook.pk}.retry_count"], "source": "api"}]


@pytest.mark.parametrize("placeholder", ["********", "•••••", "*"])
def test_a_masked_placeholder_never_overwrites_the_secret(staff_client, webhook, placeholder):
    response = staff_client.patch(f"/api/webhooks/{webhook.pk}/", {"secret": placeholder}, format="json")
    assert response.status_code == 400
    assert response.json() == {"secret": [validators.SECRET_MASK_MESSAGE]}
    webhook.refresh_from_db()
    assert webhook.secret == SECRET


def test_an_empty_secret_clears_it(staff_client, webhook, config_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(f"/api/webhooks/{webhook.pk}/", {"secret": ""}, format="json")
    assert response.status_code == 200
    assert response.json()["has_secret"] is False
    webhook.refresh_from_db()
    assert webhook.secret == ""
    assert config_events == [{"changed_keys": [f"webhooks.{webhook.pk}.secret"], "source": "api"}]


def test_a_new_secret_replaces_it_and_is_not_echoed(staff_client, webhook, caplog):
    caplog.set_level(logging.DEBUG)
    response = staff_client.patch(f"/api/webhooks/{webhook.pk}/", {"secret": "another-secret-99"}, format="json")
    assert response.status_code == 200
    assert_no_secret(response, "another-secret-99")
    webhook.refresh_from_db()
    assert webhook.secret == "another-secret-99"
    assert "another-secret-99" not in caplog.text


def _assert_generated(secret: str) -> None:
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_generate_secret_on_create_returns_it_once(staff_client, caplog):
    caplog.set_level(logging.DEBUG)
    response = staff_client.post(
        "/api/webhooks/",
        {"name": "HA", "event_name": "batch_complete", "url": URL, "generate_secret": True},
        format="json",
    )
    assert response.status_code == 201
    generated = response.json()["generated_secret"]
    _assert_generated(generated)
    webhook = WebhookConfig.objects.get()
    assert webhook.secret == generated
    assert "secret" not in response.json()
    # Never again.
    for again in (staff_client.get(f"/api/webhooks/{webhook.pk}/"), staff_client.get("/api/webhooks/")):
        assert generated not in again.content.decode()
    assert generated not in caplog.text


def test_a_secret_and_generate_secret_together_are_refused(staff_client, webhook):
    response = staff_client.patch(
        f"/api/webhooks/{webhook.pk}/", {"secret": "mine-123", "generate_secret": True}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"generate_secret": [validators.SECRET_CONFLICT_MESSAGE]}
    assert "mine-123" not in response.content.decode()
    webhook.refresh_from_db()
    assert webhook.secret == SECRET


def test_generate_secret_on_update_replaces_it(staff_client, webhook):
    response = staff_client.patch(f"/api/webhooks/{webhook.pk}/", {"generate_secret": True}, format="json")
    assert response.status_code == 200
    generated = response.json()["generated_secret"]
    _assert_generated(generated)
    webhook.refresh_from_db()
    assert webhook.secret == generated
    assert SECRET not in response.content.decode()


def test_rotate_secret_returns_the_new_one_once(
    staff_client, webhook, config_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/api/webhooks/{webhook.pk}/rotate-secret/")
    assert response.status_code == 200
    body = response.json()
    _assert_generated(body["secret"])
    assert body["webhook"]["id"] == webhook.pk
    assert body["webhook"]["has_secret"] is True
    assert SECRET not in response.content.decode()
    webhook.refresh_from_db()
    assert webhook.secret == body["secret"]
    assert config_events == [{"changed_keys": [f"webhooks.{webhook.pk}.secret"], "source": "api"}]
    assert body["secret"] not in staff_client.get(f"/api/webhooks/{webhook.pk}/").content.decode()


def test_two_generated_secrets_differ(staff_client, webhook):
    first = staff_client.post(f"/api/webhooks/{webhook.pk}/rotate-secret/").json()["secret"]
    second = staff_client.post(f"/api/webhooks/{webhook.pk}/rotate-secret/").json()["secret"]
    assert first != second


def test_enable_re_enables_an_auto_disabled_webhook(
    staff_client, webhook, config_events, django_capture_on_commit_callbacks
):
    WebhookConfig.objects.filter(pk=webhook.pk).update(
        enabled=False, consecutive_failures=7, disabled_reason="HTTP 410 Gone", disabled_at="2026-11-20T10:00:00Z"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/api/webhooks/{webhook.pk}/enable/")
    assert response.status_code == 200
    body = response.json()
    assert (body["enabled"], body["consecutive_failures"], body["disabled_reason"], body["disabled_at"]) == (
        True,
        0,
        "",
        None,
    )
    assert_no_secret(response)
    webhook.refresh_from_db()
    assert (webhook.enabled, webhook.consecutive_failures, webhook.disabled_reason) == (True, 0, "")
    pk = webhook.pk
    assert config_events == [
        {
            "changed_keys": [
                f"webhooks.{pk}.enabled",
                f"webhooks.{pk}.consecutive_failures",
                f"webhooks.{pk}.disabled_reason",
                f"webhooks.{pk}.disabled_at",
            ],
            "source": "api",
        }
    ]


def test_enabling_through_patch_also_clears_the_disable_state(staff_client, webhook):
    WebhookConfig.objects.filter(pk=webhook.pk).update(enabled=False, consecutive_failures=3, disabled_reason="x")
    response = staff_client.patch(f"/api/webhooks/{webhook.pk}/", {"enabled": True}, format="json")
    assert response.status_code == 200
    webhook.refresh_from_db()
    assert (webhook.enabled, webhook.consecutive_failures, webhook.disabled_reason) == (True, 0, "")


def test_delete_emits_config_updated(staff_client, webhook, config_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.delete(f"/api/webhooks/{webhook.pk}/")
    assert response.status_code == 204
    assert not WebhookConfig.objects.exists()
    assert config_events == [{"changed_keys": [f"webhooks.{webhook.pk}"], "source": "api"}]


def test_list_filters(staff_client):
    WebhookConfig.objects.create(name="a", event_name="*", url=URL)
    WebhookConfig.objects.create(name="b", event_name="batch_complete", url=URL, enabled=False)
    names = lambda q: [w["name"] for w in staff_client.get(f"/api/webhooks/{q}").json()]  # noqa: E731
    assert names("?event_name=*") == ["a"]
    assert names("?enabled=false") == ["b"]
    assert names("") == ["a", "b"]


# --- Validation messages ----------------------------------------------------------

VALID = {"name": "Gotify", "event_name": "subtitle_downloaded", "url": URL}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", validators.NAME_MESSAGE),
        ({"name": "n" * 101}, "name", validators.NAME_MESSAGE),
        ({"event_name": "hook_executed"}, "event_name", validators.LOOP_MESSAGE),
        (
            {"event_name": "nope"},
            "event_name",
            f"Unknown event 'nope'. Choose one of: {', '.join(HOOKABLE_EVENTS)}, or * for every event.",
        ),
        ({"url": "ftp://example.org/x"}, "url", validators.URL_SCHEME_MESSAGE),
        ({"url": "example.org/hook"}, "url", validators.URL_SCHEME_MESSAGE),
        ({"url": "https:///path-only"}, "url", validators.URL_HOST_MESSAGE),
        ({"url": "https://93.184.216.34:99999/"}, "url", validators.URL_PORT_MESSAGE),
        ({"url": "https://93.184.216.34/a b"}, "url", validators.URL_SPACE_MESSAGE),
        ({"url": "http://[::1"}, "url", validators.URL_INVALID_MESSAGE),
        ({"url": "https://93.184.216.34/" + "a" * 2030}, "url", validators.URL_LENGTH_MESSAGE),
        (
            {"url": "http://127.0.0.1:8080/hook"},
            "url",
            "Webhook URL http://127.0.0.1:8080/hook refused: 127.0.0.1 is a loopback address (a receiver on this "
            "machine), refused by default. To allow same-host receivers such as Home Assistant or ntfy, set "
            "SUBLARR_WEBHOOK_ALLOW_LOOPBACK=true in Sublarr's environment and restart Sublarr.",
        ),
        (
            {"url": "http://169.254.169.254/latest/meta-data"},
            "url",
            "Webhook URL http://169.254.169.254/latest/meta-data refused: 169.254.169.254 is a cloud metadata "
            "address (always refused).",
        ),
        ({"retry_count": -1}, "retry_count", validators.RETRY_COUNT_MESSAGE),
        ({"retry_count": 11}, "retry_count", validators.RETRY_COUNT_MESSAGE),
        ({"timeout_seconds": 0}, "timeout_seconds", validators.WEBHOOK_TIMEOUT_MESSAGE),
        ({"timeout_seconds": 61}, "timeout_seconds", validators.WEBHOOK_TIMEOUT_MESSAGE),
        ({"secret": "********"}, "secret", validators.SECRET_MASK_MESSAGE),
        ({"secret": "has space"}, "secret", validators.SECRET_CHARACTERS_MESSAGE),
        ({"secret": "whsec_not base64"}, "secret", validators.SECRET_CHARACTERS_MESSAGE),
        ({"secret": "whsec_c2hvcnQ="}, "secret", validators.SECRET_WHSEC_MESSAGE),
        ({"secret": "s" * 256}, "secret", validators.SECRET_LENGTH_MESSAGE),
    ],
)
def test_create_refuses_bad_fields_with_their_message(staff_client, settings, change, field, message):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = False
    response = staff_client.post("/api/webhooks/", {**VALID, **change}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert not WebhookConfig.objects.exists()
    for value in change.values():
        if field == "secret":
            assert str(value) not in response.content.decode()


def test_private_lan_addresses_are_allowed_by_default_and_refused_by_the_setting(staff_client, settings):
    lan = {**VALID, "url": "http://192.168.1.20:8123/api/webhook/sublarr"}
    settings.SUBLARR_WEBHOOK_BLOCK_PRIVATE = False
    assert staff_client.post("/api/webhooks/", lan, format="json").status_code == 201
    settings.SUBLARR_WEBHOOK_BLOCK_PRIVATE = True
    response = staff_client.post("/api/webhooks/", lan, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "url": [
            "Webhook URL http://192.168.1.20:8123/api/webhook/sublarr refused: 192.168.1.20 is a private network "
            "address, refused because SUBLARR_WEBHOOK_BLOCK_PRIVATE=true. To allow receivers on your LAN, set "
            "SUBLARR_WEBHOOK_BLOCK_PRIVATE=false (or remove it) in Sublarr's environment and restart Sublarr."
        ]
    }


def test_loopback_is_allowed_with_the_setting(staff_client, settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    response = staff_client.post("/api/webhooks/", {**VALID, "url": "http://127.0.0.1:9/hook"}, format="json")
    assert response.status_code == 201


def test_a_refused_url_message_hides_credentials_and_query(staff_client, settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = False
    response = staff_client.post(
        "/api/webhooks/", {**VALID, "url": "http://user:pw-123@127.0.0.1/hook?token=tok-456"}, format="json"
    )
    assert response.status_code == 400
    assert "pw-123" not in response.content.decode()
    assert "tok-456" not in response.content.decode()


# --- Test deliveries ----------------------------------------------------------------


def test_test_delivery_posts_a_sample_and_logs_it_without_leaking_the_secret(
    staff_client, settings, httpserver: HTTPServer, caplog
):
    caplog.set_level(logging.DEBUG)
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    httpserver.expect_request("/hook", method="POST").respond_with_data("thanks", status=200)
    webhook = WebhookConfig.objects.create(
        name="Local", event_name="batch_complete", url=httpserver.url_for("/hook"), secret=SECRET
    )

    response = staff_client.post(f"/api/webhooks/{webhook.pk}/test/")

    assert response.status_code == 200, response.json()
    assert_no_secret(response)
    body = response.json()
    assert (body["is_test"], body["success"], body["status_code"]) == (True, True, 200)
    assert (body["hook_type"], body["webhook"], body["event_name"]) == ("webhook", webhook.pk, "batch_complete")
    assert body["response_body"] == "thanks"
    request, _ = httpserver.log[0]
    sent = json.loads(request.data)
    assert sent["event_name"] == "batch_complete"
    assert sent["data"]["total"] == 20
    # The signature the receiver got is not in the response, nor in the log.
    assert request.headers["X-Sublarr-Signature"] not in response.content.decode()
    assert request.headers["webhook-signature"] not in response.content.decode()
    assert body["request_headers"]["X-Sublarr-Signature"] == "[redacted]"
    assert HookLog.objects.get().is_test is True
    assert SECRET not in caplog.text


def test_test_delivery_failure_is_a_200_with_the_outcome(staff_client, settings, httpserver: HTTPServer):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    httpserver.expect_request("/hook").respond_with_data("nope", status=404)
    webhook = WebhookConfig.objects.create(name="Local", event_name="*", url=httpserver.url_for("/hook"))

    response = staff_client.post(f"/api/webhooks/{webhook.pk}/test/")

    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["status_code"]) == (False, 404)
    assert body["error"] != ""


def test_no_endpoint_ever_returns_or_logs_the_secret(staff_client, settings, httpserver: HTTPServer, caplog):
    """Every hooks endpoint, successful or failing, with a webhook whose secret is set."""
    caplog.set_level(logging.DEBUG)
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    httpserver.expect_request("/hook").respond_with_data("ok")
    webhook = WebhookConfig.objects.create(name="W", event_name="*", url=httpserver.url_for("/hook"), secret=SECRET)
    pk = webhook.pk
    calls = [
        ("get", "/api/webhooks/", None),
        ("get", "/api/webhooks/?enabled=true", None),
        ("get", f"/api/webhooks/{pk}/", None),
        ("patch", f"/api/webhooks/{pk}/", {"name": "W2"}),
        ("patch", f"/api/webhooks/{pk}/", {"url": "ftp://nope"}),
        ("put", f"/api/webhooks/{pk}/", {"name": "W3", "event_name": "*", "url": httpserver.url_for("/hook")}),
        ("post", f"/api/webhooks/{pk}/test/", None),
        ("post", f"/api/webhooks/{pk}/enable/", None),
        ("get", "/api/hook-logs/", None),
        ("post", "/api/webhooks/", {"name": "bad", "event_name": "*", "url": "x", "secret": SECRET}),
    ]
    for method, url, data in calls:
        response = getattr(staff_client, method)(url, data, format="json")
        assert response.status_code < 500, (method, url)
        assert SECRET not in response.content.decode(), (method, url)
    log = HookLog.objects.get()
    assert SECRET not in staff_client.get(f"/api/hook-logs/{log.pk}/").content.decode()
    assert staff_client.delete(f"/api/webhooks/{pk}/").status_code == 204
    assert SECRET not in caplog.text
    webhook_received, _ = httpserver.log[0]
    assert SECRET not in json.dumps(dict(webhook_received.headers))


# --- A password in the URL -----------------------------------------------------

URL_WITH_PASSWORD = "https://gotify:pa55-w0rd@93.184.216.34/message?priority=5"
URL_MASKED = "https://gotify:********@93.184.216.34/message?priority=5"


def test_a_password_in_the_url_is_never_returned(staff_client, caplog):
    caplog.set_level(logging.DEBUG)
    created = staff_client.post(
        "/api/webhooks/",
        {"name": "Gotify", "event_name": "subtitle_downloaded", "url": URL_WITH_PASSWORD},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["url"] == URL_MASKED
    webhook = WebhookConfig.objects.get()
    assert webhook.url == URL_WITH_PASSWORD
    for response in (staff_client.get("/api/webhooks/"), staff_client.get(f"/api/webhooks/{webhook.pk}/")):
        assert "pa55-w0rd" not in response.content.decode()
    assert "pa55-w0rd" not in caplog.text


def test_sending_back_the_masked_url_keeps_the_password(staff_client):
    webhook = WebhookConfig.objects.create(name="Gotify", event_name="subtitle_downloaded", url=URL_WITH_PASSWORD)
    body = staff_client.get(f"/api/webhooks/{webhook.pk}/").json()
    body["name"] = "Gotify (LAN)"
    assert staff_client.put(f"/api/webhooks/{webhook.pk}/", body, format="json").status_code == 200
    webhook.refresh_from_db()
    assert (webhook.name, webhook.url) == ("Gotify (LAN)", URL_WITH_PASSWORD)

    # A new password, or none, replaces it.
    new = "https://gotify:n3w@93.184.216.34/message?priority=5"
    assert staff_client.patch(f"/api/webhooks/{webhook.pk}/", {"url": new}, format="json").status_code == 200
    webhook.refresh_from_db()
    assert webhook.url == new


def test_the_mask_is_not_a_password(staff_client):
    response = staff_client.post(
        "/api/webhooks/",
        {"name": "Gotify", "event_name": "subtitle_downloaded", "url": URL_MASKED},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"url": [validators.URL_MASKED_MESSAGE]}
    assert not WebhookConfig.objects.exists()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://93.184.216.34/x", "https://93.184.216.34/x"),
        ("https://user@93.184.216.34/x", "https://user@93.184.216.34/x"),
        ("https://user:@93.184.216.34/x", "https://user:@93.184.216.34/x"),
        ("https://user:p%40ss@93.184.216.34:8443/x?a=1#f", "https://user:********@93.184.216.34:8443/x?a=1#f"),
        ("http://:secret@93.184.216.34/", "http://:********@93.184.216.34/"),
    ],
)
def test_mask_url(url, shown):
    assert validators.mask_url(url) == shown
    assert validators.unmask_url(shown, url) == url


@pytest.mark.parametrize(
    "masked",
    [
        "https://gotify:********@93.184.216.35/message?priority=5",  # another host
        "https://gotify:********@attacker.example/message?priority=5",  # another host, by name
        "https://gotify:********@93.184.216.34:8443/message?priority=5",  # another port
        "http://gotify:********@93.184.216.34/message?priority=5",  # another scheme (cleartext)
        "https://admin:********@93.184.216.34/message?priority=5",  # another user
    ],
)
def test_the_masked_password_is_not_kept_for_another_address(staff_client, masked):
    webhook = WebhookConfig.objects.create(name="Gotify", event_name="subtitle_downloaded", url=URL_WITH_PASSWORD)
    for method in ("patch", "put"):
        body = {"name": "Gotify", "event_name": "subtitle_downloaded", "url": masked}
        response = getattr(staff_client, method)(f"/api/webhooks/{webhook.pk}/", body, format="json")
        assert response.status_code == 400
        assert response.json() == {"url": [validators.URL_MASKED_ORIGIN_MESSAGE]}
        assert "pa55-w0rd" not in response.content.decode()
    webhook.refresh_from_db()
    assert webhook.url == URL_WITH_PASSWORD


@pytest.mark.parametrize(
    ("masked", "kept"),
    [
        # The same address written differently keeps the password; the path and query may change.
        (
            "https://gotify:********@93.184.216.34:443/other?priority=8",
            "https://gotify:pa55-w0rd@93.184.216.34:443/other?priority=8",
        ),
        ("HTTPS://gotify:********@93.184.216.34/message", "https://gotify:pa55-w0rd@93.184.216.34/message"),
    ],
)
def test_the_masked_password_is_kept_for_the_same_address(staff_client, masked, kept):
    webhook = WebhookConfig.objects.create(name="Gotify", event_name="subtitle_downloaded", url=URL_WITH_PASSWORD)
    response = staff_client.patch(f"/api/webhooks/{webhook.pk}/", {"url": masked}, format="json")
    assert response.status_code == 200, response.json()
    webhook.refresh_from_db()
    assert webhook.url == kept


def test_a_new_password_for_a_new_host_is_accepted(staff_client):
    webhook = WebhookConfig.objects.create(name="Gotify", event_name="subtitle_downloaded", url=URL_WITH_PASSWORD)
    new = "https://gotify:n3w-pw@93.184.216.35/message"
    response = staff_client.patch(f"/api/webhooks/{webhook.pk}/", {"url": new}, format="json")
    assert response.status_code == 200
    webhook.refresh_from_db()
    assert webhook.url == new


# --- Saving: what is checked, what is only a warning ----------------------------------

UNRESOLVED_SUFFIX = (
    "). Saved anyway: the address is checked again before every delivery, "
    "which fails until the name resolves to an allowed address."
)


def test_a_host_that_does_not_resolve_is_saved_with_a_warning(staff_client):
    body = {**VALID, "url": "https://ha.receiver.invalid/api/webhook/x"}
    response = staff_client.post("/api/webhooks/", body, format="json")
    assert response.status_code == 201, response.json()
    [warning] = response.json()["warnings"]
    assert warning.startswith("Webhook host 'ha.receiver.invalid' could not be resolved (")
    assert warning.endswith(UNRESOLVED_SUFFIX)
    webhook = WebhookConfig.objects.get()
    assert webhook.url == "https://ha.receiver.invalid/api/webhook/x"
    # Shown with what this request saved, not later.
    assert staff_client.get(f"/api/webhooks/{webhook.pk}/").json()["warnings"] == []
    patched = staff_client.patch(f"/api/webhooks/{webhook.pk}/", {"url": URL}, format="json")
    assert (patched.status_code, patched.json()["warnings"]) == (200, [])


def test_a_name_resolving_to_loopback_is_still_refused_at_save(staff_client, settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = False
    response = staff_client.post("/api/webhooks/", {**VALID, "url": "http://localhost:8123/hook"}, format="json")
    assert response.status_code == 400
    [message] = response.json()["url"]
    assert message.startswith("Webhook URL http://localhost:8123/hook refused: localhost (resolves to ")
    assert message.endswith("SUBLARR_WEBHOOK_ALLOW_LOOPBACK=true in Sublarr's environment and restart Sublarr.")
    assert not WebhookConfig.objects.exists()


@pytest.mark.parametrize("url", ["https://" + "a" * 64 + ".example/hook", "https://a..b/hook"])
def test_a_host_that_is_no_host_name_is_refused_not_warned(staff_client, url):
    response = staff_client.post("/api/webhooks/", {**VALID, "url": url}, format="json")
    assert response.status_code == 400
    assert response.json() == {"url": [validators.URL_HOST_INVALID_MESSAGE]}


# --- Signed by default (DESIGN.md §4) ------------------------------------------------------


def test_a_webhook_created_without_a_secret_gets_one_generated_and_shown_once(staff_client, caplog):
    caplog.set_level(logging.DEBUG)
    response = staff_client.post("/api/webhooks/", VALID, format="json")
    assert response.status_code == 201
    body = response.json()
    generated = body["generated_secret"]
    _assert_generated(generated)
    assert body["has_secret"] is True
    webhook = WebhookConfig.objects.get()
    assert webhook.secret == generated
    for again in (staff_client.get(f"/api/webhooks/{webhook.pk}/"), staff_client.get("/api/webhooks/")):
        assert generated not in again.content.decode()
    assert staff_client.get(f"/api/webhooks/{webhook.pk}/").json()["generated_secret"] is None
    assert generated not in caplog.text


def test_an_empty_secret_on_create_is_the_explicit_way_to_go_unsigned(staff_client):
    response = staff_client.post("/api/webhooks/", {**VALID, "secret": ""}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["has_secret"], body["generated_secret"]) == (False, None)
    assert WebhookConfig.objects.get().secret == ""


def test_a_given_secret_is_kept_and_not_echoed_on_create(staff_client):
    response = staff_client.post("/api/webhooks/", {**VALID, "secret": SECRET}, format="json")
    assert response.status_code == 201
    assert response.json()["generated_secret"] is None
    assert WebhookConfig.objects.get().secret == SECRET


@pytest.mark.parametrize("secret", ["", SECRET])
def test_generate_secret_with_a_secret_even_empty_is_refused(staff_client, secret):
    response = staff_client.post("/api/webhooks/", {**VALID, "secret": secret, "generate_secret": True}, format="json")
    assert response.status_code == 400
    assert response.json() == {"generate_secret": [validators.SECRET_CONFLICT_MESSAGE]}
    assert not WebhookConfig.objects.exists()


def test_deliveries_of_a_webhook_created_without_a_secret_are_signed(staff_client, settings, httpserver: HTTPServer):
    from standardwebhooks import Webhook

    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    created = staff_client.post("/api/webhooks/", {**VALID, "url": httpserver.url_for("/hook")}, format="json")
    assert created.status_code == 201
    secret = created.json()["generated_secret"]

    assert staff_client.post(f"/api/webhooks/{created.json()['id']}/test/").json()["success"] is True

    request, _ = httpserver.log[0]
    headers = {name: request.headers[name] for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    assert Webhook(secret).verify(request.get_data(), headers)["event_name"] == "subtitle_downloaded"
    assert request.headers["X-Sublarr-Signature"].startswith("sha256=")
