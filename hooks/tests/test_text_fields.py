"""Every text field of hooks and webhooks refuses a lone surrogate with a field message, never a 500.

``"\\ud800"`` is valid JSON but not valid Unicode: the file system, DNS and the
database all raise on it, so it must be refused before any of them is asked.
"""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from hooks import scriptpath, services, validators
from hooks.admin_forms import HookConfigForm, WebhookConfigForm
from hooks.models import HookConfig, WebhookConfig
from hooks.scriptpath import ScriptPathError, resolve_script_path

pytestmark = pytest.mark.django_db

SURROGATE = "\ud800"
MESSAGE = "Surrogate characters are not allowed: U+D800."
URL = "https://93.184.216.34/hook"
HOOK = {"name": "Notify", "event_name": "batch_complete", "script_path": "notify.sh", "timeout_seconds": 30}
WEBHOOK = {"name": "Gotify", "event_name": "subtitle_downloaded", "url": URL, "secret": "s3cret-value"}


def post_json(client, method: str, path: str, body: dict):
    # json.dumps writes the lone surrogate as the escape \ud800, as a client would.
    client.raise_request_exception = False
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("field", ["name", "event_name", "script_path"])
@pytest.mark.parametrize("method", ["post", "patch"])
def test_hook_api_refuses_a_lone_surrogate_in_every_text_field(staff_client, script, method, field):
    path = "/api/hooks/"
    if method == "patch":
        path += f"{HookConfig.objects.create(**HOOK).pk}/"
    response = post_json(staff_client, method, path, {**HOOK, field: f"notify{SURROGATE}.sh"})
    assert response.status_code == 400
    assert response.json() == {field: [MESSAGE]}


@pytest.mark.parametrize("field", ["name", "event_name", "url", "secret"])
@pytest.mark.parametrize("method", ["post", "patch"])
def test_webhook_api_refuses_a_lone_surrogate_in_every_text_field(staff_client, method, field):
    path = "/api/webhooks/"
    if method == "patch":
        path += f"{WebhookConfig.objects.create(**WEBHOOK).pk}/"
    response = post_json(staff_client, method, path, {**WEBHOOK, field: f"{WEBHOOK[field]}{SURROGATE}"})
    assert response.status_code == 400
    assert response.json() == {field: [MESSAGE]}


def test_a_surrogate_in_the_url_host_is_a_field_message(staff_client):
    response = post_json(staff_client, "post", "/api/webhooks/", {**WEBHOOK, "url": f"https://h{SURROGATE}.example/"})
    assert response.status_code == 400
    assert response.json() == {"url": [MESSAGE]}


def test_a_surrogate_encoded_in_the_query_string_is_no_500(staff_client):
    # A query string is decoded as UTF-8 with replacement, so the surrogate's bytes arrive as U+FFFD.
    response = staff_client.get("/api/webhooks/?event_name=%ED%A0%80")
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize("field", ["name", "event_name", "script_path"])
def test_the_hook_admin_form_refuses_a_lone_surrogate(script, field):
    form = HookConfigForm(data={**HOOK, field: f"notify{SURROGATE}.sh"})
    assert not form.is_valid()
    assert form.errors == {field: [MESSAGE]}


@pytest.mark.parametrize(("field", "form_field"), [("name", "name"), ("url", "url"), ("secret", "new_secret")])
def test_the_webhook_admin_form_refuses_a_lone_surrogate(field, form_field):
    data = {**WEBHOOK, "retry_count": 3, "timeout_seconds": 10, "new_secret": "", form_field: f"x{SURROGATE}"}
    form = WebhookConfigForm(data=data)
    assert not form.is_valid()
    assert form.errors == {form_field: [MESSAGE]}


def test_the_services_refuse_a_lone_surrogate(hooks_dir):
    with pytest.raises(ValidationError) as exc:
        services.hook_create(name="x", event_name="batch_complete", script_path=f"a{SURROGATE}.sh", source="cli")
    assert exc.value.message_dict == {"script_path": [MESSAGE]}
    with pytest.raises(ValidationError) as exc:
        services.webhook_create(name=f"x{SURROGATE}", event_name="*", url=URL, secret=f"k{SURROGATE}", source="cli")
    assert exc.value.message_dict == {"name": [MESSAGE], "secret": [MESSAGE]}
    assert not HookConfig.objects.exists()
    assert not WebhookConfig.objects.exists()


def test_the_path_check_refuses_a_lone_surrogate_at_run_time(hooks_dir):
    """A row written around the validators (raw SQL, an old database) still fails cleanly before running."""
    with pytest.raises(ScriptPathError) as exc:
        resolve_script_path(f"notify{SURROGATE}.sh")
    assert exc.value.message == scriptpath.SURROGATE


def test_a_non_string_is_not_text():
    with pytest.raises(ValidationError) as exc:
        validators.validate_name(12)  # type: ignore[arg-type]  # a non-string, on purpose
    assert exc.value.messages == [validators.TEXT_TYPE_MESSAGE]
