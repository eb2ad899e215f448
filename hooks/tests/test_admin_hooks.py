"""Admin: health columns, actions, validation shared with the API, the write-only secret, a read-only log."""

from __future__ import annotations

import logging

import pytest
from django.contrib.messages import get_messages
from pytest_httpserver import HTTPServer

from hooks import scriptpath, validators
from hooks.models import HookConfig, HookLog, WebhookConfig

pytestmark = pytest.mark.django_db

SECRET = "admin-secret-value-42"
URL = "https://93.184.216.34/hook"


@pytest.fixture
def webhook() -> WebhookConfig:
    return WebhookConfig.objects.create(
        name="Gotify",
        event_name="subtitle_downloaded",
        url=URL,
        secret=SECRET,
        consecutive_failures=4,
        last_status_code=503,
    )


def webhook_form(webhook: WebhookConfig, **changes) -> dict:
    data = {
        "name": webhook.name,
        "event_name": webhook.event_name,
        "url": webhook.url,
        "enabled": "on" if webhook.enabled else "",
        "retry_count": webhook.retry_count,
        "timeout_seconds": webhook.timeout_seconds,
        "new_secret": "",
        "_save": "Save",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Lists ------------------------------------------------------------------------


def test_webhook_list_shows_health_at_a_glance(admin_client, webhook):
    WebhookConfig.objects.create(
        name="Dead", event_name="*", url=URL, enabled=False, disabled_reason="HTTP 410 Gone", consecutive_failures=9
    )
    response = admin_client.get("/admin/hooks/webhookconfig/")
    assert response.status_code == 200
    html = response.content.decode()
    for header in ("Enabled", "Last status code", "Last triggered at", "Trigger count", "Consecutive failures"):
        assert header in html
    assert "Disabled reason" in html
    assert "Secret set" in html
    assert "HTTP 410 Gone" in html
    assert SECRET not in html


@pytest.mark.parametrize(
    ("health", "expected"), [("auto_disabled", ["Dead"]), ("failing", ["Dead", "Gotify"]), ("healthy", ["Fine"])]
)
def test_webhooks_filter_by_health(admin_client, webhook, health, expected):
    WebhookConfig.objects.create(
        name="Dead", event_name="*", url=URL, enabled=False, disabled_reason="HTTP 410 Gone", consecutive_failures=9
    )
    WebhookConfig.objects.create(name="Fine", event_name="*", url=URL)
    response = admin_client.get(f"/admin/hooks/webhookconfig/?health={health}")
    assert response.status_code == 200
    assert sorted(w.name for w in response.context["cl"].result_list) == expected


def test_hook_and_log_lists_render_and_filter(admin_client, script):
    hook = HookConfig.objects.create(name="Notify", event_name="batch_complete", script_path="notify.sh")
    HookLog.objects.create(
        hook=hook, hook_name="Notify", event_name="batch_complete", hook_type="script", success=False
    )
    assert admin_client.get("/admin/hooks/hookconfig/?enabled__exact=1&q=Notify").status_code == 200
    response = admin_client.get("/admin/hooks/hooklog/?success__exact=0&hook_type__exact=script")
    assert response.status_code == 200
    assert "Notify" in response.content.decode()


# --- Script hooks -----------------------------------------------------------------


def test_adding_a_hook_validates_and_emits_config_updated_from_admin(
    admin_client, script, config_events, django_capture_on_commit_callbacks
):
    data = {"name": "Notify", "event_name": "batch_complete", "script_path": "notify.sh", "enabled": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/hooks/hookconfig/add/", {**data, "timeout_seconds": 30})
    assert response.status_code == 302
    hook = HookConfig.objects.get()
    assert (hook.name, hook.script_path, hook.timeout_seconds) == ("Notify", "notify.sh", 30)
    assert config_events == [{"changed_keys": [f"hooks.{hook.pk}"], "source": "admin"}]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"event_name": "hook_executed"}, "event_name", validators.LOOP_MESSAGE),
        ({"event_name": "*"}, "event_name", validators.STAR_FOR_HOOK_MESSAGE),
        ({"script_path": "missing.sh"}, "script_path", scriptpath.MISSING),
        ({"script_path": "../etc/passwd"}, "script_path", scriptpath.DOT_DOT),
        ({"timeout_seconds": 301}, "timeout_seconds", validators.HOOK_TIMEOUT_MESSAGE),
        ({"timeout_seconds": "x"}, "timeout_seconds", validators.HOOK_TIMEOUT_MESSAGE),
        ({"name": "n" * 101}, "name", validators.NAME_MESSAGE),
    ],
)
def test_the_hook_form_uses_the_api_messages(admin_client, script, change, field, message):
    data = {"name": "Notify", "event_name": "batch_complete", "script_path": "notify.sh", "timeout_seconds": 30}
    response = admin_client.post("/admin/hooks/hookconfig/add/", {**data, **change})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {field: [message]}
    assert not HookConfig.objects.exists()


