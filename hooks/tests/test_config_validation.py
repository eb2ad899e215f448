"""The one validation module and the configuration services, used directly (shell, CLI, other code)."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from standardwebhooks import Webhook

from events.catalog import EVENT_CATALOG
from hooks import checks, netpolicy, scriptpath, services, validators
from hooks.models import HookConfig, WebhookConfig


def messages(exc: pytest.ExceptionInfo[ValidationError]) -> Any:
    # A dict (field -> messages) for a field error, else a list: each test knows which it raised.
    error = exc.value
    return error.message_dict if hasattr(error, "error_dict") else error.messages


# --- Field validators ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("  Home Assistant ", "Home Assistant"), ("x" * 100, "x" * 100)],
)
def test_names_are_stripped_and_up_to_100_characters(value, expected):
    assert validators.validate_name(value) == expected


@pytest.mark.parametrize("value", ["", "  ", "x" * 101])
def test_bad_names(value):
    with pytest.raises(ValidationError) as exc:
        validators.validate_name(value)
    assert messages(exc) == [validators.NAME_MESSAGE]


def test_every_hookable_event_is_accepted_and_star_only_for_webhooks():
    for name in EVENT_CATALOG:
        if name == "hook_executed":
            continue
        assert validators.validate_hook_event_name(name) == name
        assert validators.validate_webhook_event_name(name) == name
    assert validators.validate_webhook_event_name("*") == "*"
    with pytest.raises(ValidationError) as exc:
        validators.validate_hook_event_name("*")
    assert messages(exc) == [validators.STAR_FOR_HOOK_MESSAGE]


@pytest.mark.parametrize("allow_all", [True, False])
def test_hook_executed_is_refused_because_it_would_loop(allow_all):
    with pytest.raises(ValidationError) as exc:
        validators.validate_event_name("hook_executed", allow_all=allow_all)
    assert messages(exc) == [
        "hook_executed cannot trigger hooks or webhooks: it is emitted after every hook run, so it would loop."
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", validators.URL_SCHEME_MESSAGE),
        ("javascript:alert(1)", validators.URL_SCHEME_MESSAGE),
        ("file:///etc/passwd", validators.URL_SCHEME_MESSAGE),
        ("//93.184.216.34/x", validators.URL_SCHEME_MESSAGE),
        ("http://", validators.URL_HOST_MESSAGE),
        ("http://:80/x", validators.URL_HOST_MESSAGE),
        ("http://93.184.216.34:0/", validators.URL_PORT_MESSAGE),
        ("http://93.184.216.34:port/", validators.URL_PORT_MESSAGE),
        ("http://93.184.216.34/\nX-Injected: 1", validators.URL_SPACE_MESSAGE),
        ("http://[::1/", validators.URL_INVALID_MESSAGE),
        ("https://93.184.216.34/" + "p" * 2027, validators.URL_LENGTH_MESSAGE),
    ],
)
def test_url_syntax_messages(url, message):
    with pytest.raises(ValidationError) as exc:
        validators.validate_url_syntax(url)
    assert messages(exc) == [message]


def test_a_url_of_exactly_2048_characters_is_accepted():
    url = "https://93.184.216.34/" + "p" * 2026
    assert len(url) == 2048
    assert validators.validate_url(url) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1]:8000/hook", f"::1 is {netpolicy.LOOPBACK_REFUSAL}"),
        ("http://127.0.0.2/hook", f"127.0.0.2 is {netpolicy.LOOPBACK_REFUSAL}"),
        ("http://169.254.1.1/hook", "169.254.1.1 is a link-local address (always refused)"),
    ],
)
def test_the_address_policy_is_checked_at_save(settings, url, reason):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(ValidationError) as exc:
        validators.validate_url(url)
    assert messages(exc) == [f"Webhook URL {url} refused: {reason}."]


def test_the_address_policy_reads_settings_at_call_time(settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    assert validators.validate_url("http://[::1]:8000/hook") == "http://[::1]:8000/hook"
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(ValidationError):
        validators.validate_url("http://[::1]:8000/hook")


def test_link_local_stays_refused_even_with_loopback_allowed(settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    with pytest.raises(ValidationError) as exc:
        validators.validate_url("http://169.254.169.254/latest/meta-data/")
    assert "cloud metadata address (always refused)" in messages(exc)[0]


STORED = "https://user:pw-1@ha.example:8123/api"


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        ("https://user:********@ha.example:8123/api/v2", "https://user:pw-1@ha.example:8123/api/v2"),
        ("https://user:********@HA.example:8123/api", "https://user:pw-1@HA.example:8123/api"),
        ("https://user:********@ha.example/api", validators.URL_MASKED_ORIGIN_MESSAGE),
        ("https://user:********@ha.example:8124/api", validators.URL_MASKED_ORIGIN_MESSAGE),
        ("http://user:********@ha.example:8123/api", validators.URL_MASKED_ORIGIN_MESSAGE),
        ("https://other:********@ha.example:8123/api", validators.URL_MASKED_ORIGIN_MESSAGE),
        ("https://user:********@evil.example:8123/api", validators.URL_MASKED_ORIGIN_MESSAGE),
        ("https://user:typed@evil.example/api", "https://user:typed@evil.example/api"),
    ],
)
def test_a_kept_password_stays_with_its_scheme_host_port_and_user(submitted, expected):
    if expected.startswith("http"):
        assert validators.unmask_url(submitted, STORED) == expected
    else:
        with pytest.raises(ValidationError) as exc:
            validators.unmask_url(submitted, STORED)
        assert messages(exc) == [expected]


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("*****", validators.SECRET_MASK_MESSAGE),
        ("••••••••", validators.SECRET_MASK_MESSAGE),
        ("tab\tinside", validators.SECRET_CHARACTERS_MESSAGE),
        ("whsec_!!!!", validators.SECRET_WHSEC_MESSAGE),
        ("whsec_" + base64.b64encode(b"x" * 15).decode(), validators.SECRET_WHSEC_MESSAGE),
        ("k" * 256, validators.SECRET_LENGTH_MESSAGE),
    ],
)
def test_bad_secrets(secret, message):
    with pytest.raises(ValidationError) as exc:
        validators.validate_secret(secret)
    assert messages(exc) == [message]
    assert secret not in messages(exc)[0]


@pytest.mark.parametrize("secret", ["", "plain-shared-secret", "whsec_" + base64.b64encode(b"k" * 24).decode()])
def test_good_secrets(secret):
    assert validators.validate_secret(secret) == secret


@pytest.mark.parametrize(
    ("value", "valid"),
    [(1, True), (300, True), (0, False), (301, False), (True, False), ("30", False), (None, False)],
)
def test_hook_timeout_bounds(value, valid):
    if valid:
        assert validators.validate_hook_timeout(value) == value
    else:
        with pytest.raises(ValidationError) as exc:
            validators.validate_hook_timeout(value)
        assert messages(exc) == [validators.HOOK_TIMEOUT_MESSAGE]


@pytest.mark.parametrize(("value", "valid"), [(0, True), (10, True), (-1, False), (11, False)])
def test_retry_count_bounds(value, valid):
    if valid:
        assert validators.validate_retry_count(value) == value
    else:
        with pytest.raises(ValidationError):
            validators.validate_retry_count(value)


@pytest.mark.parametrize(("value", "valid"), [(1, True), (60, True), (0, False), (61, False)])
def test_webhook_timeout_bounds(value, valid):
    if valid:
        assert validators.validate_webhook_timeout(value) == value
    else:
        with pytest.raises(ValidationError):
            validators.validate_webhook_timeout(value)


def test_script_path_messages(hooks_dir: Path, tmp_path: Path):
    good = hooks_dir / "good.sh"
    good.write_text("#!/bin/sh\n")
    good.chmod(0o755)
    assert validators.validate_script_path(" good.sh ") == "good.sh"
    assert validators.validate_script_path(str(good)) == str(good)
    cases = {
        "": validators.SCRIPT_PATH_REQUIRED_MESSAGE,
        "a" * 1025: validators.SCRIPT_PATH_LENGTH_MESSAGE,
        "nope.sh": scriptpath.MISSING,
        "sub/../good.sh": scriptpath.DOT_DOT,
        str(tmp_path / "elsewhere.sh"): scriptpath.OUTSIDE,
    }
    for value, message in cases.items():
        with pytest.raises(ValidationError) as exc:
            validators.validate_script_path(value)
        assert messages(exc) == [message], value


def test_clean_reports_every_bad_field_and_unknown_ones():
    with pytest.raises(ValidationError) as exc:
        validators.clean_webhook_fields({"name": "", "retry_count": 99, "colour": "red"})
    assert messages(exc) == {"colour": ["Unknown field."]}
    with pytest.raises(ValidationError) as exc:
        validators.clean_webhook_fields({"name": "", "retry_count": 99})
    assert messages(exc) == {"name": [validators.NAME_MESSAGE], "retry_count": [validators.RETRY_COUNT_MESSAGE]}


# --- Services ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_services_validate_too(hooks_dir):
    with pytest.raises(ValidationError) as exc:
        services.hook_create(name="x", event_name="hook_executed", script_path="none.sh", source="cli")
    assert messages(exc) == {"event_name": [validators.LOOP_MESSAGE], "script_path": [scriptpath.MISSING]}
    assert not HookConfig.objects.exists()


@pytest.mark.django_db
def test_a_generated_secret_signs_standard_webhooks(django_capture_on_commit_callbacks):
    # No secret given: the service generates one (DESIGN.md §4).
    webhook = services.webhook_create(name="x", event_name="*", url="https://93.184.216.34/", source="cli")
    secret = WebhookConfig.objects.get(pk=webhook.pk).secret
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    body = json.dumps({"id": "evt"})
    signer = Webhook(secret)
    sent_at = datetime.now(UTC)
    signature = signer.sign("msg-1", sent_at, body)
    headers = {
        "webhook-id": "msg-1",
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
    assert Webhook(secret).verify(body, headers) == {"id": "evt"}


@pytest.mark.django_db
def test_services_never_log_a_secret(caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        webhook = services.webhook_create(
            name="x", event_name="*", url="https://93.184.216.34/", secret="log-probe-secret", source="cli"
        )
        services.webhook_update(webhook=webhook, data={"secret": "log-probe-secret-2"}, source="cli")
        rotated = services.webhook_secret_rotate(webhook=webhook, source="cli")
        pk = webhook.pk
        services.webhook_delete(webhook=webhook, source="cli")
    for secret in ("log-probe-secret", "log-probe-secret-2", rotated):
        assert secret not in caplog.text
    assert f"Webhook {pk} changed by cli: secret" in caplog.text


@pytest.mark.django_db
def test_a_rolled_back_change_emits_nothing(django_capture_on_commit_callbacks):
    received = []
    signal = EVENT_CATALOG["config_updated"].signal
    signal.connect(lambda sender, envelope, **kw: received.append(envelope), dispatch_uid="rollback-probe")
    try:
        from django.db import transaction

        with django_capture_on_commit_callbacks(execute=True):
            try:
                with transaction.atomic():
                    services.webhook_create(name="x", event_name="*", url="https://93.184.216.34/", source="cli")
                    raise RuntimeError("abort")
            except RuntimeError:
                pass
        assert received == []
        assert not WebhookConfig.objects.exists()
    finally:
        signal.disconnect(dispatch_uid="rollback-probe")


# --- System checks ------------------------------------------------------------------------


def test_no_warning_for_a_missing_or_private_hooks_dir(settings, tmp_path):
    settings.HOOKS_DIR = tmp_path / "absent"
    assert checks.check_hooks_dir() == []
    (tmp_path / "private").mkdir(mode=0o750)
    settings.HOOKS_DIR = tmp_path / "private"
    assert checks.check_hooks_dir() == []


def test_warning_when_the_hooks_dir_is_a_file(settings, tmp_path):
    path = tmp_path / "hooks"
    path.write_text("")
    settings.HOOKS_DIR = path
    assert [w.id for w in checks.check_hooks_dir()] == ["hooks.W001"]


def test_warning_when_anyone_may_write_scripts(settings, tmp_path):
    path = tmp_path / "hooks"
    path.mkdir()
    path.chmod(0o777)
    settings.HOOKS_DIR = path
    found = checks.check_hooks_dir()
    assert [w.id for w in found] == ["hooks.W002"]
    assert found[0].hint == f"chmod o-w {path}"


def test_deploy_warning_for_loopback_webhooks(settings):
    settings.DEBUG = False
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    assert [w.id for w in checks.check_webhook_policy()] == ["hooks.W003"]
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = False
    assert checks.check_webhook_policy() == []


@pytest.mark.django_db
def test_the_services_save_a_webhook_whose_host_does_not_resolve():
    webhook = services.webhook_create(
        name="x", event_name="*", url="https://later.receiver.invalid/", secret="", source="cli"
    )
    assert WebhookConfig.objects.get(pk=webhook.pk).url == "https://later.receiver.invalid/"


@pytest.mark.django_db
def test_a_webhook_created_without_a_secret_is_signed_and_an_empty_one_is_the_opt_out():
    signed = services.webhook_create(name="a", event_name="*", url="https://93.184.216.34/", source="cli")
    unsigned = services.webhook_create(name="b", event_name="*", url="https://93.184.216.34/", secret="", source="cli")
    assert WebhookConfig.objects.get(pk=signed.pk).secret.startswith("whsec_")
    assert WebhookConfig.objects.get(pk=unsigned.pk).secret == ""
