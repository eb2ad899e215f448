"""The delivery service in-process: claiming, outcomes, Retry-After, caps, hook_executed, test runs."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Response

from events.catalog import EVENT_CATALOG
from events.samples import sample_payload
from events.services import build_envelope
from hooks import delivery
from hooks.delivery import attempts
from hooks.models import Delivery, HookConfig, HookLog, WebhookConfig


@pytest.fixture
def loopback(settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    settings.SUBLARR_WEBHOOK_RETRY_SCHEDULE = [0.3]
    return settings


@pytest.fixture
def executed():
    seen: list[dict] = []

    def on_executed(sender, envelope, **kwargs):
        seen.append(envelope["data"])

    signal = EVENT_CATALOG["hook_executed"].signal
    signal.connect(on_executed, dispatch_uid="test-hook-executed")
    yield seen
    signal.disconnect(dispatch_uid="test-hook-executed")


def webhook_for(httpserver, path="/hook", **fields) -> WebhookConfig:
    values = {"name": "w", "event_name": "subtitle_downloaded", "secret": "s3cret", "retry_count": 1}
    values.update(fields)
    return WebhookConfig.objects.create(url=httpserver.url_for(path), **values)


def pending_delivery(webhook: WebhookConfig) -> Delivery:
    envelope = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    [row] = delivery.deliveries_create(envelope=envelope)
    return Delivery.objects.get(pk=row.pk)


def make_due(row: Delivery) -> None:
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())


@pytest.mark.django_db
def test_fan_out_is_idempotent_per_event_and_target(loopback, httpserver):
    webhook = webhook_for(httpserver)
    webhook_for(httpserver, name="manual-off", enabled=False)
    envelope = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))

    first = delivery.deliveries_create(envelope=envelope)
    second = delivery.deliveries_create(envelope=envelope)

    assert [row.webhook_id for row in first] == [webhook.pk]
    assert [row.pk for row in second] == [row.pk for row in first]
    assert Delivery.objects.count() == 1


@pytest.mark.django_db
def test_a_claimed_attempt_cannot_be_claimed_again_until_its_lease_expires(loopback, httpserver):
    row = pending_delivery(webhook_for(httpserver))

    claimed = attempts.claim(row.pk)
    assert claimed is not None
    assert claimed[0].attempts == 1
    assert attempts.claim(row.pk) is None

    Delivery.objects.filter(pk=row.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    again = attempts.claim(row.pk)
    assert again is not None
    assert again[0].attempts == 1  # the same attempt, run again: it was never logged


@pytest.mark.django_db(transaction=True)
def test_hook_executed_is_emitted_once_for_the_final_outcome(loopback, httpserver, executed):
    httpserver.expect_request("/hook").respond_with_data("no", status=500)
    webhook = webhook_for(httpserver, retry_count=1)
    row = pending_delivery(webhook)

    assert delivery.delivery_attempt(delivery_id=row.pk) == "pending"
    assert executed == []
    assert delivery.delivery_attempt(delivery_id=row.pk) is None  # not due yet
    make_due(row)
    assert delivery.delivery_attempt(delivery_id=row.pk) == "failed"

    assert len(executed) == 1
    data = executed[0]
    assert data["webhook_id"] == webhook.pk
    assert data["hook_id"] is None
    assert data["hook_type"] == "webhook"
    assert data["event_name"] == "subtitle_downloaded"
    assert data["success"] is False
    assert isinstance(data["duration_ms"], int)
    webhook.refresh_from_db()
    assert (webhook.trigger_count, webhook.consecutive_failures, webhook.last_status_code) == (2, 1, 500)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("99999", 60.0), ("not a date", None)],
)
def test_retry_after_on_429_is_honoured_within_bounds(loopback, httpserver, header, expected):
    loopback.SUBLARR_WEBHOOK_RETRY_AFTER_MAX = 60
    httpserver.expect_request("/hook").respond_with_response(Response("slow down", 429, {"Retry-After": header}))
    row = pending_delivery(webhook_for(httpserver, retry_count=2))

    before = timezone.now()
    assert delivery.delivery_attempt(delivery_id=row.pk) == "pending"

    row.refresh_from_db()
    delay = (row.next_attempt_at - before).total_seconds()
    if expected is None:
        assert delay < 1  # the schedule (0.3 s ± 20 %) applies
    else:
        assert expected - 1 < delay < expected + 1
    assert HookLog.objects.get(delivery=row).error == "HTTP 429."


def test_retry_delay_follows_the_schedule_with_jitter(settings):
    settings.SUBLARR_WEBHOOK_RETRY_SCHEDULE = [5.0, 30.0, 120.0]
    for attempt, base in ((1, 5.0), (2, 30.0), (3, 120.0), (7, 120.0)):
        delays = [delivery.retry_delay(attempt) for _ in range(50)]
        assert all(0.8 * base <= d <= 1.2 * base for d in delays)
        assert len(set(delays)) > 1
    assert delivery.retry_delay(1, retry_after=1.0) >= 4.0  # Retry-After never shortens the schedule


@pytest.mark.django_db
def test_redirects_are_not_followed(loopback, httpserver):
    httpserver.expect_request("/hook").respond_with_response(Response("", 302, {"Location": "/elsewhere"}))
    row = pending_delivery(webhook_for(httpserver, retry_count=3))

    assert delivery.delivery_attempt(delivery_id=row.pk) == "failed"

    log = HookLog.objects.get(delivery=row)
    assert log.status_code == 302
    assert log.error == "HTTP 302: redirects are not followed; point the webhook at the final URL."
    assert [req.path for req, _ in httpserver.log] == ["/hook"]


@pytest.mark.django_db
def test_response_body_is_read_only_up_to_the_cap(loopback, httpserver):
    loopback.SUBLARR_WEBHOOK_RESPONSE_CAP = 100
    httpserver.expect_request("/hook").respond_with_data("x" * 1_000_000)
    row = pending_delivery(webhook_for(httpserver))

    assert delivery.delivery_attempt(delivery_id=row.pk) == "succeeded"

    assert HookLog.objects.get(delivery=row).response_body == "x" * 100


@pytest.mark.django_db
def test_retries_stop_after_retry_count(loopback, httpserver):
    httpserver.expect_request("/hook").respond_with_data("busy", status=503)
    webhook = webhook_for(httpserver, retry_count=2)
    row = pending_delivery(webhook)

    outcomes = []
    for _ in range(3):
        make_due(row)
        outcomes.append(delivery.delivery_attempt(delivery_id=row.pk))

    assert outcomes == ["pending", "pending", "failed"]
    assert list(HookLog.objects.filter(delivery=row).order_by("attempt").values_list("attempt", "will_retry")) == [
        (1, True),
        (2, True),
        (3, False),
    ]


@pytest.mark.django_db
def test_test_run_logs_is_test_and_leaves_stats_alone(loopback, httpserver):
    httpserver.expect_request("/hook").respond_with_data("nope", status=500)
    webhook = webhook_for(httpserver, event_name="*", enabled=False, disabled_reason="Disabled automatically: x")

    log = delivery.run_test(webhook)

    assert log.is_test
    assert not log.success
    assert (log.event_name, log.status_code, log.error, log.attempt) == ("subtitle_downloaded", 500, "HTTP 500.", 1)
    assert log.delivery is None
    webhook.refresh_from_db()
    assert (webhook.trigger_count, webhook.consecutive_failures, webhook.last_status_code) == (0, 0, None)
    [(request, _)] = httpserver.log
    assert request.headers["X-Sublarr-Event"] == "subtitle_downloaded"
    assert request.json["data"] == sample_payload("subtitle_downloaded")
    with pytest.raises(delivery.RedeliveryError) as info:
        delivery.redeliver_log(log)
    assert str(info.value) == "A test run cannot be redelivered; run the test again instead."


@pytest.mark.django_db
def test_script_hook_deliveries_run_through_the_script_transport(hooks_dir):
    script = hooks_dir / "ok.sh"
    script.write_text('#!/bin/sh\necho "got $SUBLARR_EVENT"\n')
    script.chmod(0o755)
    hook = HookConfig.objects.create(name="s", event_name="batch_complete", script_path=str(script))
    envelope = build_envelope("batch_complete", sample_payload("batch_complete"))
    [row] = delivery.deliveries_create(envelope=envelope)
    delivery_id = row.pk
    assert (row.webhook_id, row.hook_id) == (None, hook.pk)

    assert delivery.delivery_attempt(delivery_id=delivery_id) == "succeeded"

    log = HookLog.objects.get(delivery_id=delivery_id)
    assert (log.hook_type, log.exit_code, log.stdout, log.success) == ("script", 0, "got batch_complete\n", True)
    hook.refresh_from_db()
    assert (hook.trigger_count, hook.last_status, hook.consecutive_failures) == (1, "success", 0)


@pytest.mark.django_db
def test_unknown_event_id_in_envelope_is_not_fanned_out_for_meta_events(loopback, httpserver):
    webhook_for(httpserver, event_name="*")
    envelope = build_envelope("hook_executed", sample_payload("hook_executed"))
    assert delivery.deliveries_create(envelope=envelope) == []
    assert Delivery.objects.count() == 0
    assert uuid.UUID(envelope["id"])


@pytest.mark.django_db
def test_purge_deletes_old_finished_deliveries_and_keeps_their_logs(loopback, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    webhook = webhook_for(httpserver)
    old, recent, waiting = (pending_delivery(webhook) for _ in range(3))
    for row in (old, recent):
        assert delivery.delivery_attempt(delivery_id=row.pk) == "succeeded"
    Delivery.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=31))
    Delivery.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(days=99))

    assert delivery.deliveries_purge(older_than_days=30) == 1

    assert set(Delivery.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}
    assert HookLog.objects.get(event_id=old.event_id).delivery_id is None


@pytest.mark.django_db
def test_claimed_first_attempt_that_waited_renews_its_lease_or_yields(loopback, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    webhook_for(httpserver)
    envelope = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    [row] = delivery.deliveries_create(envelope=envelope, claim=True)
    assert (row.status, row.attempts) == ("running", 1)

    # Its lease is nearly over and another worker has taken the row over meanwhile.
    stale = timezone.now() + timedelta(seconds=1)
    row.lease_expires_at = stale
    Delivery.objects.filter(pk=row.pk).update(lease_expires_at=stale + timedelta(seconds=99))
    assert attempts.attempt(row.pk, 60.0, row, claimed_already=True) is None
    assert httpserver.log == []

    # Nobody took it: the lease is renewed and the attempt runs.
    Delivery.objects.filter(pk=row.pk).update(lease_expires_at=stale)
    outcome = attempts.attempt(row.pk, 60.0, row, claimed_already=True)
    assert outcome is not None
    assert outcome.status == "succeeded"
    assert outcome.lease > stale
    assert len(httpserver.log) == 1