def test_hook_actions_enable_disable_reset(admin_client, script, config_events, django_capture_on_commit_callbacks):
    hook = HookConfig.objects.create(
        name="Notify", event_name="batch_complete", script_path="notify.sh", consecutive_failures=3
    )

    def act(action: str):
        with django_capture_on_commit_callbacks(execute=True):
            return admin_client.post(
                "/admin/hooks/hookconfig/", {"action": action, "_selected_action": [hook.pk]}, follow=True
            )

    act("disable")
    hook.refresh_from_db()
    assert hook.enabled is False
    act("enable")
    hook.refresh_from_db()
    assert hook.enabled is True
    act("reset_failures")
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0
    assert config_events == [
        {"changed_keys": [f"hooks.{hook.pk}.enabled"], "source": "admin"},
        {"changed_keys": [f"hooks.{hook.pk}.enabled"], "source": "admin"},
        {"changed_keys": [f"hooks.{hook.pk}.consecutive_failures"], "source": "admin"},
    ]


def test_hook_test_now_action_runs_the_script(admin_client, script):
    hook = HookConfig.objects.create(name="Notify", event_name="batch_complete", script_path="notify.sh")
    response = admin_client.post(
        "/admin/hooks/hookconfig/", {"action": "test_now", "_selected_action": [hook.pk]}, follow=True
    )
    log = HookLog.objects.get()
    assert (log.is_test, log.success, log.stdout) == (True, True, "ok\n")
    assert messages_of(response) == [f"Notify: test succeeded ({log.duration_ms} ms)."]


