"""A notification target on several events; held notifications shown while they wait; test-fire and quiet hours.

Real parts: the API and admin through Django's test client, Apprise's json:// to a local receiver, the fan-out
and attempts of the delivery pipeline (a real queue worker for the subscription test).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

import testsupport
from events import emit_event
from events.catalog import HOOKABLE_EVENTS
from events.samples import sample_payload
from events.services import build_envelope
from hooks import delivery as delivery_service
from hooks import subscriptions
from hooks.models import Delivery, HookLog, NotificationConfig
from hooks.tests.test_delivery_outcomes import FAST, Receiver

THREE = ["batch_complete", "provider_failed", "subtitle_downloaded"]
# Stored in catalog order.
THREE_STORED = [name for name in HOOKABLE_EVENTS if name in THREE]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    rec = Receiver(server)
    rec.script["/json"] = [200]
    server.expect_request(re.compile(".*")).respond_with_handler(rec.handle)
    yield rec
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def loopback(settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    return settings


def json_url(receiver: Receiver) -> str:
    return f"json://127.0.0.1:{receiver.server.port}/json"


def window_around_now(**fields) -> dict:
    now = datetime.now(UTC)
    return {
        "quiet_start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "quiet_end": (now + timedelta(hours=1)).strftime("%H:%M"),
        "quiet_timezone": "UTC",
        **fields,
    }


# --- the API: a list of events ---------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("events", "messages"),
    [
        ("subtitle_downloaded", ['Expected a list of items but got type "str".']),
        ([], ["Choose at least one event, or * for every event."]),
        (
            ["subtitle_downloaded", "nope"],
            ["Unknown event(s) 'nope'. Choose from: " + ", ".join(HOOKABLE_EVENTS) + ", or * alone."],
        ),
        (
            ["hook_executed"],
            ["hook_executed cannot trigger notifications: it is emitted after every delivery, so it would loop."],
        ),
        (["batch_complete", "provider_failed", "batch_complete"], ["Listed more than once: 'batch_complete'."]),
        (["*", "provider_failed"], ["* already means every event: send it alone, or list the events without it."]),
        (["*", "*"], ["Listed more than once: '*'."]),
    ],
)
def test_a_bad_event_list_is_400_with_a_message_on_events(loopback, staff_client, receiver, events, messages):
    body = {"name": "phone", "events": events, "urls": [json_url(receiver)]}

    response = staff_client.post("/api/notifications/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"events": messages}
    assert not NotificationConfig.objects.exists()


@pytest.mark.django_db
def test_several_events_are_stored_in_catalog_order_and_listed_by_event(loopback, staff_client, receiver):
    body = {"name": "phone", "events": THREE, "urls": [json_url(receiver)]}

    created = staff_client.post("/api/notifications/", body, format="json")

    assert created.status_code == 201, created.json()
    assert created.json()["events"] == THREE_STORED
    assert NotificationConfig.objects.get().events == THREE_STORED
    every = staff_client.post("/api/notifications/", {**body, "name": "all", "events": ["*"]}, format="json")
    assert every.json()["events"] == ["*"]

    def listed(query: str) -> list[str]:
        return [t["name"] for t in staff_client.get(f"/api/notifications/?{query}").json()]

    assert listed("event_name=provider_failed") == ["phone"]
    assert listed("event_name=translation_failed") == []
    assert listed("event_name=*") == ["all"]
    patched = staff_client.patch(f"/api/notifications/{created.json()['id']}/", {"events": ["*"]}, format="json")
    assert patched.json()["events"] == ["*"]


@pytest.mark.django_db
def test_a_template_is_checked_against_the_listed_events(loopback, staff_client, receiver):
    # data.error is a key of provider_failed's payload, not of subtitle_downloaded's or batch_complete's.
    body = {"name": "p", "urls": [json_url(receiver)], "title_template": "{{ data.error }}"}

    refused = staff_client.post(
        "/api/notifications/", {**body, "events": ["subtitle_downloaded", "batch_complete"]}, format="json"
    )
    accepted = staff_client.post(
        "/api/notifications/", {**body, "events": ["subtitle_downloaded", "provider_failed"]}, format="json"
    )

    assert refused.status_code == 400
    assert list(refused.json()) == ["title_template"]
    assert "subtitle_downloaded, batch_complete" in refused.json()["title_template"][0]
    assert accepted.status_code == 201, accepted.json()


# --- the admin: checkboxes over the catalog --------------------------------------------------------------------------


def admin_form(receiver: Receiver, **fields) -> dict:
    return {
        "name": "phone",
        "enabled": "on",
        "urls_text": json_url(receiver),
        "title_template": "",
        "body_template": "",
        "body_format": "text",
        "quiet_start": "",
        "quiet_end": "",
        "quiet_timezone": "",
        "quiet_mode": "hold",
        "retry_count": "3",
        "timeout_seconds": "10",
        **fields,
    }


@pytest.mark.django_db
def test_the_admin_form_ticks_several_events_and_refuses_star_beside_them(loopback, admin_client, receiver):
    page = admin_client.get("/admin/hooks/notificationconfig/add/").content.decode()
    # One checkbox per catalog event and one for *: reachable with Tab, ticked with Space.
    for name in [*HOOKABLE_EVENTS, "*"]:
        assert f'type="checkbox" name="events" value="{name}"' in page
    assert 'value="hook_executed"' not in page

    refused = admin_client.post(
        "/admin/hooks/notificationconfig/add/", admin_form(receiver, events=["*", "batch_complete"])
    )
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["events"] == [
        "* already means every event: send it alone, or list the events without it."
    ]

    saved = admin_client.post("/admin/hooks/notificationconfig/add/", admin_form(receiver, events=THREE))
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    target = NotificationConfig.objects.get()
    assert target.events == THREE_STORED
    listing = admin_client.get("/admin/hooks/notificationconfig/?event=provider_failed").content.decode()
    assert "phone" in listing
    assert ", ".join(THREE_STORED) in listing
    assert "phone" not in admin_client.get("/admin/hooks/notificationconfig/?event=translation_failed").content.decode()


# --- the subscription snapshot and the fan-out -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_snapshot_and_the_fan_out_see_exactly_the_listed_events(loopback, receiver):
    target = NotificationConfig.objects.create(name="three", events=THREE_STORED, urls=[json_url(receiver)])
    subscriptions.subscriptions_changed()

    assert {name for name in HOOKABLE_EVENTS if subscriptions.has_subscribers(name)} == set(THREE)
    for name in HOOKABLE_EVENTS:
        rows = delivery_service.deliveries_create(envelope=build_envelope(name, sample_payload(name)))
        assert [row.notification_id for row in rows] == ([target.pk] if name in THREE else []), name


@pytest.mark.slow
def test_a_target_on_three_events_gets_a_notification_for_each_of_them_and_only_them(start_worker, receiver):
    target = NotificationConfig.objects.create(
        name="three", events=THREE_STORED, urls=[json_url(receiver)], title_template="{{ event }}"
    )
    worker = start_worker(**FAST)

    sent = {name: emit_event(name, sample_payload(name))["id"] for name in HOOKABLE_EVENTS}

    testsupport.wait_for(
        lambda: Delivery.objects.filter(notification=target, status="succeeded").count() == 3,
        timeout=60,
        message="three notifications",
    )
    # Every event was emitted and fanned out before the last of the three: nothing else comes later.
    testsupport.wait_for(lambda: not subscriptions_pending(), timeout=30, message="the outbox drained")
    rows = Delivery.objects.filter(notification=target)
    assert sorted((row.event_name, str(row.event_id)) for row in rows) == sorted((n, sent[n]) for n in THREE)
    assert sorted(json.loads(seen.body)["title"] for seen in receiver.to("/json")) == sorted(THREE)
    assert sorted(HookLog.objects.filter(notification=target).values_list("event_name", flat=True)) == sorted(THREE)
    assert "Traceback" not in worker.log()


def subscriptions_pending() -> bool:
    from hooks.models import PendingEvent

    return PendingEvent.objects.exists()


# --- test-fire -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_test_fire_sends_the_first_listed_event_in_catalog_order(loopback, staff_client, receiver):
    target = NotificationConfig.objects.create(
        name="t", events=["provider_failed", "batch_complete"], urls=[json_url(receiver)], title_template="{{ event }}"
    )

    log = staff_client.post(f"/api/notifications/{target.pk}/test/").json()

    assert (log["event_name"], log["is_test"], log["success"]) == ("provider_failed", True, True)
    [seen] = receiver.to("/json")
    assert json.loads(seen.body)["title"] == "provider_failed"


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["hold", "skip"])
def test_test_fire_inside_the_quiet_hours_sends_now(loopback, staff_client, receiver, mode):
    target = NotificationConfig.objects.create(
        name="t", events=["subtitle_downloaded"], urls=[json_url(receiver)], **window_around_now(quiet_mode=mode)
    )

    log = staff_client.post(f"/api/notifications/{target.pk}/test/").json()

    assert (log["success"], log["skipped"], log["error"]) == (True, False, "")
    assert len(receiver.to("/json")) == 1
    # Only the test: a real event inside the window is still held or skipped.
    envelope = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    [row] = delivery_service.deliveries_create(envelope=envelope)
    assert delivery_service.delivery_attempt(delivery_id=row.pk) == ("pending" if mode == "hold" else "skipped")
    assert len(receiver.to("/json")) == 1


# --- held notifications, visible while they wait --------------------------------------------------------------------


@pytest.mark.django_db
def test_held_notifications_show_in_the_api_and_admin_until_they_are_sent(
    loopback, staff_client, admin_client, receiver
):
    target = NotificationConfig.objects.create(
        name="night", events=["*"], urls=[json_url(receiver)], **window_around_now()
    )
    other = NotificationConfig.objects.create(name="quiet-free", events=["*"], urls=[json_url(receiver)])
    rows = []
    for name in ("subtitle_downloaded", "batch_complete"):
        [held, free] = sorted(
            delivery_service.deliveries_create(envelope=build_envelope(name, sample_payload(name))),
            key=lambda row: row.notification_id != target.pk,
        )
        assert delivery_service.delivery_attempt(delivery_id=held.pk) == "pending"
        assert delivery_service.delivery_attempt(delivery_id=free.pk) == "succeeded"
        rows.append(held)
    release = Delivery.objects.get(pk=rows[0].pk).next_attempt_at
    assert release > datetime.now(UTC) + timedelta(minutes=55)

    shown = staff_client.get(f"/api/notifications/{target.pk}/").json()
    assert shown["held_count"] == 2
    assert datetime.fromisoformat(shown["held_until"]) == release
    listed = {t["name"]: t for t in staff_client.get("/api/notifications/").json()}
    assert (listed["night"]["held_count"], listed["night"]["held_until"]) == (2, shown["held_until"])
    assert (listed["quiet-free"]["held_count"], listed["quiet-free"]["held_until"]) == (0, None)
    page = admin_client.get(f"/admin/hooks/notificationconfig/{target.pk}/change/").content.decode()
    assert f"subtitle_downloaded (event {rows[0].event_id}): sent at " in page
    assert f"batch_complete (event {rows[1].event_id}): sent at " in page
    assert "2, first sent " in admin_client.get("/admin/hooks/notificationconfig/").content.decode()
    # Not attempts: no log row, no stats, so the run log and health do not count them.
    assert not HookLog.objects.filter(notification=target).exists()
    target.refresh_from_db()
    assert (target.trigger_count, target.last_triggered_at) == (0, None)
    assert HookLog.objects.filter(notification=other).count() == 2

    # The window ends (here: removed, and the deliveries due): they are sent and no longer held.
    NotificationConfig.objects.filter(pk=target.pk).update(quiet_start="", quiet_end="")
    Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(next_attempt_at=datetime.now(UTC))
    for row in rows:
        assert delivery_service.delivery_attempt(delivery_id=row.pk) == "succeeded"
    shown = staff_client.get(f"/api/notifications/{target.pk}/").json()
    assert (shown["held_count"], shown["held_until"]) == (0, None)
    assert (
        "None: nothing is waiting."
        in admin_client.get(f"/admin/hooks/notificationconfig/{target.pk}/change/").content.decode()
    )
