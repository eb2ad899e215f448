"""Webhook delivery through real queue workers to a real local receiver: outcomes, retries, logs, stats."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import pytest
from django.db.models import Sum
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import testsupport
from events import emit_event
from events.samples import sample_payload
from hooks.models import Delivery, HookLog, HookLogHour, WebhookConfig
from hooks.tests.test_health_rollups import assert_hours_match_the_log

pytestmark = [pytest.mark.slow]

# Retries a few hundred ms apart instead of minutes; workers re-scan every second.
FAST = {
    "SUBLARR_WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3,0.3",
    "SUBLARR_DELIVERY_SWEEP_SECONDS": "1",
    "SUBLARR_DELIVERY_LEASE_GRACE_SECONDS": "2",
}


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A threaded local HTTP receiver: records every request, answers per path from a script."""

    server: HTTPServer
    seen: list[Seen] = field(default_factory=list)
    # path → responses in order (the last one repeats); a float means "hang that many seconds, then 200".
    script: dict[str, list[int | float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    def handle(self, request: Request) -> Response:
        with self.lock:
            self.seen.append(Seen(request.path, dict(request.headers.items()), request.get_data(), time.monotonic()))
            count = sum(1 for s in self.seen if s.path == request.path)
            plan = self.script.get(request.path, [204])
            answer = plan[min(count, len(plan)) - 1]
        if isinstance(answer, float):
            time.sleep(answer)
            return Response("late", status=200)
        return Response(f"answer {answer}", status=answer)

    def to(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]


@pytest.fixture
def receiver():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    rec = Receiver(server)
    server.expect_request(re.compile(".*")).respond_with_handler(rec.handle)
    yield rec
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def worker(start_worker):
    return start_worker(**FAST)


def make_webhook(receiver: Receiver, path: str, **fields) -> WebhookConfig:
    values = {"name": path.strip("/"), "event_name": "subtitle_downloaded", "secret": "whsec_" + "A" * 44}
    values.update(fields)
    return WebhookConfig.objects.create(url=receiver.url(path), **values)


def logs_of(webhook: WebhookConfig) -> list[HookLog]:
    return list(HookLog.objects.filter(webhook=webhook).order_by("attempt", "id"))


def final_delivery(webhook: WebhookConfig, status: str, timeout: float = 30) -> Delivery:
    return testsupport.wait_for(
        lambda: Delivery.objects.filter(webhook=webhook, status=status).first(),
        timeout=timeout,
        message=f"a {status} delivery to {webhook.name}",
    )


def test_500_500_200_is_delivered_on_the_third_attempt(worker, receiver):
    receiver.script["/flaky"] = [500, 500, 200]
    webhook = make_webhook(receiver, "/flaky", retry_count=3)

    envelope = emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))

    delivery = final_delivery(webhook, Delivery.Status.SUCCEEDED)
    assert delivery.attempts == 3
    seen = receiver.to("/flaky")
    assert len(seen) == 3
    assert {s.headers["Webhook-Id"] for s in seen} == {envelope["id"]}
    assert all(s.body == seen[0].body for s in seen)
    logs = logs_of(webhook)
    assert [(log.attempt, log.status_code, log.success, log.will_retry) for log in logs] == [
        (1, 500, False, True),
        (2, 500, False, True),
        (3, 200, True, False),
    ]
    assert [log.error for log in logs] == ["HTTP 500.", "HTTP 500.", ""]
    assert logs[0].response_body == "answer 500"
    assert logs[0].request_headers["webhook-signature"] == "[redacted]"
    assert logs[0].request_headers["webhook-id"] == envelope["id"]
    assert {str(log.event_id) for log in logs} == {envelope["id"]}
    webhook.refresh_from_db()
    assert webhook.trigger_count == 3
    assert webhook.consecutive_failures == 0
    assert webhook.last_status_code == 200
    assert webhook.last_error == ""
    assert webhook.last_triggered_at == logs[2].triggered_at
    assert webhook.enabled
    # The health pages' hourly counts were written with the log rows, and equal counting the log again.
    hours = HookLogHour.objects.filter(target_field="webhook", target_id=webhook.pk)
    assert hours.aggregate(runs=Sum("runs"), ok=Sum("successes")) == {"runs": 3, "ok": 1}
    assert_hours_match_the_log()


def test_hanging_receiver_is_a_logged_timeout(worker, receiver):
    receiver.script["/hang"] = [4.0]
    webhook = make_webhook(receiver, "/hang", retry_count=0, timeout_seconds=1)

    emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))

    delivery = final_delivery(webhook, Delivery.Status.FAILED)
    [log] = logs_of(webhook)
    assert log.error == "Timed out after 1 s."
    assert log.status_code is None
    assert not log.success
    assert not log.will_retry
    assert 1000 <= log.duration_ms < 4000
    assert delivery.last_error == "Timed out after 1 s."
    webhook.refresh_from_db()
    assert webhook.last_error == "Timed out after 1 s."
    assert webhook.consecutive_failures == 1


def test_404_is_not_retried(worker, receiver):
    receiver.script["/missing"] = [404, 200]
    webhook = make_webhook(receiver, "/missing", retry_count=3)

    emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))

    delivery = final_delivery(webhook, Delivery.Status.FAILED)
    assert delivery.attempts == 1
    [log] = logs_of(webhook)
    assert (log.status_code, log.error, log.will_retry) == (404, "HTTP 404: not retried (client error).", False)
    time.sleep(1.5)  # longer than the retry schedule: nothing else arrives
    assert len(receiver.to("/missing")) == 1