def test_deleting_a_hook_in_the_admin_emits_config_updated(
    admin_client, script, config_events, django_capture_on_commit_callbacks
):
    hook = HookConfig.objects.create(name="Notify", event_name="batch_complete", script_path="notify.sh")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/hooks/hookconfig/{hook.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not HookConfig.objects.exists()
    assert config_events == [{"changed_keys": [f"hooks.{hook.pk}"], "source": "admin"}]


# --- Webhooks: the secret ----------------------------------------------------------


def test_the_change_form_never_renders_the_secret(admin_client, webhook):
    response = admin_client.get(f"/admin/hooks/webhookconfig/{webhook.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert SECRET not in html
    assert 'name="secret"' not in html
    assert 'name="new_secret"' in html
    assert 'type="password"' in html


def test_saving_with_a_blank_secret_field_keeps_the_secret(
    admin_client, webhook, config_events, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/hooks/webhookconfig/{webhook.pk}/change/", webhook_form(webhook, name="Gotify LAN")
        )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.name, webhook.secret) == ("Gotify LAN", SECRET)
    assert config_events == [{"changed_keys": [f"webhooks.{webhook.pk}.name"], "source": "admin"}]
    assert SECRET not in caplog.text


@pytest.mark.parametrize("placeholder", ["********", "●●●●●●"])
def test_a_masked_placeholder_in_the_form_never_overwrites_the_secret(admin_client, webhook, placeholder):
    response = admin_client.post(
        f"/admin/hooks/webhookconfig/{webhook.pk}/change/", webhook_form(webhook, new_secret=placeholder)
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"new_secret": [validators.SECRET_MASK_MESSAGE]}
    webhook.refresh_from_db()
    assert webhook.secret == SECRET
    # The re-rendered form does not echo what was typed either.
    assert placeholder not in response.content.decode()


def test_a_new_secret_replaces_the_stored_one(admin_client, webhook):
    response = admin_client.post(
        f"/admin/hooks/webhookconfig/{webhook.pk}/change/", webhook_form(webhook, new_secret="brand-new-secret-7")
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.secret == "brand-new-secret-7"


def test_the_clear_checkbox_clears_the_secret(admin_client, webhook, config_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/hooks/webhookconfig/{webhook.pk}/change/", webhook_form(webhook, clear_secret="on")
        )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.secret == ""
    assert config_events == [{"changed_keys": [f"webhooks.{webhook.pk}.secret"], "source": "admin"}]


def test_generate_shows_the_new_secret_once(admin_client, webhook):
    response = admin_client.post(
        f"/admin/hooks/webhookconfig/{webhook.pk}/change/", webhook_form(webhook, generate_secret="on"), follow=True
    )
    webhook.refresh_from_db()
    assert webhook.secret.startswith("whsec_")
    assert webhook.secret != SECRET
    shown = messages_of(response)
    assert any(webhook.secret in message for message in shown)
    again = admin_client.get(f"/admin/hooks/webhookconfig/{webhook.pk}/change/")
    assert webhook.secret not in again.content.decode()


def test_choosing_two_secret_options_is_refused(admin_client, webhook):
    response = admin_client.post(
        f"/admin/hooks/webhookconfig/{webhook.pk}/change/",
        webhook_form(webhook, new_secret="x-secret-1", clear_secret="on"),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "Choose only one of: a new secret, clear the secret, generate a secret."
    ]
    webhook.refresh_from_db()
    assert webhook.secret == SECRET


def test_adding_a_webhook_with_a_secret(admin_client):
    form = {
        "name": "HA",
        "event_name": "*",
        "url": URL,
        "enabled": "on",
        "retry_count": 3,
        "timeout_seconds": 10,
        "new_secret": "ha-secret-123",
    }
    response = admin_client.post("/admin/hooks/webhookconfig/add/", form)
    assert response.status_code == 302
    webhook = WebhookConfig.objects.get()
    assert (webhook.event_name, webhook.secret) == ("*", "ha-secret-123")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"url": "ftp://x.org/"}, "url", validators.URL_SCHEME_MESSAGE),
        ({"event_name": "hook_executed"}, "event_name", validators.LOOP_MESSAGE),
        ({"retry_count": 11}, "retry_count", validators.RETRY_COUNT_MESSAGE),
        ({"timeout_seconds": 61}, "timeout_seconds", validators.WEBHOOK_TIMEOUT_MESSAGE),
        ({"url": "https://93.184.216.34/" + "a" * 2030}, "url", validators.URL_LENGTH_MESSAGE),
    ],
)
def test_the_webhook_form_uses_the_api_messages(admin_client, webhook, change, field, message):
    response = admin_client.post(f"/admin/hooks/webhookconfig/{webhook.pk}/change/", webhook_form(webhook, **change))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {field: [message]}


# --- Webhooks: actions -----------------------------------------------------------------


def test_webhook_enable_action_clears_the_auto_disable(admin_client, webhook):
    WebhookConfig.objects.filter(pk=webhook.pk).update(enabled=False, disabled_reason="HTTP 410 Gone")
    admin_client.post("/admin/hooks/webhookconfig/", {"action": "enable", "_selected_action": [webhook.pk]})
    webhook.refresh_from_db()
    assert (webhook.enabled, webhook.consecutive_failures, webhook.disabled_reason) == (True, 0, "")


def test_webhook_disable_and_reset_actions(admin_client, webhook):
    admin_client.post("/admin/hooks/webhookconfig/", {"action": "reset_failures", "_selected_action": [webhook.pk]})
    webhook.refresh_from_db()
    assert (webhook.enabled, webhook.consecutive_failures) == (True, 0)
    admin_client.post("/admin/hooks/webhookconfig/", {"action": "disable", "_selected_action": [webhook.pk]})
    webhook.refresh_from_db()
    assert webhook.enabled is False


