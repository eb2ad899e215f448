"""Notification targets in the control room: health, dashboard, history, redelivery — and never a URL shown.

The log rows come from the real notification transport (real Apprise, a local
json:// receiver whose URL carries a password), as the pipeline records them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from events.services import build_envelope
from hooks import health, rollups, transports
from hooks.delivery.record import result_fields
from hooks.models import Delivery, HookConfig, HookLog, NotificationConfig, WebhookConfig
from hooks.transports import HookError

pytestmark = pytest.mark.django_db

PASSWORD = "n0tif1cationPassw0rd"


def make_notification(httpserver: HTTPServer, name: str = "phone", **fields) -> NotificationConfig:
    url = f"json://sublarr:{PASSWORD}@127.0.0.1:{httpserver.port}/notify"
    return NotificationConfig.objects.create(name=name, events=["*"], urls=[url], **fields)


def deliver(target: NotificationConfig, *, ago: timedelta = timedelta(minutes=5)) -> tuple[Delivery, HookLog]:
    """One real attempt through the notification transport, stored as the recorder stores it."""
    envelope = build_envelope("subtitle_downloaded", {"movie_title": "Dune", "language": "de"})
    try:
        result = transports.for_target(target).deliver(target, envelope, attempt=1)
    except HookError as exc:
        result = exc.result
    item = Delivery.objects.create(
        event_id=uuid.UUID(envelope["id"]),
        event_name="subtitle_downloaded",
        envelope=envelope,
        hook_type=target.kind,
        notification=target,
        status=Delivery.Status.SUCCEEDED if result.success else Delivery.Status.FAILED,
        attempts=1,
        max_attempts=1,
    )
    row = HookLog.objects.create(
        notification=target,
        delivery=item,
        hook_name=target.name,
        event_name="subtitle_downloaded",
        event_id=item.event_id,
        hook_type=target.kind,
        success=result.success,
        **result_fields(result),
        triggered_at=timezone.now() - ago,
    )
    rollups.hours_add(rollups.tally_logs([row]))  # as the recorder does
    return item, row


@pytest.fixture
def receiver(httpserver: HTTPServer, settings) -> HTTPServer:
    """A local receiver (loopback allowed for the test): 200, then 500 (a failed attempt), 200 again, and so on."""
    answers = iter([200, 500, 200, 500, 200, 500])

    def answer(request: Request) -> Response:
        return Response("ok", status=next(answers, 200))

    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    httpserver.expect_request("/notify", method="POST").respond_with_handler(answer)
    return httpserver


def test_health_covers_notifications_like_every_other_kind(receiver):
    target = make_notification(receiver)
    deliver(target)
    deliver(target)
    deliver(target, ago=timedelta(days=3))

    [entry] = health.targets_health(targets=[target])

    assert entry.kind == "notification"
    assert (entry.day.runs, entry.day.successes) == (2, 1)
    assert (entry.week.runs, entry.week.successes) == (3, 2)
    assert entry.last_success_at is not None


def test_dashboard_lists_notifications_with_their_history_link_and_no_url(admin_client, receiver):
    target = make_notification(receiver, disabled_reason="Disabled automatically after 5 failed deliveries")
    deliver(target)
    webhook = WebhookConfig.objects.create(name="Gotify", event_name="*", url="https://93.184.216.34/hook")
    hook = HookConfig.objects.create(name="notify.sh", event_name="*", script_path="n.sh")

    html = admin_client.get("/admin/hooks/dashboard/").content.decode()

    assert [entry.target for entry in health.dashboard().targets] == [webhook, hook, target]
    assert f'href="/admin/hooks/notificationconfig/{target.pk}/deliveries/"' in html
    assert 'data-kind="notification"' in html
    assert "Disabled automatically after 5 failed deliveries" in html
    assert "100.0 % of 1" in html
    assert PASSWORD not in html
    assert "json://" not in html


def test_notification_changelist_has_the_health_columns(admin_client, receiver):
    target = make_notification(receiver)
    deliver(target)
    deliver(target)

    html = admin_client.get("/admin/hooks/notificationconfig/").content.decode()

    assert "50.0 % of 2" in html
    assert f"/admin/hooks/notificationconfig/{target.pk}/deliveries/" in html
    assert "Delivery health" in html
    assert PASSWORD not in html


def test_notification_history_shows_the_message_and_services_never_a_url(admin_client, receiver):
    target = make_notification(receiver)
    ok, _ = deliver(target)
    failed, failed_log = deliver(target)
    assert failed_log.error  # what Apprise's failure said, masked by hooks.notify.send

    response = admin_client.get(f"/admin/hooks/notificationconfig/{target.pk}/deliveries/")
    html = response.content.decode()

    assert response.status_code == 200
    assert f'id="delivery-{ok.pk}"' in html
    assert f'id="delivery-{failed.pk}"' in html
    assert "Services (the URLs are never shown)" in html
    assert '<pre class="request-headers">json</pre>' in html
    assert "Dune" in html  # the rendered message
    assert PASSWORD not in html
    assert "json://" not in html
    assert f"127.0.0.1:{receiver.port}" not in html
    confirm = admin_client.get(f"/admin/hooks/notificationconfig/{target.pk}/deliveries/redeliver-failed/")
    assert confirm.status_code == 200
    assert PASSWORD not in confirm.content.decode()


def test_notification_redeliver_and_range_redeliver(admin_client, receiver):
    target = make_notification(receiver)
    _, _ = deliver(target)
    failed, _ = deliver(target)
    base = f"/admin/hooks/notificationconfig/{target.pk}/deliveries"

    response = admin_client.post(f"{base}/{failed.pk}/redeliver/")

    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.PENDING
    Delivery.objects.filter(pk=failed.pk).update(status=Delivery.Status.FAILED)
    done = admin_client.post(f"{base}/redeliver-failed/", {"since": "", "until": ""}, follow=True)
    assert "Queued 1 failed or skipped delivery(ies)" in done.content.decode()


@pytest.mark.parametrize("who", ["anonymous", "non-staff"])
def test_only_staff_may_open_a_notifications_pages(client, plain_user, who, receiver):
    target = make_notification(receiver)
    _, _ = deliver(target)
    failed, _ = deliver(target)
    if who == "non-staff":
        client.force_login(plain_user)
    base = f"/admin/hooks/notificationconfig/{target.pk}/deliveries"

    for method, url in [
        ("get", f"{base}/"),
        ("post", f"{base}/{failed.pk}/redeliver/"),
        ("post", f"{base}/redeliver-failed/"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.FAILED