def test_410_disables_the_webhook_and_later_events_are_skipped_then_redeliverable(worker, receiver):
    receiver.script["/gone"] = [410, 204]
    webhook = make_webhook(receiver, "/gone", retry_count=3)

    emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    final_delivery(webhook, Delivery.Status.FAILED)
    webhook = testsupport.wait_for(lambda: WebhookConfig.objects.filter(pk=webhook.pk, enabled=False).first())
    assert webhook.disabled_reason == "Disabled automatically: the receiver answered 410 Gone."
    assert webhook.disabled_at is not None

    second = emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    skipped = testsupport.wait_for(
        lambda: Delivery.objects.filter(webhook=webhook, event_id=second["id"], status="skipped").first()
    )
    [skip_log] = HookLog.objects.filter(delivery=skipped)
    assert skip_log.skipped
    assert not skip_log.success
    assert skip_log.error == "Skipped: the webhook is disabled: Disabled automatically: the receiver answered 410 Gone."
    assert len(receiver.to("/gone")) == 1

    from hooks import delivery as delivery_service
    from hooks.services import webhook_enable

    with pytest.raises(delivery_service.RedeliveryError) as info:
        delivery_service.redeliver_target(webhook)
    assert str(info.value) == (
        "Webhook “gone” is disabled (Disabled automatically: the receiver answered 410 Gone.); "
        "enable it before redelivering."
    )
    webhook_enable(webhook=webhook, source="api")
    assert delivery_service.redeliver_target(webhook) == 2  # the 410 and the skipped one

    testsupport.wait_for(lambda: Delivery.objects.filter(webhook=webhook, status="succeeded").count() == 2)
    ids = [s.headers["Webhook-Id"] for s in receiver.to("/gone")]
    assert len(ids) == 3
    assert second["id"] in ids
    # The skipped row (written by the fan-out) and every attempt are in the hourly counts.
    hours = HookLogHour.objects.filter(target_field="webhook", target_id=webhook.pk)
    assert hours.aggregate(runs=Sum("runs"), skipped=Sum("skipped")) == {"runs": 3, "skipped": 1}
    assert_hours_match_the_log()


def test_dead_webhook_does_not_delay_a_healthy_one(worker, receiver):
    receiver.script["/dead"] = [8.0]
    dead = make_webhook(receiver, "/dead", retry_count=0, timeout_seconds=5)
    healthy = make_webhook(receiver, "/healthy")

    envelopes = [emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded")) for _ in range(10)]

    # All ten reach the healthy receiver while the dead one is still hanging on its first requests.
    testsupport.wait_for(lambda: len(receiver.to("/healthy")) == 10, timeout=30)
    assert {s.headers["Webhook-Id"] for s in receiver.to("/healthy")} == {e["id"] for e in envelopes}
    assert HookLog.objects.filter(webhook=dead).count() == 0
    testsupport.wait_for(lambda: Delivery.objects.filter(webhook=healthy, status="succeeded").count() == 10)


def test_disabled_after_n_consecutive_failed_deliveries(start_worker, receiver):
    start_worker(**FAST, SUBLARR_WEBHOOK_DISABLE_AFTER="3")
    receiver.script["/down"] = [503]
    webhook = make_webhook(receiver, "/down", retry_count=1)

    for _ in range(3):
        emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))

    webhook = testsupport.wait_for(
        lambda: WebhookConfig.objects.filter(pk=webhook.pk, enabled=False).first(), timeout=30
    )
    assert webhook.consecutive_failures == 3
    assert webhook.disabled_reason == "Disabled automatically after 3 failed deliveries in a row (last: HTTP 503.)"
    assert webhook.trigger_count == 6  # two attempts per delivery
    assert HookLog.objects.filter(webhook=webhook, success=False, skipped=False).count() == 6


def test_redelivering_one_log_entry_sends_the_same_event_again(worker, receiver):
    receiver.script["/once"] = [404, 204]
    webhook = make_webhook(receiver, "/once")
    envelope = emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    final_delivery(webhook, Delivery.Status.FAILED)
    [log] = logs_of(webhook)

    from hooks.delivery import redeliver_log

    redelivered = redeliver_log(log)

    assert redelivered.status == "pending"
    done = final_delivery(webhook, Delivery.Status.SUCCEEDED)
    assert done.pk == log.delivery_id
    assert [s.headers["Webhook-Id"] for s in receiver.to("/once")] == [envelope["id"], envelope["id"]]
    assert [(x.attempt, x.status_code) for x in logs_of(webhook)] == [(1, 404), (2, 204)]


def test_events_for_other_names_and_star_webhooks(worker, receiver):
    star = make_webhook(receiver, "/star", event_name="*")
    other = make_webhook(receiver, "/other", event_name="batch_complete")

    first = emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    second = emit_event("batch_complete", sample_payload("batch_complete"))

    testsupport.wait_for(lambda: len(receiver.to("/star")) == 2 and len(receiver.to("/other")) == 1)
    assert sorted(s.headers["X-Sublarr-Event"] for s in receiver.to("/star")) == [
        "batch_complete",
        "subtitle_downloaded",
    ]
    assert receiver.to("/other")[0].headers["Webhook-Id"] == second["id"]
    assert {s.headers["Webhook-Id"] for s in receiver.to("/star")} == {first["id"], second["id"]}
    assert Delivery.objects.filter(webhook=other).count() == 1
    assert Delivery.objects.filter(webhook=star).count() == 2