def test_webhook_test_now_action(admin_client, settings, httpserver: HTTPServer):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    webhook = WebhookConfig.objects.create(name="Local", event_name="*", url=httpserver.url_for("/hook"))
    response = admin_client.post(
        "/admin/hooks/webhookconfig/", {"action": "test_now", "_selected_action": [webhook.pk]}, follow=True
    )
    log = HookLog.objects.get()
    assert (log.is_test, log.success, log.status_code) == (True, True, 204)
    assert messages_of(response) == [f"Local: test succeeded ({log.duration_ms} ms)."]


# --- The log --------------------------------------------------------------------------


def test_log_rows_are_read_only_and_headers_redacted(admin_client, webhook):
    log = HookLog.objects.create(
        webhook=webhook,
        hook_name="Gotify",
        event_name="batch_complete",
        hook_type="webhook",
        success=True,
        request_headers={"X-Sublarr-Signature": "sha256=cafebabe", "X-Sublarr-Event": "batch_complete"},
    )
    url = f"/admin/hooks/hooklog/{log.pk}/change/"
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "cafebabe" not in html
    assert "[redacted]" in html
    assert 'name="_save"' not in html
    assert admin_client.post(url, {"hook_name": "changed"}).status_code == 403
    assert admin_client.get("/admin/hooks/hooklog/add/").status_code == 403
    log.refresh_from_db()
    assert log.hook_name == "Gotify"


def test_a_test_run_log_cannot_be_redelivered(admin_client, webhook):
    log = HookLog.objects.create(
        webhook=webhook,
        hook_name="Gotify",
        event_name="batch_complete",
        hook_type="webhook",
        success=False,
        is_test=True,
    )
    response = admin_client.post(
        "/admin/hooks/hooklog/", {"action": "redeliver", "_selected_action": [log.pk]}, follow=True
    )
    assert messages_of(response) == [f"{log}: A test run cannot be redelivered; run the test again instead."]


def _failed_delivery(webhook: WebhookConfig):
    import uuid

    from hooks.models import Delivery

    event_id = uuid.uuid4()
    delivery = Delivery.objects.create(
        event_id=event_id,
        event_name="batch_complete",
        envelope={"id": str(event_id), "event_name": "batch_complete", "version": 1, "timestamp": "", "data": {}},
        hook_type="webhook",
        webhook=webhook,
        status=Delivery.Status.FAILED,
        attempts=4,
    )
    log = HookLog.objects.create(
        webhook=webhook,
        delivery=delivery,
        hook_name=webhook.name,
        event_name="batch_complete",
        event_id=event_id,
        hook_type="webhook",
        attempt=4,
        success=False,
    )
    return delivery, log


def test_a_failed_log_row_is_queued_again(admin_client, webhook):
    delivery, log = _failed_delivery(webhook)
    response = admin_client.post(
        "/admin/hooks/hooklog/", {"action": "redeliver", "_selected_action": [log.pk]}, follow=True
    )
    assert messages_of(response) == ["Queued 1 redelivery(ies)."]
    delivery.refresh_from_db()
    assert delivery.status == "pending"


def test_redeliver_failed_deliveries_of_a_webhook(admin_client, webhook):
    delivery, _ = _failed_delivery(webhook)
    response = admin_client.post(
        "/admin/hooks/webhookconfig/", {"action": "redeliver_failed", "_selected_action": [webhook.pk]}, follow=True
    )
    assert messages_of(response) == ["Gotify: queued 1 delivery(ies) again."]
    delivery.refresh_from_db()
    assert delivery.status == "pending"


def test_a_disabled_webhook_is_not_redelivered(admin_client, webhook):
    _failed_delivery(webhook)
    WebhookConfig.objects.filter(pk=webhook.pk).update(enabled=False)
    response = admin_client.post(
        "/admin/hooks/webhookconfig/", {"action": "redeliver_failed", "_selected_action": [webhook.pk]}, follow=True
    )
    [message] = messages_of(response)
    assert message.startswith("Gotify: ")
    assert "disabled" in message


