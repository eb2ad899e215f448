"""Notifications through real queue workers and real Apprise to local receivers: json://, ntfy://, gotify://.

What arrives, retries and their log rows, hook_executed, quiet hours, and no URL secret in any log.
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
from events.samples import sample_payload
from hooks import delivery as delivery_service
from hooks.models import Delivery, HookLog, NotificationConfig
from hooks.tests.test_delivery_outcomes import FAST, Receiver

pytestmark = [pytest.mark.slow]

PASSWORD = "n0tif1cationPassw0rd"
GOTIFY_TOKEN = "AppT0kenForGotifyXYZ"
SECRETS = (PASSWORD, GOTIFY_TOKEN)


@pytest.fixture
def worker(start_worker):
    return start_worker(**FAST)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The webhooks' scripted receiver, answering 200 unless told (Apprise's plugins want a 200)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    rec = Receiver(server)
    for path in ("/json", "/", "/message", "/held", "/skip", "/pass"):
        rec.script[path] = [200]
    server.expect_request(re.compile(".*")).respond_with_handler(rec.handle)
    yield rec
    server.clear()
    if server.is_running():
        server.stop()


def make_notification(urls: list[str], **fields) -> NotificationConfig:
    values = {"name": "phone", "events": ["subtitle_downloaded"], "retry_count": 3}
    values.update(fields)
    return NotificationConfig.objects.create(urls=urls, **values)


def final_delivery(target: NotificationConfig, status: str, timeout: float = 30) -> Delivery:
    return testsupport.wait_for(
        lambda: Delivery.objects.filter(notification=target, status=status).first(),
        timeout=timeout,
        message=f"a {status} delivery to {target.name}",
    )


def all_urls(receiver: Receiver) -> list[str]:
    port = receiver.server.port
    return [
        f"json://sublarr:{PASSWORD}@127.0.0.1:{port}/json",
        f"ntfy://127.0.0.1:{port}/sublarr-alerts",
        f"gotify://127.0.0.1:{port}/{GOTIFY_TOKEN}",
    ]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_the_rendered_message_arrives_at_json_ntfy_and_gotify_through_the_worker(worker, receiver):
    target = make_notification(
        all_urls(receiver),
        title_template="{{ media }} [{{ data.language }}]",
        body_template="by {{ data.provider_name }}",
    )

    envelope = emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))

    delivery = final_delivery(target, Delivery.Status.SUCCEEDED)
    assert delivery.attempts == 1
    [posted] = receiver.to("/json")
    assert json.loads(posted.body)["title"] == "The Expanse S02E05 [de]"
    assert json.loads(posted.body)["message"] == "by opensubtitles"
    [ntfy] = receiver.to("/")
    assert json.loads(ntfy.body) == {
        "topic": "sublarr-alerts",
        "title": "The Expanse S02E05 [de]",
        "message": "by opensubtitles",
    }
    [gotify] = receiver.to("/message")
    assert json.loads(gotify.body)["title"] == "The Expanse S02E05 [de]"
    assert json.loads(gotify.body)["message"] == "by opensubtitles"

    [log] = HookLog.objects.filter(notification=target)
    assert (log.hook_type, log.success, log.attempt, str(log.event_id)) == ("notification", True, 1, envelope["id"])
    assert log.stdout == "The Expanse S02E05 [de]\n\nby opensubtitles"
    assert log.request_headers == {"schemes": "json, ntfy, gotify"}
    assert log.stderr == ""
    target.refresh_from_db()
    assert (target.trigger_count, target.consecutive_failures, target.last_error) == (1, 0, "")
    fields = [str(getattr(log, f.attname)) for f in HookLog._meta.concrete_fields]
    assert_no_secret(*fields, delivery.last_error, worker.log())


def test_a_receiver_answering_500_then_200_is_retried_and_each_attempt_logged(worker, receiver):
    receiver.script["/json"] = [500, 200]
    target = make_notification([f"json://sublarr:{PASSWORD}@127.0.0.1:{receiver.server.port}/json"])

    emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))

    delivery = final_delivery(target, Delivery.Status.SUCCEEDED)
    assert delivery.attempts == 2
    assert len(receiver.to("/json")) == 2
    logs = list(HookLog.objects.filter(notification=target).order_by("attempt"))
    assert [(log.attempt, log.success, log.will_retry) for log in logs] == [(1, False, True), (2, True, False)]
    assert logs[0].error.startswith("Notification failed for 1 of 1 URL(s) — json: ")
    assert "500" in logs[0].error
    assert logs[0].stdout == logs[1].stdout != ""
    target.refresh_from_db()
    assert (target.trigger_count, target.consecutive_failures) == (2, 0)
    assert_no_secret(*(log.error for log in logs), worker.log())


def test_consecutive_failures_disable_the_target_and_later_events_are_skipped(start_worker, receiver):
    worker = start_worker(**FAST, SUBLARR_WEBHOOK_DISABLE_AFTER="1")
    receiver.script["/json"] = [500]
    target = make_notification([f"json://127.0.0.1:{receiver.server.port}/json"], retry_count=1)

    emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))

    final_delivery(target, Delivery.Status.FAILED)
    target = testsupport.wait_for(lambda: NotificationConfig.objects.filter(pk=target.pk, enabled=False).first())
    assert target.disabled_reason.startswith("Disabled automatically after 1 failed deliveries in a row")
    second = emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    skipped = testsupport.wait_for(
        lambda: Delivery.objects.filter(notification=target, event_id=second["id"], status="skipped").first()
    )
    [log] = HookLog.objects.filter(delivery=skipped)
    assert (log.skipped, log.hook_type) == (True, "notification")
    assert log.error.startswith("Skipped: the notification is disabled: Disabled automatically")
    assert len(receiver.to("/json")) == 2
    assert "Traceback" not in worker.log()


def _window_around_now(**fields) -> dict:
    now = datetime.now(UTC)
    return {
        "quiet_start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "quiet_end": (now + timedelta(hours=1)).strftime("%H:%M"),
        "quiet_timezone": "UTC",
        **fields,
    }


def test_quiet_hours_hold_skip_and_let_the_exception_events_pass(worker, receiver):
    port = receiver.server.port
    held = make_notification([f"json://127.0.0.1:{port}/held"], name="held", **_window_around_now())
    skipping = make_notification(
        [f"json://127.0.0.1:{port}/skip"], name="skip", events=["*"], **_window_around_now(quiet_mode="skip")
    )
    passing = make_notification(
        [f"json://127.0.0.1:{port}/pass"],
        name="pass",
        events=["provider_failed"],
        **_window_around_now(quiet_passes=["provider_failed"]),
    )

    first = emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    emit_event("provider_failed", sample_payload("provider_failed"))

    final_delivery(passing, Delivery.Status.SUCCEEDED)
    assert len(receiver.to("/pass")) == 1
    # skip: both events, logged as skipped, nothing sent.
    testsupport.wait_for(lambda: Delivery.objects.filter(notification=skipping, status="skipped").count() == 2)
    skip_logs = list(HookLog.objects.filter(notification=skipping))
    assert len(skip_logs) == 2
    assert all(log.skipped and log.error.startswith("skipped: ") for log in skip_logs)
    assert "inside the quiet hours" in skip_logs[0].error
    # hold: pending until the window ends, no attempt counted, nothing logged, nothing sent.
    row = testsupport.wait_for(
        lambda: Delivery.objects.filter(
            notification=held, event_id=first["id"], last_error__startswith="held: "
        ).first()
    )
    assert (row.status, row.attempts) == ("pending", 0)
    assert row.next_attempt_at > datetime.now(UTC) + timedelta(minutes=55)
    assert not HookLog.objects.filter(notification=held).exists()
    assert receiver.to("/held") == []
    assert receiver.to("/skip") == []

    # The window is gone (edited): the held one goes when it is due.
    NotificationConfig.objects.filter(pk=held.pk).update(quiet_start="", quiet_end="")
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=datetime.now(UTC))
    delivered = final_delivery(held, Delivery.Status.SUCCEEDED)
    assert delivered.attempts == 1
    assert len(receiver.to("/held")) == 1


@pytest.mark.django_db(transaction=True)
def test_hook_executed_follows_the_final_outcome(settings, receiver):
    from events.catalog import EVENT_CATALOG
    from events.services import build_envelope

    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    receiver.script["/json"] = [500, 200]
    target = make_notification([f"json://127.0.0.1:{receiver.server.port}/json"])
    seen: list[dict] = []
    signal = EVENT_CATALOG["hook_executed"].signal
    signal.connect(lambda sender, envelope, **kw: seen.append(envelope["data"]), dispatch_uid="t-notif", weak=False)
    try:
        envelope = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))
        [row] = delivery_service.deliveries_create(envelope=envelope)
        assert delivery_service.delivery_attempt(delivery_id=row.pk) == "pending"
        assert seen == []
        Delivery.objects.filter(pk=row.pk).update(next_attempt_at=datetime.now(UTC))
        assert delivery_service.delivery_attempt(delivery_id=row.pk) == "succeeded"
    finally:
        signal.disconnect(dispatch_uid="t-notif")
    [data] = seen
    assert (data["hook_type"], data["event_name"], data["success"]) == ("notification", "subtitle_downloaded", True)
    assert (data["hook_id"], data["webhook_id"], data["notification_id"]) == (None, None, target.pk)


@pytest.mark.django_db
def test_a_test_run_and_a_redelivery_go_through_the_same_seam(settings, receiver):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    target = make_notification([f"json://sublarr:{PASSWORD}@127.0.0.1:{receiver.server.port}/json"], events=["*"])

    log = delivery_service.run_test(target)

    assert (log.is_test, log.success, log.hook_type, log.event_name) == (
        True,
        True,
        "notification",
        "subtitle_downloaded",
    )
    assert log.request_headers == {"schemes": "json"}
    assert json.loads(receiver.to("/json")[0].body)["title"] == log.stdout.split("\n\n")[0]
    assert_no_secret(log.stdout, log.error, json.dumps(log.request_headers))


@pytest.mark.scaleout
def test_two_workers_deliver_each_notification_once(redis_url, start_worker, receiver):
    target = make_notification([f"json://127.0.0.1:{receiver.server.port}/json"])
    start_worker("a", **FAST)
    start_worker("b", **FAST)

    ids = {emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))["id"] for _ in range(40)}

    testsupport.wait_for(
        lambda: Delivery.objects.filter(notification=target, status="succeeded", event_id__in=ids).count() == 40,
        timeout=120,
        message="40 notifications",
    )
    assert len(receiver.to("/json")) == 40
    assert HookLog.objects.filter(notification=target, success=True, event_id__in=ids).count() == 40


@pytest.mark.django_db
def test_a_template_failing_at_render_time_falls_back_to_the_default_and_the_log_says_why(settings, receiver):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    # Saved behind the API's validation (the API refuses it): fails when rendered.
    target = make_notification([f"json://127.0.0.1:{receiver.server.port}/json"], body_template="{{ data.nope.x }}")

    log = delivery_service.run_test(target)

    assert log.success
    assert log.stderr == (
        "Template fallback: the body template failed (line 1: 'dict object' has no attribute 'nope'); "
        "the default was used"
    )
    assert json.loads(receiver.to("/json")[0].body)["message"].endswith("Provider: opensubtitles")


@pytest.mark.django_db
def test_the_targets_timeout_bounds_a_hanging_service(settings, receiver):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    receiver.script["/hang"] = [5.0]
    target = make_notification([f"json://127.0.0.1:{receiver.server.port}/hang"], timeout_seconds=1)

    log = delivery_service.run_test(target)

    assert not log.success
    assert log.error.startswith("Notification failed for 1 of 1 URL(s) — json: ")
    assert log.duration_ms < 5000  # the receiver's 5 s answer was not waited for


def test_with_timeout_sets_apprise_timeouts_unless_the_url_does():
    from hooks.transports.notification import with_timeout

    assert with_timeout("json://h/p", 7) == "json://h/p?cto=7&rto=7"
    assert with_timeout("json://h/p?format=text#x", 7) == "json://h/p?format=text&cto=7&rto=7#x"
    assert with_timeout("json://h/p?cto=2", 7) == "json://h/p?cto=2&rto=7"
    assert with_timeout("json://h/p?cto=2&rto=3", 7) == "json://h/p?cto=2&rto=3"
