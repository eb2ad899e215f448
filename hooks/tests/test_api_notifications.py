"""/api/notifications/ and the admin: CRUD, masked URLs kept on edit, template errors with their line, test-fire,
redelivery — and no URL secret in any answer, page or log line."""

from __future__ import annotations

import json
import logging

import pytest

from hooks.models import Delivery, HookLog, NotificationConfig
from hooks.notify.urls import mask_url

pytestmark = pytest.mark.django_db

PASSWORD = "ApiPassw0rdForNotif"
TOKEN = "GotifyT0kenForApi"


@pytest.fixture
def loopback(settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    return settings


@pytest.fixture
def urls(httpserver) -> list[str]:
    httpserver.expect_request("/json").respond_with_data("ok")
    httpserver.expect_request("/message").respond_with_json({"id": 1})
    return [
        f"json://user:{PASSWORD}@127.0.0.1:{httpserver.port}/json",
        f"gotify://127.0.0.1:{httpserver.port}/{TOKEN}",
    ]


def create(client, **fields):
    body = {"name": "phone", "events": ["subtitle_downloaded"], **fields}
    return client.post("/api/notifications/", body, format="json")


def assert_no_secret(text: str) -> None:
    assert PASSWORD not in text
    assert TOKEN not in text


def test_create_answers_the_urls_masked_and_stores_them_whole(loopback, staff_client, urls, caplog):
    caplog.set_level(logging.DEBUG)
    response = create(staff_client, urls=urls, title_template="{{ media }}", quiet_passes=[])

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["urls"] == [
        f"json://user:********@127.0.0.1:{urls[0].split(':')[-1].split('/')[0]}/********",
        f"gotify://127.0.0.1:{urls[1].split(':')[-1].split('/')[0]}/********",
    ]
    assert body["warnings"] == []
    assert NotificationConfig.objects.get(pk=body["id"]).urls == urls
    assert_no_secret(response.content.decode())
    assert_no_secret(staff_client.get(f"/api/notifications/{body['id']}/").content.decode())
    assert_no_secret(staff_client.get("/api/notifications/").content.decode())
    assert_no_secret(caplog.text)


def test_a_masked_url_sent_back_keeps_the_stored_one_and_a_changed_one_is_refused(loopback, staff_client, urls):
    shown = create(staff_client, urls=urls).json()

    kept = staff_client.put(
        f"/api/notifications/{shown['id']}/",
        {"name": "renamed", "events": ["*"], "urls": shown["urls"]},
        format="json",
    )
    assert kept.status_code == 200, kept.json()
    assert NotificationConfig.objects.get(pk=shown["id"]).urls == urls

    moved = shown["urls"][0].replace("127.0.0.1", "localhost")
    refused = staff_client.patch(f"/api/notifications/{shown['id']}/", {"urls": [moved]}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()) == ["urls"]
    assert refused.json()["urls"][0].startswith("URL 1: ")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title_template": "{{ media "}, "title_template", "line 1: unexpected end of template"),
        ({"body_template": "ok\n{{ nope }}"}, "body_template", "line 2: unknown variable 'nope'"),
        ({"body_template": "{{ ''.__class__ }}"}, "body_template", "line 1: '__class__' is not available"),
        ({"events": ["hook_executed"]}, "events", "hook_executed cannot trigger"),
        ({"quiet_start": "25:00", "quiet_end": "07:00", "quiet_timezone": "UTC"}, "quiet_start", "Enter a time"),
        ({"quiet_start": "22:00", "quiet_end": "07:00", "quiet_timezone": "Mars/Base"}, "quiet_timezone", "Enter an"),
        ({"urls": ["json://169.254.169.254/x"]}, "urls", "URL 1: "),
        ({"urls": ["nope://x"]}, "urls", "URL 1: "),
    ],
)
def test_bad_fields_are_400_with_field_messages(loopback, staff_client, urls, fields, field, message):
    response = create(staff_client, **{"urls": urls, **fields})

    assert response.status_code == 400
    assert field in response.json()
    assert response.json()[field][0].startswith(message), response.json()
    assert not NotificationConfig.objects.exists()


def test_test_fire_logs_the_rendered_message_and_the_schemes_only(loopback, staff_client, urls, httpserver):
    target = create(staff_client, urls=urls, title_template="Got {{ data.language }}").json()

    response = staff_client.post(f"/api/notifications/{target['id']}/test/")

    assert response.status_code == 200
    log = response.json()
    assert (log["success"], log["is_test"], log["hook_type"], log["notification"]) == (
        True,
        True,
        "notification",
        target["id"],
    )
    assert log["stdout"].startswith("Got de\n\n")
    assert log["request_headers"] == {"schemes": "json, gotify"}
    assert_no_secret(json.dumps(log))
    assert_no_secret(staff_client.get("/api/hook-logs/").content.decode())
    filtered = staff_client.get(f"/api/hook-logs/?notification={target['id']}").json()
    assert [row["id"] for row in filtered["results"]] == [log["id"]]
    [(request, _)] = [entry for entry in httpserver.log if entry[0].path == "/json"]
    assert request.get_json()["title"] == "Got de"


def test_redeliver_queues_failed_deliveries_and_refuses_a_disabled_target(loopback, staff_client, urls):
    target = NotificationConfig.objects.create(name="n", events=["*"], urls=urls)
    Delivery.objects.create(
        event_id="3f1c2a9e-5b7d-4e2f-9a1b-0c3d4e5f6a7b",
        event_name="subtitle_downloaded",
        envelope={},
        hook_type="notification",
        notification=target,
        status="failed",
        attempts=4,
        max_attempts=4,
    )

    response = staff_client.post(f"/api/notifications/{target.pk}/redeliver/", {}, format="json")
    assert (response.status_code, response.json()) == (202, {"redelivered": 1})
    assert Delivery.objects.get(notification=target).status == "pending"

    NotificationConfig.objects.filter(pk=target.pk).update(enabled=False)
    refused = staff_client.post(f"/api/notifications/{target.pk}/redeliver/", {}, format="json")
    assert refused.status_code == 409
    assert staff_client.post(f"/api/notifications/{target.pk}/enable/").json()["enabled"] is True


def test_admin_pages_never_show_a_url_secret_and_search_never_looks_inside(loopback, admin_client, urls):
    target = NotificationConfig.objects.create(name="phone", events=["*"], urls=urls, last_error="")
    log = HookLog.objects.create(
        notification=target,
        hook_name="phone",
        event_name="x",
        hook_type="notification",
        success=True,
        request_headers={"schemes": "json, gotify"},
    )

    pages = [
        admin_client.get("/admin/hooks/notificationconfig/"),
        admin_client.get(f"/admin/hooks/notificationconfig/{target.pk}/change/"),
        admin_client.get("/admin/hooks/hooklog/"),
        admin_client.get(f"/admin/hooks/hooklog/{log.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert_no_secret(page.content.decode())
    assert "json://user:********@127.0.0.1" in pages[1].content.decode()
    assert "phone" not in admin_client.get(f"/admin/hooks/notificationconfig/?q={PASSWORD}").content.decode()
    assert admin_client.get(f"/admin/hooks/notificationconfig/?urls__contains={PASSWORD}").status_code in (
        302,
        400,
    )


def test_admin_edit_keeps_masked_urls_and_test_action_runs(loopback, admin_client, urls):
    target = NotificationConfig.objects.create(name="phone", events=["*"], urls=urls)
    page = admin_client.get(f"/admin/hooks/notificationconfig/{target.pk}/change/").content.decode()
    masked = "\n".join(mask_url(url) for url in urls)
    assert masked.split("\n")[0] in page

    response = admin_client.post(
        f"/admin/hooks/notificationconfig/{target.pk}/change/",
        {
            "name": "renamed",
            "events": ["*"],
            "enabled": "on",
            "urls_text": masked,
            "title_template": "",
            "body_template": "",
            "body_format": "text",
            "quiet_start": "",
            "quiet_end": "",
            "quiet_timezone": "",
            "quiet_mode": "hold",
            "retry_count": "3",
            "timeout_seconds": "10",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    target.refresh_from_db()
    assert (target.name, target.urls) == ("renamed", urls)

    acted = admin_client.post(
        "/admin/hooks/notificationconfig/",
        {"action": "test_now", "_selected_action": [target.pk]},
        follow=True,
    )
    shown = [str(message) for message in acted.context["messages"]]
    assert shown[-1].startswith("renamed: test succeeded"), shown