def test_test_now_refuses_a_large_selection(admin_client, script):
    hooks = [
        HookConfig.objects.create(name=f"h{i}", event_name="batch_complete", script_path="notify.sh") for i in range(11)
    ]
    response = admin_client.post(
        "/admin/hooks/hookconfig/", {"action": "test_now", "_selected_action": [h.pk for h in hooks]}, follow=True
    )
    assert messages_of(response) == ["Select at most 10 to test at once."]
    assert not HookLog.objects.exists()


def test_a_password_in_the_url_is_masked_in_the_form_and_kept_on_save(admin_client):
    url = "https://gotify:pa55-w0rd@93.184.216.34/message"
    webhook = WebhookConfig.objects.create(name="Gotify", event_name="subtitle_downloaded", url=url)
    page = admin_client.get(f"/admin/hooks/webhookconfig/{webhook.pk}/change/").content.decode()
    assert "pa55-w0rd" not in page
    assert "https://gotify:********@93.184.216.34/message" in page

    masked = "https://gotify:********@93.184.216.34/message"
    response = admin_client.post(
        f"/admin/hooks/webhookconfig/{webhook.pk}/change/", webhook_form(webhook, url=masked, name="Gotify LAN")
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.name, webhook.url) == ("Gotify LAN", url)


def test_the_url_mask_is_refused_when_no_password_is_stored(admin_client, webhook):
    response = admin_client.post(
        f"/admin/hooks/webhookconfig/{webhook.pk}/change/",
        webhook_form(webhook, url="https://u:********@93.184.216.34/hook"),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"url": [validators.URL_MASKED_MESSAGE]}


