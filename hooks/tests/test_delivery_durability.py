"""A queue worker killed with deliveries in flight and retries pending loses nothing."""

from __future__ import annotations

import time

import pytest

import testsupport
from events import emit_event
from events.samples import sample_payload
from hooks.models import Delivery, HookLog
from hooks.tests.test_delivery_outcomes import make_webhook, receiver  # noqa: F401 - fixture

pytestmark = [pytest.mark.slow]

EVENTS = 6
ENV = {
    "SUBLARR_WEBHOOK_RETRY_SCHEDULE": "3",
    "SUBLARR_DELIVERY_SWEEP_SECONDS": "1",
    "SUBLARR_DELIVERY_LEASE_GRACE_SECONDS": "2",
}


def test_sigkill_mid_delivery_then_restart_delivers_everything(start_worker, receiver):  # noqa: F811
    # /slow hangs on its first requests (in flight when the worker dies); /flaky fails
    # each event's first attempt (its retry is pending in the database when the worker dies).
    receiver.script["/slow"] = [4.0] * EVENTS + [204]
    receiver.script["/flaky"] = [500] * EVENTS + [204]
    slow = make_webhook(receiver, "/slow", timeout_seconds=5)
    flaky = make_webhook(receiver, "/flaky", retry_count=2)
    worker = start_worker("before-crash", **ENV)

    envelopes = [emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded")) for _ in range(EVENTS)]
    ids = {e["id"] for e in envelopes}

    testsupport.wait_for(lambda: len(receiver.to("/slow")) >= 4, timeout=30, message="deliveries in flight")
    testsupport.wait_for(
        lambda: HookLog.objects.filter(webhook=flaky, will_retry=True).count() == EVENTS,
        timeout=30,
        message="retries pending",
    )
    assert Delivery.objects.filter(webhook=slow, status="running").exists()
    assert Delivery.objects.filter(webhook=flaky, status="pending").count() == EVENTS
    worker.kill()
    worker.popen.wait(timeout=10)
    # Claimed at fan-out: the 4 requests in flight (the per-target limit) and those waiting their turn.
    claimed_at_crash = Delivery.objects.filter(webhook=slow, status="running").count()
    cut_short = len(receiver.to("/slow")) - HookLog.objects.filter(webhook=slow).count()
    time.sleep(3.5)  # the pending retries fall due while no process is running

    start_worker("after-restart", **ENV)

    testsupport.wait_for(
        lambda: Delivery.objects.filter(status="succeeded").count() == 2 * EVENTS,
        timeout=90,
        message="every delivery to succeed after the restart",
    )
    for path in ("/slow", "/flaky"):
        seen = receiver.to(path)
        assert {s.headers["Webhook-Id"] for s in seen} == ids
    # /flaky: attempt 1 failed before the crash, attempt 2 succeeded after it.
    assert sorted(HookLog.objects.filter(webhook=flaky).values_list("attempt", "status_code", "success")) == sorted(
        [(1, 500, False)] * EVENTS + [(2, 204, True)] * EVENTS
    )
    # /slow: the attempts cut short by the crash were never logged; each ran again as attempt 1.
    # (On a loaded machine a slow answer may finish before the kill: 200 after its delay.)
    slow_logs = list(HookLog.objects.filter(webhook=slow).values_list("attempt", "status_code", "success"))
    assert len(slow_logs) == EVENTS
    assert {(attempt, success) for attempt, _, success in slow_logs} == {(1, True)}
    assert {code for _, code, _ in slow_logs} <= {200, 204}
    assert claimed_at_crash >= cut_short > 0
    for delivery in Delivery.objects.filter(webhook=slow):
        assert delivery.attempts == 1
        assert delivery.lease_expires_at is None
    duplicates = len(receiver.to("/slow")) - EVENTS
    assert duplicates == cut_short  # at-least-once: each attempt cut short is repeated once, nothing else
