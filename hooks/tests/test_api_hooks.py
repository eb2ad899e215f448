"""REST API for script hooks: permissions, CRUD, filters, validation messages, config_updated."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from events.catalog import HOOKABLE_EVENTS
from hooks import scriptpath, validators
from hooks.models import HookConfig, HookLog, WebhookConfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(script: Path) -> HookConfig:
    return HookConfig.objects.create(name="Notify", event_name="subtitle_downloaded", script_path="notify.sh")


ENDPOINTS = [
    ("get", "/api/hooks/"),
    ("post", "/api/hooks/"),
    ("get", "/api/hooks/{hook}/"),
    ("put", "/api/hooks/{hook}/"),
    ("patch", "/api/hooks/{hook}/"),
    ("delete", "/api/hooks/{hook}/"),
    ("post", "/api/hooks/{hook}/test/"),
    ("get", "/api/webhooks/"),
    ("post", "/api/webhooks/"),
    ("get", "/api/webhooks/{webhook}/"),
    ("put", "/api/webhooks/{webhook}/"),
    ("patch", "/api/webhooks/{webhook}/"),
    ("delete", "/api/webhooks/{webhook}/"),
    ("post", "/api/webhooks/{webhook}/test/"),
    ("post", "/api/webhooks/{webhook}/enable/"),
    ("post", "/api/webhooks/{webhook}/rotate-secret/"),
    ("get", "/api/hook-logs/"),
    ("delete", "/api/hook-logs/"),
    ("get", "/api/hook-logs/{log}/"),
]


@pytest.fixture
def ids(hook: HookConfig) -> dict[str, int]:
    webhook = WebhookConfig.objects.create(
        name="W", event_name="*", url="https://93.184.216.34/hook", secret="s3cret-value"
    )
    log = HookLog.objects.create(
        hook=hook, hook_name="Notify", event_name="batch_complete", hook_type="script", success=True
    )
    return {"hook": hook.pk, "webhook": webhook.pk, "log": log.pk}


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_requests_get_401_and_change_nothing(anon_client, ids, method, url):
    response = getattr(anon_client, method)(url.format(**ids), {}, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"
    assert HookConfig.objects.count() == 1
    assert WebhookConfig.objects.get().secret == "s3cret-value"
    assert HookLog.objects.count() == 1


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_non_staff_users_get_403_and_change_nothing(user_client, ids, method, url):
    response = getattr(user_client, method)(url.format(**ids), {}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    assert HookConfig.objects.count() == 1
    assert WebhookConfig.objects.get().enabled is True
    assert HookLog.objects.count() == 1


def test_a_bad_token_gets_401(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anon_client.get("/api/hooks/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_session_authenticated_staff_can_list(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/api/hooks/").status_code == 200


def test_create_returns_the_hook_with_defaults(staff_client, script, django_capture_on_commit_callbacks, config_events):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/api/hooks/",
            {"name": "  Notify  ", "event_name": "subtitle_downloaded", "script_path": "notify.sh"},
            format="json",
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    hook = HookConfig.objects.get()
    assert body == {
        "id": hook.pk,
        "name": "Notify",
        "event_name": "subtitle_downloaded",
        "enabled": True,
        "script_path": "notify.sh",
        "timeout_seconds": 30,
        "last_triggered_at": None,
        "last_status": "",
        "trigger_count": 0,
        "consecutive_failures": 0,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert config_events == [{"changed_keys": [f"hooks.{hook.pk}"], "source": "api"}]


def test_list_filters_by_event_name_and_enabled(staff_client, script):
    a = HookConfig.objects.create(name="a", event_name="batch_complete", script_path="notify.sh")
    b = HookConfig.objects.create(name="b", event_name="batch_complete", script_path="notify.sh", enabled=False)
    c = HookConfig.objects.create(name="c", event_name="provider_failed", script_path="notify.sh")

    def names(query: str) -> list[str]:
        response = staff_client.get(f"/api/hooks/{query}")
        assert response.status_code == 200
        return [item["name"] for item in response.json()]

    assert names("") == [a.name, b.name, c.name]
    assert names("?event_name=batch_complete") == ["a", "b"]
    assert names("?enabled=false") == ["b"]
    assert names("?enabled=true&event_name=batch_complete") == ["a"]


def test_list_refuses_a_bad_enabled_filter(staff_client):
    response = staff_client.get("/api/hooks/?enabled=maybe")
    assert response.status_code == 400
    assert response.json() == {"enabled": ["Must be a valid boolean."]}


def test_retrieve_and_404(staff_client, hook):
    assert staff_client.get(f"/api/hooks/{hook.pk}/").json()["name"] == "Notify"
    missing = staff_client.get(f"/api/hooks/{hook.pk + 1000}/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No HookConfig matches the given query."}


def test_patch_changes_only_the_given_fields_and_reports_them(
    staff_client, hook, django_capture_on_commit_callbacks, config_events
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(
            f"/api/hooks/{hook.pk}/", {"enabled": False, "timeout_seconds": 90}, format="json"
        )
    assert response.status_code == 200
    hook.refresh_from_db()
    assert (hook.enabled, hook.timeout_seconds, hook.name) == (False, 90, "Notify")
    assert config_events == [
        {"changed_keys": [f"hooks.{hook.pk}.enabled", f"hooks.{hook.pk}.timeout_seconds"], "source": "api"}
    ]


def test_patch_without_a_change_emits_nothing(staff_client, hook, django_capture_on_commit_callbacks, config_events):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(f"/api/hooks/{hook.pk}/", {"name": "Notify"}, format="json")
    assert response.status_code == 200
    assert config_events == []


def test_put_replaces_and_resets_omitted_defaults(staff_client, hook):
    hook.timeout_seconds = 200
    hook.save()
    response = staff_client.put(
        f"/api/hooks/{hook.pk}/",
        {"name": "Renamed", "event_name": "batch_complete", "script_path": "notify.sh"},
        format="json",
    )
    assert response.status_code == 200
    hook.refresh_from_db()
    assert (hook.name, hook.event_name, hook.timeout_seconds) == ("Renamed", "batch_complete", 30)


def test_put_requires_every_writable_field(staff_client, hook):
    response = staff_client.put(f"/api/hooks/{hook.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "event_name": ["This field is required."],
        "script_path": ["This field is required."],
    }


def test_delete_keeps_the_logs_with_the_name(staff_client, hook, django_capture_on_commit_callbacks, config_events):
    log = HookLog.objects.create(
        hook=hook, hook_name=hook.name, event_name="batch_complete", hook_type="script", success=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.delete(f"/api/hooks/{hook.pk}/")
    assert response.status_code == 204
    assert not HookConfig.objects.exists()
    log.refresh_from_db()
    assert (log.hook_id, log.hook_name) == (None, "Notify")
    assert config_events == [{"changed_keys": [f"hooks.{hook.pk}"], "source": "api"}]


# --- Validation messages ---------------------------------------------------------

VALID = {"name": "Notify", "event_name": "subtitle_downloaded", "script_path": "notify.sh"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", validators.NAME_MESSAGE),
        ({"name": "   "}, "name", validators.NAME_MESSAGE),
        ({"name": "x" * 101}, "name", validators.NAME_MESSAGE),
        ({"event_name": "hook_executed"}, "event_name", validators.LOOP_MESSAGE),
        ({"event_name": "*"}, "event_name", validators.STAR_FOR_HOOK_MESSAGE),
        (
            {"event_name": "nope"},
            "event_name",
            f"Unknown event 'nope'. Choose one of: {', '.join(HOOKABLE_EVENTS)}.",
        ),
        ({"timeout_seconds": 0}, "timeout_seconds", validators.HOOK_TIMEOUT_MESSAGE),
        ({"timeout_seconds": 301}, "timeout_seconds", validators.HOOK_TIMEOUT_MESSAGE),
        ({"timeout_seconds": "soon"}, "timeout_seconds", validators.HOOK_TIMEOUT_MESSAGE),
        ({"script_path": ""}, "script_path", validators.SCRIPT_PATH_REQUIRED_MESSAGE),
        ({"script_path": "missing.sh"}, "script_path", scriptpath.MISSING),
        ({"script_path": "../notify.sh"}, "script_path", scriptpath.DOT_DOT),
        ({"script_path": "/etc/passwd"}, "script_path", scriptpath.OUTSIDE),
        ({"script_path": "plain.txt"}, "script_path", scriptpath.NOT_EXECUTABLE),
        ({"script_path": "subdir"}, "script_path", scriptpath.DIRECTORY),
        ({"script_path": "escape.sh"}, "script_path", scriptpath.SYMLINK_OUTSIDE),
    ],
)
def test_create_refuses_bad_fields_with_their_message(staff_client, script, tmp_path, change, field, message):
    hooks_dir = script.parent
    (hooks_dir / "plain.txt").write_text("not executable")
    (hooks_dir / "subdir").mkdir()
    outside = tmp_path / "outside.sh"
    outside.write_text("#!/bin/sh\n")
    outside.chmod(0o755)
    os.symlink(outside, hooks_dir / "escape.sh")

    response = staff_client.post("/api/hooks/", {**VALID, **change}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert not HookConfig.objects.exists()


def test_update_refuses_hook_executed_with_the_loop_message(staff_client, hook):
    response = staff_client.patch(f"/api/hooks/{hook.pk}/", {"event_name": "hook_executed"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"event_name": [validators.LOOP_MESSAGE]}
    hook.refresh_from_db()
    assert hook.event_name == "subtitle_downloaded"


def test_malformed_json_is_a_400(staff_client):
    response = staff_client.generic("POST", "/api/hooks/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


# --- Test runs ------------------------------------------------------------------


def test_test_run_executes_the_script_and_logs_it_as_a_test(staff_client, hooks_dir):
    path = hooks_dir / "echo.sh"
    path.write_text('#!/bin/sh\necho "event=$SUBLARR_EVENT"\n')
    path.chmod(0o755)
    hook = HookConfig.objects.create(name="Echo", event_name="batch_complete", script_path="echo.sh")

    response = staff_client.post(f"/api/hooks/{hook.pk}/test/")

    assert response.status_code == 200, response.json()
    body = response.json()
    log = HookLog.objects.get()
    assert body["id"] == log.pk
    assert (body["is_test"], body["success"], body["exit_code"]) == (True, True, 0)
    assert body["hook"] == hook.pk
    assert body["hook_type"] == "script"
    assert body["event_name"] == "batch_complete"
    assert body["stdout"] == "event=batch_complete\n"


def test_test_run_of_a_failing_script_is_reported_not_raised(staff_client, hooks_dir):
    path = hooks_dir / "fail.sh"
    path.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    path.chmod(0o755)
    hook = HookConfig.objects.create(name="Fail", event_name="batch_complete", script_path="fail.sh")

    response = staff_client.post(f"/api/hooks/{hook.pk}/test/")

    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["exit_code"], body["stderr"]) == (False, 3, "broken\n")


@pytest.mark.parametrize(
    "url",
    [
        "/api/hooks/99999999999999999999999/",
        "/api/webhooks/9223372036854775808/",
        "/api/hook-logs/99999999999999999999999/",
        "/api/hooks/99999999999999999999999/test/",
    ],
)
def test_ids_beyond_the_database_range_are_404(staff_client, url):
    method = staff_client.post if url.endswith("/test/") else staff_client.get
    assert method(url).status_code == 404


def test_a_log_filter_id_beyond_the_database_range_is_400(staff_client):
    response = staff_client.get("/api/hook-logs/?hook=9223372036854775808")
    assert response.status_code == 400
    assert response.json() == {"hook": ["Ensure this value is less than or equal to 9223372036854775807."]}


def test_session_writes_need_the_csrf_token(staff_user, script):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    body = json.dumps(VALID)
    refused = client.post("/api/hooks/", body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "CSRF Failed: CSRF cookie not set."}
    client.get("/admin/")  # a page with a form: sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post("/api/hooks/", body, content_type="application/json", headers={"X-CSRFToken": token})
    assert accepted.status_code == 201