def test_events_waiting_for_fan_out_are_listed_read_only(admin_client):
    from events.samples import sample_payload
    from events.services import build_envelope
    from hooks.models import PendingEvent

    envelope = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    event = PendingEvent.objects.create(event_id=envelope["id"], event_name="subtitle_downloaded", envelope=envelope)

    listing = admin_client.get("/admin/hooks/pendingevent/")
    assert listing.status_code == 200
    assert envelope["id"] in listing.content.decode()
    assert admin_client.get("/admin/hooks/pendingevent/add/").status_code == 403
    detail = admin_client.get(f"/admin/hooks/pendingevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert admin_client.post(f"/admin/hooks/pendingevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PendingEvent.objects.count() == 1


def test_the_masked_password_is_not_kept_for_another_host_in_the_form(admin_client):
    url = "https://gotify:pa55-w0rd@93.184.216.34/message"
    webhook = WebhookConfig.objects.create(name="Gotify", event_name="subtitle_downloaded", url=url)
    response = admin_client.post(
        f"/admin/hooks/webhookconfig/{webhook.pk}/change/",
        webhook_form(webhook, url="https://gotify:********@93.184.216.35/message"),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"url": [validators.URL_MASKED_ORIGIN_MESSAGE]}
    assert "pa55-w0rd" not in response.content.decode()
    webhook.refresh_from_db()
    assert webhook.url == url


def test_a_host_that_does_not_resolve_is_saved_with_a_warning_in_the_admin(admin_client):
    form = {
        "name": "HA",
        "event_name": "*",
        "url": "https://ha.receiver.invalid/api/webhook/x",
        "enabled": "on",
        "retry_count": 3,
        "timeout_seconds": 10,
        "new_secret": "ha-secret-123",
    }
    response = admin_client.post("/admin/hooks/webhookconfig/add/", form, follow=True)
    assert response.status_code == 200
    webhook = WebhookConfig.objects.get()
    assert webhook.url == "https://ha.receiver.invalid/api/webhook/x"
    warnings = [m for m in messages_of(response) if "could not be resolved" in m]
    assert len(warnings) == 1
    assert warnings[0].startswith("Webhook host 'ha.receiver.invalid' could not be resolved (")
    assert warnings[0].endswith("which fails until the name resolves to an allowed address.")


# --- Search is no oracle for secrets ------------------------------------------------------


def _found(admin_client, query: str) -> list[str]:
    response = admin_client.get("/admin/hooks/webhookconfig/", {"q": query})
    assert response.status_code == 200
    return sorted(w.name for w in response.context["cl"].result_list)


def test_search_never_matches_inside_the_url_password_or_the_secret(admin_client):
    WebhookConfig.objects.create(
        name="Gotify", event_name="*", url="https://gotify:pa55-w0rd@93.184.216.34/message?priority=5", secret=SECRET
    )
    WebhookConfig.objects.create(name="Other", event_name="*", url="https://93.184.216.35/hook")
    for guess in ("pa55", "pa55-w0rd", "w0rd", "gotify:pa55", SECRET, SECRET[:5]):
        assert _found(admin_client, guess) == [], guess
    # What the list would show still matches: the host, the path, the user, the name.
    assert _found(admin_client, "93.184.216.34") == ["Gotify"]
    assert _found(admin_client, "/message") == ["Gotify"]
    assert _found(admin_client, "gotify:") == ["Gotify"]
    assert _found(admin_client, "GOTIFY") == ["Gotify"]
    assert _found(admin_client, "93.184.216") == ["Gotify", "Other"]
    assert _found(admin_client, "93.184.216 hook") == ["Other"]
    assert _found(admin_client, '"Other"') == ["Other"]


@pytest.mark.parametrize(
    "lookup",
    ["secret__startswith=adm", "secret=" + SECRET, "url__contains=pa55", "url__regex=pa55", "url=x"],
)
def test_the_changelist_refuses_lookups_on_secret_bearing_columns(admin_client, webhook, lookup):
    response = admin_client.get(f"/admin/hooks/webhookconfig/?{lookup}")
    assert response.status_code == 400


def test_the_log_changelist_refuses_lookups_through_to_the_webhook_secret(admin_client, webhook):
    assert admin_client.get("/admin/hooks/hooklog/?webhook__secret__startswith=adm").status_code == 400


# --- Signed by default ------------------------------------------------------------------

ADD_FORM = {"name": "HA", "event_name": "*", "url": URL, "enabled": "on", "retry_count": 3, "timeout_seconds": 10}


def test_adding_a_webhook_without_a_secret_generates_one_shown_once(admin_client):
    response = admin_client.post("/admin/hooks/webhookconfig/add/", {**ADD_FORM, "new_secret": ""}, follow=True)
    assert response.status_code == 200
    webhook = WebhookConfig.objects.get()
    assert webhook.secret.startswith("whsec_")
    assert (
        f"New signing secret for HA: <code>{webhook.secret}</code> — copy it now, it will not be shown again."
    ) in messages_of(response)
    again = admin_client.get(f"/admin/hooks/webhookconfig/{webhook.pk}/change/")
    assert webhook.secret not in again.content.decode()


def test_adding_a_webhook_with_no_secret_ticked_leaves_it_unsigned(admin_client):
    response = admin_client.post(
        "/admin/hooks/webhookconfig/add/", {**ADD_FORM, "new_secret": "", "clear_secret": "on"}, follow=True
    )
    assert response.status_code == 200
    assert WebhookConfig.objects.get().secret == ""
    assert not any("signing secret" in message for message in messages_of(response))


def test_script_hooks_share_the_redeliver_action(admin_client, script):
    import uuid

    from hooks.models import Delivery

    hook = HookConfig.objects.create(name="Notify", event_name="batch_complete", script_path="notify.sh")
    event_id = uuid.uuid4()
    failed = Delivery.objects.create(
        event_id=event_id,
        event_name="batch_complete",
        envelope={"id": str(event_id), "event_name": "batch_complete", "version": 1, "timestamp": "", "data": {}},
        hook_type="script",
        hook=hook,
        status=Delivery.Status.FAILED,
        attempts=1,
    )
    response = admin_client.post(
        "/admin/hooks/hookconfig/", {"action": "redeliver_failed", "_selected_action": [hook.pk]}, follow=True
    )
    assert messages_of(response) == ["Notify: queued 1 delivery(ies) again."]
    failed.refresh_from_db()
    assert (failed.status, failed.max_attempts) == ("pending", 2)
